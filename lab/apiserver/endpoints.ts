// Validation of EndpointSlices (pkg/apis/discovery/validation), Endpoints and Secrets
// (pkg/apis/core/validation) with the real limits and texts.
import { isIPv4, isIPv6 } from "node:net";
import type { FieldError } from "./status.ts";
import type { Obj } from "./store.ts";
import {
  duplicate,
  invalidValue,
  isPortNumber,
  nameErrors,
  notSupported,
  PORT_RANGE,
  PROTOCOLS,
  required,
  specialIP,
  validIP,
} from "./validation.ts";

type Any = Record<string, unknown>;
const arr = (v: unknown): Any[] => (Array.isArray(v) ? (v as Any[]) : []);
const MAX_ENDPOINTS = 1000;
const MAX_ADDRESSES = 100;
const FQDN_RE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const tooMany = (field: string, n: number, max: number): FieldError => ({
  field,
  type: "FieldValueTooMany",
  detail: `Too many: ${n}: must have at most ${max} items`,
});

/** IsValidIP(v4/v6) then ValidateNonSpecialIP, as endpoint addresses are checked. */
function addressErrors(field: string, a: unknown, family: "IPv4" | "IPv6" | "any"): FieldError[] {
  const ok =
    typeof a === "string" && (family === "IPv4" ? isIPv4(a) : family === "IPv6" ? isIPv6(a) : validIP(a));
  if (!ok) {
    const why =
      family === "any"
        ? "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
        : `must be a valid ${family} address`;
    return [invalidValue(field, a, why)];
  }
  const special = specialIP(a);
  return special === undefined ? [] : [invalidValue(field, a, special)];
}

export function validateEndpointSlice(obj: Obj, old: Obj | undefined): FieldError[] {
  const out: FieldError[] = [];
  const types = ["FQDN", "IPv4", "IPv6"];
  const type = obj.addressType as string;
  if (!types.includes(type)) out.push(notSupported("addressType", obj.addressType, types));
  if (old !== undefined && old.addressType !== obj.addressType)
    out.push(invalidValue("addressType", obj.addressType, "field is immutable"));
  const endpoints = arr(obj.endpoints);
  if (endpoints.length > MAX_ENDPOINTS) out.push(tooMany("endpoints", endpoints.length, MAX_ENDPOINTS));
  else
    endpoints.forEach((e, i) => {
      const f = `endpoints[${i}].addresses`;
      const addrs = arr(e.addresses) as unknown[];
      if (addrs.length === 0) out.push(required(f, "must contain at least 1 address"));
      else if (addrs.length > MAX_ADDRESSES) out.push(tooMany(f, addrs.length, MAX_ADDRESSES));
      addrs.forEach((a, j) => {
        if (type === "IPv4" || type === "IPv6") out.push(...addressErrors(`${f}[${j}]`, a, type));
        else if (type === "FQDN" && !(typeof a === "string" && FQDN_RE.test(a)))
          out.push(
            invalidValue(`${f}[${j}]`, a, "should be a domain with at least two segments separated by dots"),
          );
      });
    });
  const names = new Set<string>();
  arr(obj.ports).forEach((p, i) => {
    const name = typeof p.name === "string" ? p.name : "";
    if (name !== "") out.push(...nameErrors(name, "label", `ports[${i}].name`));
    if (names.has(name)) out.push(duplicate(`ports[${i}].name`, name));
    names.add(name);
    if (p.port !== undefined && p.port !== null && !isPortNumber(p.port))
      out.push(invalidValue(`ports[${i}].port`, p.port, PORT_RANGE));
    if (!PROTOCOLS.includes(p.protocol as string))
      out.push(notSupported(`ports[${i}].protocol`, p.protocol, PROTOCOLS));
  });
  return out;
}

export function validateEndpoints(obj: Obj): FieldError[] {
  const out: FieldError[] = [];
  arr(obj.subsets).forEach((s, i) => {
    const f = `subsets[${i}]`;
    for (const list of ["addresses", "notReadyAddresses"])
      arr(s[list]).forEach((a, j) => {
        const at = `${f}.${list}[${j}].ip`;
        out.push(...addressErrors(at, a.ip, "any"));
        // ValidateNonSpecialIP parses again and says so once more for a non-address
        if (!validIP(a.ip)) out.push(invalidValue(at, a.ip, "must be a valid IP address"));
      });
    const ports = arr(s.ports);
    ports.forEach((p, j) => {
      const at = `${f}.ports[${j}]`;
      if (ports.length > 1 && (typeof p.name !== "string" || p.name === "")) out.push(required(`${at}.name`));
      else if (typeof p.name === "string" && p.name !== "")
        out.push(...nameErrors(p.name, "label", `${at}.name`));
      if (!isPortNumber(p.port)) out.push(invalidValue(`${at}.port`, p.port, PORT_RANGE));
      if (!PROTOCOLS.includes(p.protocol as string))
        out.push(notSupported(`${at}.protocol`, p.protocol, PROTOCOLS));
    });
  });
  return out;
}

const CONFIG_KEY_RE = /^[-._a-zA-Z0-9]+$/;
const CONFIG_KEY_MSG =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

export function validateSecret(obj: Obj, old: Obj | undefined): FieldError[] {
  const out: FieldError[] = [];
  const data = (obj.data ?? {}) as Any;
  for (const k of Object.keys(data))
    if (!CONFIG_KEY_RE.test(k) || k.length > 253) out.push(invalidValue("data", k, CONFIG_KEY_MSG));
  const need = (key: string) => {
    if (!(key in data)) out.push(required(`data[${key}]`));
  };
  switch (obj.type) {
    case "kubernetes.io/tls":
      need("tls.crt");
      need("tls.key");
      break;
    case "kubernetes.io/basic-auth":
      break;
    case "kubernetes.io/ssh-auth":
      need("ssh-privatekey");
      break;
    case "kubernetes.io/dockerconfigjson":
      need(".dockerconfigjson");
      break;
  }
  if (old !== undefined && old.type !== obj.type)
    out.push(invalidValue("type", obj.type, "field is immutable"));
  return out;
}
