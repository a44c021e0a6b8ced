// Label and field selectors with k8s.io/apimachinery's grammar and matching rules: "!=" and
// "notin" also match objects that lack the key; field selectors accept only the fields the real
// registry indexes for that kind (anything else is a 400, as in the real server).
import { badRequest } from "./status.ts";

type Obj = Record<string, unknown>;
export type Matcher = (obj: Obj) => boolean;

interface Requirement {
  key: string;
  op: "exists" | "!exists" | "=" | "!=" | "in" | "notin" | "gt" | "lt";
  values: string[];
}

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

function parseRequirement(raw: string): Requirement {
  const s = raw.trim();
  const fail = (why: string) => badRequest(`unable to parse requirement: ${why}`);
  let m = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(s);
  let req: Requirement;
  if (m !== null) {
    const values = (m[3] ?? "").split(",").map((v) => v.trim());
    req = { key: m[1] ?? "", op: m[2] === "in" ? "in" : "notin", values };
  } else if ((m = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(\S*)$/.exec(s)) !== null) {
    const opText = m[2] ?? "=";
    const op = opText === "!=" ? "!=" : opText === ">" ? "gt" : opText === "<" ? "lt" : "=";
    req = { key: m[1] ?? "", op, values: [m[3] ?? ""] };
  } else if ((m = /^!\s*(\S+)$/.exec(s)) !== null) {
    req = { key: m[1] ?? "", op: "!exists", values: [] };
  } else if (/^\S+$/.test(s)) {
    req = { key: s, op: "exists", values: [] };
  } else {
    throw fail(`found '${s}', expected: identifier`);
  }
  if (!KEY.test(req.key) || req.key.length > 316) throw fail(`invalid label key "${req.key}"`);
  for (const v of req.values) {
    if (!VALUE.test(v) || v.length > 63) throw fail(`invalid label value: "${v}"`);
  }
  if ((req.op === "gt" || req.op === "lt") && !/^-?\d+$/.test(req.values[0] ?? "")) {
    throw fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
  }
  return req;
}

export function parseLabelSelector(text: string | null): Matcher {
  if (text === null || text.trim() === "") return () => true;
  const reqs = splitTopLevel(text).map(parseRequirement);
  return (obj) => matchesLabels(labelsOf(obj), reqs);
}

export function labelsOf(obj: Obj): Record<string, string> {
  const meta = obj.metadata as { labels?: Record<string, string> } | undefined;
  return meta?.labels ?? {};
}

function matchesLabels(labels: Record<string, string>, reqs: Requirement[]): boolean {
  return reqs.every(({ key, op, values }) => {
    const has = Object.hasOwn(labels, key);
    const v = labels[key];
    switch (op) {
      case "exists":
        return has;
      case "!exists":
        return !has;
      case "=":
        return has && v === values[0];
      case "!=":
        return !has || v !== values[0];
      case "in":
        return has && values.includes(v ?? "");
      case "notin":
        return !has || !values.includes(v ?? "");
      case "gt":
      case "lt": {
        if (!has || !/^-?\d+$/.test(v ?? "")) return false;
        const a = Number(v);
        const b = Number(values[0]);
        return op === "gt" ? a > b : a < b;
      }
    }
    return false;
  });
}

/** A metav1.LabelSelector (matchLabels + matchExpressions), as in webhook namespace/object selectors. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export function matchesLabelSelector(
  sel: LabelSelector | undefined,
  labels: Record<string, string>,
): boolean {
  if (sel === undefined || sel === null) return true;
  const reqs: Requirement[] = Object.entries(sel.matchLabels ?? {}).map(([key, v]) => ({
    key,
    op: "=",
    values: [v],
  }));
  for (const e of sel.matchExpressions ?? []) {
    const op = { In: "in", NotIn: "notin", Exists: "exists", DoesNotExist: "!exists" }[e.operator];
    if (op === undefined) return false;
    reqs.push({ key: e.key, op: op as Requirement["op"], values: e.values ?? [] });
  }
  return matchesLabels(labels, reqs);
}

// The fields each kind's registry can filter on (GetAttrs/SelectableFields in the real registries).
const FIELDS: Record<string, string[]> = {
  Pod: [
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
  ],
  Event: [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
  ],
  Secret: ["type"],
  Node: ["spec.unschedulable"],
  Namespace: ["status.phase"],
  Service: ["spec.clusterIP", "spec.type"],
};

function fieldValue(obj: Obj, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split(".")) cur = (cur as Obj | undefined)?.[part];
  if (path === "source") cur = (obj.source as Obj | undefined)?.component ?? "";
  if (cur === undefined || cur === null)
    return path === "spec.hostNetwork" || path === "spec.unschedulable" ? "false" : "";
  return typeof cur === "string" ? cur : JSON.stringify(cur);
}

export function parseFieldSelector(text: string | null, kind: string): Matcher {
  if (text === null || text.trim() === "") return () => true;
  const allowed = ["metadata.name", "metadata.namespace", ...(FIELDS[kind] ?? [])];
  const reqs = text.split(",").map((raw) => {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(raw);
    if (m === null) throw badRequest(`invalid selector: '${text}'; can't understand '${raw}'`);
    const field = m[1] ?? "";
    if (!allowed.includes(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, negate: m[2] === "!=", value: m[3] ?? "" };
  });
  return (obj) => reqs.every(({ field, negate, value }) => (fieldValue(obj, field) === value) !== negate);
}
