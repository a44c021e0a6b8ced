// The floor of every nftlb benchmark: one bare POST /farms over node:http, as nftlb parses it
// (exact Key/Content-Length headers, one connection), with nothing read back.
import http from "node:http";
import { nftlbCpuSince, type CpuSample } from "./nftlb-cpu.ts";

/** One bare request to nftlb; resolves with the status once the whole answer is read. */
export const rawRequest = (
  url: string,
  key: string,
  method: string,
  path: string,
  body = "",
): Promise<number> =>
  new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, {
      method,
      agent: false,
      headers: { Key: key, ...(body === "" ? {} : { "Content-Length": String(Buffer.byteLength(body)) }) },
    });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(body);
  });

export const rawPost = (url: string, key: string, body: string): Promise<number> =>
  rawRequest(url, key, "POST", "/farms", body);

/** Where a bench's nftlb listens, and its network namespace (for its pid). */
export interface NftlbAt {
  ns: string;
  url: string;
  key: string;
}

export interface Measured {
  /** wall ms from sending the request to the end of the answer */
  ms: number;
  /** nftlb's time on a CPU and waiting for one meanwhile (undefined: no nftlb found in ns) */
  cpu: CpuSample | undefined;
}

/**
 * One bare request, timed, with nftlb's CPU sampled around it (bench/lib/nftlb-cpu.ts); throws
 * unless nftlb answers 200. nftlb's pid is looked up before the clock starts (it changes with
 * every restart).
 */
export async function measuredRequest(
  nftlb: NftlbAt,
  method: string,
  path: string,
  body = "",
): Promise<Measured> {
  const cpu = nftlbCpuSince(nftlb.ns);
  const t0 = performance.now();
  const status = await rawRequest(nftlb.url, nftlb.key, method, path, body);
  const ms = performance.now() - t0;
  const used = cpu();
  if (status !== 200) throw new Error(`raw ${method} ${path}: HTTP ${status}`);
  return { ms, cpu: used };
}

/** measuredRequest of POST /farms. */
export const measuredPost = (nftlb: NftlbAt, body: string): Promise<Measured> =>
  measuredRequest(nftlb, "POST", "/farms", body);
