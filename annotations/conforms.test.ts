import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { conforms } from "./conforms.ts";
import { agrees, REPLACEMENTS, variants } from "./conforms-agreement.test-helpers.ts";
import { serviceSchema } from "./service.ts";

const SERVICE = {
  apiVersion: "v1",
  kind: "Service",
  metadata: {
    name: "web",
    namespace: "shop",
    uid: "u",
    annotations: { "service.kubernetes.io/kube-nftlb-load-balancer-mode": "dnat", other: 1 },
    labels: { app: "web" },
  },
  spec: {
    type: "LoadBalancer",
    clusterIP: "10.96.0.10",
    clusterIPs: ["10.96.0.10"],
    ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: "http", nodePort: 30080 }],
    externalIPs: ["192.0.2.1"],
    sessionAffinity: "ClientIP",
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 30 } },
    internalTrafficPolicy: "Cluster",
    externalTrafficPolicy: "Local",
    selector: { app: "web" },
  },
  status: { loadBalancer: { ingress: [{ ip: "192.0.2.9" }] } },
};

describe("conforms", () => {
  it("agrees with zod on the Service schema for every one-member change of a full Service", () => {
    const values = variants(SERVICE, REPLACEMENTS);
    const { fast, zodOnly } = agrees(serviceSchema, values);
    // Both kinds are many: the check neither accepts everything nor refuses everything.
    assert.ok(fast > 100 && zodOnly > 100, `fast ${fast}, zod ${zodOnly}`);
  });

  it("leaves to zod a Service whose spec zod fills in (a default) and objects carrying __proto__", () => {
    const isService = conforms(serviceSchema);
    const { spec: _spec, ...noSpec } = SERVICE;
    assert.equal(serviceSchema.safeParse(noSpec).success, true);
    assert.equal(isService(noSpec), false);
    assert.equal(isService({ ...SERVICE, ...(JSON.parse('{"__proto__": {}}') as object) }), false);
    assert.equal(isService(SERVICE), true);
  });

  it("agrees with zod on every kind of schema it supports", () => {
    const schema = z.looseObject({
      s: z.string().min(2),
      n: z.number(),
      i: z.number().int(),
      b: z.boolean().optional(),
      l: z.literal("x"),
      e: z.enum(["A", "B"]),
      u: z.union([z.number().int(), z.string()]),
      r: z.record(z.string(), z.string()).nullish(),
      a: z.array(z.looseObject({ k: z.unknown() })),
      d: z.looseObject({ x: z.string().optional() }).default({}),
    });
    const base = {
      s: "ab",
      n: 1.5,
      i: 2,
      b: true,
      l: "x",
      e: "A",
      u: 3,
      r: { k: "v" },
      a: [{ k: 1 }],
      d: {},
    };
    const { fast, zodOnly } = agrees(schema, variants(base, [...REPLACEMENTS, "A", "ab", { k: "v" }]));
    assert.ok(fast > 20 && zodOnly > 20, `fast ${fast}, zod ${zodOnly}`);
  });

  it("refuses, when built, schemas whose result is not their input", () => {
    for (const schema of [
      z.object({ a: z.string() }),
      z.strictObject({ a: z.string() }),
      z.string().transform((s) => s.length),
      z.string().email(),
      z.number().min(1),
      z.looseObject({}).refine(() => true),
      z.date(),
    ])
      assert.throws(() => conforms(schema as z.ZodType), /conforms:/);
  });
});
