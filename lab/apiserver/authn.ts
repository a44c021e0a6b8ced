// Authentication: the bearer token of the request names a user. The lab's admin token is
// lab-admin in system:masters; tokens minted by TokenRequest (POST
// .../serviceaccounts/NAME/token, what `kubectl create token` and kubelet's projected volumes
// ask for) are the ServiceAccount's identity for as long as they have not expired, their
// audience is this server's and the ServiceAccount still exists with the same uid — the checks
// kube-apiserver's service-account token authenticator makes. Any other bearer token is 401
// Unauthorized. A request that presents none is system:anonymous in system:unauthenticated, as
// with kube-apiserver's default --anonymous-auth=true (the anonymous authenticator runs only
// when the others found no credentials, never after a bad token: union.NewFailOnError); RBAC
// then decides. With anonymous authentication off it is 401 too.
import { randomBytes } from "node:crypto";
import type { Store } from "./store.ts";
import { findResource } from "./resources.ts";
import { SYSTEM_MASTERS, type UserInfo } from "./rbac.ts";

const SERVICE_ACCOUNTS = findResource("", "v1", "serviceaccounts");

/** What kubeadm-made clusters use for --api-audiences (the issuer); the default audience. */
export const API_AUDIENCE = "https://kubernetes.default.svc.cluster.local";

const ADMIN: UserInfo = { username: "lab-admin", groups: [SYSTEM_MASTERS, "system:authenticated"] };
export const ANONYMOUS: UserInfo = { username: "system:anonymous", groups: ["system:unauthenticated"] };

/**
 * The token of an Authorization header as bearertoken.Authenticator reads it; undefined when the
 * request presents none (no header, another scheme, an empty token), which is not an error.
 */
export function bearerToken(header: string | undefined): string | undefined {
  const parts = (header ?? "").trim().split(" ");
  if (parts.length < 2 || parts[0]?.toLowerCase() !== "bearer" || parts[1] === "") return undefined;
  return parts[1];
}

interface Minted {
  namespace: string;
  name: string;
  uid: string;
  audiences: string[];
  expiresAt: number;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

function serviceAccountUser(namespace: string, name: string, uid?: string): UserInfo {
  return {
    username: `system:serviceaccount:${namespace}:${name}`,
    ...(uid !== undefined ? { uid } : {}),
    groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"],
  };
}

export class Tokens {
  readonly #admin: string;
  readonly #minted = new Map<string, Minted>();
  readonly #now: () => number;

  readonly #anonymous: boolean;

  constructor(admin: string, o: { now?: () => number; anonymous?: boolean } = {}) {
    this.#admin = admin;
    this.#now = o.now ?? Date.now;
    this.#anonymous = o.anonymous ?? true;
  }

  /**
   * JWT-shaped, with the claims a real one carries (so a reader decoding it sees the same), but
   * not signed: the server recognises only tokens it minted, by value.
   */
  mint(sa: { namespace: string; name: string; uid: string }, seconds: number, audiences: string[]) {
    const iat = Math.floor(this.#now() / 1000);
    const exp = iat + seconds;
    const claims = {
      aud: audiences,
      exp,
      iat,
      iss: API_AUDIENCE,
      nbf: iat,
      sub: `system:serviceaccount:${sa.namespace}:${sa.name}`,
      "kubernetes.io": { namespace: sa.namespace, serviceaccount: { name: sa.name, uid: sa.uid } },
    };
    const token = `${b64({ alg: "RS256", kid: "lab" })}.${b64(claims)}.${randomBytes(32).toString("base64url")}`;
    this.#minted.set(token, { ...sa, audiences, expiresAt: exp * 1000 });
    return { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, "Z") };
  }

  /** The user of an Authorization header; undefined is 401. */
  authenticate(header: string | undefined, store: Store): UserInfo | undefined {
    const token = bearerToken(header);
    if (token === undefined) return this.#anonymous ? ANONYMOUS : undefined;
    return this.user(token, store);
  }

  /** The user a bearer token is; undefined: not a token of this server, or not for this server. */
  user(token: string, store: Store): UserInfo | undefined {
    return this.review(token, store, [API_AUDIENCE])?.user;
  }

  /**
   * TokenReview's question: the user a token is for any of `audiences`, and which of them it is
   * for. The admin token is for this server's audience only (a static token is audience-agnostic,
   * so kube-apiserver takes it for its own audiences); a minted one for those it names.
   */
  review(
    token: string,
    store: Store,
    audiences: string[],
  ): { user: UserInfo; audiences: string[] } | undefined {
    const within = (own: string[]) => own.filter((a) => audiences.includes(a));
    if (token === this.#admin) {
      const auds = within([API_AUDIENCE]);
      return auds.length > 0 ? { user: ADMIN, audiences: auds } : undefined;
    }
    const m = this.#minted.get(token);
    if (m === undefined || this.#now() >= m.expiresAt) return undefined;
    const auds = within(m.audiences);
    if (auds.length === 0) return undefined;
    // Every request of a ServiceAccount passes here: its object is read in place, not copied.
    const current =
      SERVICE_ACCOUNTS !== undefined &&
      store.look(
        SERVICE_ACCOUNTS,
        m.namespace,
        m.name,
        (sa) => sa.metadata.uid === m.uid && sa.metadata.deletionTimestamp === undefined,
      );
    if (current !== true) return undefined;
    return { user: serviceAccountUser(m.namespace, m.name, m.uid), audiences: auds };
  }
}
