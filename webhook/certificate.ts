// The serving certificate, read from disk and re-read when it changes (a mounted Secret updated
// by kubelet: runtime/watched-files.ts), refused when half-written or mismatched.
import { X509Certificate, createPrivateKey } from "node:crypto";
import { createSecureContext } from "node:tls";
import type { Logger } from "pino";
import { watchFiles, type WatchedFiles } from "../runtime/index.ts";

export interface CertificatePair {
  cert: string;
  key: string;
  notAfter: Date;
  /** SHA-256 of the leaf certificate, as openssl prints it; identifies the pair in logs. */
  fingerprint: string;
}

/** A pair is usable when both parse, belong together, and OpenSSL accepts them in a context. */
export function checkPair(
  cert: string,
  key: string,
): { ok: true; pair: CertificatePair } | { ok: false; error: string } {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    return { ok: false, error: `certificate unreadable (half-written?): ${(err as Error).message}` };
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key))) {
      return { ok: false, error: "private key does not match the certificate" };
    }
    createSecureContext({ cert, key });
  } catch (err) {
    // The message of a key parse error never contains the key itself.
    return { ok: false, error: `private key unusable (half-written?): ${(err as Error).message}` };
  }
  return {
    ok: true,
    pair: { cert, key, notAfter: new Date(x509.validTo), fingerprint: x509.fingerprint256 },
  };
}

export interface CertificateWatcherOptions {
  certFile: string;
  keyFile: string;
  log: Logger;
  /** Called with each new valid pair, the first one included. */
  onLoad: (pair: CertificatePair) => void;
  onRefuse?: (error: string) => void;
  /** Poll period in ms as a safety net behind the directory watch. */
  pollMs?: number;
}

export type CertificateWatcher = WatchedFiles<CertificatePair>;

export function watchCertificate(opts: CertificateWatcherOptions): CertificateWatcher {
  const { certFile, keyFile } = opts;
  return watchFiles<CertificatePair>({
    files: [certFile, keyFile],
    parse: ([cert, key]) => {
      const checked = checkPair(cert!, key!);
      return checked.ok ? { ok: true, value: checked.pair } : checked;
    },
    log: opts.log,
    ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
    onLoad: (pair, previous) => {
      opts.log.info(
        {
          fingerprint: pair.fingerprint,
          previous: previous?.fingerprint,
          notAfter: pair.notAfter.toISOString(),
        },
        previous ? "serving certificate reloaded" : "serving certificate loaded",
      );
      opts.onLoad(pair);
    },
    onRefuse: (error, kept) => {
      opts.log.warn(
        { error, certFile, keyFile, keeping: kept?.fingerprint ?? null },
        "serving certificate refused; keeping the previous one",
      );
      opts.onRefuse?.(error);
    },
  });
}
