// Wiring: informers → queue of keys → worker → reconcile → nftlb; probes, metrics, nftlb watch.
// Order at start: probes up (unready) → nftlb answers → informers synced → one full reconcile →
// ready. Nothing is written to nftlb from a cache that has not synced: an empty cache would read
// as "delete everything".
import { conntrackCleaner, execConntrack } from "./conntrack-tool.ts";
import { agentCleaner } from "./conntrack-agent.ts";
import type { V1Endpoints, V1EndpointSlice } from "@kubernetes/client-node";
import { PROXY_NAME, SERVICE_PROXY_NAME_LABEL } from "../annotations/index.ts";
import { createNftlbClient, type NftlbClient } from "../nftlb/index.ts";
import { createTransport } from "../nftlb/transport.ts";
import {
  createLogger,
  createRegistry,
  startProbeServer,
  type Logger,
  type Registry,
} from "../runtime/index.ts";
import { loadKubeConfig } from "../kube/kubeconfig.ts";
import { makeSources, type Sources } from "../kube/sources.ts";
import { SERVICE_NAME_LABEL } from "../kube/labels.ts";
import { apiEventSink, EventRecorder } from "../kube/events.ts";
import type { SupervisedInformer } from "../kube/informer.ts";
import { backoff, realTimers, type Timer, type Timers } from "../kube/timers.ts";
import { informerView } from "./cluster.ts";
import { watchClusterDefaults } from "./cluster-defaults.ts";
import type { DesiredOptions } from "./desired.ts";
import { createSyncerMetrics, type SyncerMetrics } from "./metrics.ts";
import { meteredNftlb } from "./nftlb-metered.ts";
import { KeyQueue } from "./queue.ts";
import { FULL, Reconciler } from "./reconcile.ts";
import { runWorker } from "./worker.ts";
import { informerLocalView, ProxyStatus } from "./proxy-status.ts";
import { startProxyHealthServer } from "./proxy-health-server.ts";
import type { SyncerConfig } from "./config.ts";
import { tracedSend, type SyncTrace } from "./trace.ts";
import { NodeRulesKeeper } from "./node-rules-keeper.ts";
import type { NodeRulesTable } from "./node-rules-nft.ts";
import { nodeRulesTable } from "./node-rules-agent.ts";

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
  const transport = { url: cfg.nftlbUrl, key: cfg.nftlbKey, timeoutMs: cfg.nftlbTimeoutMs };
  // A probe waits at most one probe period (at least 1 s, at most a write's timeout): a hung
  // nftlb turns nftlb_up to 0 and /readyz false within two periods.
  const pingTimeoutMs = Math.min(Math.max(cfg.nftlbProbeMs, 1_000), cfg.nftlbTimeoutMs);
  const client = createNftlbClient({
    ...transport,
    pingTimeoutMs,
    log,
    ...(deps.trace
      ? {
          send: tracedSend(createTransport(transport), deps.trace),
          pingSend: createTransport({ ...transport, timeoutMs: pingTimeoutMs, serial: false }),
        }
      : {}),
  });
  const nftlb = meteredNftlb(deps.wrapNftlb ? deps.wrapNftlb(client) : client, metrics);
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
  const changed = (key: string) => {
    trace?.({ stage: "queued", at: performance.now(), keys: [key] });
    queue.add(key);
    metrics.lastQueued.set(Date.now() / 1000);
  };
  const key = (o: { metadata?: { namespace?: string; name?: string } }) =>
    `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
  sources.services.onChange((s) => {
    status.serviceChanged(key(s));
    changed(key(s));
  });
  if (sources.endpointsApi === "slices") {
    (sources.endpoints as SupervisedInformer<V1EndpointSlice>).onChange((s) => {
      const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
      if (!svc) return;
      status.endpointsChanged(`${s.metadata?.namespace ?? ""}/${svc}`);
      changed(`${s.metadata?.namespace ?? ""}/${svc}`);
    });
  } else {
    (sources.endpoints as SupervisedInformer<V1Endpoints>).onChange((e) => {
      status.endpointsChanged(key(e));
      changed(key(e));
    });
  }
  sources.node.onChange(() => {
    status.nodeChanged(sources.node.get(cfg.nodeName));
    changed(FULL);
  });

  let draining = false;
  let synced = false;
  /** The last probe's answer: a hung or gone nftlb makes the syncer unready. */
  let nftlbUp = false;
  const ready = () => synced && nftlbUp && reconciler.programmed && !draining;
  const probes = await startProbeServer({
    port: cfg.probePort,
    host: cfg.metricsHost ?? "127.0.0.1",
    registry,
    ready,
  });
  const healthz = cfg.healthzBindAddress
    ? await startProxyHealthServer({
        ...cfg.healthzBindAddress,
        health: status.health,
        metrics: status.metrics,
        ready,
      }).catch(async (err: unknown) => {
        await probes.close();
        throw err;
      })
    : undefined;
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

  const started = (async () => {
    // nftlb first: writes sent before it listens would be lost.
    for (let attempt = 0; !stopping; attempt++) {
      const r = await nftlb.ping();
      nftlbUp = r.ok;
      metrics.nftlbUp.set(r.ok ? 1 : 0);
      if (r.ok) break;
      const wait = backoff(attempt, 500, 10_000);
      log.warn({ err: r.error.message, retryInMs: wait }, "waiting for nftlb");
      await new Promise<void>((res) => timersToCancel.push(timers.after(wait, res)));
    }
    if (stopping) return;
    for (const inf of sources.all()) inf.start();
    await Promise.all(sources.all().map((inf) => inf.whenSynced()));
    if (stopping) return;
    synced = true;
    log.info({}, "caches synced");
    queue.add(FULL);
    worker = runWorker(queue, status.reporting(reconciler), { log, metrics });
    const resync = () => {
      queue.add(FULL, { resync: true });
      timersToCancel.push(timers.after(cfg.resyncMs, resync));
    };
    timersToCancel.push(timers.after(cfg.resyncMs, resync));
    const probe = async () => {
      // Whether the sentinel was planted BEFORE asking: one planted while the ping was on its way
      // is missing from its answer, and that is no restart.
      const planted = reconciler.sentinelPlanted;
      const r = await nftlb.ping();
      if (nftlbUp !== r.ok) {
        if (r.ok) log.info({}, "nftlb answers again");
        else log.warn({ err: r.error.message }, "nftlb does not answer: unready until it does");
      }
      nftlbUp = r.ok;
      metrics.nftlbUp.set(r.ok ? 1 : 0);
      for (const inf of sources.all()) {
        metrics.informerRestarts.set({ informer: inf.name }, inf.stats.restarts);
        metrics.informerRelists.set({ informer: inf.name }, inf.stats.relists);
      }
      await nodeRules?.check();
      if (r.ok && !r.value.sentinel && planted && reconciler.sentinelPlanted) {
        metrics.nftlbRestarts.inc();
        log.warn({}, "nftlb lost its farms (restarted): re-programming everything");
        reconciler.nftlbRestarted();
        queue.add(FULL);
      }
      // A Service waiting for an address a foreign farm holds takes it within a probe period.
      for (const key of await reconciler.recheckForeign()) queue.add(key);
      if (!stopping) timersToCancel.push(timers.after(cfg.nftlbProbeMs, () => void probe()));
    };
    timersToCancel.push(timers.after(cfg.nftlbProbeMs, () => void probe()));
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
