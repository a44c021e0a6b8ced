import { it } from "node:test";
import assert from "node:assert/strict";
import type { ManifestObject } from "./load.ts";
import { withPlaceholderClusterIps } from "./placeholder-ips.ts";

const svc = (spec: Record<string, unknown>, kind = "Service"): ManifestObject => ({
  source: "t.yaml",
  line: 1,
  object: { kind, metadata: { name: "s" }, spec },
});
const ips = (objects: ManifestObject[]) =>
  withPlaceholderClusterIps(objects).objects.map(
    (o) => (o.object.spec as { clusterIPs?: string[] }).clusterIPs,
  );

it("the families the API server would allocate, in its order", () => {
  assert.deepEqual(
    ips([
      svc({}),
      svc({ ipFamilyPolicy: "RequireDualStack" }),
      svc({ ipFamilyPolicy: "PreferDualStack", ipFamilies: ["IPv6", "IPv4"] }),
      svc({ ipFamilyPolicy: "SingleStack", ipFamilies: ["IPv6", "IPv4"] }),
      svc({ ipFamilies: ["IPv6"] }),
    ]),
    [
      ["192.0.2.1"],
      ["192.0.2.2", "2001:db8::1"],
      ["2001:db8::2", "192.0.2.3"],
      ["2001:db8::3"],
      ["2001:db8::4"],
    ],
  );
});

it("leaves alone what has an address, is headless or ExternalName, or is not a Service", () => {
  const kept = [
    svc({ clusterIP: "10.96.0.1" }),
    svc({ clusterIPs: ["fd00::1"] }),
    svc({ clusterIP: "None" }),
    svc({ type: "ExternalName" }),
    svc({}, "Deployment"),
  ];
  const r = withPlaceholderClusterIps(kept);
  assert.deepEqual(r.placed, []);
  assert.deepEqual(r.objects, kept);
});

it("the loaded objects are not changed; the next documentation block follows the first", () => {
  const many = Array.from({ length: 256 }, () => svc({}));
  const r = withPlaceholderClusterIps(many);
  assert.equal(r.placed.length, 256);
  assert.deepEqual(
    r.placed.slice(252).map((p) => p.ips[0]),
    ["192.0.2.253", "192.0.2.254", "198.51.100.1", "198.51.100.2"],
  );
  assert.deepEqual(many[0]!.object.spec, {});
});

it("past the three IPv4 blocks, no placeholder (render then says there is no clusterIP)", () => {
  const r = withPlaceholderClusterIps(Array.from({ length: 763 }, () => svc({})));
  assert.equal(r.placed.length, 762);
  assert.equal(r.placed.at(-1)!.ips[0], "203.0.113.254");
});
