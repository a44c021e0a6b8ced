// Wiring: informers → queue of keys → worker → reconcile → nftlb; probes, metrics, nftlb watch.
// Order at start: probes up (unready) → nftlb answers → informers synced → one full reconcile →
// ready. Nothing is written to nftlb from a cache that has not synced: an empty cache would read
// as "delete everything".
import { conntrackCleaner, execConntrack } from "./conntrack-tool.ts";
import { agentCleaner } from "./conntrack-agent.ts";
import { PROXY_NAME, SERVICE_PROXY_NAME_LABEL } from "../annotations/index.ts";
import type { NftlbClient } from "../nftlb/index.ts";
import { createLogger, createRegistry, type Logger, type Registry } from "../runtime/index.ts";
import { loadKubeConfig } from "../kube/kubeconfig.ts";
import { makeSources, type Sources } from "../kube/sources.ts";
import { apiEventSink, EventRecorder } from "../kube/events.ts";
import { realTimers, type Timer, type Timers } from "../kube/timers.ts";
import { informerView } from "./cluster.ts";
import { watchClusterDefaults } from "./cluster-defaults.ts";
import type { DesiredOptions } from "./desired.ts";
import { createSyncerMetrics, type SyncerMetrics } from "./metrics.ts";
import { KeyQueue } from "./queue.ts";
import { FULL, Reconciler } from "./reconcile.ts";
import { runWorker } from "./worker.ts";
import { informerLocalView, ProxyStatus } from "./proxy-status.ts";
import type { SyncerConfig } from "./config.ts";
import type { SyncTrace } from "./trace.ts";
import { NodeRulesKeeper } from "./node-rules-keeper.ts";
import type { NodeRulesTable } from "./node-rules-nft.ts";
import { nodeRulesTable } from "./node-rules-agent.ts";
import { connectNftlb } from "./nftlb-connection.ts";
import { enqueueChanges } from "./informer-keys.ts";
import { probeNftlbEvery, waitForNftlb, type NftlbHealth } from "./nftlb-probe.ts";
import { startProbeServers } from "./probe-servers.ts";
import { Readiness } from "./readiness.ts";

/** kube-proxy's: 2 × its default 30 s sync period. */
export const DEFAULT_HEALTHZ_TIMEOUT_MS = 60_000;

export interface SyncerDeps {
  log?: Logger;
  registry?: Registry;
  /** Replace the nftlb client (benchmarks: a fake sink; tests: a counting wrapper). */
  wrapNftlb?: (client: NftlbClient) => NftlbClient;
  timers?: Timers;
  /** Replace how kube-nftlb's table reaches the kernel (default: the nft binary). */
  nodeRulesTable?: NodeRulesTable;
  /** Stage timestamps of every change (benchmarks: where the latency goes). */
  trace?: SyncTrace;
  /** Told when the worker goes quiet and busy again: the heap is trimmed once quiet (cli/syncer.ts). */
  quiet?: { idle(): void; busy(): void };
}

export interface Syncer {
  ready(): boolean;
  probePort: number;
  reconciler: Reconciler;
  queue: KeyQueue;
  sources: Sources;
  metrics: SyncerMetrics;
  /** Proxy health, healthCheckNodePort servers, kube-proxy's sync-loop metrics. */
  status: ProxyStatus;
  /** The port of /healthz /livez (--healthz-bind-address), when served. */
  healthzPort?: number;
  /** Resolves once informers synced and the first full reconcile went through. */
  started: Promise<void>;
  /** Stop watching, finish the write in flight; nftlb's rules stay. */
  stop(): Promise<void>;
}

