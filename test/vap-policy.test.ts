// The decisive test of deploy/webhook/policy: its ValidatingAdmissionPolicy, applied with the real
// kubectl to the lab API server (which evaluates the CEL as kube-apiserver does), judges Services
// built from every value of the annotation contract. Each verdict is compared with the contract's
// own evaluateService on the same Service; where they differ, the difference is listed below.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import {
  DSR_SCHEDULERS,
  evaluateService,
  HELPER_PROTOCOLS,
  KEY_SUFFIXES,
  KEYS,
  parseService,
  PREFIX,
  REFUSED_MODES,
  UNIMPLEMENTED_HELPERS,
} from "../annotations/index.ts";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";

const KUBECTL = "/usr/bin/kubectl";
const missing = existsSync(KUBECTL)
  ? false
  : `kubectl is not installed at ${KUBECTL}: the policy is untested`;
const DENIED =
  "ValidatingAdmissionPolicy 'kube-nftlb-annotations' with binding 'kube-nftlb-annotations' denied request: ";
const key = (s: string) => `${PREFIX}${s}`;
const list = (s: (typeof KEY_SUFFIXES)[number]) => (KEYS[s].values as readonly string[]).join(", ");

interface Case {
  name: string;
  annotations: Record<string, string>;
  spec?: Record<string, unknown>;
  /** the policy's message for a refusal, or undefined when the policy should accept */
  policy?: string;
}
let n = 0;
const cases: Case[] = [];
const add = (annotations: Record<string, string>, policy?: string, spec?: Record<string, unknown>) =>
  cases.push({ name: `c${n++}`, annotations, policy, spec });
const invalid = (s: (typeof KEY_SUFFIXES)[number], v: string, extra = "") =>
  `${key(s)}: invalid value "${v}"${extra}. Valid values: ${list(s)}`;

// Every valid value of every key, alone (dsr needs more: below).
for (const s of KEY_SUFFIXES)
  for (const v of KEYS[s].values as readonly string[]) {
    if (s === "mode" && v === "dsr") continue;
    if (s === "helper" && ["snmp", "tftp"].includes(v)) continue; // UDP only: the matrix below
    add({ [key(s)]: v });
  }
// Wrong values: unknown, wrong case, empty, and the ones refused with a reason.
for (const s of KEY_SUFFIXES)
  for (const v of ["bogus", (KEYS[s].values[1] as string).toUpperCase(), ""])
    add({ [key(s)]: v }, invalid(s, v));
for (const v of Object.keys(REFUSED_MODES))
  add(
    { [key("mode")]: v },
    invalid("mode", v, " (nftlb 1.0.7 cannot run stlsdnat for pod backends: nft refuses the farm)"),
  );
for (const v of UNIMPLEMENTED_HELPERS)
  add(
    { [key("helper")]: v },
    invalid("helper", v, " (listed by the original kube-nftlb README but never implemented by nftlb)"),
  );
// Unknown keys with the prefix.
const VALID_KEYS = KEY_SUFFIXES.map(key).join(", ");
for (const s of ["schedular", "modes", "weight"])
  add({ [key(s)]: "x" }, `unknown kube-nftlb annotation(s): ${key(s)}. Valid keys: ${VALID_KEYS}`);
// The helper/protocol matrix, one port of each protocol, and sip on TCP+UDP.
for (const [helper, protocols] of Object.entries(HELPER_PROTOCOLS))
  for (const protocol of ["TCP", "UDP", "SCTP"]) {
    const ok = (protocols as readonly string[]).includes(protocol);
    const on = protocols.length === 2 ? "TCP and UDP" : (protocols[0] ?? "");
    add(
      { [key("helper")]: helper },
      ok
        ? undefined
        : `${key("helper")}: "${helper}" works on ${on} only, but the Service has ${protocol} ports (nftlb refuses the pair)`,
      { ports: [{ name: "p", port: 80, targetPort: 80, protocol }] },
    );
  }
const both = [
  { name: "t", port: 5060, targetPort: 5060, protocol: "TCP" },
  { name: "u", port: 5060, targetPort: 5060, protocol: "UDP" },
];
add({ [key("helper")]: "sip" }, undefined, { ports: both });
// The dsr rules.
const DSR = `${key("mode")}: "dsr" needs a scheduler that keeps a connection on one backend (symhash, hash-srcip, hash-srcip-srcport), a ClusterIP Service (not NodePort or LoadBalancer) and targetPort equal to port: it forwards frames without connection tracking or port rewriting`;
const same = { ports: [{ name: "http", port: 80, targetPort: 80 }] };
for (const sched of DSR_SCHEDULERS) add({ [key("mode")]: "dsr", [key("scheduler")]: sched }, undefined, same);
add({ [key("mode")]: "dsr", [key("scheduler")]: "symhash" }, undefined, {
  ports: [{ name: "http", port: 80, targetPort: "http" }],
});
add({ [key("mode")]: "dsr" }, DSR, same);
add({ [key("mode")]: "dsr", [key("scheduler")]: "rr" }, DSR, same);
add({ [key("mode")]: "dsr", [key("scheduler")]: "symhash" }, DSR, {
  ports: [{ name: "h", port: 80, targetPort: 8080 }],
});
for (const type of ["NodePort", "LoadBalancer"])
  add({ [key("mode")]: "dsr", [key("scheduler")]: "hash-srcip" }, DSR, { ...same, type });
