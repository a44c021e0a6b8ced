// What a reconcile tells a Service's owner, as Warning Events on the Service. Each reason is
// written here once; the recorder (kube/events.ts) aggregates repeats, so a pass may say the same
// thing again without flooding the API server.
import type { EventType, ObjectRef } from "../kube/events.ts";
import type { Conflict } from "./desired-conflicts.ts";
import type { DesiredService } from "./desired.ts";
import type { Plan } from "./plan.ts";
import type { Refusal } from "./capacity.ts";

export interface EventSink {
  record(ref: ObjectRef, type: EventType, reason: string, message: string): Promise<void>;
}

export class ServiceEvents {
  readonly #ref: (key: string) => ObjectRef | undefined;
  readonly #sink: EventSink;

  constructor(ref: (key: string) => ObjectRef | undefined, sink: EventSink) {
    this.#ref = ref;
    this.#sink = sink;
  }

  /** A Service that is gone hears nothing (there is nothing to attach the Event to). */
  warn(key: string, reason: string, message: string, type: EventType = "Warning"): void {
    const ref = this.#ref(key);
    if (ref !== undefined) void this.#sink.record(ref, type, reason, message);
  }

  problems(key: string, d: DesiredService): void {
    for (const p of d.problems) {
      const reason = p.severity === "error" ? "InvalidServiceConfig" : "ServiceConfigWarning";
      this.warn(key, reason, p.key ? `${p.key}: ${p.message}` : p.message);
    }
  }

  conflicts(conflicts: readonly Conflict[]): void {
    for (const c of conflicts) {
      this.warn(`${c.loser.service.namespace}/${c.loser.service.name}`, "AddressConflict", c.message);
    }
  }

  blocked(blocked: Plan["blocked"], ownerOfFarm: (farm: string) => string): void {
    for (const b of blocked) {
      this.warn(
        ownerOfFarm(b.farm),
        "AddressInUse",
        `address ${b.address} of farm ${b.farm} is held by nftlb farm "${b.heldBy}", which kube-nftlb does not manage: not programmed`,
      );
    }
  }

  capacity(r: Refusal): void {
    this.warn(r.key, "NftlbCapacityExceeded", r.message);
  }

  refused(key: string, error: string): void {
    this.warn(key, "NftlbRefusedFarm", `nftlb refused this Service's farms, left as they were: ${error}`);
  }

  /** Never silently open: each Service whose source ranges the node could not install hears of it. */
  rulesFailed(services: Iterable<[string, DesiredService]>, error: string): void {
    for (const [key, d] of services) {
      if ((d.nodeRules?.firewall.length ?? 0) === 0) continue;
      this.warn(
        key,
        "SourceRangesNotEnforced",
        `loadBalancerSourceRanges are not enforced on this node: table inet kube-nftlb could not be applied (${error}); retrying`,
      );
    }
  }
}
