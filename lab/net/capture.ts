// A passive capture of a test network's node, for finding one failed connection after the fact
// (docs/nftlb.md, "The failing connections of that test"): set KNL_CAPTURE_DIR and every test
// network writes, under DIR/<node namespace>/,
//   conntrack.log   conntrack -E (NEW and DESTROY of the client's TCP entries): mark, reply tuple, id
//   nft.log         with KNL_CAPTURE_NFT=full: nft monitor, each line prefixed by the wall-clock
//                   ms it was read at (late by the time nft takes to print a big generation)
//   generations.log with KNL_CAPTURE_NFT=generations: one line per nf_tables generation (receipt
//                   time, id, committing process, its events by kind: lab/net/nft-generations.py)
//   client.pcap     tcpdump on the node's client-side link (SYNs in, ICMP errors out)
//   backends.pcap   tcpdump on the node's backend side (was the SYN forwarded, did it answer?)
//   bpf.log         lab/net/capture.bt: every drop and ICMP error of the node, with its conntrack
//                   entry's mark and status (needs bpftrace; skipped if it is missing)
//   clock.json      CLOCK_MONOTONIC → wall-clock offset for bpf.log's ns= times
//   nstat-*.txt     the node's SNMP counters at start and end
// Nothing here adds a rule or a hook to the packets' path: event subscriptions, packet sockets
// and tracepoints only. Lab code for debugging; no test relies on it.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import readline from "node:readline";
import { LAB_DIR } from "./sys.ts";
import { stopChild } from "./processes.ts";

export interface Capture {
  stop(): Promise<void>;
}

export interface CaptureOptions {
  dir: string;
  nodeNs: string;
  clientIp: string;
  clientIface: string;
  backendIface: string;
}

const wallMs = () => performance.timeOrigin + performance.now();
const inNs = (ns: string, argv: string[]) => ["ip", "netns", "exec", ns, ...argv];
const nstat = (ns: string) =>
  execFileSync("ip", ["netns", "exec", ns, "nstat", "-asz"], { encoding: "utf8" });
const has = (cmd: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};

/** A child whose stdout goes to `file` (each line time-stamped if `stamp`), stderr to file.err. */
const toFile = (argv: string[], file: string, stamp = false): ChildProcess => {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  const out = createWriteStream(file);
  if (stamp)
    readline
      .createInterface({ input: child.stdout })
      .on("line", (l) => out.write(`${wallMs().toFixed(3)} ${l}\n`));
  else child.stdout.pipe(out);
  child.stderr.pipe(createWriteStream(`${file}.err`));
  child.on("error", (e) => out.write(`# ${argv[0]}: ${e.message}\n`));
  return child;
};

/** Resolves once `child` prints `ready` on stderr or stdout (tcpdump and bpftrace say when they listen). */
const ready = (child: ChildProcess, re: RegExp, ms: number) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    const check = (d: Buffer) => {
      if (re.test(d.toString())) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr?.on("data", check);
    child.stdout?.on("data", check);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });

export async function startCapture(o: CaptureOptions): Promise<Capture> {
  const dir = path.join(o.dir, o.nodeNs);
  mkdirSync(dir, { recursive: true });
  const f = (name: string) => path.join(dir, name);
  writeFileSync(
    f("clock.json"),
    JSON.stringify({ monotonicNs: String(process.hrtime.bigint()), wallMs: wallMs(), clientIp: o.clientIp }),
  );
  writeFileSync(f("nstat-start.txt"), nstat(o.nodeNs));
  const children: ChildProcess[] = [];
  // bpftrace sees every namespace from anywhere; entered into the node's, it is among the
  // processes a slot's cleanup kills (lab/net/slots.ts) should the test die without stopping it.
  // nsenter, not `ip netns exec`: that one mounts a fresh /sys, without tracefs.
  const bt = has("bpftrace")
    ? toFile(
        [
          "nsenter",
          `--net=/run/netns/${o.nodeNs}`,
          "bpftrace",
          "-B",
          "line",
          path.join(LAB_DIR, "capture.bt"),
          String(statSync(`/run/netns/${o.nodeNs}`).ino),
        ],
        f("bpf.log"),
      )
    : undefined;
  if (bt) children.push(bt);
  children.push(
    toFile(
      inNs(o.nodeNs, [
        "conntrack",
        "-E",
        "-e",
        "NEW,DESTROY",
        "-o",
        "timestamp,id",
        "-b",
        String(64 << 20),
        "-p",
        "tcp",
        "--orig-src",
        o.clientIp,
      ]),
      f("conntrack.log"),
    ),
  );
  // nft monitor prints each generation's rules in full: ~1.5 s of a CPU for a farm of 2,100
  // backends, time the tests' own processes then lack (and a load that may hide a race); a
  // listener that only counts each generation's events is cheap, but any listener makes the
  // kernel build the events inside every commit. Opt-in, both.
  const nft = process.env.KNL_CAPTURE_NFT;
  if (nft === "full") children.push(toFile(inNs(o.nodeNs, ["nft", "monitor"]), f("nft.log"), true));
  if (nft === "generations")
    children.push(
      toFile(inNs(o.nodeNs, ["python3", path.join(LAB_DIR, "nft-generations.py")]), f("generations.log")),
    );
  const dumps = [
    [o.clientIface, "client.pcap"],
    [o.backendIface, "backends.pcap"],
  ].map(([iface, file]) => {
    const filter = `host ${o.clientIp} or icmp`;
    const argv = ["tcpdump", "-i", iface!, "-n", "-s", "128", "-B", "16384", "-U", "-w", f(file!), filter];
    return toFile(inNs(o.nodeNs, argv), f(`${file!}.txt`));
  });
  children.push(...dumps);
  await Promise.all([
    ...dumps.map((d) => ready(d, /listening on/, 5000)),
    // bpftrace parses the kernel's BTF first: ~10 s on the lab's machine.
    ...(bt ? [ready(bt, /Attaching/, 30_000)] : []),
  ]);
  return {
    stop: async () => {
      try {
        writeFileSync(f("nstat-end.txt"), nstat(o.nodeNs));
      } catch {
        // the namespace is already gone
      }
      await Promise.all(children.map((c) => stopChild(c)));
    },
  };
}

/** A capture of the node when KNL_CAPTURE_DIR is set, else nothing. */
export const captureIfAsked = (o: Omit<CaptureOptions, "dir">): Promise<Capture | undefined> => {
  const dir = process.env.KNL_CAPTURE_DIR;
  return dir ? startCapture({ ...o, dir }) : Promise.resolve(undefined);
};
