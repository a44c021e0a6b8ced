// `certs ensure`: read everything, decide (renewal.ts), then write the Secret and the caBundles.
// Everything that can be wrong with the input is found before the first write. The Secret is
// written first and only with its resourceVersion as a precondition: two runs at once conflict,
// the loser re-reads what the winner wrote and decides again, so both converge.
import { nextFiles } from "./issue.ts";
import { newKey } from "./pki.ts";
import {
  formatPublished,
  iso,
  nextPublished,
  planRenewal,
  PUBLISHED_ANNOTATION,
  readPublished,
  type RenewalOptions,
} from "./renewal.ts";
import {
  decodeData,
  encodeData,
  KEY,
  readCert,
  readMaterial,
  SECRET_TYPE,
  type RawSecret,
} from "./secret.ts";
import { ApiError, WEBHOOK_KINDS, type SecretStore, type WebhookConfigStore } from "./stores.ts";
import { bundleChanges, checkTargets, observedBundles, type FoundConfig } from "./webhooks.ts";

export interface EnsureRequest {
  namespace: string;
  service: string;
  secretName: string;
  webhookNames: string[];
  options: RenewalOptions;
  dryRun: boolean;
}

export interface EnsureDeps {
  secrets: SecretStore;
  webhooks: WebhookConfigStore;
  /** Milliseconds since the epoch; tests travel in time through it. */
  clock: () => number;
  /** One human-readable line of what happens; never key material. */
  log: (line: string) => void;
  /** Key generation, injectable so tests do not pay for RSA keys they do not look at. */
  newKey?: () => string;
}

export type EnsureResult = { ok: true; changed: boolean } | { ok: false; error: string };

const MAX_ATTEMPTS = 5;

export async function ensure(deps: EnsureDeps, req: EnsureRequest): Promise<EnsureResult> {
  try {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const outcome = await once(deps, req);
      if (outcome !== "conflict") return outcome;
      deps.log(`conflict: another writer changed the objects meanwhile; re-reading (attempt ${attempt + 1})`);
    }
    return {
      ok: false,
      error: `gave up after ${MAX_ATTEMPTS} conflicting attempts; another writer keeps changing the objects`,
    };
  } catch (err) {
    return { ok: false, error: describe(err) };
  }
}

