/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return -- API objects from the wire are plain JSON */
// The lab API server's REST surface on the wire: auth, CRUD, Status errors with the real reasons,
// codes and texts, selectors, resourceVersion/generation, Service allocation, status subresource,
// dry-run, and garbage of every kind answered with a Status instead of a crash.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { request } from "../lab/apiserver/client.ts";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";

let api: ApiServer;
before(async () => {
  api = await startApiServer({ serviceCidr: "10.0.0.0/29", nodePortRange: "30000-30002" });
});
after(async () => api.stop());

const svc = (name: string, spec: Record<string, unknown> = {}, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, labels },
  spec: { ports: [{ port: 80 }], ...spec },
});
const SVCS = "/api/v1/namespaces/default/services";

describe("authentication and routing", () => {
  // (no token at all is system:anonymous, then RBAC: test/apiserver-anonymous.test.ts)
  it("answers 401 Status to a wrong token", async () => {
    const r = await request(api, "GET", "/api/v1/namespaces", { token: "wrong" });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "Unauthorized",
      reason: "Unauthorized",
      code: 401,
    });
  });
  it("serves /version without a token, as the real public-info role allows", async () => {
    const r = await request(api, "GET", "/version", { token: null });
    assert.equal(r.status, 200);
    assert.equal(r.json.major, "1");
  });
  it("answers unknown resources and paths with a NotFound Status", async () => {
    for (const p of [
      "/api/v1/namespaces/default/widgets",
      "/apis/example.com/v1/things",
      "/nope",
      "/api/v1/namespaces/default/services/x/proxy",
    ]) {
      const r = await request(api, "GET", p);
      assert.equal(r.status, 404, p);
      assert.equal(r.json.reason, "NotFound");
      assert.equal(r.json.message, "the server could not find the requested resource");
    }
  });
  it("answers a method a path does not take with 405 MethodNotAllowed", async () => {
    const r = await request(api, "POST", `${SVCS}/x`, { body: svc("x") });
    assert.equal(r.status, 405);
    assert.equal(r.json.reason, "MethodNotAllowed");
  });
  it("pre-creates default, kube-system and kube-public", async () => {
    const r = await request(api, "GET", "/api/v1/namespaces");
    const names = r.json.items.map((n: { metadata: { name: string } }) => n.metadata.name);
    for (const n of ["default", "kube-system", "kube-public"]) assert.ok(names.includes(n), n);
  });
});

describe("instances", () => {
  it("runs several at once on their own ports and stores, and stop() removes the kubeconfig", async () => {
    const [a, b] = await Promise.all([startApiServer(), startApiServer()]);
    try {
      assert.notEqual(a.url, b.url);
      await request(a, "POST", "/api/v1/namespaces/default/configmaps", {
        body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "only-in-a" } },
      });
      assert.equal((await request(b, "GET", "/api/v1/namespaces/default/configmaps/only-in-a")).status, 404);
      assert.equal(
        (await request(b, "GET", "/api/v1/namespaces", { token: a.token })).status,
        401,
        "tokens are per instance",
      );
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    assert.equal(existsSync(a.kubeconfigPath), false);
  });
});

