// An in-memory nftlb for unit tests of the reconciler: POST merges like nftlb 1.0.7 (fields and
// backends given are set, others kept), DELETEs remove, every write is recorded, and failures
// are injected by farm name or for the next call. The real daemon is used in test/ and bench/.
import type { NftlbClient, NftlbError, NftlbResult } from "../nftlb/index.ts";
import type { Farm, ListedAddress } from "../nftlb/types.ts";
import type { FarmPatch } from "../nftlb/serialize.ts";
import { KnownFarms, type ReadonlyKnownFarms } from "../nftlb/known-farms.ts";

export class FakeNftlb implements NftlbClient {
  farms = new Map<string, Farm>();
  /** The client's own kind of map, cleared and refilled on a read as the client does. */
  readonly #known = new KnownFarms();
  writes: string[] = [];
  sentinel = false;
  /** Farm names whose POST nftlb refuses (terminal). */
  refuse = new Set<string>();
  /** The next calls fail with these kinds, in order. */
  failNext: NftlbError["kind"][] = [];
  /** How many times each whole listing was read. */
  listed = { farms: 0, addresses: 0 };

  #fail<T>(operation: string): NftlbResult<T> | undefined {
    const kind = this.failNext.shift();
    if (kind === undefined) return undefined;
    return {
      ok: false,
      error: {
        kind,
        operation,
        message: `injected ${kind} failure`,
        ...(kind === "fatal" ? { status: 401 } : {}),
      },
    };
  }

  known(): ReadonlyKnownFarms {
    return this.#known;
  }

  /** nftlb restarted: everything gone. */
  restart(): void {
    this.farms.clear();
    this.sentinel = false;
  }

  listFarms(): Promise<NftlbResult<Farm[]>> {
    const f = this.#fail<Farm[]>("listFarms");
    if (f) return Promise.resolve(f);
    this.listed.farms++;
    this.#known.clear();
    for (const [k, v] of this.farms) this.#known.set(k, structuredClone(v));
    return Promise.resolve({ ok: true, value: [...this.#known.values()] });
  }

  /** Address objects are shared by name, as in nftlb: one entry per name, `used` by that many farms. */
  listAddresses(): Promise<NftlbResult<ListedAddress[]>> {
    const f = this.#fail<ListedAddress[]>("listAddresses");
    if (f) return Promise.resolve(f);
    this.listed.addresses++;
    const byName = new Map<string, ListedAddress>();
    for (const farm of this.farms.values())
      for (const a of farm.addresses) {
        const seen = byName.get(a.name);
        byName.set(a.name, seen ? { ...seen, used: seen.used + 1 } : { ...structuredClone(a), used: 1 });
      }
    return Promise.resolve({ ok: true, value: [...byName.values()] });
  }

  getFarm(name: string): Promise<NftlbResult<Farm | undefined>> {
    return Promise.resolve({ ok: true, value: this.farms.get(name) });
  }

  upsertFarms(patches: readonly FarmPatch[]): Promise<NftlbResult<Farm[]>> {
    this.writes.push(`POST ${patches.map((p) => p.name).join(",")}`);
    const f = this.#fail<Farm[]>("upsertFarms");
    if (f) return Promise.resolve(f);
    const bad = patches.find((p) => this.refuse.has(p.name));
    if (bad) {
      return Promise.resolve({
        ok: false,
        error: {
          kind: "terminal",
          operation: "upsertFarms",
          status: 400,
          message: `farm ${bad.name} refused`,
        },
      });
    }
    for (const p of patches) {
      const cur: Farm =
        this.farms.get(p.name) ?? ({ name: p.name, addresses: [], backends: [] } as unknown as Farm);
      const { backends = [], addresses = [], ...fields } = p;
      const merged: Farm = { ...cur, ...fields };
      for (const { newname, ...b } of backends) {
        const i = merged.backends.findIndex((x) => x.name === b.name);
        const nb = {
          ...(i >= 0 ? merged.backends[i] : {}),
          ...b,
          ...(newname !== undefined ? { name: newname } : {}),
          state: b.state ?? "up",
        } as Farm["backends"][number];
        merged.backends =
          i >= 0 ? merged.backends.map((x, j) => (j === i ? nb : x)) : [...merged.backends, nb];
      }
      for (const a of addresses) {
        merged.addresses = [...merged.addresses.filter((x) => x.name !== a.name), a];
      }
      this.farms.set(p.name, merged);
      this.#known.set(p.name, structuredClone(merged));
    }
    return Promise.resolve({ ok: true, value: patches.map((p) => this.farms.get(p.name)!) });
  }

  #del(op: string, farm: string, change: (f: Farm) => Farm | undefined): Promise<NftlbResult<void>> {
    this.writes.push(op);
    const f = this.#fail<void>(op.split(" ")[0]!);
    if (f) return Promise.resolve(f);
    const cur = this.farms.get(farm);
    if (cur === undefined) {
      return Promise.resolve({
        ok: false,
        error: { kind: "terminal", operation: op, status: 500, message: "invalid request" },
      });
    }
    const next = change(cur);
    if (next === undefined) {
      this.farms.delete(farm);
      this.#known.delete(farm);
    } else {
      this.farms.set(farm, next);
      this.#known.set(farm, structuredClone(next));
    }
    return Promise.resolve({ ok: true, value: undefined });
  }

  deleteFarm(name: string): Promise<NftlbResult<void>> {
    return this.#del(`DELETE ${name}`, name, () => undefined);
  }

  deleteBackend(farm: string, backend: string): Promise<NftlbResult<void>> {
    return this.#del(`DELETE ${farm}/backends/${backend}`, farm, (f) => ({
      ...f,
      backends: f.backends.filter((b) => b.name !== backend),
    }));
  }

  deleteBackends(farm: string, names: readonly string[]): Promise<NftlbResult<void>> {
    const gone = new Set(names);
    return this.#del(`DELETE ${farm}/backends/${names.join("+")}`, farm, (f) => ({
      ...f,
      backends: f.backends.filter((b) => !gone.has(b.name)),
    }));
  }

  deleteAddress(farm: string, address: string): Promise<NftlbResult<void>> {
    return this.#del(`DELETE ${farm}/addresses/${address}`, farm, (f) => ({
      ...f,
      addresses: f.addresses.filter((a) => a.name !== address),
    }));
  }

  ping(): Promise<NftlbResult<{ sentinel: boolean }>> {
    const f = this.#fail<{ sentinel: boolean }>("ping");
    if (f) return Promise.resolve(f);
    return Promise.resolve({ ok: true, value: { sentinel: this.sentinel } });
  }

  plantSentinel(): Promise<NftlbResult<void>> {
    this.sentinel = true;
    return Promise.resolve({ ok: true, value: undefined });
  }
}
