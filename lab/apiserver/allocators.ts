// ClusterIP and NodePort allocation with the real allocators' error texts. The real ones pick at
// random; these pick the lowest free value so tests and demos are reproducible. Dry-run requests
// get an address without reserving it, as the real registry's dry-run allocator does.
import { isIPv4 } from "node:net";

function ipToInt(ip: string): number {
  return ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
}
function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

export class IpAllocator {
  readonly cidr: string;
  readonly #first: number;
  readonly #last: number;
  readonly #used = new Set<number>();

  constructor(cidr: string) {
    const [base, bitsText] = cidr.split("/");
    const bits = Number(bitsText);
    if (base === undefined || !isIPv4(base) || !Number.isInteger(bits) || bits < 1 || bits > 30) {
      throw new Error(`invalid service CIDR ${JSON.stringify(cidr)}: want an IPv4 CIDR such as 10.96.0.0/12`);
    }
    const size = 2 ** (32 - bits);
    const network = ipToInt(base) - (ipToInt(base) % size);
    this.cidr = `${intToIp(network)}/${bits}`;
    // the network and broadcast addresses are never handed out
    this.#first = network + 1;
    this.#last = network + size - 2;
  }

  /** Returns the address, or the error detail the real allocator reports. */
  allocate(requested: string | undefined, dryRun: boolean): { ip: string } | { error: string } {
    if (requested !== undefined) {
      const n = isIPv4(requested) ? ipToInt(requested) : NaN;
      if (!(n >= this.#first && n <= this.#last)) {
        return {
          error: `failed to allocate IP ${requested}: the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${this.cidr}`,
        };
      }
      if (this.#used.has(n))
        return { error: `failed to allocate IP ${requested}: provided IP is already allocated` };
      if (!dryRun) this.#used.add(n);
      return { ip: requested };
    }
    for (let n = this.#first; n <= this.#last; n++) {
      if (!this.#used.has(n)) {
        if (!dryRun) this.#used.add(n);
        return { ip: intToIp(n) };
      }
    }
    return { error: "failed to allocate a serviceIP: range is full" };
  }

  release(ip: string): void {
    if (isIPv4(ip)) this.#used.delete(ipToInt(ip));
  }
}

export class PortAllocator {
  readonly #min: number;
  readonly #max: number;
  readonly #used = new Set<number>();

  constructor(range: string) {
    const m = /^(\d+)-(\d+)$/.exec(range);
    const min = Number(m?.[1]);
    const max = Number(m?.[2]);
    if (m === null || min < 1 || max > 65535 || min > max) {
      throw new Error(
        `invalid node port range ${JSON.stringify(range)}: want "first-last", such as 30000-32767`,
      );
    }
    this.#min = min;
    this.#max = max;
  }

  get range(): string {
    return `${this.#min}-${this.#max}`;
  }

  allocate(requested: number | undefined, dryRun: boolean): { port: number } | { error: string } {
    if (requested !== undefined) {
      if (requested < this.#min || requested > this.#max) {
        return {
          error: `provided port is not in the valid range. The range of valid ports is ${this.range}`,
        };
      }
      if (this.#used.has(requested)) return { error: "provided port is already allocated" };
      if (!dryRun) this.#used.add(requested);
      return { port: requested };
    }
    for (let p = this.#min; p <= this.#max; p++) {
      if (!this.#used.has(p)) {
        if (!dryRun) this.#used.add(p);
        return { port: p };
      }
    }
    return { error: "range is full" };
  }

  release(port: number): void {
    this.#used.delete(port);
  }
}