describe("create, get, update, delete", () => {
  it("creates a Service with defaults, uid, creationTimestamp, generation, resourceVersion and a ClusterIP", async () => {
    const r = await request(api, "POST", SVCS, { body: svc("alpha", { type: "NodePort" }, { app: "a" }) });
    assert.equal(r.status, 201, r.text);
    const m = r.json.metadata;
    assert.match(m.uid, /^[0-9a-f-]{36}$/);
    assert.match(m.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(m.generation, 1);
    assert.match(m.resourceVersion, /^\d+$/);
    assert.equal(r.json.spec.clusterIP, "10.0.0.1");
    assert.deepEqual(r.json.spec.clusterIPs, ["10.0.0.1"]);
    assert.equal(r.json.spec.ports[0].nodePort, 30000);
    assert.equal(r.json.spec.ports[0].protocol, "TCP");
    assert.equal(r.json.spec.ports[0].targetPort, 80);
    assert.equal(r.json.spec.sessionAffinity, "None");
    const got = await request(api, "GET", `${SVCS}/alpha`);
    assert.equal(got.json.kind, "Service");
    assert.equal(got.json.metadata.resourceVersion, m.resourceVersion);
  });
  it("refuses a second create with 409 AlreadyExists and the real message", async () => {
    const r = await request(api, "POST", SVCS, { body: svc("alpha") });
    assert.equal(r.status, 409);
    assert.equal(r.json.reason, "AlreadyExists");
    assert.equal(r.json.message, 'services "alpha" already exists');
    assert.deepEqual(r.json.details, { name: "alpha", kind: "services" });
  });
  it("says 404 NotFound with the resource's qualified name", async () => {
    const r = await request(api, "GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/none");
    assert.equal(r.status, 404);
    assert.equal(r.json.message, 'endpointslices.discovery.k8s.io "none" not found');
    assert.deepEqual(r.json.details, { name: "none", group: "discovery.k8s.io", kind: "endpointslices" });
  });
  it("updates with optimistic concurrency: a stale resourceVersion is a 409 Conflict", async () => {
    const cur = (await request(api, "GET", `${SVCS}/alpha`)).json;
    const stale = structuredClone(cur);
    cur.spec.ports[0].port = 81;
    const ok = await request(api, "PUT", `${SVCS}/alpha`, { body: cur });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.metadata.generation, 2);
    assert.equal(ok.json.spec.clusterIP, "10.0.0.1");
    assert.equal(ok.json.spec.ports[0].nodePort, 30000, "the allocated nodePort survives the update");
    assert.ok(Number(ok.json.metadata.resourceVersion) > Number(cur.metadata.resourceVersion));
    stale.metadata.labels = { changed: "yes" };
    const r = await request(api, "PUT", `${SVCS}/alpha`, { body: stale });
    assert.equal(r.status, 409);
    assert.equal(r.json.reason, "Conflict");
    assert.equal(
      r.json.message,
      'Operation cannot be fulfilled on services "alpha": the object has been modified; please apply your changes to the latest version and try again',
    );
  });
  it("bumps generation only when the spec changes", async () => {
    const cur = (await request(api, "GET", `${SVCS}/alpha`)).json;
    cur.metadata.labels = { app: "a", more: "x" };
    const r = await request(api, "PUT", `${SVCS}/alpha`, { body: cur });
    assert.equal(r.json.metadata.generation, cur.metadata.generation);
  });
  it("keeps status out of the main resource and the rest out of /status", async () => {
    // ingress status is only valid on a LoadBalancer (ValidateLoadBalancerStatus)
    const cur = (await request(api, "POST", SVCS, { body: svc("lbstatus", { type: "LoadBalancer" }) })).json;
    const lb = { loadBalancer: { ingress: [{ ip: "192.0.2.10" }] } };
    const main = await request(api, "PUT", `${SVCS}/lbstatus`, { body: { ...cur, status: lb } });
    assert.deepEqual(main.json.status, { loadBalancer: {} });
    const st = await request(api, "PUT", `${SVCS}/lbstatus/status`, {
      body: { ...main.json, status: lb, spec: { ...main.json.spec, sessionAffinity: "ClientIP" } },
    });
    assert.equal(st.status, 200, st.text);
    assert.deepEqual(st.json.status, lb);
    assert.equal(st.json.spec.sessionAffinity, "None");
  });
  it("deletes a Service (answering the object) and a ConfigMap (answering Status Success), then 404", async () => {
    await request(api, "POST", "/api/v1/namespaces/default/configmaps", {
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "1" } },
    });
    const cm = await request(api, "DELETE", "/api/v1/namespaces/default/configmaps/c");
    assert.equal(cm.json.kind, "Status");
    assert.equal(cm.json.status, "Success");
    assert.equal(cm.json.details.name, "c");
    await request(api, "POST", SVCS, { body: svc("gone") });
    const s = await request(api, "DELETE", `${SVCS}/gone`);
    assert.equal(s.json.kind, "Service");
    assert.equal((await request(api, "GET", `${SVCS}/gone`)).status, 404);
  });
  it("releases a deleted Service's ClusterIP and NodePort for reuse", async () => {
    const a = await request(api, "POST", SVCS, { body: svc("np1", { type: "NodePort" }) });
    const ip = a.json.spec.clusterIP;
    const port = a.json.spec.ports[0].nodePort;
    await request(api, "DELETE", `${SVCS}/np1`);
    const again = await request(api, "POST", SVCS, {
      body: svc("np2", { type: "NodePort", clusterIP: ip, ports: [{ port: 80, nodePort: port }] }),
    });
    assert.equal(again.status, 201, again.text);
    await request(api, "DELETE", `${SVCS}/np2`);
  });
  it("forbids deleting the default namespaces, and deletes others with their contents", async () => {
    const r = await request(api, "DELETE", "/api/v1/namespaces/kube-system");
    assert.equal(r.status, 403);
    assert.equal(r.json.reason, "Forbidden");
    assert.equal(r.json.message, 'namespaces "kube-system" is forbidden: this namespace may not be deleted');
    await request(api, "POST", "/api/v1/namespaces", {
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "temp" } },
    });
    await request(api, "POST", "/api/v1/namespaces/temp/configmaps", {
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "inside" } },
    });
    const d = await request(api, "DELETE", "/api/v1/namespaces/temp");
    assert.equal(d.json.status.phase, "Terminating");
    assert.equal((await request(api, "GET", "/api/v1/namespaces/temp/configmaps/inside")).status, 404);
    assert.equal((await request(api, "GET", "/api/v1/namespaces/temp")).status, 404);
  });
  it("keeps an object with finalizers, marked for deletion, until the last finalizer goes", async () => {
    const CM = "/api/v1/namespaces/default/configmaps";
    await request(api, "POST", CM, {
      body: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "held", finalizers: ["example.com/hold"] },
      },
    });
    const d = await request(api, "DELETE", `${CM}/held`);
    assert.equal(d.status, 200);
    assert.match(d.json.metadata.deletionTimestamp, /Z$/);
    const held = await request(api, "GET", `${CM}/held`);
    assert.equal(held.status, 200);
    const freed = await request(api, "PATCH", `${CM}/held`, {
      body: [{ op: "remove", path: "/metadata/finalizers" }],
      contentType: "application/json-patch+json",
    });
    assert.equal(freed.status, 200, freed.text);
    assert.equal((await request(api, "GET", `${CM}/held`)).status, 404);
  });
  it("creates with generateName", async () => {
    const r = await request(api, "POST", "/api/v1/namespaces/default/configmaps", {
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { generateName: "gen-" } },
    });
    assert.equal(r.status, 201);
    assert.match(r.json.metadata.name, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });
  it("refuses objects in a namespace that does not exist", async () => {
    const r = await request(api, "POST", "/api/v1/namespaces/nowhere/services", { body: svc("x") });
    assert.equal(r.status, 404);
    assert.equal(r.json.message, 'namespaces "nowhere" not found');
  });
});

