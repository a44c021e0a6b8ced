// Files read at start and re-read when they change, the way kubelet changes a mounted Secret or
// ConfigMap: it writes a new timestamped directory and atomically renames the `..data` symlink, so
// the directories are watched (not the files, whose inodes never change under the symlink), and
// polled as well, because a watch can miss events (overlay filesystems, a directory replaced
// wholesale). A new content that does not parse is refused and the previous value kept.
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Logger } from "pino";

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

async function readTexts(files: readonly string[]): Promise<Parsed<string[]>> {
  try {
    return { ok: true, value: await Promise.all(files.map((f) => readFile(f, "utf8"))) };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, error: `cannot read ${e.path ?? files.join(", ")}: ${e.code ?? String(err)}` };
  }
}

/** Reads `files` (in order) and parses their texts; an unreadable file is an error naming it. */
export async function readParsed<T>(
  files: readonly string[],
  parse: (texts: string[]) => Parsed<T>,
): Promise<Parsed<T>> {
  const texts = await readTexts(files);
  return texts.ok ? parse(texts.value) : texts;
}

export interface WatchedFilesOptions<T> {
  files: readonly string[];
  parse: (texts: string[]) => Parsed<T>;
  /** Called with each new value, the first one included. */
  onLoad: (value: T, previous: T | undefined) => void;
  /** Called once per distinct refusal (a poll must not repeat the same line). */
  onRefuse: (error: string, kept: T | undefined) => void;
  log: Logger;
  /** Poll period in ms as a safety net behind the directory watch (default 2 s). */
  pollMs?: number;
}

export interface WatchedFiles<T> {
  current(): T | undefined;
  /** Read the files now; resolves when done (tests and startup use it). */
  check(): Promise<void>;
  close(): void;
}

export function watchFiles<T>(opts: WatchedFilesOptions<T>): WatchedFiles<T> {
  let current: T | undefined;
  let lastTexts: string[] | undefined;
  let lastRefused = "";
  let checking: Promise<void> | undefined;
  let again = false;
  let closed = false;

  const refuse = (error: string): void => {
    if (error === lastRefused) return;
    lastRefused = error;
    opts.onRefuse(error, current);
  };

  const readOnce = async (): Promise<void> => {
    const texts = await readTexts(opts.files);
    if (!texts.ok) return refuse(texts.error);
    // Unchanged since the last load (most polls): nothing to parse, nothing to say.
    if (lastTexts !== undefined && texts.value.every((t, i) => t === lastTexts![i])) {
      lastRefused = "";
      return;
    }
    const r = opts.parse(texts.value);
    if (!r.ok) return refuse(r.error);
    const previous = current;
    current = r.value;
    lastTexts = texts.value;
    lastRefused = "";
    opts.onLoad(r.value, previous);
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
  for (const dir of new Set(opts.files.map((f) => dirname(f)))) {
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
