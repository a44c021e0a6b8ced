// Field ownership for server-side apply, a simple version of the real field manager: every
// write records which manager set which fields (operation Update, or Apply for apply patches);
// an apply that changes a field another manager owns is a 409 conflict unless forced; fields an
// applier stops applying are removed unless someone else owns them. Entries are published in
// metadata.managedFields in the real FieldsV1 format.
import { failure } from "./status.ts";
import { deleteAt, fieldsOf, getAt, mergeApplied, toFieldsV1, type FieldSet } from "./fieldset.ts";

interface Entry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  subresource: string;
  time: string;
  set: FieldSet;
}
type Any = Record<string, unknown>;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

function describe(e: Entry): string {
  let s = JSON.stringify(e.manager);
  if (e.subresource !== "") s += ` with subresource ${JSON.stringify(e.subresource)}`;
  return e.operation === "Update" ? `${s} using ${e.apiVersion}` : s;
}

export class ManagedFields {
  readonly #byUid = new Map<string, Entry[]>();

  #entry(
    uid: string,
    manager: string,
    operation: Entry["operation"],
    apiVersion: string,
    subresource: string,
  ): Entry {
    const list = this.#byUid.get(uid) ?? [];
    this.#byUid.set(uid, list);
    let e = list.find(
      (x) => x.manager === manager && x.operation === operation && x.subresource === subresource,
    );
    if (e === undefined)
      list.push((e = { manager, operation, apiVersion, subresource, time: now(), set: new Map() }));
    e.time = now();
    e.apiVersion = apiVersion;
    return e;
  }

  #prune(uid: string): void {
    const list = (this.#byUid.get(uid) ?? []).filter((e) => e.set.size > 0);
    this.#byUid.set(uid, list);
  }

  /** A non-apply write: the manager now owns what it changed; nobody owns what is gone. */
  recordUpdate(
    uid: string,
    kind: string,
    apiVersion: string,
    manager: string,
    subresource: string,
    old: Any | undefined,
    next: Any,
  ): void {
    const before = old === undefined ? new Map() : fieldsOf(kind, old, subresource);
    const after = fieldsOf(kind, next, subresource);
    const changed = [...after].filter(
      ([p, f]) => !before.has(p) || (f.leaf && !same(getAt(old, f.segs), getAt(next, f.segs))),
    );
    const list = this.#byUid.get(uid) ?? [];
    for (const e of list) {
      if (e.subresource !== subresource) continue;
      for (const p of [...e.set.keys()]) if (!after.has(p)) e.set.delete(p);
      for (const [p] of changed) e.set.delete(p);
    }
    if (changed.length > 0) {
      const mine = this.#entry(uid, manager, "Update", apiVersion, subresource);
      for (const [p, f] of changed) mine.set.set(p, f);
    }
    this.#prune(uid);
  }

  /**
   * Server-side apply of `applied` onto `live` (undefined when creating). Throws a 409 on
   * conflicts; ownership changes only when `commit` runs (after admission and validation pass).
   */
  apply(
    uid: string,
    kind: string,
    apiVersion: string,
    manager: string,
    subresource: string,
    live: Any | undefined,
    applied: Any,
    force: boolean,
  ): { object: Any; commit: (uid: string) => void } {
    const want = fieldsOf(kind, applied, subresource);
    const list = this.#byUid.get(uid) ?? [];
    const others = list.filter(
      (e) => !(e.manager === manager && e.operation === "Apply") && e.subresource === subresource,
    );
    const conflicts: { entry: Entry; path: string }[] = [];
    for (const [p, f] of want) {
      if (!f.leaf || live === undefined || same(getAt(live, f.segs), getAt(applied, f.segs))) continue;
      for (const e of others) if (e.set.has(p)) conflicts.push({ entry: e, path: p });
    }
    if (conflicts.length > 0 && !force) throw conflictError(conflicts);
    const merged = mergeApplied(kind, "", live ?? {}, applied) as Any;
    const previous = list.find(
      (e) => e.manager === manager && e.operation === "Apply" && e.subresource === subresource,
    );
    const ownedElsewhere = (p: string) =>
      others.some((e) => [...e.set.keys()].some((q) => q === p || q.startsWith(p)));
    const dropped = [...(previous?.set ?? [])]
      .filter(([p]) => !want.has(p) && !ownedElsewhere(p))
      .sort(([a], [b]) => b.length - a.length);
    for (const [, f] of dropped) deleteAt(merged, f.segs);
    const commit = (finalUid: string) => {
      if (force) for (const { entry, path } of conflicts) entry.set.delete(path);
      this.#entry(finalUid, manager, "Apply", apiVersion, subresource).set = want;
      this.#prune(finalUid);
    };
    return { object: merged, commit };
  }

  entries(uid: string): Any[] {
    return (this.#byUid.get(uid) ?? []).map((e) => {
      const out: Any = {
        manager: e.manager,
        operation: e.operation,
        apiVersion: e.apiVersion,
        time: e.time,
        fieldsType: "FieldsV1",
        fieldsV1: toFieldsV1(e.set, e.operation === "Apply"),
      };
      if (e.subresource !== "") out.subresource = e.subresource;
      return out;
    });
  }

  forget(uid: string): void {
    this.#byUid.delete(uid);
  }
}

function conflictError(conflicts: { entry: Entry; path: string }[]) {
  const n = conflicts.length;
  let text: string;
  if (n === 1) {
    const c = conflicts[0];
    text = c === undefined ? "" : `conflict with ${describe(c.entry)}: ${c.path}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts)
      byManager.set(describe(c.entry), [...(byManager.get(describe(c.entry)) ?? []), c.path]);
    text = [...byManager.keys()]
      .sort()
      .flatMap((m) => [`conflicts with ${m}:`, ...(byManager.get(m) ?? []).map((p) => `- ${p}`)])
      .join("\n");
  }
  return failure(409, "Conflict", `Apply failed with ${n} conflict${n === 1 ? "" : "s"}: ${text}`, {
    causes: conflicts.map((c) => ({
      reason: "FieldManagerConflict",
      message: `conflict with ${describe(c.entry)}`,
      field: c.path,
    })),
  });
}