describe("validation and allocation", () => {
  it("answers 422 Invalid with field causes and the real texts", async () => {
    const r = await request(api, "POST", SVCS, {
      body: svc("Bad_Name", { ports: [{ port: 0, protocol: "ICMP" }] }),
    });
    assert.equal(r.status, 422);
    assert.equal(r.json.reason, "Invalid");
    assert.match(
      r.json.message,
      /^Service "Bad_Name" is invalid: \[metadata\.name: Invalid value: "Bad_Name": a DNS-1035 label must consist of lower case/,
    );
    const fields = r.json.details.causes.map((c: { field: string }) => c.field);
    // targetPort defaults to port, so it is invalid too, as on a real server
    assert.deepEqual(fields, [
      "metadata.name",
      "spec.ports[0].port",
      "spec.ports[0].protocol",
      "spec.ports[0].targetPort",
    ]);
    assert.equal(
      r.json.details.causes[2].message,
      'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
    );
  });
  it("requires names on every port when there are several", async () => {
    const r = await request(api, "POST", SVCS, { body: svc("two", { ports: [{ port: 80 }, { port: 81 }] }) });
    assert.equal(r.status, 422);
    assert.equal(
      r.json.message,
      'Service "two" is invalid: [spec.ports[0].name: Required value, spec.ports[1].name: Required value]',
    );
  });
  it("refuses a ClusterIP outside the range or already taken, with the allocator's words", async () => {
    const out = await request(api, "POST", SVCS, { body: svc("out", { clusterIP: "10.9.9.9" }) });
    assert.equal(out.status, 422);
    assert.match(
      out.json.message,
      /the provided IP \(10\.9\.9\.9\) is not in the valid range\. The range of valid IPs is 10\.0\.0\.0\/29/,
    );
    const taken = await request(api, "POST", SVCS, { body: svc("taken", { clusterIP: "10.0.0.1" }) });
    assert.equal(taken.status, 422);
    assert.match(taken.json.message, /failed to allocate IP 10\.0\.0\.1: provided IP is already allocated/);
  });
  it("runs out of NodePorts in a small range and says so", async () => {
    const made: string[] = [];
    let last;
    for (let i = 0; i < 4; i++) {
      last = await request(api, "POST", SVCS, { body: svc(`np-${i}`, { type: "NodePort" }) });
      if (last.status === 201) made.push(`np-${i}`);
    }
    assert.equal(last?.status, 422);
    assert.match(last?.json.message, /nodePort/);
    for (const n of made) await request(api, "DELETE", `${SVCS}/${n}`);
  });
  it("leaves no allocation behind when a dry-run create succeeds", async () => {
    const dry = await request(api, "POST", `${SVCS}?dryRun=All`, { body: svc("dry") });
    assert.equal(dry.status, 201);
    assert.equal(dry.json.metadata.resourceVersion, undefined);
    assert.equal((await request(api, "GET", `${SVCS}/dry`)).status, 404);
    const real = await request(api, "POST", SVCS, {
      body: svc("dry", { clusterIP: dry.json.spec.clusterIP }),
    });
    assert.equal(real.status, 201, real.text);
    await request(api, "DELETE", `${SVCS}/dry`);
  });
});

describe("lists and selectors", () => {
  before(async () => {
    await request(api, "POST", "/api/v1/namespaces", {
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "sel" } },
    });
    const mk = (name: string, labels: Record<string, string>) =>
      request(api, "POST", "/api/v1/namespaces/sel/configmaps", {
        body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name, labels } },
      });
    await mk("a", { tier: "web", env: "prod" });
    await mk("b", { tier: "db", env: "prod" });
    await mk("c", { tier: "web" });
  });
  const names = async (q: string, ns = "sel") => {
    const r = await request(api, "GET", `/api/v1/namespaces/${ns}/configmaps?${q}`);
    assert.equal(r.status, 200, r.text);
    return r.json.items.map((o: { metadata: { name: string } }) => o.metadata.name).join(",");
  };
  it("filters by every label selector operator", async () => {
    assert.equal(await names("labelSelector=tier%3Dweb"), "a,c");
    assert.equal(await names("labelSelector=tier%3D%3Dweb"), "a,c");
    assert.equal(await names("labelSelector=env!%3Dprod"), "c");
    assert.equal(await names("labelSelector=tier%20in%20(db,cache)"), "b");
    assert.equal(await names("labelSelector=tier%20notin%20(db)"), "a,c");
    assert.equal(await names("labelSelector=env"), "a,b");
    assert.equal(await names("labelSelector=!env"), "c");
    assert.equal(await names("labelSelector=tier%3Dweb,env"), "a");
  });
  it("filters by metadata.name and metadata.namespace field selectors", async () => {
    assert.equal(await names("fieldSelector=metadata.name%3Db"), "b");
    assert.equal(await names("fieldSelector=metadata.name!%3Db"), "a,c");
    const all = await request(api, "GET", "/api/v1/configmaps?fieldSelector=metadata.namespace%3Dsel");
    assert.equal(all.json.items.length, 3);
  });
  it("answers bad selectors with 400 BadRequest", async () => {
    const a = await request(api, "GET", "/api/v1/namespaces/sel/configmaps?labelSelector=a%20in%20b");
    assert.equal(a.status, 400);
    const b = await request(api, "GET", "/api/v1/namespaces/sel/configmaps?fieldSelector=spec.x%3D1");
    assert.equal(b.status, 400);
    assert.equal(b.json.message, "field label not supported: spec.x");
  });
  it("pages with limit and continue, and gives the list a resourceVersion", async () => {
    const first = await request(api, "GET", "/api/v1/namespaces/sel/configmaps?limit=2");
    assert.equal(first.json.items.length, 2);
    assert.equal(first.json.metadata.remainingItemCount, 1);
    assert.match(first.json.metadata.resourceVersion, /^\d+$/);
    const rest = await request(
      api,
      "GET",
      `/api/v1/namespaces/sel/configmaps?limit=2&continue=${first.json.metadata.continue}`,
    );
    assert.deepEqual(
      rest.json.items.map((o: { metadata: { name: string } }) => o.metadata.name),
      ["c"],
    );
    assert.equal(rest.json.metadata.continue, undefined);
  });
  it("lists across all namespaces", async () => {
    const r = await request(api, "GET", "/api/v1/configmaps");
    assert.ok(r.json.items.length >= 3);
    assert.equal(r.json.kind, "ConfigMapList");
  });
});

