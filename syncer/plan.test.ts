// plan: desired farms vs what nftlb's GET shows → the fewest requests, in a safe order.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isEmpty, operations, plan, requestCount, type Plan } from "./plan.ts";
import type { Backend, Farm } from "../nftlb/types.ts";
import { defaultFarm } from "../nftlb/farm-fixture.test-helpers.ts";

const backend = (n: number): Backend => ({
  name: `web-${n}`,
  "ip-addr": `10.244.0.${n}`,
  port: "8080",
  state: "up",
});
const farm = (over: Partial<Farm> = {}): Farm =>
  defaultFarm(
    "shop.web.http",
    [{ name: "tcp-10.96.0.10-80", family: "ipv4", "ip-addr": "10.96.0.10", ports: "80", protocol: "tcp" }],
    [1, 2, 3].map(backend),
    over,
  );

/** A farm as nftlb 1.0.7's GET prints it: every default, extra keys, padded lists, the first address's shortcuts. */
function asGet(f: Farm): Farm {
  const pad = (v: string) => (v === "none" ? v : `${v} `);
  const first = f.addresses[0];
  return {
    name: f.name,
    ...(first
      ? { family: first.family, "virtual-addr": first["ip-addr"], "virtual-ports": first.ports }
      : {}),
    "source-addr": "",
    mode: f.mode,
    ...(first ? { protocol: first.protocol } : {}),
    scheduler: f.scheduler,
    "sched-param": pad(f["sched-param"]),
    persistence: pad(f.persistence),
    "persist-ttl": f["persist-ttl"],
    helper: f.helper,
    log: pad(f.log),
    ...(f["log-prefix"] ? { "log-prefix": f["log-prefix"] } : {}),
    "log-rtlimit": "0/second",
    mark: "0x0",
    priority: "1",
    state: "up",
    verdict: "log drop accept",
    addresses: f.addresses.map((a) => ({ ...a, used: "1" })),
    // The marks kube-nftlb gave them (GET prints them unpadded).
    backends: f.backends.map((b, i) => ({
      weight: "1",
      priority: "1",
      mark: `0x${(i + 2).toString(16)}`,
      "est-connlimit": "0",
      ...b,
    })),
    policies: [],
  } as unknown as Farm;
}

const ours = { owns: (name: string) => name.split(".").length >= 3 };
const summary = (p: Plan) =>
  operations(p).map((o) =>
    "farms" in o
      ? `POST ${o.farms.map((f) => f.name).join(",")}`
      : `DELETE ${[o.farm, "backends" in o ? o.backends.join("+") : "", "address" in o ? o.address : ""].filter(Boolean).join("/")}`,
  );
/** `f` as plan sends it new: backend marks from 0x002, and a farm mark. */
const marked = (f: Farm, farmMark = "0x1000"): Farm => ({
  ...f,
  backends: f.backends.map((b, i) => ({ ...b, mark: `0x${(i + 2).toString(16).padStart(3, "0")}` })),
  mark: farmMark,
});
const mark = (b: Backend, m: number): Backend => ({ ...b, mark: `0x${m.toString(16).padStart(3, "0")}` });