function describe(err: unknown): string {
  if (err instanceof ApiError) return `Kubernetes API error: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

async function once(deps: EnsureDeps, req: EnsureRequest): Promise<EnsureResult | "conflict"> {
  const { namespace, secretName } = req;
  const where = `${namespace}/${secretName}`;
  const secret = await deps.secrets.get(namespace, secretName);
  const found = await findConfigs(deps.webhooks, req.webhookNames);
  if (typeof found === "string") return { ok: false, error: found };
  const badTarget = checkTargets(found, req.service, namespace);
  if (badTarget !== undefined) return { ok: false, error: badTarget };
  const material = secret === undefined ? undefined : readMaterial(secret, where);
  if (material !== undefined && "error" in material) return { ok: false, error: material.error };

  const now = deps.clock();
  const recorded = secret?.metadata?.annotations?.[PUBLISHED_ANNOTATION];
  const plan = planRenewal({
    now,
    published: readPublished(recorded),
    material,
    bundles: observedBundles(found),
    service: req.service,
    namespace,
    options: req.options,
  });
  const changesSecret = plan.newCA || plan.newServing || plan.dropCAs.length > 0;
  for (const r of plan.reasons) deps.log(r);

  let files: Record<string, string>;
  if (changesSecret) {
    files = nextFiles({
      now,
      service: req.service,
      namespace,
      options: req.options,
      material,
      plan,
      newKey: deps.newKey ?? newKey,
    });
  } else {
    const current = decodeData(secret?.data);
    files = "error" in current ? {} : current;
  }
  const bundle = files[KEY.bundle] ?? "";
  const patches = found
    .map((f) => ({ ...f, changes: bundleChanges(f.config, bundle) }))
    .filter((p) => p.changes.length > 0);

  if (req.dryRun) {
    if (changesSecret)
      deps.log(
        `dry run: would ${secret === undefined ? "create" : "update"} Secret ${where} (${summary(files)})`,
      );
    for (const p of patches)
      deps.log(`dry run: would set the caBundle of ${p.changes.length} webhook(s) in ${p.kind} ${p.name}`);
    if (!changesSecret && patches.length === 0) deps.log("dry run: nothing to change");
    return { ok: true, changed: false };
  }

  let resourceVersion = secret?.metadata?.resourceVersion;
  if (changesSecret) {
    const written = await writeSecret(deps.secrets, req, secret, files);
    if (written === "conflict") return "conflict";
    resourceVersion = written.metadata?.resourceVersion;
    deps.log(`Secret ${where} ${secret === undefined ? "created" : "updated"}: ${summary(files)}`);
  }
  // What we publish must be what the Secret holds now, not what it held when we read it.
  const again = await deps.secrets.get(namespace, secretName);
  if (again?.metadata?.resourceVersion !== resourceVersion) return "conflict";

  for (const p of patches) {
    try {
      await deps.webhooks.patchCaBundles(p.kind, p.name, p.changes);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 409 || err.status === 422)) return "conflict";
      throw err;
    }
    deps.log(
      `${p.kind} ${p.name}: caBundle set in ${p.changes.length} webhook(s) (${p.changes.map((c) => c.name).join(", ")})`,
    );
  }
  // Every caBundle now equals ca.crt: record since when they hold its signing CA (step 2's grace
  // counts from it), after the patches succeeded, so the record is never earlier than the truth.
  const after = changesSecret
    ? readMaterial({ type: SECRET_TYPE, data: encodeData(files) }, where)
    : material;
  let recordWritten = false;
  if (after !== undefined && !("error" in after)) {
    const signing = after.signing.cert.fingerprint;
    const lacked = observedBundles(found).some((b) => !b.includes(signing));
    const record = formatPublished(nextPublished(readPublished(recorded), signing, lacked, deps.clock()));
    if (record !== again?.metadata?.annotations?.[PUBLISHED_ANNOTATION]) {
      const written = await writeRecord(deps.secrets, namespace, again, record);
      if (written === "conflict") return "conflict";
      recordWritten = true;
      deps.log(
        `Secret ${where}: every caBundle holds the signing CA; recorded ${record.split(" ")[1] ?? ""}`,
      );
    }
  }
  const changed = changesSecret || patches.length > 0 || recordWritten;
  if (!changed) deps.log(`nothing to do: ${summary(files)}; every caBundle up to date`);
  return { ok: true, changed };
}

async function writeRecord(
  store: SecretStore,
  namespace: string,
  current: RawSecret | undefined,
  record: string,
): Promise<RawSecret | "conflict"> {
  if (current === undefined) return "conflict";
  const metadata = {
    ...current.metadata,
    annotations: { ...current.metadata?.annotations, [PUBLISHED_ANNOTATION]: record },
  };
  try {
    return await store.update(namespace, { ...current, metadata });
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) return "conflict";
    throw err;
  }
}

async function findConfigs(store: WebhookConfigStore, names: string[]): Promise<FoundConfig[] | string> {
  const found: FoundConfig[] = [];
  for (const name of names) {
    const before = found.length;
    for (const kind of WEBHOOK_KINDS) {
      const config = await store.get(kind, name);
      if (config !== undefined) found.push({ kind, name, config });
    }
    if (found.length === before) {
      return `webhook configuration "${name}" not found (looked for a MutatingWebhookConfiguration and a ValidatingWebhookConfiguration of that name)`;
    }
  }
  return found;
}

async function writeSecret(
  store: SecretStore,
  req: EnsureRequest,
  current: RawSecret | undefined,
  files: Record<string, string>,
): Promise<RawSecret | "conflict"> {
  // Keep whatever else the Secret carries (labels, other keys): only our four keys are ours.
  const body: RawSecret = {
    ...current,
    apiVersion: "v1",
    kind: "Secret",
    metadata: { ...current?.metadata, name: req.secretName, namespace: req.namespace },
    type: SECRET_TYPE,
    data: { ...current?.data, ...encodeData(files) },
  };
  try {
    return current === undefined
      ? await store.create(req.namespace, body)
      : await store.update(req.namespace, body);
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) return "conflict";
    if (err instanceof ApiError && err.status === 404 && current === undefined) {
      throw new ApiError(
        404,
        `cannot create Secret ${req.namespace}/${req.secretName}: ${err.message} (does namespace "${req.namespace}" exist?)`,
      );
    }
    throw err;
  }
}

/** What the files hold, for people: subjects, validity, never keys. */
function summary(files: Record<string, string>): string {
  const serving = readCert(files[KEY.cert] ?? "");
  const cas = (files[KEY.bundle] ?? "").match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  const leaf =
    "error" in serving
      ? "no readable serving certificate"
      : `serving certificate valid until ${iso(serving.notAfter)}`;
  return `${leaf}, ${cas} CA(s) in ${KEY.bundle}`;
}
