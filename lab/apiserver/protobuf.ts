// Decoding of Kubernetes protobuf request bodies ("k8s\0" + runtime.Unknown) for the kinds
// kubectl's generator commands create with the typed client (`kubectl create namespace|service|
// configmap|secret|deployment`, and the identity and RBAC kinds of protobuf-auth.ts). Field
// numbers are those of k8s.io/api core/v1, apps/v1 and apimachinery meta/v1 generated.proto.
// Unknown fields are skipped; other kinds are refused by the caller (415).
import { authKinds } from "./protobuf-auth.ts";

type Kind = "string" | "int" | "bool" | "bytes" | "time" | "intstr" | "map" | "mapBytes" | Schema;
export interface Schema {
  [field: number]: [name: string, kind: Kind, repeated?: boolean];
}

const OWNER: Schema = {
  1: ["kind", "string"],
  3: ["name", "string"],
  4: ["uid", "string"],
  5: ["apiVersion", "string"],
  6: ["controller", "bool"],
  7: ["blockOwnerDeletion", "bool"],
};
const META: Schema = {
  1: ["name", "string"],
  2: ["generateName", "string"],
  3: ["namespace", "string"],
  5: ["uid", "string"],
  6: ["resourceVersion", "string"],
  7: ["generation", "int"],
  8: ["creationTimestamp", "time"],
  11: ["labels", "map"],
  12: ["annotations", "map"],
  13: ["ownerReferences", OWNER, true],
  14: ["finalizers", "string", true],
};
const PORT: Schema = {
  1: ["name", "string"],
  2: ["protocol", "string"],
  3: ["port", "int"],
  4: ["targetPort", "intstr"],
  5: ["nodePort", "int"],
  6: ["appProtocol", "string"],
};
const SERVICE_SPEC: Schema = {
  1: ["ports", PORT, true],
  2: ["selector", "map"],
  3: ["clusterIP", "string"],
  4: ["type", "string"],
  5: ["externalIPs", "string", true],
  7: ["sessionAffinity", "string"],
  8: ["loadBalancerIP", "string"],
  9: ["loadBalancerSourceRanges", "string", true],
  10: ["externalName", "string"],
  11: ["externalTrafficPolicy", "string"],
  12: ["healthCheckNodePort", "int"],
  13: ["publishNotReadyAddresses", "bool"],
  14: ["sessionAffinityConfig", { 1: ["clientIP", { 1: ["timeoutSeconds", "int"] }] }],
  17: ["ipFamilyPolicy", "string"],
  18: ["clusterIPs", "string", true],
  19: ["ipFamilies", "string", true],
  20: ["allocateLoadBalancerNodePorts", "bool"],
  21: ["loadBalancerClass", "string"],
  22: ["internalTrafficPolicy", "string"],
  23: ["trafficDistribution", "string"],
};
const SELECTOR: Schema = {
  1: ["matchLabels", "map"],
  2: [
    "matchExpressions",
    { 1: ["key", "string"], 2: ["operator", "string"], 3: ["values", "string", true] },
    true,
  ],
};
const CONTAINER: Schema = {
  1: ["name", "string"],
  2: ["image", "string"],
  3: ["command", "string", true],
  4: ["args", "string", true],
  5: ["workingDir", "string"],
  6: [
    "ports",
    {
      1: ["name", "string"],
      2: ["hostPort", "int"],
      3: ["containerPort", "int"],
      4: ["protocol", "string"],
      5: ["hostIP", "string"],
    },
    true,
  ],
  7: ["env", { 1: ["name", "string"], 2: ["value", "string"] }, true],
  13: ["terminationMessagePath", "string"],
  14: ["imagePullPolicy", "string"],
  20: ["terminationMessagePolicy", "string"],
};
const POD_SPEC: Schema = {
  2: ["containers", CONTAINER, true],
  3: ["restartPolicy", "string"],
  4: ["terminationGracePeriodSeconds", "int"],
  6: ["dnsPolicy", "string"],
  7: ["nodeSelector", "map"],
  8: ["serviceAccountName", "string"],
  10: ["nodeName", "string"],
  11: ["hostNetwork", "bool"],
  19: ["schedulerName", "string"],
  20: ["initContainers", CONTAINER, true],
};
// apps/v1 generated.proto: what `kubectl create deployment` sends
const DEPLOYMENT_SPEC: Schema = {
  1: ["replicas", "int"],
  2: ["selector", SELECTOR],
  3: ["template", { 1: ["metadata", META], 2: ["spec", POD_SPEC] }],
  4: [
    "strategy",
    {
      1: ["type", "string"],
      2: ["rollingUpdate", { 1: ["maxUnavailable", "intstr"], 2: ["maxSurge", "intstr"] }],
    },
  ],
  5: ["minReadySeconds", "int"],
  6: ["revisionHistoryLimit", "int"],
  7: ["paused", "bool"],
  9: ["progressDeadlineSeconds", "int"],
};
export const PROTOBUF_KINDS: Record<string, Schema> = {
  Deployment: { 1: ["metadata", META], 2: ["spec", DEPLOYMENT_SPEC] },
  Namespace: { 1: ["metadata", META], 2: ["spec", { 1: ["finalizers", "string", true] }] },
  Service: { 1: ["metadata", META], 2: ["spec", SERVICE_SPEC] },
  ConfigMap: {
    1: ["metadata", META],
    2: ["data", "map"],
    3: ["binaryData", "mapBytes"],
    4: ["immutable", "bool"],
  },
  Secret: {
    1: ["metadata", META],
    2: ["data", "mapBytes"],
    3: ["type", "string"],
    4: ["stringData", "map"],
    5: ["immutable", "bool"],
  },
  ...authKinds(META, SELECTOR),
};

