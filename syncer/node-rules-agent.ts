// The node-rules agent (`kube-nftlb node-rules`): the one process that holds NET_ADMIN for
// kube-nftlb's table. It listens on a unix socket in a volume it shares with the syncer and
// accepts only NodeRules (checked by node-rules-parse.ts), which it renders itself: whoever can
// reach the socket can set the content of `table inet kube-nftlb`, and nothing else. The syncer,
// which holds the API token and nftlb's key, keeps no capability at all.
//
// Protocol (node-agent.ts): one JSON line each way per connection:
//   {"op":"apply","rules":{...}} | {"op":"exists"} | {"op":"remove"}
//   {"ok":true,"value":...} | {"ok":false,"error":"..."}
import {
  askNodeAgent,
  jsonLine,
  serveNodeAgent,
  type NodeAgent,
  type NodeAgentLog,
  type Parsed,
} from "./node-agent.ts";
import { nftTable, type NodeRulesTable, type TableResult } from "./node-rules-nft.ts";
import type { NodeRules } from "./node-rules.ts";
import { parseNodeRules } from "./node-rules-parse.ts";

/** A request line longer than this is refused (100,000 destinations fit in a few MiB). */
export const MAX_REQUEST_BYTES = 32 * 2 ** 20;

const NAME = "node-rules agent";

type Request = { op: "exists" } | { op: "remove" } | { op: "apply"; rules: NodeRules };

function parseRequest(line: string): Parsed<Request> {
  const json = jsonLine(line);
  if (!json.ok) return json;
  const op = (json.value as { op?: unknown } | null)?.op;
  if (op === "exists" || op === "remove") return { ok: true, value: { op } };
  if (op !== "apply") return { ok: false, error: 'op: "apply", "exists" or "remove"' };
  const rules = parseNodeRules((json.value as { rules?: unknown }).rules);
  return rules.ok ? { ok: true, value: { op, rules: rules.value } } : rules;
}

export function startNodeRulesAgent(o: {
  socketPath: string;
  table: NodeRulesTable;
  log: NodeAgentLog;
}): Promise<NodeAgent> {
  return serveNodeAgent({
    name: NAME,
    socket: o.socketPath,
    maxRequestBytes: MAX_REQUEST_BYTES,
    parse: parseRequest,
    handle: async (r): Promise<TableResult<unknown>> => {
      const done =
        r.op === "apply"
          ? await o.table.apply(r.rules)
          : r.op === "exists"
            ? await o.table.exists()
            : await o.table.remove();
      if (!done.ok) o.log.warn({ err: done.error }, "node-rules request failed");
      return done;
    },
    log: o.log,
  });
}

/** The syncer's side: a NodeRulesTable that asks the agent. Errors are values (agent down, etc.). */
export function socketTable(socketPath: string, timeoutMs = 30_000): NodeRulesTable {
  const ask = async <T>(request: object): Promise<TableResult<T>> => {
    const r = await askNodeAgent(NAME, socketPath, request, timeoutMs);
    if (!r.ok) return r;
    return typeof r.value === "object" && r.value !== null && "ok" in r.value
      ? (r.value as TableResult<T>)
      : { ok: false, error: `${NAME}: bad answer` };
  };
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