describe("garbage in, Status out", () => {
  it("answers malformed JSON and YAML with 400 BadRequest", async () => {
    const j = await request(api, "POST", SVCS, {
      body: '{"kind": "Service", ',
      contentType: "application/json",
    });
    assert.equal(j.status, 400);
    assert.equal(j.json.reason, "BadRequest");
    assert.match(j.json.message, /^couldn't get version\/kind; json parse error/);
    const y = await request(api, "POST", SVCS, { body: "kind: [unclosed", contentType: "application/yaml" });
    assert.equal(y.status, 400);
  });
  it("defaults a missing kind to the endpoint's, and refuses a wrong kind or apiVersion with 400", async () => {
    const noKind = await request(api, "POST", "/api/v1/namespaces/default/configmaps", {
      body: { metadata: { name: "kindless" } },
    });
    assert.equal(noKind.status, 201, noKind.text);
    assert.equal(noKind.json.kind, "ConfigMap");
    const pod = await request(api, "POST", SVCS, {
      body: { apiVersion: "v1", kind: "Pod", metadata: { name: "x" } },
    });
    assert.equal(pod.status, 400);
    const v2 = await request(api, "POST", SVCS, {
      body: { apiVersion: "v2", kind: "Service", metadata: { name: "x" } },
    });
    assert.equal(v2.status, 400);
    assert.equal(
      v2.json.message,
      "the API version in the data (v2) does not match the expected API version (v1)",
    );
  });
  it("answers unknown content types with 415 UnsupportedMediaType", async () => {
    const r = await request(api, "POST", SVCS, { body: "x", contentType: "text/plain" });
    assert.equal(r.status, 415);
    assert.equal(r.json.reason, "UnsupportedMediaType");
    const p = await request(api, "PATCH", `${SVCS}/alpha`, { body: "{}", contentType: "application/json" });
    assert.equal(p.status, 415);
  });
  it("answers a protobuf body with the k8s prefix but garbage inside with a Status", async () => {
    const body = Buffer.concat([Buffer.from("k8s\0", "latin1"), Buffer.from([0x0a, 0xff, 0xff, 0x01, 0x12])]);
    const r = await request(api, "POST", SVCS, { body, contentType: "application/vnd.kubernetes.protobuf" });
    assert.equal(r.status, 415);
    assert.equal(r.json.kind, "Status");
  });
  it("answers a bad percent-escape in the path with 400", async () => {
    const r = await request(api, "GET", "/api/v1/namespaces/%E0%A4%A/services");
    assert.equal(r.status, 400);
    assert.equal(r.json.kind, "Status");
  });
  it("survives random bytes on every verb and keeps serving", async () => {
    const junk = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 73) % 256));
    for (const [m, ct] of [
      ["POST", "application/json"],
      ["POST", "application/vnd.kubernetes.protobuf"],
      ["PUT", "application/yaml"],
      ["PATCH", "application/merge-patch+json"],
      ["PATCH", "application/json-patch+json"],
      ["PATCH", "application/apply-patch+yaml"],
      ["DELETE", "application/json"],
    ] as const) {
      const r = await request(api, m, m === "POST" ? SVCS : `${SVCS}/alpha`, { body: junk, contentType: ct });
      assert.ok(r.status >= 400 && r.status < 500, `${m} ${ct}: ${r.status} ${r.text}`);
      assert.equal(r.json.kind, "Status");
    }
    assert.equal((await request(api, "GET", `${SVCS}/alpha`)).status, 200);
  });
});

describe("Secrets", () => {
  it("stringData is merged into data as base64 and never stored, as the real registry does", async () => {
    const r = await request(api, "POST", "/api/v1/namespaces/default/secrets", {
      body: {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "sd" },
        data: { kept: Buffer.from("old").toString("base64"), over: "eA==" },
        stringData: { plain: "hello", over: "new" },
      },
    });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const got = await request(api, "GET", "/api/v1/namespaces/default/secrets/sd");
    assert.equal(got.json.stringData, undefined);
    assert.equal(got.json.type, "Opaque");
    const decoded = Object.fromEntries(
      Object.entries(got.json.data as Record<string, string>).map(([k, v]) => [
        k,
        Buffer.from(v, "base64").toString(),
      ]),
    );
    assert.deepEqual(decoded, { kept: "old", over: "new", plain: "hello" });
  });
});