// Several problems: the policy names the first failing rule only.
add({ [key("mode")]: "SNAT", [key("log")]: "all" }, invalid("mode", "SNAT"));
// No annotation of ours at all, and persistence against sessionAffinity (a warning in the contract).
add({});
add({ "example.com/other": "x" });
add({ [key("persistence")]: "srcport" }, undefined, { sessionAffinity: "ClientIP" });

/**
 * Where the policy and the contract disagree. Messages always differ in wording (the contract
 * suggests "did you mean", numbers several problems, and the policy names one rule at a time);
 * verdicts must not, except for what is listed here.
 */
const EXPECTED_VERDICT_DIFFERENCES: string[] = [];

function service(c: Case): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: c.name, namespace: "shop", annotations: c.annotations },
    spec: { selector: { app: "x" }, ports: [{ name: "http", port: 80, targetPort: 8080 }], ...c.spec },
  };
}

let api: ApiServer;
let dir: string;
function kubectl(input: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      KUBECTL,
      ["--kubeconfig", api.kubeconfigPath, "--cache-dir", join(dir, "cache"), ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({
          code: err === null ? 0 : typeof err.code === "number" ? err.code : 1,
          out: stdout + stderr,
        }),
    );
    child.stdin?.end(input);
  });
}
const docs = (objs: unknown[]) => objs.map((o) => stringify(o)).join("---\n");
/** name → the policy's message, or "created"/"configured" */
function verdicts(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split("\n")) {
    const ok = /^service\/(\S+) (created|configured|unchanged)$/.exec(line);
    if (ok?.[1] !== undefined) m.set(ok[1], ok[2] ?? "");
    const no = /services "([^"]+)" is forbidden: (.*)$/.exec(line);
    if (no?.[1] !== undefined) m.set(no[1], no[2] ?? "");
  }
  return m;
}

describe("deploy/webhook/policy evaluated by the lab API server, through kubectl", { skip: missing }, () => {
  before(async () => {
    api = await startApiServer({});
    dir = mkdtempSync(join(tmpdir(), "vap-policy-"));
    const ns = (name: string) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
    assert.equal((await kubectl(docs([ns("shop"), ns("kube-nftlb")]), "apply", "-f", "-")).code, 0);
    // Stored before the policy exists: what an UPDATE may keep.
    const legacy = service({ name: "legacy", annotations: { [key("mode")]: "SNAT", [key("typo")]: "1" } });
    assert.equal((await kubectl(docs([legacy]), "apply", "-f", "-")).code, 0);
    const r = await kubectl("", "apply", "-k", "deploy/webhook/policy");
    assert.equal(r.code, 0, r.out);
  });
  after(async () => {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses exactly what the contract refuses, with the policy's message", async () => {
    const r = await kubectl(docs(cases.map(service)), "apply", "-f", "-");
    const got = verdicts(r.out);
    const differences: string[] = [];
    for (const c of cases) {
      const verdict = got.get(c.name);
      assert.ok(verdict !== undefined, `no verdict for ${c.name} in:\n${r.out}`);
      const parsed = parseService(service(c));
      assert.ok(parsed.ok);
      const contractRefuses = evaluateService(parsed.service).errors.length > 0;
      const policyRefuses = verdict !== "created";
      const what = `${c.name} ${JSON.stringify(c.annotations)} ${JSON.stringify(c.spec ?? {})}`;
      if (contractRefuses !== policyRefuses)
        differences.push(
          `${what}: contract ${contractRefuses ? "refuses" : "accepts"}, policy ${policyRefuses ? "refuses" : "accepts"}`,
        );
      if (c.policy === undefined) assert.equal(verdict, "created", what);
      else assert.equal(verdict, `${DENIED}${c.policy}`, what);
    }
    assert.deepEqual(differences, EXPECTED_VERDICT_DIFFERENCES);
    assert.ok(cases.length > 60, `${cases.length} cases`);
  });

  it("leaves kube-system and kube-nftlb alone (the binding's namespaceSelector)", async () => {
    const bad = (namespace: string) => ({
      ...service({ name: `free-${namespace}`, annotations: { [key("mode")]: "nope" } }),
      metadata: { name: `free-${namespace}`, namespace, annotations: { [key("mode")]: "nope" } },
    });
    const r = await kubectl(docs([bad("kube-system"), bad("kube-nftlb")]), "apply", "-f", "-");
    assert.equal(r.code, 0, r.out);
  });

  it("lets an UPDATE keep a stored value, and refuses a new wrong one", async () => {
    const legacy = service({ name: "legacy", annotations: { [key("mode")]: "SNAT", [key("typo")]: "1" } });
    (legacy.metadata as Record<string, unknown>).labels = { touched: "again" };
    const kept = await kubectl(docs([legacy]), "apply", "-f", "-");
    assert.equal(verdicts(kept.out).get("legacy"), "configured", kept.out);
    const worse = service({ name: "legacy", annotations: { [key("mode")]: "DNAT", [key("typo")]: "1" } });
    const r = await kubectl(docs([worse]), "apply", "-f", "-");
    assert.equal(verdicts(r.out).get("legacy"), `${DENIED}${invalid("mode", "DNAT")}`, r.out);
  });
});
