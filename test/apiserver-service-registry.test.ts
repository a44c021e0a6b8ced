/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- results are plain JSON from the Python client */
// The Service registry's semantics (pkg/registry/core/service, pkg/apis/core/validation) driven by
// the official Python client: policies of externally-accessible Services, what a type change drops,
// LoadBalancer status, nodePort sharing, healthCheckNodePort, sessionAffinityConfig, and the
// refusals with the real texts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { pythonMissing, runPython } from "./kube-python.ts";

let api: ApiServer;
const py = (code: string) => runPython(api.kubeconfigPath, code);

describe("Service registry semantics (Python client)", { skip: pythonMissing }, () => {
  before(async () => {
    api = await startApiServer();
  });
  after(() => api.stop());

  it("a ClusterIP with externalIPs is externally accessible: Local is accepted, the policy defaulted", async () => {
    const out = await py(`
out["local"] = call(v1.create_namespaced_service, "default", {"metadata": {"name": "eip-local"}, "spec": {"externalIPs": ["203.0.113.10"], "externalTrafficPolicy": "Local", "ports": [{"port": 80}]}})
out["defaulted"] = call(v1.create_namespaced_service, "default", {"metadata": {"name": "eip"}, "spec": {"externalIPs": ["203.0.113.11"], "ports": [{"port": 80}]}})
out["plain"] = call(v1.create_namespaced_service, "default", {"metadata": {"name": "plain"}, "spec": {"externalTrafficPolicy": "Local", "ports": [{"port": 80}]}})
`);
    assert.equal(out.local.status, 200, JSON.stringify(out.local.body));
    assert.equal(out.local.object.spec.externalTrafficPolicy, "Local");
    assert.equal(out.defaulted.object.spec.externalTrafficPolicy, "Cluster");
    assert.equal(out.plain.status, 422);
    assert.equal(
      out.plain.body.message,
      'Service "plain" is invalid: spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services',
    );
  });

  it("a type change drops nodePorts, healthCheckNodePort, LoadBalancer fields and status; ExternalName drops the ClusterIP", async () => {
    const out = await py(`
out["lb"] = call(v1.create_namespaced_service, "default", {"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "ports": [{"port": 80}]}})
out["status"] = call(v1.patch_namespaced_service_status, "lb", "default", {"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}})
out["toClusterIP"] = call(v1.patch_namespaced_service, "lb", "default", {"spec": {"type": "ClusterIP", "externalTrafficPolicy": None}})
out["np"] = call(v1.create_namespaced_service, "default", {"metadata": {"name": "np"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}})
out["npToClusterIP"] = call(v1.patch_namespaced_service, "np", "default", {"spec": {"type": "ClusterIP"}})
out["toExternalName"] = call(v1.patch_namespaced_service, "np", "default", {"spec": {"type": "ExternalName", "externalName": "example.com"}})
`);
    const lb = out.lb.object.spec;
    assert.equal(typeof lb.healthCheckNodePort, "number", "LoadBalancer + Local gets a healthCheckNodePort");
    assert.equal(typeof lb.ports[0].nodePort, "number");
    assert.equal(out.status.status, 200, JSON.stringify(out.status.body));
    const c = out.toClusterIP.object;
    assert.equal(out.toClusterIP.status, 200, JSON.stringify(out.toClusterIP.body));
    assert.equal(c.spec.ports[0].nodePort, undefined);
    assert.equal(c.spec.healthCheckNodePort, undefined);
    assert.equal(c.spec.allocateLoadBalancerNodePorts, undefined);
    assert.deepEqual(c.status.loadBalancer, {});
    assert.equal(out.npToClusterIP.status, 200, JSON.stringify(out.npToClusterIP.body));
    assert.equal(out.npToClusterIP.object.spec.ports[0].nodePort, undefined);
    assert.equal(out.npToClusterIP.object.spec.externalTrafficPolicy, undefined);
    assert.equal(out.toExternalName.status, 200, JSON.stringify(out.toExternalName.body));
    assert.equal(out.toExternalName.object.spec.clusterIP, undefined);
    assert.equal(out.toExternalName.object.spec.clusterIPs, undefined);
  });

  it("LoadBalancer ingress status only on a LoadBalancer, and never from create", async () => {
    const out = await py(`
out["created"] = call(v1.create_namespaced_service, "default", {"metadata": {"name": "st"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}, "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.8"}]}}})
call(v1.create_namespaced_service, "default", {"metadata": {"name": "cip"}, "spec": {"ports": [{"port": 80}]}})
out["onClusterIP"] = call(v1.patch_namespaced_service_status, "cip", "default", {"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}})
`);
    assert.equal(out.created.status, 200);
    assert.deepEqual(out.created.object.status.loadBalancer, {});
    assert.equal(out.onClusterIP.status, 422);
    assert.equal(
      out.onClusterIP.body.message,
      "Service \"cip\" is invalid: status.loadBalancer.ingress: Forbidden: may only be used when `spec.type` is 'LoadBalancer'",
    );
  });

  it("the same port number on TCP and UDP shares one nodePort", async () => {
    const out = await py(`
out["dns"] = call(v1.create_namespaced_service, "default", {"metadata": {"name": "dns"}, "spec": {"type": "NodePort", "ports": [{"name": "tcp", "port": 53, "protocol": "TCP"}, {"name": "udp", "port": 53, "protocol": "UDP"}]}})
`);
    const [tcp, udp] = out.dns.object.spec.ports;
    assert.equal(typeof tcp.nodePort, "number");
    assert.equal(udp.nodePort, tcp.nodePort);
  });

  it("sessionAffinityConfig is dropped when sessionAffinity is None", async () => {
    const out = await py(`
out["svc"] = call(v1.create_namespaced_service, "default", {"metadata": {"name": "aff"}, "spec": {"sessionAffinity": "None", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}, "ports": [{"port": 80}]}})
`);
    assert.equal(out.svc.status, 200);
    assert.equal(out.svc.object.spec.sessionAffinityConfig, undefined);
  });

  it("refuses bad externalIPs, RequireDualStack on a single-stack cluster and bad port names", async () => {
    const out = await py(`
def svc(name, **spec):
    spec.setdefault("ports", [{"port": 80}])
    return call(v1.create_namespaced_service, "default", {"metadata": {"name": name}, "spec": spec})
out["loopback"] = svc("a", externalIPs=["127.0.0.1"])
out["garbage"] = svc("b", externalIPs=["not-an-ip"])
out["linklocal"] = svc("c", externalIPs=["169.254.1.1"])
out["dual"] = svc("d", ipFamilyPolicy="RequireDualStack")
out["target"] = svc("e", ports=[{"port": 80, "targetPort": "http--alt"}])
out["digits"] = svc("f", ports=[{"port": 80, "targetPort": "8080x"}, {"name": "Web", "port": 81}])
`);
    const msg = (k: string) => {
      assert.equal(out[k].status, 422, `${k}: ${JSON.stringify(out[k])}`);
      return out[k].body.message as string;
    };
    assert.equal(
      msg("loopback"),
      'Service "a" is invalid: spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
    );
    assert.equal(
      msg("garbage"),
      'Service "b" is invalid: spec.externalIPs[0]: Invalid value: "not-an-ip": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
    );
    assert.match(msg("linklocal"), /may not be in the link-local range \(169\.254\.0\.0\/16, fe80::\/10\)/);
    assert.equal(
      msg("dual"),
      'Service "d" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services',
    );
    assert.equal(
      msg("target"),
      'Service "e" is invalid: spec.ports[0].targetPort: Invalid value: "http--alt": must not contain consecutive hyphens',
    );
    assert.match(msg("digits"), /spec\.ports\[0\]\.name: Required value/);
    assert.match(msg("digits"), /spec\.ports\[1\]\.name: Invalid value: "Web": a lowercase RFC 1123 label/);
  });
});
