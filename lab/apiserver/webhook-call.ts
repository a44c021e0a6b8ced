// One admission webhook call as kube-apiserver makes it: POST <path>?timeout=<n>s over HTTPS
// (HTTP/1.1), the server certificate verified against caBundle with <svc>.<ns>.svc as the name
// for service references, and the response checked as VerifyAdmissionResponse does. Failures come
// back as the text Go's client would print ("Post \"https://...\": dial tcp ...: connection refused").
import https from "node:https";
import { isIP, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";

export interface ServiceRef {
  namespace: string;
  name: string;
  port: number;
  path?: string;
}
/** Opens a TCP connection the way kube-apiserver would (e.g. from a node, through a CONNECT proxy). */
export type Dialer = (host: string, port: number) => Promise<Socket>;
/**
 * Maps a webhook's service reference to where it really listens (https://127.0.0.1:PORT), or
 * undefined. With `dial`, the connection to `url` is opened by it (the lab: the Service's
 * ClusterIP, dialled from a node, as kube-apiserver on a control-plane node does). With `fresh`,
 * every call gets a new connection and TLS handshake instead of reusing one (a harness that
 * wants each call verified against the caBundle of that moment: stricter than kube-apiserver).
 */
export type ServiceResolver = (
  svc: ServiceRef,
) => string | { url: string; dial?: Dialer; fresh?: boolean } | undefined;

export interface ClientConfig {
  url?: string;
  service?: ServiceRef;
  caBundle?: string;
}

type Any = Record<string, unknown>;

function goError(err: NodeJS.ErrnoException & { host?: string }, target: URL): string {
  const addr = `${target.hostname}:${target.port === "" ? "443" : target.port}`;
  switch (err.code) {
    case "ECONNREFUSED":
      return `dial tcp ${addr}: connect: connection refused`;
    case "ECONNRESET":
      return `read tcp ${addr}: read: connection reset by peer`;
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
      return "tls: failed to verify certificate: x509: certificate signed by unknown authority";
    case "CERT_HAS_EXPIRED":
    case "CERT_NOT_YET_VALID":
      return "tls: failed to verify certificate: x509: certificate has expired or is not yet valid";
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `tls: failed to verify certificate: x509: ${err.message.replace(/^Hostname\/IP does not match certificate's altnames: /, "")}`;
    case "ETIMEDOUT":
      return "context deadline exceeded";
  }
  return err.message;
}

// Go prints the URL it was built from, with the port even when it is the default 443
function goUrl(u: URL, timeoutSeconds: number): string {
  return `https://${u.hostname}:${u.port === "" ? "443" : u.port}${u.pathname}?timeout=${timeoutSeconds}s`;
}

/** Returns the parsed AdmissionReview response, or the reason the call failed (ErrCallingWebhook). */
export async function callWebhook(
  cc: ClientConfig,
  timeoutSeconds: number,
  review: Any,
  resolve: ServiceResolver,
): Promise<{ response: Any } | { error: string }> {
  let shown: URL;
  let target: URL;
  let servername: string | undefined;
  let dial: Dialer | undefined;
  let fresh = false;
  try {
    if (cc.service !== undefined) {
      const s = cc.service;
      shown = new URL(`https://${s.name}.${s.namespace}.svc:${s.port}${s.path ?? ""}`);
      servername = `${s.name}.${s.namespace}.svc`;
      const base = resolve(s);
      if (base === undefined)
        return {
          error: `failed to call webhook: Post "${goUrl(shown, timeoutSeconds)}": no endpoints available for service "${s.name}"`,
        };
      target = new URL(typeof base === "string" ? base : base.url);
      if (typeof base !== "string") {
        dial = base.dial;
        fresh = base.fresh === true;
      }
    } else {
      shown = new URL(cc.url ?? "");
      target = shown;
      if (isIP(shown.hostname.replace(/^\[|\]$/g, "")) === 0) servername = shown.hostname;
    }
  } catch {
    return { error: `failed to call webhook: parse "${cc.url ?? ""}": invalid URL` };
  }
  shown.search = `timeout=${timeoutSeconds}s`;
  const ca =
    cc.caBundle !== undefined && cc.caBundle !== ""
      ? Buffer.from(cc.caBundle, "base64").toString("utf8")
      : undefined;
  const body = JSON.stringify(review);
  const post = `failed to call webhook: Post "${goUrl(shown, timeoutSeconds)}"`;
  const connection = fresh
    ? { agent: false as const, ...(dial ? { createConnection: viaDialer(dial, servername, ca) } : {}) }
    : { agent: agentFor(target, servername, ca, dial) };
  const attempt = (retry: boolean) =>
    new Promise<{ response: Any } | { error: string }>((done) => {
      const options: https.RequestOptions & { ALPNProtocols: string[] } = {
        protocol: "https:",
        hostname: target.hostname.replace(/^\[|\]$/g, ""),
        port: target.port === "" ? 443 : Number(target.port),
        path: `${shown.pathname}${shown.search}`,
        method: "POST",
        ...(ca !== undefined ? { ca } : {}),
        ...(servername !== undefined ? { servername } : {}),
        ALPNProtocols: ["http/1.1"],
        ...connection,
        headers: {
          "content-type": "application/json",
          accept: "application/json, */*",
          "content-length": Buffer.byteLength(body),
        },
      };
      const req = https.request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (e) => done({ error: `${post}: ${goError(e, target)}` }));
        res.on("end", () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200) {
            const what =
              res.statusCode === 404
                ? "the server could not find the requested resource"
                : `an error on the server (${JSON.stringify(text.slice(0, 200))}) has prevented the request from succeeding`;
            return done({ error: `failed to call webhook: ${what}` });
          }
          try {
            done({ response: JSON.parse(text) as Any });
          } catch (e) {
            done({ error: `failed to call webhook: ${(e as Error).message}` });
          }
        });
      });
      const timer = setTimeout(
        () => req.destroy(Object.assign(new Error("context deadline exceeded"), { code: "ETIMEDOUT" })),
        timeoutSeconds * 1000,
      );
      req.on("error", (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        // An idle connection the webhook closed as we reused it: nothing reached the webhook, so
        // ask again on a new one, as Go's transport does for a request whose body it can replay.
        if (retry && req.reusedSocket && e.code === "ECONNRESET") return done(attempt(false));
        done({ error: `${post}: ${goError(e, target)}` });
      });
      req.end(body);
    });
  return attempt(true);
}

