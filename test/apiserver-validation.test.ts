/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument -- results are plain JSON from the Python client */
// Validation of EndpointSlices, Endpoints, Secrets and object metadata with the real limits and
// texts, driven by the official Python client.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { pythonMissing, runPython } from "./kube-python.ts";

let api: ApiServer;
const py = (code: string) => runPython(api.kubeconfigPath, code);

function message(r: { status: number; body: { message: string } }): string {
  assert.equal(r.status, 422, JSON.stringify(r));
  return r.body.message;
}

describe("validation of endpoints, Secrets and metadata (Python client)", { skip: pythonMissing }, () => {
  before(async () => {
    api = await startApiServer();
  });
  after(() => api.stop());

  it("EndpointSlices: at most 1000 endpoints, no special or wrong-family addresses, unique port names", async () => {
    const out = await py(`
def slice(name, addrs, family="IPv4", ports=None):
    eps = [{"addresses": [a]} for a in addrs]
    return call(disc.create_namespaced_endpoint_slice, "default", {"metadata": {"name": name}, "addressType": family, "endpoints": eps, "ports": ports or []})
out["many"] = slice("many", ["10.1.%d.%d" % (i // 250, i % 250 + 1) for i in range(1001)])
out["ok"] = slice("ok", ["10.1.%d.%d" % (i // 250, i % 250 + 1) for i in range(1000)])
out["loopback"] = slice("lo", ["127.0.0.1"])
out["linklocal"] = slice("ll", ["169.254.3.4"])
out["unspecified"] = slice("un", ["0.0.0.0"])
out["mixed"] = slice("mixed", ["10.0.0.1", "fd00::1"])
out["ports"] = slice("ports", ["10.0.0.1"], ports=[{"name": "http", "port": 80}, {"name": "http", "port": 81}])
`);
    assert.equal(
      message(out.many),
      'EndpointSlice.discovery.k8s.io "many" is invalid: endpoints: Too many: 1001: must have at most 1000 items',
    );
    assert.equal(out.ok.status, 200);
    assert.match(
      message(out.loopback),
      /endpoints\[0\]\.addresses\[0\]: Invalid value: "127\.0\.0\.1": may not be in the loopback range \(127\.0\.0\.0\/8, ::1\/128\)/,
    );
    assert.match(message(out.linklocal), /may not be in the link-local range/);
    assert.match(message(out.unspecified), /may not be unspecified \(0\.0\.0\.0\)/);
    assert.match(
      message(out.mixed),
      /endpoints\[1\]\.addresses\[0\]: Invalid value: "fd00::1": must be a valid IPv4 address/,
    );
    assert.match(message(out.ports), /ports\[1\]\.name: Duplicate value: "http"/);
  });

  it("Endpoints: addresses must be valid, non-special IPs", async () => {
    const out = await py(`
def ep(name, ip):
    return call(v1.create_namespaced_endpoints, "default", {"metadata": {"name": name}, "subsets": [{"addresses": [{"ip": ip}], "ports": [{"port": 80}]}]})
out["bad"] = ep("bad", "10.0.0.300")
out["lo"] = ep("lo", "127.0.0.2")
out["ok"] = ep("ok", "10.0.0.3")
`);
    assert.match(
      message(out.bad),
      /subsets\[0\]\.addresses\[0\]\.ip: Invalid value: "10\.0\.0\.300": must be a valid IP address, \(e\.g\. 10\.9\.8\.7 or 2001:db8::ffff\)/,
    );
    assert.match(
      message(out.lo),
      /subsets\[0\]\.addresses\[0\]\.ip: Invalid value: "127\.0\.0\.2": may not be in the loopback range/,
    );
    assert.equal(out.ok.status, 200);
  });

  it("kubernetes.io/tls Secrets need tls.crt and tls.key", async () => {
    const out = await py(`
out["none"] = call(v1.create_namespaced_secret, "default", {"metadata": {"name": "tls"}, "type": "kubernetes.io/tls", "data": {}})
out["ok"] = call(v1.create_namespaced_secret, "default", {"metadata": {"name": "tls2"}, "type": "kubernetes.io/tls", "stringData": {"tls.crt": "c", "tls.key": "k"}})
`);
    assert.equal(
      message(out.none),
      'Secret "tls" is invalid: [data[tls.crt]: Required value, data[tls.key]: Required value]',
    );
    assert.equal(out.ok.status, 200);
  });

  it("finalizer names must be standard or qualified; ownerReferences need a uid", async () => {
    const out = await py(`
out["fin"] = call(v1.create_namespaced_config_map, "default", {"metadata": {"name": "fin", "finalizers": ["my-finalizer"]}})
out["owner"] = call(v1.create_namespaced_config_map, "default", {"metadata": {"name": "own", "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "web", "uid": ""}]}})
out["ok"] = call(v1.create_namespaced_config_map, "default", {"metadata": {"name": "fine", "finalizers": ["example.com/cleanup"]}})
`);
    assert.equal(
      message(out.fin),
      'ConfigMap "fin" is invalid: metadata.finalizers[0]: Invalid value: "my-finalizer": name is neither a standard finalizer name nor is it fully qualified',
    );
    assert.equal(
      message(out.owner),
      'ConfigMap "own" is invalid: metadata.ownerReferences.uid: Invalid value: "": must not be empty',
    );
    assert.equal(out.ok.status, 200);
  });
});
