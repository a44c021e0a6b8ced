// The floor of every nftlb benchmark: one bare POST /farms over node:http, as nftlb parses it
// (exact Key/Content-Length headers, one connection), with nothing read back.
import http from "node:http";

export const rawPost = (url: string, key: string, body: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const req = http.request(`${url}/farms`, {
      method: "POST",
      agent: false,
      headers: { Key: key, "Content-Length": String(Buffer.byteLength(body)) },
    });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(body);
  });
