// `kubectl get deployments|replicasets` columns, as pkg/printers/internalversion prints them.
import { formatSelector } from "./apps.ts";
import type { LabelSelector } from "./selectors.ts";
import type { Obj } from "./store.ts";

type Any = Record<string, unknown>;
type Column = [name: string, type: string, priority?: number];
interface Printer {
  columns: Column[];
  cells: (o: Obj, age: string) => unknown[];
}

const num = (v: unknown) => (typeof v === "number" ? v : 0);
const wide: Column[] = [
  ["Containers", "string", 1],
  ["Images", "string", 1],
  ["Selector", "string", 1],
];
function wideCells(spec: Any): string[] {
  const pod = (((spec.template ?? {}) as Any).spec ?? {}) as Any;
  const containers = (Array.isArray(pod.containers) ? pod.containers : []) as Any[];
  return [
    containers.map((c) => String(c.name)).join(","),
    containers.map((c) => String(c.image)).join(","),
    formatSelector(spec.selector as LabelSelector | undefined),
  ];
}

/** Name, three count columns, Age, then the wide ones: the shape both printers share. */
function printer(counts: Column[], cells: (spec: Any, status: Any) => unknown[]): Printer {
  return {
    columns: [["Name", "string"], ...counts, ["Age", "string"], ...wide],
    cells: (o, age) => {
      const spec = (o.spec ?? {}) as Any;
      return [o.metadata.name, ...cells(spec, (o.status ?? {}) as Any), age, ...wideCells(spec)];
    },
  };
}

export const APPS_PRINTERS: Record<string, Printer> = {
  Deployment: printer(
    [
      ["Ready", "string"],
      ["Up-to-date", "integer"],
      ["Available", "integer"],
    ],
    (spec, st) => [
      `${num(st.readyReplicas)}/${num(spec.replicas)}`,
      num(st.updatedReplicas),
      num(st.availableReplicas),
    ],
  ),
  ReplicaSet: printer(
    [
      ["Desired", "integer"],
      ["Current", "integer"],
      ["Ready", "integer"],
    ],
    (spec, st) => [num(spec.replicas), num(st.replicas), num(st.readyReplicas)],
  ),
};
