import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { undeclaredServicePorts, type ServiceForPorts } from "./service-ports.ts";

const svc = (name: string, spec: ServiceForPorts["spec"], namespace = "default"): ServiceForPorts => ({
  metadata: { name, namespace },
  spec,
});
const pod = {
  namespace: "default",
  labels: { app: "front" },
  declared: [] as { port: number; protocol: "TCP" | "UDP" }[],
};

describe("undeclaredServicePorts", () => {
  it("a numeric targetPort of a selecting Service, named after the first Service", () => {
    const services = [
      svc("z", { selector: { app: "front" }, ports: [{ port: 8080, targetPort: 80 }] }),
      svc("a", { selector: { app: "front" }, ports: [{ port: 81, targetPort: 80, protocol: "TCP" }] }),
    ];
    assert.deepEqual(undeclaredServicePorts(pod, services), [
      { port: 80, protocol: "TCP", service: "default/a" },
    ]);
  });
  it("port stands for an absent targetPort; UDP kept apart from TCP", () => {
    const services = [
      svc("dns", { selector: { app: "front" }, ports: [{ port: 53, protocol: "UDP" }, { port: 53 }] }),
    ];
    assert.deepEqual(undeclaredServicePorts(pod, services), [
      { port: 53, protocol: "UDP", service: "default/dns" },
      { port: 53, protocol: "TCP", service: "default/dns" },
    ]);
  });
  it("nothing for declared ports, named targetPorts, SCTP, other namespaces, other selectors, no selector", () => {
    const declared = { ...pod, declared: [{ port: 80, protocol: "TCP" as const }] };
    const services = [
      svc("declared", { selector: { app: "front" }, ports: [{ port: 8080, targetPort: 80 }] }),
      svc("named", { selector: { app: "front" }, ports: [{ port: 8080, targetPort: "http" }] }),
      svc("sctp", { selector: { app: "front" }, ports: [{ port: 9, protocol: "SCTP" }] }),
      svc("elsewhere", { selector: { app: "front" }, ports: [{ port: 9 }] }, "other"),
      svc("back", { selector: { app: "back" }, ports: [{ port: 9 }] }),
      svc("manual", { ports: [{ port: 9 }] }),
      svc("empty", { selector: {}, ports: [{ port: 9 }] }),
    ];
    assert.deepEqual(undeclaredServicePorts(declared, services), []);
  });
  it("a declared UDP port does not cover the same TCP port", () => {
    const udp = { ...pod, declared: [{ port: 80, protocol: "UDP" as const }] };
    const services = [svc("web", { selector: { app: "front" }, ports: [{ port: 80 }] })];
    assert.deepEqual(undeclaredServicePorts(udp, services), [
      { port: 80, protocol: "TCP", service: "default/web" },
    ]);
  });
});
