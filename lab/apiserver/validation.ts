// Validation with the real field paths and message texts (k8s.io/apimachinery validation and
// pkg/apis/core/validation), for the fields our manifests and tests touch. The result is a list of
// field errors; the caller turns a non-empty list into a 422 Invalid.
import { isIP, isIPv4 } from "node:net";
import type { FieldError } from "./status.ts";
import type { Obj } from "./store.ts";

const LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const NAME_PART_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

const MSG = {
  label:
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  subdomain:
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  dns1035:
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
  labelValue:
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
  namePart:
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
};

/** Go's %q for a string or %v for anything else, as field.Invalid prints the bad value. */
export function goValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v) && v.every((x) => typeof x === "string"))
    return `[]string{${v.map((x) => JSON.stringify(x)).join(", ")}}`;
  return JSON.stringify(v);
}

export const invalidValue = (field: string, value: unknown, why: string): FieldError => ({
  field,
  type: "FieldValueInvalid",
  detail: `Invalid value: ${goValue(value)}: ${why}`,
});
export const required = (field: string, why = ""): FieldError => ({
  field,
  type: "FieldValueRequired",
  detail: why === "" ? "Required value" : `Required value: ${why}`,
});
export const notSupported = (field: string, value: unknown, allowed: string[]): FieldError => ({
  field,
  type: "FieldValueNotSupported",
  detail: `Unsupported value: ${goValue(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(", ")}`,
});
export const forbiddenField = (field: string, why: string): FieldError => ({
  field,
  type: "FieldValueForbidden",
  detail: `Forbidden: ${why}`,
});
export const duplicate = (field: string, value: unknown): FieldError => ({
  field,
  type: "FieldValueDuplicate",
  detail: `Duplicate value: ${goValue(value)}`,
});

export type NameRule = "label" | "subdomain" | "dns1035" | "path";

export function nameErrors(value: string, rule: NameRule, field = "metadata.name"): FieldError[] {
  if (rule === "path") {
    if (value === "." || value === "..") return [invalidValue(field, value, `may not be '${value}'`)];
    if (value.includes("/") || value.includes("%"))
      return [invalidValue(field, value, `may not contain '${value.includes("/") ? "/" : "%"}'`)];
    return [];
  }
  const max = rule === "subdomain" ? 253 : 63;
  const re = rule === "label" ? LABEL_RE : rule === "subdomain" ? SUBDOMAIN_RE : DNS1035_RE;
  const out: FieldError[] = [];
  if (value.length > max) out.push(invalidValue(field, value, `must be no more than ${max} characters`));
  if (!re.test(value)) out.push(invalidValue(field, value, MSG[rule]));
  return out;
}

function qualifiedNameErrors(key: string, field: string): FieldError[] {
  const slash = key.lastIndexOf("/");
  const name = slash === -1 ? key : key.slice(slash + 1);
  const prefix = slash === -1 ? "" : key.slice(0, slash);
  const out: FieldError[] = [];
  if (slash !== -1 && (prefix === "" || !SUBDOMAIN_RE.test(prefix) || prefix.length > 253)) {
    out.push(invalidValue(field, key, `prefix part ${MSG.subdomain}`));
  }
  if (name === "") out.push(invalidValue(field, key, "name part must be non-empty"));
  else if (name.length > 63)
    out.push(invalidValue(field, key, "name part must be no more than 63 characters"));
  else if (!NAME_PART_RE.test(name)) out.push(invalidValue(field, key, MSG.namePart));
  return out;
}

