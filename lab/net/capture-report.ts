// What a capture (lab/net/capture.ts) holds about one failed connection: run it with the capture's
// node directory and the failure as failuresWhile prints it (test/syncer-fixture.ts):
//   node lab/net/capture-report.ts /tmp/cap/knl3-node 'ENETUNREACH (source port 40123, at 2026-12-04T01:02:03.456Z, failed after 1.2 ms)'
// or with a test's whole output (every failure in it is reported):
//   node lab/net/capture-report.ts /tmp/cap/knl3-node --from test.out
// Prints, around the failure's moment: the node's drops and ICMP errors for that source port
// (bpf.log: the conntrack entry's mark and status), its conntrack events, both pcaps' packets of
// that port, and the syncer's nftlb requests in flight then and just before and after.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";

const FAILURE = /(\S[^'"]*?) \(source port (\d+), at (\S+), failed after ([\d.]+) ms\)/g;

interface Failure {
  error: string;
  port: number;
  at: number;
  took: number;
}

const usage = () => {
  console.error("usage: capture-report.ts NODE_DIR 'FAILURE' … | NODE_DIR --from TEST_OUTPUT");
  process.exit(2);
};

const [dir, ...rest] = process.argv.slice(2);
if (dir === undefined || rest.length === 0 || !existsSync(path.join(dir, "clock.json"))) usage();
const text = rest[0] === "--from" ? readFileSync(rest[1] ?? usage(), "utf8") : rest.join("\n");
const failures = new Map<string, Failure>();
for (const m of text.matchAll(FAILURE))
  failures.set(`${m[2]}@${m[3]}`, {
    error: m[1]!,
    port: Number(m[2]),
    at: Date.parse(m[3]!),
    took: Number(m[4]),
  });
if (failures.size === 0) {
  console.error("no failure with a source port in the input");
  process.exit(1);
}

const file = (name: string) => path.join(dir!, name);
const lines = (name: string) => (existsSync(file(name)) ? readFileSync(file(name), "utf8").split("\n") : []);
const clock = JSON.parse(readFileSync(file("clock.json"), "utf8")) as { monotonicNs: string; wallMs: number };
const wallOfNs = (ns: bigint) => clock.wallMs + Number(ns - BigInt(clock.monotonicNs)) / 1e6;
const iso = (ms: number) => `${new Date(ms).toISOString().slice(11, 23)}${(ms % 1).toFixed(3).slice(2)}`;
/** How far around the failure to look, ms. */
const AROUND = 1500;

for (const f of failures.values()) {
  const near = (ms: number) => Math.abs(ms - f.at) <= AROUND;
  const portRe = new RegExp(`:${f.port} `);
  console.log(`\n== ${f.error}: source port ${f.port}, started ${iso(f.at)}, failed ${f.took} ms later`);

  console.log("-- node drops and ICMP errors (bpf.log)");
  for (const l of lines("bpf.log")) {
    const ns = /ns=(\d+)/.exec(l)?.[1];
    if (ns === undefined || !portRe.test(`${l} `)) continue;
    const ms = wallOfNs(BigInt(ns));
    if (near(ms)) console.log(`${iso(ms)} ${l}`);
  }

  console.log("-- conntrack events of that port (conntrack.log)");
  for (const l of lines("conntrack.log")) {
    const ts = /^\[(\d+\.\d+)\]/.exec(l)?.[1];
    if (ts === undefined || !l.includes(`sport=${f.port} `)) continue;
    const ms = Number(ts) * 1000;
    // Older entries of the same port too: a reused port meets what its last connection left.
    if (ms <= f.at + AROUND && ms >= f.at - 180_000)
      console.log(`${iso(ms)} ${l.replace(/^\[\S+\]\s*/, "")}`);
  }

  for (const pcap of ["client.pcap", "backends.pcap"]) {
    if (!existsSync(file(pcap))) continue;
    console.log(`-- ${pcap}, port ${f.port} and ICMP, ±${AROUND} ms`);
    const out = execFileSync("tcpdump", ["-r", file(pcap), "-n", "-tt", "-v", `port ${f.port} or icmp`], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      maxBuffer: 1 << 28,
    });
    // -v prints an ICMP error's quoted packet on its own line: keep the pair together.
    const packets = out.replace(/\n\s+/g, " ").split("\n");
    for (const p of packets) {
      const ms = Number(p.split(" ")[0]) * 1000;
      if (near(ms) && (p.includes(`.${f.port} `) || p.includes(`.${f.port}:`)))
        console.log(`${iso(ms)} ${p.slice(18)}`);
    }
  }

  console.log("-- the syncer's nftlb requests around it (syncer.log: start–end)");
  const requests = lines("syncer.log")
    .filter((l) => l.includes('"nftlb answered"'))
    .map((l) => JSON.parse(l) as { time: number; ms: number; method: string; path: string; status: number })
    .map((r) => ({ ...r, start: r.time - r.ms }));
  const before = requests.filter((r) => r.time < f.at).slice(-3);
  const during = requests.filter((r) => r.start <= f.at + f.took && r.time >= f.at);
  const afterwards = requests.filter((r) => r.start > f.at + f.took).slice(0, 2);
  for (const [what, rs] of [
    ["before", before],
    ["in flight", during],
    ["after", afterwards],
  ] as const)
    for (const r of rs)
      console.log(`${what.padEnd(9)} ${iso(r.start)}–${iso(r.time)} ${r.method} ${r.path} → ${r.status}`);
}
