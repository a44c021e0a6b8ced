// The v1 Endpoints object (deprecated in Kubernetes 1.33) as the same endpoint groups as
// EndpointSlices give (`--endpoints-api endpoints`), for clusters without EndpointSlices.
//
// The mapping is the one the EndpointSlice mirroring controller uses: `addresses` are ready,
// `notReadyAddresses` are neither ready nor serving. Endpoints cannot say "terminating", so the
// serving-and-terminating fallback never applies to them — as for a mirrored slice.
import {
  compare,
  isRecord,
  list,
  optional,
  podName,
  readPorts,
  str,
  type Endpoint,
  type EndpointGroup,
} from "./endpoints.ts";
import { parseIp } from "../nftlb/ip.ts";

/** The groups of the Endpoints object named like the Service `namespace/name` (one per subset). */
export function groupsFromEndpoints(
  objects: readonly unknown[],
  namespace: string,
  name: string,
): EndpointGroup[] {
  const groups: EndpointGroup[] = [];
  for (const object of Array.isArray(objects) ? objects : []) {
    if (!isRecord(object)) continue;
    const meta = isRecord(object.metadata) ? object.metadata : {};
    if (str(meta.name) !== name || (str(meta.namespace) ?? "default") !== namespace) continue;
    list(object.subsets).forEach((subset, i) => {
      if (!isRecord(subset)) return;
      const endpoints = [
        ...readAddresses(subset.addresses, true),
        ...readAddresses(subset.notReadyAddresses, false),
      ];
      groups.push({ source: `Endpoints ${name} subset ${i}`, ports: readPorts(subset.ports), endpoints });
    });
  }
  return groups.sort((a, b) => compare(a.source, b.source));
}

function readAddresses(value: unknown, ready: boolean): Endpoint[] {
  const endpoints: Endpoint[] = [];
  for (const a of list(value)) {
    if (!isRecord(a)) continue;
    const ip = parseIp(a.ip);
    if (ip === undefined) continue;
    endpoints.push({
      ...ip,
      ...optional("nodeName", str(a.nodeName)),
      ...optional("podName", podName(a.targetRef)),
      ready,
      serving: ready,
      terminating: false,
    });
  }
  return endpoints;
}
