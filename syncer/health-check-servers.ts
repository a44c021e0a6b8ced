// The listeners behind healthCheckNodePort (node-local.ts decides what they answer): one HTTP
// server per Service and node address, opened and closed as Services come and go, like kube-proxy's
// service_health.go. A port that cannot be opened (in use, address gone) is a Warning Event
// FailedToStartServiceHealthcheck on the Service, retried on the next sync — never a crash.
import { createServer, type Server } from "node:http";
import type { EventType, ObjectRef } from "../kube/events.ts";
import { closeServer } from "../runtime/index.ts";
import { healthCheckAnswer, type HealthCheck } from "./node-local.ts";

export interface HealthCheckServerDeps {
  /** The addresses to listen on (the node's); none known: every address, as kube-proxy. */
  addresses: () => readonly string[];
  proxyHealthy: () => boolean;
  nodeName: string;
  events: { record(ref: ObjectRef, type: EventType, reason: string, message: string): Promise<void> };
  log: { info(o: object, m: string): void; warn(o: object, m: string): void };
}

interface Open {
  port: number;
  /** The addresses the servers listen on, joined: a change of the node's addresses reopens. */
  on: string;
  servers: Server[];
}

export class HealthCheckServers {
  readonly #d: HealthCheckServerDeps;
  readonly #open = new Map<string, Open>();
  /** What each open server answers from; updated in place so the listeners need not move. */
  readonly #state = new Map<string, HealthCheck>();
  #syncing: Promise<void> = Promise.resolve();

  constructor(deps: HealthCheckServerDeps) {
    this.#d = deps;
  }

  /** key → its health check, for every Service that needs one now; others are closed. */
  sync(wanted: ReadonlyMap<string, HealthCheck>): Promise<void> {
    this.#syncing = this.#syncing.then(() => this.#sync(wanted));
    return this.#syncing;
  }

  /** The ports served now, by Service key (tests, logs). */
  ports(): Map<string, number> {
    return new Map([...this.#open].map(([k, o]) => [k, o.port]));
  }

  async close(): Promise<void> {
    await this.#syncing;
    await Promise.all([...this.#open.keys()].map((k) => this.#close(k)));
  }

  async #sync(wanted: ReadonlyMap<string, HealthCheck>): Promise<void> {
    const addresses = [...this.#d.addresses()];
    const on = (addresses.length > 0 ? addresses : ["0.0.0.0"]).join(",");
    for (const [key, open] of this.#open) {
      const w = wanted.get(key);
      if (w === undefined || w.port !== open.port || open.on !== on) await this.#close(key);
    }
    this.#state.clear();
    for (const [key, hc] of wanted) this.#state.set(key, hc);
    for (const [key, hc] of wanted) {
      if (this.#open.has(key)) continue;
      const opened = await this.#listenAll(key, hc.port, on.split(","));
      if (opened.ok) {
        this.#open.set(key, { port: hc.port, on, servers: opened.servers });
        this.#d.log.info({ service: key, port: hc.port }, "healthcheck opened");
        continue;
      }
      const [namespace, name] = [hc.namespace, hc.name];
      const message = `node ${this.#d.nodeName} failed to start healthcheck "${key}" on port ${hc.port}: ${opened.error}`;
      this.#d.log.warn({ service: key, port: hc.port, err: opened.error }, "healthcheck not opened");
      void this.#d.events.record(
        { kind: "Service", apiVersion: "v1", namespace, name },
        "Warning",
        "FailedToStartServiceHealthcheck",
        message,
      );
    }
  }

  async #listenAll(
    key: string,
    port: number,
    addresses: string[],
  ): Promise<{ ok: true; servers: Server[] } | { ok: false; error: string }> {
    const servers: Server[] = [];
    for (const address of addresses) {
      const server = createServer((req, res) => {
        const hc = this.#state.get(key);
        if (hc === undefined) return void res.writeHead(503).end();
        const a = healthCheckAnswer(hc, this.#d.proxyHealthy());
        res
          .writeHead(a.status, { "content-type": "application/json", "x-content-type-options": "nosniff" })
          .end(a.body);
      });
      const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
        server.once("error", resolve);
        server.listen(port, address, () => resolve(undefined));
      });
      if (err !== undefined) {
        await Promise.all(servers.map(closeServer));
        return { ok: false, error: `listen tcp ${address}:${port}: ${err.code ?? err.message}` };
      }
      servers.push(server);
    }
    return { ok: true, servers };
  }

  async #close(key: string): Promise<void> {
    const open = this.#open.get(key);
    if (open === undefined) return;
    this.#open.delete(key);
    await Promise.all(open.servers.map(closeServer));
    this.#d.log.info({ service: key, port: open.port }, "healthcheck closed");
  }
}