export async function startSyncer(cfg: SyncerConfig, deps: SyncerDeps = {}): Promise<Syncer> {
  const log =
    deps.log ?? createLogger({ name: "syncer", level: cfg.logLevel, secrets: () => [cfg.nftlbKey] });
  const timers = deps.timers ?? realTimers;
  const kc = loadKubeConfig(cfg.kubeconfig);
  if (!kc.ok) throw new Error(kc.error);
  const registry = deps.registry ?? createRegistry({ prefix: "kube_nftlb_syncer_" });
  const metrics = createSyncerMetrics(registry);
  const nftlb = connectNftlb(cfg, {
    log,
    metrics,
    ...(deps.wrapNftlb ? { wrapNftlb: deps.wrapNftlb } : {}),
    ...(deps.trace ? { trace: deps.trace } : {}),
  });
  const queue = new KeyQueue({ timers });
  const sources = makeSources({
    kc: kc.kc,
    nodeName: cfg.nodeName,
    endpointsApi: cfg.endpointsApi,
    resyncMs: cfg.resyncMs,
    timers,
    log,
    ...(cfg.proxyMode === "alongside"
      ? { serviceSelector: `${SERVICE_PROXY_NAME_LABEL}=${PROXY_NAME}` }
      : {}),
  });
  const events = new EventRecorder({
    sink: apiEventSink(kc.kc),
    component: "kube-nftlb-syncer",
    host: cfg.nodeName,
    timers,
    log,
  });
  const scope = { proxyName: PROXY_NAME, mode: cfg.proxyMode };
  // Read by the view on every reconcile: reloaded defaults apply from the next one on.
  const desiredOptions: DesiredOptions = {
    scope,
    ...(cfg.iface ? { iface: cfg.iface } : {}),
    ...(cfg.ifaceMac ? { ifaceMac: cfg.ifaceMac } : {}),
    ...(cfg.oface ? { oface: cfg.oface } : {}),
  };
  const defaults = cfg.defaultsFile
    ? await watchClusterDefaults({
        file: cfg.defaultsFile,
        log,
        reloads: metrics.defaultsReloads,
        into: desiredOptions,
        changed: () => queue.add(FULL),
        ...(cfg.defaultsPollMs !== undefined ? { pollMs: cfg.defaultsPollMs } : {}),
      })
    : undefined;
  const view = informerView(sources, cfg.nodeName, desiredOptions);
  const nodeRules =
    cfg.nodeRules === false
      ? undefined
      : new NodeRulesKeeper({
          table: deps.nodeRulesTable ?? nodeRulesTable(cfg),
          log,
          timers,
        });
  const trace = deps.trace;
  const reconciler = new Reconciler({
    nftlb,
    view,
    isParked: (key) => queue.isParked(key),
    events,
    log,
    metrics,
    ...opt(nodeRules),
    ...(trace ? { trace } : {}),
    ...(cfg.conntrack ? { conntrack: conntrackCleaner(execConntrack(cfg.conntrack)) } : {}),
    ...(cfg.conntrackAgent ? { conntrack: agentCleaner(cfg.conntrackAgent) } : {}),
    nftlbMemoryBytes: cfg.nftlbMemoryBytes,
    ...(cfg.adoptUpstreamFarms ? { adoptUpstreamFarms: true } : {}),
    writeBudgetMs: cfg.nftlbTimeoutMs / 2,
  });
  const status = new ProxyStatus({
    registry,
    view: informerLocalView(sources, cfg.nodeName, scope),
    healthzTimeoutMs: cfg.healthzTimeoutMs ?? DEFAULT_HEALTHZ_TIMEOUT_MS,
    nodeName: cfg.nodeName,
    events,
    log,
  });

  // Keys, not events: every callback only says which Service to look at again.
  enqueueChanges({ sources, queue, status, metrics, nodeName: cfg.nodeName, trace });

  let draining = false;
  /** The last probe's answer: a hung or gone nftlb makes the syncer unready. */
  const health: NftlbHealth = { up: false };
  const readiness = new Readiness(
    {
      nftlb: health,
      informers: () => sources.all(),
      unprogrammed: () => reconciler.unprogrammed,
      stopping: () => draining,
      secrets: () => [cfg.nftlbKey],
    },
    log,
  );
  const ready = () => readiness.check() === undefined;
  const { probes, healthz } = await startProbeServers(cfg, {
    registry,
    status,
    ready: () => readiness.check() ?? true,
  });
  log.info(
    {
      probePort: probes.port,
      ...(healthz ? { healthzPort: healthz.port } : {}),
      nftlb: cfg.nftlbUrl,
      node: cfg.nodeName,
      endpointsApi: cfg.endpointsApi,
      proxyMode: cfg.proxyMode,
    },
    "syncer starting",
  );

  let stopping = false;
  const timersToCancel: Timer[] = [];
  let worker: Promise<void> = Promise.resolve();
  const probeDeps = {
    nftlb,
    health,
    metrics,
    log,
    timers,
    timersToCancel,
    stopping: () => stopping,
  };

  const started = (async () => {
    // nftlb first: writes sent before it listens would be lost.
    await waitForNftlb(probeDeps);
    if (stopping) return;
    // nftlb is read while the caches fill, not after (reconcile-read.ts).
    reconciler.prefetchNftlb();
    for (const inf of sources.all()) inf.start();
    await Promise.all(sources.all().map((inf) => inf.whenSynced()));
    if (stopping) return;
    log.info({}, "caches synced");
    queue.add(FULL);
    worker = runWorker(queue, status.reporting(reconciler), {
      log,
      metrics,
      ...(deps.quiet ? { quiet: deps.quiet } : {}),
    });
    const resync = () => {
      queue.add(FULL, { resync: true });
      timersToCancel.push(timers.after(cfg.resyncMs, resync));
    };
    timersToCancel.push(timers.after(cfg.resyncMs, resync));
    probeNftlbEvery(cfg.nftlbProbeMs, { ...probeDeps, sources, reconciler, queue, nodeRules, readiness });
    await waitFor(() => reconciler.programmed || stopping, timers);
  })();

  return {
    ready,
    probePort: probes.port,
    reconciler,
    queue,
    sources,
    metrics,
    status,
    ...(healthz ? { healthzPort: healthz.port } : {}),
    started,
    async stop() {
      draining = true;
      stopping = true;
      for (const t of timersToCancel) t.cancel();
      defaults?.close();
      nodeRules?.stop();
      await Promise.all(sources.all().map((inf) => inf.stop()));
      await queue.shutDown();
      await worker;
      await status.close();
      await healthz?.close();
      await probes.close();
      log.info({}, "syncer stopped; nftlb's rules left in place");
    },
  };
}

const opt = (nodeRules: NodeRulesKeeper | undefined) => (nodeRules ? { nodeRules } : {});

/** Polls a condition every 20 ms (a wait for a state, not a sleep standing in for one). */
function waitFor(cond: () => boolean, timers: Timers): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (cond() ? resolve() : void timers.after(20, check));
    check();
  });
}
