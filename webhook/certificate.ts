// The serving certificate, read from disk and re-read when it changes: kubelet updates a mounted
// Secret by writing a new timestamped directory and atomically renaming the `..data` symlink, so
// we watch the directories (not the files, whose inodes never change under the symlink) and also
// poll, because a watch can miss events (overlay filesystems, a directory replaced wholesale).
import { X509Certificate, createPrivateKey } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { createSecureContext } from "node:tls";
import type { Logger } from "pino";

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

export interface CertificateWatcher {
  current(): CertificatePair | undefined;
  /** Read the files now; resolves when done (tests and startup use it). */
  check(): Promise<void>;
  close(): void;
}

export function watchCertificate(opts: CertificateWatcherOptions): CertificateWatcher {
  let current: CertificatePair | undefined;
  let lastRefused = "";
  let checking: Promise<void> | undefined;
  let again = false;
  let closed = false;

  const readOnce = async (): Promise<void> => {
    let cert: string, key: string;
    try {
      [cert, key] = await Promise.all([readFile(opts.certFile, "utf8"), readFile(opts.keyFile, "utf8")]);
    } catch (err) {
      return refuse(
        `cannot read the certificate files: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
    }
    if (current && cert === current.cert && key === current.key) return;
    const checked = checkPair(cert, key);
    if (!checked.ok) return refuse(checked.error);
    const previous = current?.fingerprint;
    current = checked.pair;
    lastRefused = "";
    opts.log.info(
      { fingerprint: current.fingerprint, previous, notAfter: current.notAfter.toISOString() },
      previous ? "serving certificate reloaded" : "serving certificate loaded",
    );
    opts.onLoad(current);
  };

  const refuse = (error: string): void => {
    if (error === lastRefused) return; // a poll every second must not repeat the same line
    lastRefused = error;
    opts.log.warn(
      { error, certFile: opts.certFile, keyFile: opts.keyFile, keeping: current?.fingerprint ?? null },
      "serving certificate refused; keeping the previous one",
    );
    opts.onRefuse?.(error);
  };

  // One read at a time; a change seen during a read triggers exactly one more.
  const check = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (checking) {
      again = true;
      return checking;
    }
    checking = readOnce().finally(() => {
      checking = undefined;
      if (again) {
        again = false;
        void check();
      }
    });
    return checking;
  };

  const watchers: FSWatcher[] = [];
  for (const dir of new Set([dirname(opts.certFile), dirname(opts.keyFile)])) {
    try {
      const w = watch(dir, { persistent: false }, () => void check());
      w.on("error", (err) =>
        opts.log.warn({ dir, err: err.message }, "directory watch failed; polling only"),
      );
      watchers.push(w);
    } catch (err) {
      opts.log.warn({ dir, err: (err as Error).message }, "cannot watch directory; polling only");
    }
  }
  const poll = setInterval(() => void check(), opts.pollMs ?? 2000);
  poll.unref();

  return {
    current: () => current,
    check,
    close: () => {
      closed = true;
      clearInterval(poll);
      for (const w of watchers) w.close();
    },
  };
}
