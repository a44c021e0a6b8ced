/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument -- results are plain JSON from the Python client */
// Unknown fields and wrong types, driven by the real kubectl and the official Python client:
// fieldValidation Strict (kubectl's default), Warn (the server's default) and Ignore with the real
// texts, pruning, server-side apply's "field not declared in schema", strategic merge patches of
// the wrong type answered 4xx, and `kubectl apply` of a `kind: List`.
import assert from "node:assert/strict";

import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { pythonMissing, runPython } from "./kube-python.ts";
import { KUBECTL, kubectlWith } from "./kubectl-run.ts";

const missing = existsSync(KUBECTL) ? pythonMissing : `kubectl is not installed at ${KUBECTL}`;

let api: ApiServer;
let dir: string;

const kubectl = kubectlWith(
  () => api.kubeconfigPath,
  () => dir,
);

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const misspelt = (name: string) => `apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  type: NodePort
  externalTrafficPolcy: Local
  ports: [{port: 80}]
`;

async function specOf(name: string): Promise<Record<string, unknown>> {
  const got = await kubectl("get", "service", name, "-o", "json");
  assert.equal(got.code, 0, got.stderr);
  return (JSON.parse(got.stdout) as { spec: Record<string, unknown> }).spec;
}

describe("unknown fields and wrong types", { skip: missing }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "apiserver-fields-"));
    api = await startApiServer();
  });
  after(async () => {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("kubectl apply (fieldValidation=Strict) refuses a misspelt field with the real text", async () => {
    const r = await kubectl("apply", "-f", file("strict.yaml", misspelt("strict")));
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /Error from server \(BadRequest\): error when creating ".*strict\.yaml": Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec\.externalTrafficPolcy"/,
    );
    assert.equal((await kubectl("get", "service", "strict")).code, 1);
  });

  it("--validate=warn stores the Service without the field and prints the Warning", async () => {
    const r = await kubectl("apply", "--validate=warn", "-f", file("warn.yaml", misspelt("warn")));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Warning: unknown field "spec\.externalTrafficPolcy"/);
    const spec = await specOf("warn");
    assert.equal(spec.externalTrafficPolcy, undefined);
    assert.equal(spec.externalTrafficPolicy, "Cluster");
  });

  it("--validate=false (Ignore) drops the field silently", async () => {
    const r = await kubectl("apply", "--validate=false", "-f", file("ignore.yaml", misspelt("ignore")));
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /Warning/);
    assert.equal((await specOf("ignore")).externalTrafficPolcy, undefined);
  });

  it("server-side apply refuses it as structured-merge-diff does", async () => {
    const r = await kubectl("apply", "--server-side", "-f", file("ssa.yaml", misspelt("ssa")));
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /failed to create typed patch object \(default\/ssa; \/v1, Kind=Service\): \.spec\.externalTrafficPolcy: field not declared in schema/,
    );
  });

  it("a value of the wrong type is a 400 with Go's decoding error", async () => {
    const text = `apiVersion: v1\nkind: Service\nmetadata: {name: typed}\nspec: {ports: [{port: eighty}]}\n`;
    const r = await kubectl("apply", "-f", file("typed.yaml", text));
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /Error from server \(BadRequest\).*cannot be handled as a Service: json: cannot unmarshal string into Go struct field ServicePort\.spec\.ports\.port of type int32/,
    );
  });

  it("a strategic merge patch of the wrong type is a 4xx with the converter's text", async () => {
    assert.equal((await kubectl("create", "service", "clusterip", "smp", "--tcp=80")).code, 0);
    const whole = await kubectl("patch", "service", "smp", "-p", '{"spec":"oops"}');
    assert.notEqual(whole.code, 0);
    assert.match(
      whole.stderr,
      /The request is invalid: patch: Invalid value: "map\[spec:oops\]": cannot restore struct from: string/,
    );
    const port = await kubectl(
      "patch",
      "service",
      "smp",
      "-p",
      '{"spec":{"ports":[{"port":80,"targetPort":{"a":1}}]}}',
    );
    assert.notEqual(port.code, 0);
    assert.match(port.stderr, /json: cannot unmarshal object into Go value of type int32/);
    assert.doesNotMatch(whole.stderr + port.stderr, /InternalError|Internal error/);
  });

  it("kubectl apply of a kind: List creates every item", async () => {
    const list = `apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: one}, data: {a: "1"}}
- {apiVersion: v1, kind: Service, metadata: {name: two}, spec: {ports: [{port: 80}]}}
`;
    const r = await kubectl("apply", "-f", file("list.yaml", list));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configmap\/one created/);
    assert.match(r.stdout, /service\/two created/);
  });

  it("the Python client: Warning headers and a pruned object when fieldValidation is unset (Warn)", async () => {
    const out = await runPython(
      api.kubeconfigPath,
      `
out["created"] = raw("POST", "/api/v1/namespaces/default/configmaps", [], {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "py", "labelz": {"a": "b"}}, "data": {"k": "v"}, "extra": 1})
out["strict"] = raw("POST", "/api/v1/namespaces/default/configmaps", [("fieldValidation", "Strict")], {"metadata": {"name": "py2"}, "extra": 1})
out["bad"] = raw("POST", "/api/v1/namespaces/default/configmaps", [("fieldValidation", "Loose")], {"metadata": {"name": "py3"}})
out["read"] = call(v1.read_namespaced_config_map, "py", "default")
`,
    );
    assert.equal(out.created.status, 201);
    assert.deepEqual(out.created.warnings, [
      '299 - "unknown field \\"metadata.labelz\\""',
      '299 - "unknown field \\"extra\\""',
    ]);
    assert.equal(out.read.object.metadata.labelz, undefined);
    assert.deepEqual(out.read.object.data, { k: "v" });
    assert.equal(out.strict.status, 400);
    assert.equal(
      out.strict.body.message,
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "extra"',
    );
    assert.equal(out.bad.status, 422);
    assert.match(
      out.bad.body.message,
      /fieldValidation: Unsupported value: "Loose": supported values: "Ignore", "Warn", "Strict"/,
    );
  });
});
