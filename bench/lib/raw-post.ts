// The floor of every nftlb benchmark: one bare POST /farms over node:http, as nftlb parses it
// (exact Key/Content-Length headers, one connection), with nothing read back.
import http from "node:http";

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