// *bool and *int32 fields: false and 0 are values there, not "unset"
const POINTERS = new Set([
  "allocateLoadBalancerNodePorts",
  "immutable",
  "controller",
  "blockOwnerDeletion",
  "replicas",
  "revisionHistoryLimit",
  "progressDeadlineSeconds",
  "terminationGracePeriodSeconds",
  "automountServiceAccountToken",
  "expirationSeconds",
]);

interface Raw {
  field: number;
  wire: number;
  value: bigint | Buffer;
}

function fields(buf: Buffer): Raw[] {
  const out: Raw[] = [];
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (i >= buf.length || shift > 63n) throw new Error("truncated varint");
      const b = buf[i++] ?? 0;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
  };
  while (i < buf.length) {
    const tag = varint();
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      if (i + len > buf.length) throw new Error("truncated field");
      out.push({ field, wire, value: buf.subarray(i, i + len) });
      i += len;
    } else if (wire === 1 || wire === 5) i += wire === 1 ? 8 : 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

const asInt = (v: bigint | Buffer) => (typeof v === "bigint" ? Number(BigInt.asIntN(64, v)) : 0);
const asBuf = (v: bigint | Buffer) => (Buffer.isBuffer(v) ? v : Buffer.alloc(0));

function decodeValue(kind: Kind, v: bigint | Buffer): unknown {
  switch (kind) {
    case "string":
      return asBuf(v).toString("utf8");
    case "bytes":
      return asBuf(v).toString("base64");
    case "int":
      return asInt(v);
    case "bool":
      return asInt(v) !== 0;
    case "time": {
      const t = decodeMessage({ 1: ["seconds", "int"] }, asBuf(v)) as { seconds?: number };
      // a zero time (JSON null, e.g. a Pod template's creationTimestamp) is unset
      if ((t.seconds ?? 0) <= 0) return "";
      return new Date((t.seconds ?? 0) * 1000).toISOString().replace(/\.\d+Z$/, "Z");
    }
    case "intstr": {
      const o = decodeMessage(
        { 1: ["type", "int"], 2: ["intVal", "int"], 3: ["strVal", "string"] },
        asBuf(v),
      ) as { type?: number; intVal?: number; strVal?: string };
      return o.type === 1 ? (o.strVal ?? "") : (o.intVal ?? 0);
    }
    case "map":
    case "mapBytes":
      return decodeMessage(
        { 1: ["key", "string"], 2: ["value", kind === "map" ? "string" : "bytes"] },
        asBuf(v),
      );
    default:
      return decodeMessage(kind, asBuf(v));
  }
}

export function decodeMessage(schema: Schema, buf: Buffer): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields(buf)) {
    const def = schema[f.field];
    if (def === undefined) continue;
    const [name, kind, repeated] = def;
    const value = decodeValue(kind, f.value);
    if (kind === "map" || kind === "mapBytes") {
      const entry = value as { key?: string; value?: unknown };
      out[name] = { ...(out[name] as object | undefined), [entry.key ?? ""]: entry.value ?? "" };
    } else if (repeated === true) out[name] = [...((out[name] as unknown[] | undefined) ?? []), value];
    // gogo-protobuf writes Go's zero values ("" and 0) that JSON's omitempty leaves out; the
    // defaulters treat them as unset, so drop them here
    else if (value !== "" && ((value !== 0 && value !== false) || POINTERS.has(name))) out[name] = value;
  }
  return out;
}

/** Decodes "k8s\0" + runtime.Unknown; returns the object as JSON would carry it, or a reason. */
export function decodeProtobufObject(body: Buffer): { obj: Record<string, unknown> } | { error: string } {
  if (body.length < 4 || body.subarray(0, 4).toString("latin1") !== "k8s\0")
    return {
      error: "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]",
    };
  try {
    const unknown = decodeMessage(
      { 1: ["typeMeta", { 1: ["apiVersion", "string"], 2: ["kind", "string"] }], 2: ["raw", "bytes"] },
      body.subarray(4),
    );
    const tm = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
    const schema = PROTOBUF_KINDS[tm.kind ?? ""];
    if (schema === undefined)
      return {
        error: `the lab API server decodes protobuf only for ${Object.keys(PROTOBUF_KINDS).join(", ")}; send ${tm.kind ?? "it"} as JSON or YAML`,
      };
    const obj = decodeMessage(schema, Buffer.from((unknown.raw as string | undefined) ?? "", "base64"));
    return { obj: { apiVersion: tm.apiVersion, kind: tm.kind, ...obj } };
  } catch (e) {
    return { error: `protobuf: ${(e as Error).message}` };
  }
}
