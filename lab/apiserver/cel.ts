// CEL for admission as kube-apiserver evaluates it (k8s.io/apiserver/pkg/admission/plugin/cel):
// the variables object, oldObject, request, namespaceObject and the lazily computed, memoised
// `variables.<name>`; JSON integers are CEL ints (int64), as the real server's unstructured
// conversion makes them; an evaluation error reads "expression '<e>' resulted in error: <why>".
// `authorizer` is not supported: an expression that names it gets an error, so the caller's
// failurePolicy decides, as for any other evaluation error.
import { Environment, type ParseResult } from "@marcbachmann/cel-js";
import type { Attributes } from "./admission.ts";
import type { Obj } from "./store.ts";

export type CelResult = { value: unknown } | { error: string };

// Kubernetes' CEL environment is not strictly typed here (no OpenAPI schemas): every variable is dyn.
const env = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false });
const compiled = new Map<string, ParseResult | { error: string }>();

/** The text cel-go would print: the first line, "no such key: x" in its lower case. */
function why(e: unknown): string {
  const first = (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "";
  return first.replace(/^No such key/, "no such key").trim();
}

function usesAuthorizer(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(usesAuthorizer);
  if (node === null || typeof node !== "object") return false;
  const n = node as { op?: unknown; args?: unknown };
  if (n.op === "id" && n.args === "authorizer") return true;
  return n.op !== "value" && usesAuthorizer(n.args);
}

function compile(expression: string): ParseResult | { error: string } {
  let c = compiled.get(expression);
  if (c === undefined) {
    try {
      c = env.parse(expression);
    } catch (e) {
      c = { error: `compilation error: ${why(e)}` };
    }
    compiled.set(expression, c);
  }
  return c;
}

// The environment a webhook's matchConditions are compiled in when the configuration is written
// (k8s.io/apiserver's admission CEL: object and oldObject as dyn, request, authorizer; no
// namespaceObject, params or variables, which are a policy's). What fails here is refused at
// write time, as kube-apiserver refuses it, instead of failing every request it matches.
const webhookEnv = new Environment({ homogeneousAggregateLiterals: false })
  .registerVariable("object", "dyn")
  .registerVariable("oldObject", "dyn")
  .registerVariable("request", "dyn")
  .registerVariable("authorizer", "dyn");

/**
 * Why a webhook's matchCondition would not compile, or undefined. "compilation failed: " is
 * kube-apiserver's; the reason after it is cel-js's wording (cel-go's differs), its first line.
 */
export function webhookConditionProblem(expression: string): string | undefined {
  let parsed;
  try {
    parsed = webhookEnv.parse(expression);
  } catch (e) {
    return `compilation failed: ${why(e)}`;
  }
  // cel-js has no authorizer type to check its calls against; such an expression is parsed only,
  // and its evaluation errs (see evaluate) so the failurePolicy decides.
  if (usesAuthorizer(parsed.ast)) return undefined;
  const checked = parsed.check();
  if (!checked.valid) return `compilation failed: ${why(checked.error)}`;
  if (checked.type !== "bool" && checked.type !== "dyn")
    return `compilation failed: cel expression must evaluate to a bool`;
  return undefined;
}

/** Evaluates one expression; errors come back as values with the real server's wording. */
export function evaluate(expression: string, activation: Record<string, unknown>): CelResult {
  const program = compile(expression);
  if ("error" in program) return program;
  const fail = (reason: string) => ({
    error: `expression '${expression}' resulted in error: ${reason}`,
  });
  if (usesAuthorizer(program.ast)) return fail("authorizer is not supported by the lab API server");
  try {
    return { value: program(activation) };
  } catch (e) {
    return fail(why(e));
  }
}

/** JSON as CEL sees it: integral numbers become ints (bigint), everything else as is. */
export function toCel(v: unknown): unknown {
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(toCel);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toCel(x);
    return out;
  }
  return v;
}

/** CreateAdmissionRequest: the AdmissionRequest without object and oldObject. */
export function celRequest(a: Attributes): Record<string, unknown> {
  const gvk = { group: a.res.group, version: a.res.version, kind: a.res.kind };
  const gvr = { group: a.res.group, version: a.res.version, resource: a.res.resource };
  return {
    kind: gvk,
    resource: gvr,
    subResource: a.subresource,
    requestKind: gvk,
    requestResource: gvr,
    requestSubResource: a.subresource,
    name: a.name,
    namespace: a.namespace ?? "",
    operation: a.operation,
    userInfo: a.userInfo,
    dryRun: a.dryRun,
    options: a.options,
  };
}

export interface Variable {
  name: string;
  expression: string;
}

/**
 * The activation of one evaluation: object, oldObject, request (+ namespaceObject for policies),
 * and `variables` whose members are computed on first use and then kept, as the composited
 * evaluator's lazy map does. A variable's error becomes the error of the expression using it.
 */
export function activation(
  a: Attributes,
  opts: { variables?: Variable[]; namespaceObject?: Obj | null } = {},
): Record<string, unknown> {
  const base: Record<string, unknown> = {
    object: toCel(a.object ?? null),
    oldObject: toCel(a.oldObject ?? null),
    request: toCel(celRequest(a)),
  };
  if (opts.namespaceObject !== undefined) base.namespaceObject = toCel(opts.namespaceObject);
  const variables: Record<string, unknown> = {};
  const memo = new Map<string, CelResult>();
  for (const v of opts.variables ?? []) {
    Object.defineProperty(variables, v.name, {
      enumerable: true,
      get() {
        let r = memo.get(v.name);
        if (r === undefined) {
          r = evaluate(v.expression, { ...base, variables });
          memo.set(v.name, r);
        }
        if ("error" in r) {
          const prefix = `expression '${v.expression}' resulted in error: `;
          throw new Error(r.error.startsWith(prefix) ? r.error.slice(prefix.length) : r.error);
        }
        return r.value;
      },
    });
  }
  return { ...base, variables };
}
