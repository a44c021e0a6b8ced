// The node-rules agent (`kube-nftlb node-rules`): the one process that holds NET_ADMIN for
// kube-nftlb's table. It listens on a unix socket in a volume it shares with the syncer and
// accepts only NodeRules (checked by node-rules-parse.ts), which it renders itself: whoever can
// reach the socket can set the content of `table inet kube-nftlb`, and nothing else. The syncer,
// which holds the API token and nftlb's key, keeps no capability at all.
//
// Protocol: one JSON request per line, one JSON answer per line, on one connection:
//   {"op":"apply","rules":{...}} | {"op":"exists"} | {"op":"remove"}
//   {"ok":true,"value":...} | {"ok":false,"error":"..."}
import { chmodSync, rmSync } from "node:fs";
import net from "node:net";
import readline from "node:readline";
import { nftTable, type NodeRulesTable, type TableResult } from "./node-rules-nft.ts";
import type { NodeRules } from "./node-rules.ts";
import { parseNodeRules } from "./node-rules-parse.ts";

/** A request line longer than this is refused (100,000 destinations fit in a few MiB). */
export const MAX_REQUEST_BYTES = 32 * 2 ** 20;

export interface AgentLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface NodeRulesAgent {
  close(): Promise<void>;
}

async function answer(table: NodeRulesTable, line: string): Promise<TableResult<unknown>> {
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch {
    return { ok: false, error: "not JSON" };
  }
  const op = (request as { op?: unknown } | null)?.op;
  if (op === "exists") return table.exists();
  if (op === "remove") return table.remove();
  if (op !== "apply") return { ok: false, error: 'op: "apply", "exists" or "remove"' };
  const rules = parseNodeRules((request as { rules?: unknown }).rules);
  return rules.ok ? table.apply(rules.value) : rules;
}

export async function startNodeRulesAgent(o: {
  socketPath: string;
  table: NodeRulesTable;
  log: AgentLog;
}): Promise<NodeRulesAgent> {
  rmSync(o.socketPath, { force: true });
  // One nft run at a time, whoever asks.
  let chain: Promise<unknown> = Promise.resolve();
  const server = net.createServer((socket) => {
    let pending = 0;
    socket.on("error", () => socket.destroy());
    socket.on("data", (d: Buffer) => {
      pending += d.length;
      if (pending > MAX_REQUEST_BYTES) {
        socket.end(`${JSON.stringify({ ok: false, error: `request over ${MAX_REQUEST_BYTES} bytes` })}\n`);
        socket.destroy();
      }
    });
    readline.createInterface({ input: socket, crlfDelay: Infinity }).on("line", (line) => {
      pending = 0;
      const run = chain.then(() => answer(o.table, line));
      chain = run.catch(() => undefined);
      void run.then(
        (r) => {
          if (!r.ok) o.log.warn({ err: r.error }, "node-rules request refused or failed");
          if (!socket.destroyed) socket.write(`${JSON.stringify(r)}\n`);
        },
        (err: unknown) => {
          if (!socket.destroyed) socket.write(`${JSON.stringify({ ok: false, error: String(err) })}\n`);
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.socketPath, () => resolve());
  });
  // The socket's group is the volume's (the pod's fsGroup, which the syncer has too).
  chmodSync(o.socketPath, 0o660);
  o.log.info({ socket: o.socketPath }, "node-rules agent listening");
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        rmSync(o.socketPath, { force: true });
      }),
  };
}

/** The syncer's side: a NodeRulesTable that asks the agent. Errors are values (agent down, etc.). */
export function socketTable(socketPath: string, timeoutMs = 30_000): NodeRulesTable {
  const ask = <T>(request: object): Promise<TableResult<T>> =>
    new Promise((resolve) => {
      let buffer = "";
      let settled = false;
      const done = (r: TableResult<T>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(r);
      };
      const socket = net.connect(socketPath);
      const timer = setTimeout(
        () => done({ ok: false, error: `node-rules agent: no answer within ${timeoutMs} ms` }),
        timeoutMs,
      );
      socket.setEncoding("utf8");
      socket.on("error", (err: NodeJS.ErrnoException) =>
        done({ ok: false, error: `node-rules agent at ${socketPath}: ${err.code ?? err.message}` }),
      );
      socket.on("data", (d: string) => {
        buffer += d;
        const nl = buffer.indexOf("\n");
        if (nl < 0) return;
        try {
          const r = JSON.parse(buffer.slice(0, nl)) as TableResult<T>;
          done(
            typeof r === "object" && r !== null && "ok" in r
              ? r
              : { ok: false, error: "node-rules agent: bad answer" },
          );
        } catch {
          done({ ok: false, error: "node-rules agent: bad answer" });
        }
      });
      socket.on("close", () => done({ ok: false, error: "node-rules agent closed the connection" }));
      socket.write(`${JSON.stringify(request)}\n`);
    });
  return {
    apply: (rules: NodeRules) => ask<void>({ op: "apply", rules }),
    exists: () => ask<boolean>({ op: "exists" }),
    remove: () => ask<void>({ op: "remove" }),
  };
}

/** The table the syncer's flags ask for: the agent's socket, or nft run by the syncer itself. */
export const nodeRulesTable = (cfg: { nodeRulesSocket?: string; nftCommand?: string[] }): NodeRulesTable =>
  cfg.nodeRulesSocket !== undefined
    ? socketTable(cfg.nodeRulesSocket)
    : nftTable(cfg.nftCommand ? { command: cfg.nftCommand } : {});
