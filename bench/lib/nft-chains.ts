// How many of a lab's farms are in the kernel: `nft list chains` in nftlb's network namespace,
// counting the chains that match, with room for thousands of farms (5,000 farms' chains pass the
// lab's 1 MiB helper on a loaded machine only sometimes).
import { execFile } from "node:child_process";

export const countChains = (netns: string, chain: RegExp): Promise<number> =>
  new Promise((resolve, reject) =>
    execFile(
      "ip",
      ["netns", "exec", netns, "nft", "list", "chains"],
      { maxBuffer: 512 * 2 ** 20, timeout: 600_000 },
      (err, out) => (err ? reject(new Error(err.message)) : resolve([...out.matchAll(chain)].length)),
    ),
  );