describe("plan", () => {
  it("create: one POST with the whole farm", () => {
    const p = plan([farm()], [], ours);
    assert.deepEqual(p.upserts, [marked(farm())]);
    assert.deepEqual(summary(p), ["POST shop.web.http"]);
    assert.equal(requestCount(p), 1);
  });

  it("an address the farm holds under another name keeps it: no detach, no second address", () => {
    // A farm taken over from the original kube-nftlb holds its VIP as `<farm>-addr`.
    const got = asGet(farm());
    const held = { ...got, addresses: got.addresses.map((a) => ({ ...a, name: "web--http-addr" })) };
    const p = plan([farm()], [held], ours);
    assert.deepEqual(summary(p), [], "the VIP:port never leaves the farm");
    const more = farm({
      addresses: [...farm().addresses, { ...farm().addresses[0]!, name: "ext", "ip-addr": "192.0.2.1" }],
    });
    const q = plan([more], [held], ours);
    assert.deepEqual(
      q.upserts.flatMap((u) => (u.addresses ?? []).map((a) => a.name)),
      ["ext"],
      "only the new address is sent",
    );
    assert.deepEqual(q.deleteAddresses, []);
  });

  it("no change: empty plan (GET's defaults, extra keys and padding are not changes)", () => {
    const desired = [
      farm({
        scheduler: "hash",
        "sched-param": "srcip srcport",
        persistence: "srcip",
        log: "output",
        "log-prefix": "k8s shop/web ",
      }),
    ];
    const p = plan(desired, desired.map(asGet), ours);
    assert.ok(isEmpty(p), JSON.stringify(p));
    assert.equal(requestCount(p), 0);
  });

  it("a scheduler change sends the scheduler and its parameter, and no backends", () => {
    const p = plan([farm({ scheduler: "hash", "sched-param": "srcip" })], [asGet(farm())], ours);
    assert.deepEqual(p.upserts, [{ name: "shop.web.http", scheduler: "hash", "sched-param": "srcip" }]);
    assert.deepEqual(summary(p), ["POST shop.web.http"]);
  });

  it("scale up: only the new backends", () => {
    const p = plan([farm({ backends: [1, 2, 3, 4, 5].map(backend) })], [asGet(farm())], ours);
    assert.deepEqual(p.upserts, [
      { name: "shop.web.http", backends: [mark(backend(4), 5), mark(backend(5), 6)] },
    ]);
    assert.deepEqual(p.deleteBackends, []);
  });

  it("scale down by a few: one request deletes them (one rule rewrite each, nothing else)", () => {
    const p = plan([farm({ backends: [backend(1)] })], [asGet(farm())], ours);
    assert.deepEqual(p.upserts, []);
    assert.deepEqual(summary(p), ["DELETE shop.web.http/web-2+web-3"]);
  });

  it("scale down by many: set down in one POST (the rules right at once), deleted after", () => {
    const many = Array.from({ length: 12 }, (_, i) => backend(i + 1));
    const p = plan([farm({ backends: [backend(1)] })], [asGet(farm({ backends: many }))], ours);
    assert.deepEqual(p.upserts, [
      { name: "shop.web.http", backends: many.slice(1).map((b) => ({ name: b.name, state: "down" })) },
    ]);
    assert.equal(
      summary(p)[1],
      `DELETE shop.web.http/${many
        .slice(1)
        .map((b) => b.name)
        .join("+")}`,
    );
  });

  it("replacing every backend: the old entries are set down and renamed to the new, in one POST", () => {
    const p = plan([farm({ backends: [4, 5].map(backend) })], [asGet(farm())], ours);
    const renamed = (from: number, to: number) => ({
      name: `web-${from}`,
      newname: `web-${to}`,
      "ip-addr": `10.244.0.${to}`,
      port: "8080",
      weight: "1",
      priority: "1",
      state: "up",
    });
    assert.deepEqual(p.upserts, [
      {
        name: "shop.web.http",
        backends: [
          { name: "web-1", state: "down" },
          { name: "web-2", state: "down" },
          renamed(1, 4),
          renamed(2, 5),
        ],
      },
    ]);
    // web-4 and web-5 inherit the marks of web-1 and web-2; web-3 has no successor: deleted after.
    assert.deepEqual(summary(p), ["POST shop.web.http", "DELETE shop.web.http/web-3"]);
  });

  it("marks: kept backends keep nftlb's mark; new ones take the lowest free from 0x002; 0x001 is replaced", () => {
    const actual = asGet(farm()) as unknown as { backends: Record<string, string>[] };
    actual.backends[0]!.mark = "0x1"; // nftlb's own pick, from before kube-nftlb assigned marks
    actual.backends[1]!.mark = "0x9";
    const p = plan([farm({ backends: [1, 2, 3, 4].map(backend) })], [actual as unknown as Farm], ours);
    assert.deepEqual(p.upserts, [
      {
        name: "shop.web.http",
        backends: [{ name: "web-1", mark: "0x002" }, mark(backend(4), 3)],
      },
    ]);
    // A backend that was down and comes back keeps its mark unless a live one took it meanwhile.
    const back = asGet(farm({ backends: [backend(1), { ...backend(2), state: "down" }, backend(3)] }));
    (back as unknown as { backends: Record<string, string>[] }).backends[1]!.mark = "0x2";
    assert.deepEqual(plan([farm()], [back], ours).upserts, [
      { name: "shop.web.http", backends: [{ name: "web-2", mark: "0x003", state: "up" }] },
    ]);
  });

  it("farm marks: a new farm takes the lowest free node-wide; a farm with log forward and none is made anew", () => {
    const p = plan([farm({ name: "shop.new.http", addresses: [] })], [], {
      ...ours,
      farmMarks: [0x1000, 0x3000],
    });
    assert.equal(p.upserts[0]!.mark, "0x2000");
    const fwd = farm({ log: "forward" });
    const q = plan([fwd], [asGet(farm())], ours);
    assert.deepEqual(summary(q), ["DELETE shop.web.http", "POST shop.web.http"]);
    assert.equal(q.upserts[0]!.mark, "0x1000");
    const withMark = { ...(asGet(farm()) as unknown as Record<string, unknown>), mark: "0x4000" };
    assert.deepEqual(summary(plan([fwd], [withMark as unknown as Farm], ours)), ["POST shop.web.http"]);
  });

  it("a changed backend is sent with only what changed", () => {
    const changed = farm({ backends: [backend(1), backend(2), { ...backend(3), port: "9090" }] });
    assert.deepEqual(plan([changed], [asGet(farm())], ours).upserts, [
      { name: "shop.web.http", backends: [{ name: "web-3", port: "9090" }] },
    ]);
  });

  it("a backend someone set down or re-weighted is set back", () => {
    const actual = farm({
      backends: [backend(1), { ...backend(2), state: "down" }, { ...backend(3), weight: "5" }],
    });
    const p = plan([farm()], [asGet(actual)], ours);
    assert.deepEqual(p.upserts, [
      {
        name: "shop.web.http",
        backends: [
          { name: "web-2", state: "up" },
          { name: "web-3", weight: "1" },
        ],
      },
    ]);
  });

  it("address change: the new address is added, then the old one deleted", () => {
    const moved = farm({
      addresses: [
        { name: "tcp-10.96.0.11-80", family: "ipv4", "ip-addr": "10.96.0.11", ports: "80", protocol: "tcp" },
      ],
    });
    const p = plan([moved], [asGet(farm())], ours);
    assert.deepEqual(p.upserts, [{ name: "shop.web.http", addresses: moved.addresses }]);
    assert.deepEqual(summary(p), ["POST shop.web.http", "DELETE shop.web.http/tcp-10.96.0.10-80"]);
  });

  it("farm removal: owned farms are deleted, the others left alone", () => {
    const handMade = farm({ name: "legacy", addresses: [] });
    const p = plan([], [asGet(farm()), asGet(handMade), asGet(farm({ name: "kube-nftlb-sentinel" }))], ours);
    assert.deepEqual(summary(p), ["DELETE shop.web.http"]);
  });

  it("an address moving between farms is released before the other farm claims it", () => {
    const vip = {
      name: "tcp-198.51.100.1-80",
      family: "ipv4" as const,
      "ip-addr": "198.51.100.1",
      ports: "80",
      protocol: "tcp" as const,
    };
    const a = farm({ name: "shop.a.http", addresses: [vip] });
    const b = farm({ name: "shop.b.http", addresses: [] });
    const p = plan(
      [
        { ...b, addresses: [vip] },
        { ...a, addresses: [] },
      ],
      [asGet(a), asGet(b)],
      ours,
    );
    assert.deepEqual(summary(p), ["DELETE shop.a.http/tcp-198.51.100.1-80", "POST shop.b.http"]);
  });

  it("an address held by a farm that goes away: that farm is deleted first", () => {
    const p = plan([farm({ name: "shop.new.http" })], [asGet(farm({ name: "shop.old.http" }))], ours);
    assert.deepEqual(summary(p), ["DELETE shop.old.http", "POST shop.new.http"]);
  });

  it("an address held by a farm we do not own is not sent, and reported", () => {
    const p = plan([farm()], [asGet(farm({ name: "legacy" }))], ours);
    assert.deepEqual(p.blocked, [{ farm: "shop.web.http", address: "tcp-10.96.0.10-80", heldBy: "legacy" }]);
    assert.deepEqual(p.upserts, [marked(farm({ addresses: [] }))]);
  });

  it("a protocol change deletes the farm first and makes it anew", () => {
    const udp = farm({
      protocol: "udp",
      addresses: [
        { name: "udp-10.96.0.10-80", family: "ipv4", "ip-addr": "10.96.0.10", ports: "80", protocol: "udp" },
      ],
    });
    const p = plan([udp], [asGet(farm())], ours);
    assert.deepEqual(summary(p), ["DELETE shop.web.http", "POST shop.web.http"]);
    assert.deepEqual(p.upserts, [marked(udp)]);
  });

  it("oface and the addresses' iface/ether-addr (never shown by GET) are sent when the mode changes", () => {
    const nic = { iface: "eth0", "ether-addr": "52:54:00:12:34:56" };
    const dsr = farm({
      mode: "dsr",
      oface: "eth1",
      addresses: farm().addresses.map((a) => ({ ...a, ...nic })),
    });
    assert.deepEqual(plan([dsr], [asGet(farm())], ours).upserts, [
      { name: "shop.web.http", mode: "dsr", oface: "eth1", addresses: dsr.addresses },
    ]);
    // GET shows neither: no perpetual diff once nftlb has the farm.
    assert.ok(isEmpty(plan([dsr], [asGet(dsr)], ours)));
  });

  it("GET normalisation: IPv6 spellings, config_error backends, numbers and garbage", () => {
    const v6 = farm({
      name: "shop.web.http.v6",
      family: "ipv6",
      addresses: [
        { name: "tcp-fd00--10-80", family: "ipv6", "ip-addr": "fd00::10", ports: "80", protocol: "tcp" },
      ],
      backends: [{ name: "fd00--5", "ip-addr": "fd00::5", port: "8080", state: "up" }],
    });
    const get = asGet(v6) as unknown as Record<string, unknown>;
    const seen = {
      ...get,
      "persist-ttl": 60, // not a string: read as absent, i.e. nftlb's default "60"
      addresses: [
        { name: "tcp-fd00--10-80", family: "ipv6", "ip-addr": "fd00:0:0::10", ports: "80", protocol: "tcp" },
        null,
      ],
      backends: [
        { name: "fd00--5", "ip-addr": "FD00::5", port: "8080", mark: "0x002", state: "config_error" },
        7,
        { port: "1" },
      ],
    };
    const p = plan([v6], [seen as unknown as Farm, null as unknown as Farm, {} as Farm], ours);
    assert.ok(isEmpty(p), JSON.stringify(p));
  });

  it("a GET farm without an addresses list is read from its virtual-addr shortcut", () => {
    const get = asGet(farm()) as unknown as Record<string, unknown>;
    delete get.addresses;
    const p = plan([farm()], [get as unknown as Farm], ours);
    // Its default address `<farm>-addr` holds the desired VIP:port: kept under that name (a
    // detach-then-attach would leave the VIP:port unbalanced in between).
    assert.deepEqual(summary(p), []);
  });
});