/** metadata checks shared by every kind. */
export function metadataErrors(obj: Obj, rule: NameRule, namespaced: boolean): FieldError[] {
  const m = obj.metadata;
  const out: FieldError[] = [];
  if (typeof m.name !== "string" || m.name === "")
    out.push(required("metadata.name", "name or generateName is required"));
  else out.push(...nameErrors(m.name, rule));
  if (namespaced && (m.namespace === undefined || m.namespace === ""))
    out.push(required("metadata.namespace"));
  if (!namespaced && m.namespace !== undefined && m.namespace !== "") {
    out.push(forbiddenField("metadata.namespace", "not allowed on this type"));
  }
  for (const [k, v] of Object.entries(m.labels ?? {})) {
    out.push(...qualifiedNameErrors(k, "metadata.labels"));
    if (typeof v !== "string" || v.length > 63 || !LABEL_VALUE_RE.test(v))
      out.push(invalidValue("metadata.labels", v, MSG.labelValue));
  }
  for (const k of Object.keys(m.annotations ?? {}))
    out.push(...qualifiedNameErrors(k.toLowerCase(), "metadata.annotations"));
  out.push(...finalizerErrors(m.finalizers ?? []), ...ownerErrors(m.ownerReferences ?? []));
  return out;
}

const STANDARD_FINALIZERS = ["kubernetes", "orphan", "foregroundDeletion"];

/** apimachinery's ValidateFinalizers, then core's validateKubeFinalizerName for each one. */
function finalizerErrors(finalizers: string[]): FieldError[] {
  const out = finalizers.flatMap((f) => qualifiedNameErrors(f, "metadata.finalizers"));
  finalizers.forEach((f, i) => {
    const field = `metadata.finalizers[${i}]`;
    out.push(...qualifiedNameErrors(f, field));
    if (!f.includes("/") && !STANDARD_FINALIZERS.includes(f))
      out.push(invalidValue(field, f, "name is neither a standard finalizer name nor is it fully qualified"));
  });
  return out;
}

/** validateOwnerReference: each field must be set (the path is not indexed, as in the real one). */
function ownerErrors(refs: unknown[]): FieldError[] {
  const out: FieldError[] = [];
  for (const r of refs as Record<string, unknown>[]) {
    const apiVersion = typeof r.apiVersion === "string" ? r.apiVersion : "";
    const version = apiVersion.includes("/") ? apiVersion.split("/")[1] : apiVersion;
    const f = "metadata.ownerReferences";
    if (version === "" || version === undefined)
      out.push(invalidValue(`${f}.apiVersion`, apiVersion, "version must not be empty"));
    for (const k of ["kind", "name", "uid"])
      if (typeof r[k] !== "string" || r[k] === "")
        out.push(invalidValue(`${f}.${k}`, r[k] ?? "", "must not be empty"));
  }
  return out;
}

export function validIP(v: unknown): boolean {
  return typeof v === "string" && isIP(v) !== 0;
}

export const isPortNumber = (v: unknown): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 65535;
export const PORT_RANGE = "must be between 1 and 65535, inclusive";
export const PROTOCOLS = ["SCTP", "TCP", "UDP"];

/** IsValidPortName (IANA_SVC_NAME): a named targetPort or containerPort name. */
export function portNameErrors(name: string): string[] {
  const out: string[] = [];
  if (name.length > 15) out.push("must be no more than 15 characters");
  if (!/^[-a-z0-9]+$/.test(name))
    out.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (!/[a-z]/.test(name)) out.push("must contain at least one letter (a-z)");
  if (name.includes("--")) out.push("must not contain consecutive hyphens");
  if (name.startsWith("-") || name.endsWith("-")) out.push("must not begin or end with a hyphen");
  return out;
}

/** ValidateNonSpecialIP: addresses a Service or endpoint may not use. */
export function specialIP(ip: string): string | undefined {
  const v4 = isIPv4(ip) ? ip.split(".").map(Number) : undefined;
  const low = ip.toLowerCase();
  if (ip === "0.0.0.0" || ip === "::") return "may not be unspecified (0.0.0.0)";
  if (v4?.[0] === 127 || low === "::1") return "may not be in the loopback range (127.0.0.0/8, ::1/128)";
  if ((v4?.[0] === 169 && v4[1] === 254) || /^fe[89ab]/.test(low))
    return "may not be in the link-local range (169.254.0.0/16, fe80::/10)";
  if ((v4?.[0] === 224 && v4[1] === 0 && v4[2] === 0) || low.startsWith("ff02:"))
    return "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)";
  return undefined;
}