/**
 * kube-apiserver keeps one client per webhook configuration (webhook.ClientManager's cache),
 * over client-go's keep-alive transport (up to 25 idle connections per host): consecutive calls
 * reuse a connection instead of paying TCP, the egress CONNECT and TLS each time. Keyed here by
 * where the calls go and how the server is verified; a changed caBundle gets new connections.
 */
const agents = new Map<string, https.Agent>();
function agentFor(target: URL, servername: string | undefined, ca: string | undefined, dial?: Dialer) {
  const key = JSON.stringify([target.host, servername, ca, dial !== undefined]);
  let agent = agents.get(key);
  if (agent === undefined) {
    // client-go's transport: 25 idle connections per host, each closed after 90 s idle.
    agent = new https.Agent({ keepAlive: true, maxFreeSockets: 25, timeout: 90_000 });
    // Through `dial` (the lab: from a node, over its CONNECT proxy), then TLS over that socket.
    if (dial !== undefined) agent.createConnection = viaDialer(dial, servername, ca);
    // A bounded cache, as the real one is an LRU: the oldest configuration's client goes.
    if (agents.size >= 64) {
      const [oldest, old] = agents.entries().next().value!;
      agents.delete(oldest);
      old.destroy();
    }
    agents.set(key, agent);
  }
  return agent;
}

/** An https createConnection that runs TLS over a socket from `dial`. */
function viaDialer(dial: Dialer, servername: string | undefined, ca: string | undefined) {
  return (o: https.RequestOptions, done: (err: Error | null, socket: Duplex) => void): undefined => {
    dial(o.hostname ?? "", Number(o.port)).then(
      (socket) =>
        done(
          null,
          tls.connect({
            socket,
            ...(servername !== undefined ? { servername } : {}),
            ...(ca !== undefined ? { ca } : {}),
            ALPNProtocols: ["http/1.1"],
          }),
        ),
      (err: Error) => done(err, undefined as unknown as Duplex),
    );
    return undefined;
  };
}

/** VerifyAdmissionResponse: the checks whose failure counts as a call error, not a denial. */
export function verifyResponse(
  review: Any,
  version: string,
  uid: string,
  mutating: boolean,
): { response: Any } | { error: string } {
  const bad = (why: string) => ({ error: `received invalid webhook response: ${why}` });
  if (review.apiVersion !== `admission.k8s.io/${version}` || review.kind !== "AdmissionReview") {
    if (version === "v1")
      return bad(
        `expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${String(review.apiVersion)}, Kind=${String(review.kind)}`,
      );
  }
  const r = review.response as Any | undefined | null;
  if (r === undefined || r === null || typeof r !== "object") return bad("webhook response was absent");
  if (r.uid !== uid)
    return bad(`expected response.uid=${JSON.stringify(uid)}, got ${JSON.stringify(r.uid ?? "")}`);
  const hasPatch = r.patch !== undefined && r.patch !== null && r.patch !== "";
  const hasType = r.patchType !== undefined && r.patchType !== null && r.patchType !== "";
  if (!mutating && hasPatch) return bad("validating webhook may not return response.patch");
  if (!mutating && hasType) return bad("validating webhook may not return response.patchType");
  if (hasPatch && !hasType) return bad("webhook returned response.patch but not response.patchType");
  if (hasType && !hasPatch) return bad("webhook returned response.patchType but not response.patch");
  if (hasType && r.patchType !== "JSONPatch")
    return bad(`webhook returned invalid response.patchType of ${JSON.stringify(r.patchType)}`);
  return { response: r };
}

/**
 * Closes the connections to webhooks that are idle, as kube-apiserver's client does after 90 s
 * idle (Go's Transport.CloseIdleConnections): a test that changes the path to a webhook then
 * sees what a new connection meets without waiting that long.
 */
export function closeIdleWebhookConnections(): void {
  for (const a of agents.values())
    for (const list of Object.values(a.freeSockets)) for (const socket of list ?? []) socket.destroy();
}
