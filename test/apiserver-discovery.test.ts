/* eslint-disable @typescript-eslint/no-unsafe-member-access -- API answers are plain JSON */
// Discovery as a real 1.32 kube-apiserver serves it: aggregated discovery (apidiscovery.k8s.io/v2,
// GA since 1.30) when the client asks for it, so the real kubectl learns every group in two
// requests (/api and /apis) instead of one more per group version; the legacy documents for
// clients that ask for plain JSON (python3-kubernetes' dynamic client, older client-go).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { request } from "../lab/apiserver/client.ts";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { KUBECTL, kubectlWith } from "./kubectl-run.ts";

const missing = existsSync(KUBECTL) ? false : `kubectl is not installed at ${KUBECTL}`;
// what client-go 1.32 sends for /api and /apis (discovery_client.go's AcceptV2 and AcceptV1)
const AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
const CLIENT_GO_ACCEPT = `${AGGREGATED},application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json`;

let api: ApiServer;
let dir: string;
const kubectl = kubectlWith(
  () => api.kubeconfigPath,
  () => dir,
);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "apiserver-discovery-"));
  api = await startApiServer();
});
after(async () => {
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Legacy {
  name: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  group?: string;
  version?: string;
  shortNames?: string[];
}

interface Kind {
  group: string;
  version: string;
  kind: string;
}
interface Aggregated {
  resource: string;
  responseKind: Kind;
  scope: "Namespaced" | "Cluster";
  verbs: string[];
  shortNames?: string[];
  subresources?: { subresource: string; responseKind: Kind; verbs: string[] }[];
}

/** Every group version the legacy documents list, with its resources. */
async function legacy(): Promise<{ group: string; version: string; resources: Legacy[] }[]> {
  const groups = (await request(api, "GET", "/apis")).json.groups as {
    versions: { groupVersion: string }[];
  }[];
  const gvs = ["v1", ...groups.flatMap((g) => g.versions.map((v) => v.groupVersion))];
  return Promise.all(
    gvs.map(async (gv) => {
      const [group, version] = gv.includes("/") ? gv.split("/") : ["", gv];
      const doc = await request(api, "GET", group === "" ? `/api/${gv}` : `/apis/${gv}`);
      return { group: group ?? "", version: version ?? "", resources: doc.json.resources as Legacy[] };
    }),
  );
}

describe("discovery", () => {
  it(
    "kubectl discovers every group from /api and /apis alone (aggregated discovery)",
    { skip: missing },
    async () => {
      const r = await kubectl("get", "services", "-A", "-v=6");
      assert.equal(r.code, 0, r.stderr);
      const gets = [...r.stderr.matchAll(/GET https:\/\/[^/\s]+(\/[^?\s]*)/g)].map((m) => m[1]);
      assert.ok(gets.includes("/api") && gets.includes("/apis"), gets.join(" "));
      const perGroupVersion = gets.filter(
        (p) => p !== undefined && /^\/(api\/[^/]+|apis\/[^/]+\/[^/]+)$/.test(p),
      );
      assert.deepEqual(perGroupVersion, [], "a real 1.32 server answers kubectl's discovery in two requests");
    },
  );

  it("kubectl api-resources lists every resource the legacy documents list", { skip: missing }, async () => {
    const r = await kubectl("api-resources", "--no-headers", "-o", "name");
    assert.equal(r.code, 0, r.stderr);
    const listed = new Set(r.stdout.trim().split("\n"));
    for (const gv of await legacy())
      for (const res of gv.resources.filter((x) => !x.name.includes("/")))
        assert.ok(
          listed.has(gv.group === "" ? res.name : `${res.name}.${gv.group}`),
          `${gv.group}/${res.name}`,
        );
  });

  it("answers client-go's Accept with APIGroupDiscoveryList v2, the same resources as the legacy documents", async () => {
    const all = await legacy();
    for (const path of ["/api", "/apis"]) {
      const r = await request(api, "GET", path, { headers: { accept: CLIENT_GO_ACCEPT } });
      assert.equal(r.status, 200);
      assert.equal(r.headers["content-type"], AGGREGATED);
      assert.equal(r.headers.vary, "Accept");
      assert.equal(r.json.kind, "APIGroupDiscoveryList");
      assert.equal(r.json.apiVersion, "apidiscovery.k8s.io/v2");
      const items = r.json.items as {
        metadata: { name?: string };
        versions: { version: string; freshness: string; resources: Aggregated[] }[];
      }[];
      const want = all.filter((gv) => (path === "/api") === (gv.group === ""));
      assert.deepEqual(
        items.flatMap((g) => g.versions.map((v) => `${g.metadata.name ?? ""}/${v.version}`)).sort(),
        want.map((gv) => `${gv.group}/${gv.version}`).sort(),
      );
      for (const gv of want) {
        const item = items.find((g) => (g.metadata.name ?? "") === gv.group);
        const version = item?.versions.find((v) => v.version === gv.version);
        assert.equal(version?.freshness, "Current");
        // the legacy list, rebuilt from the aggregated one as client-go's aggregated_discovery.go does
        const rebuilt = (version?.resources ?? []).flatMap((res) => [
          {
            name: res.resource,
            namespaced: res.scope === "Namespaced",
            kind: res.responseKind.kind,
            verbs: res.verbs,
            ...(res.responseKind.group !== "" ? { group: res.responseKind.group } : {}),
            ...(res.responseKind.version !== "" ? { version: res.responseKind.version } : {}),
            ...(res.shortNames !== undefined ? { shortNames: res.shortNames } : {}),
          },
          ...(res.subresources ?? []).map((sub) => ({
            name: `${res.resource}/${sub.subresource}`,
            namespaced: res.scope === "Namespaced",
            kind: sub.responseKind.kind,
            verbs: sub.verbs,
            ...(sub.responseKind.group !== "" ? { group: sub.responseKind.group } : {}),
            ...(sub.responseKind.version !== "" ? { version: sub.responseKind.version } : {}),
          })),
        ]);
        const key = (x: Legacy) => x.name;
        const strip = ({ name, namespaced, kind, verbs, group, version: v, shortNames }: Legacy) => ({
          name,
          namespaced,
          kind,
          verbs,
          ...(group !== undefined ? { group } : {}),
          ...(v !== undefined ? { version: v } : {}),
          ...(shortNames !== undefined ? { shortNames } : {}),
        });
        assert.deepEqual(
          (rebuilt satisfies Legacy[]).map(strip).sort((a, b) => key(a).localeCompare(key(b))),
          gv.resources.map(strip).sort((a, b) => key(a).localeCompare(key(b))),
          `${gv.group}/${gv.version}`,
        );
      }
    }
  });

  it("answers plain JSON with the legacy documents", async () => {
    const apis = await request(api, "GET", "/apis", { headers: { accept: "application/json" } });
    assert.equal(apis.headers["content-type"], "application/json");
    assert.equal(apis.json.kind, "APIGroupList");
    const core = await request(api, "GET", "/api");
    assert.equal(core.json.kind, "APIVersions");
  });

  it("answers an If-None-Match of the document's ETag with 304, as the real handler does", async () => {
    const first = await request(api, "GET", "/apis", { headers: { accept: AGGREGATED } });
    const etag = first.headers.etag;
    assert.equal(typeof etag, "string");
    const again = await request(api, "GET", "/apis", {
      headers: { accept: AGGREGATED, "if-none-match": String(etag) },
    });
    assert.equal(again.status, 304);
    assert.equal(again.text, "");
  });
});

describe("OpenAPI v3", () => {
  /** The root's URL of one group version's document, with its hash. */
  const documentUrl = async (gv: string) =>
    ((await request(api, "GET", "/openapi/v3")).json.paths as Record<string, { serverRelativeURL: string }>)[
      gv
    ]!.serverRelativeURL;

  it("serves a document at its hashed URL as immutable, its ETag the hash, as kube-openapi's handler3", async () => {
    const url = await documentUrl("api/v1");
    const hash = new URL(url, api.url).searchParams.get("hash");
    const r = await request(api, "GET", url);
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(r.headers.etag, `"${hash}"`);
    assert.equal(r.headers["cache-control"], "public, immutable");
    assert.equal(r.headers.vary, "Accept");
    assert.ok(
      Date.parse(String(r.headers.expires)) > Date.now() + 300 * 86_400_000,
      String(r.headers.expires),
    );
    assert.equal(createHash("sha512").update(r.text).digest("hex").toUpperCase(), hash);
    const again = await request(api, "GET", url, { headers: { "if-none-match": `"${hash}"` } });
    assert.equal(again.status, 304);
  });

  it("redirects a stale hash to the current document's URL (301), and without a hash serves it uncached", async () => {
    const url = await documentUrl("apis/discovery.k8s.io/v1");
    const stale = await request(api, "GET", "/openapi/v3/apis/discovery.k8s.io/v1?hash=0123");
    assert.equal(stale.status, 301);
    assert.equal(stale.headers.location, url);
    const plain = await request(api, "GET", "/openapi/v3/apis/discovery.k8s.io/v1");
    assert.equal(plain.status, 200);
    assert.equal(plain.headers["cache-control"], undefined);
    assert.equal(plain.headers.etag, `"${new URL(url, api.url).searchParams.get("hash")}"`);
  });
});
