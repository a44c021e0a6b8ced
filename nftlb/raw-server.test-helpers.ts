// A raw TCP server on 127.0.0.1 for tests: records the exact bytes of each request and answers
// with whatever the test scripts, including garbage nftlb itself never sends. No HTTP library
// sits in between, so what the client put on the wire is what the test sees.
import net from "node:net";

export interface RawRequest {
  /** Header block exactly as received (up to the blank line). */
  head: string;
  body: string;
}

/** Answers one request: write bytes to the socket, end it, destroy it, or never answer. */
export type Responder = (req: RawRequest, socket: net.Socket) => void;

export interface RawServer {
  url: string;
  requests: RawRequest[];
  /** Requests currently being served: proves one-at-a-time. */
  maxInFlight: number;
  close(): Promise<void>;
}

export const answer = (status: number, body: string): string =>
  `HTTP/1.1 ${status} X\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

export const startRawServer = async (respond: Responder): Promise<RawServer> => {
  const requests: RawRequest[] = [];
  const sockets = new Set<net.Socket>();
  let inFlight = 0;
  const state = { maxInFlight: 0 };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    // In flight from the request's arrival until our answer is flushed (the client cannot have
    // read it before) or the socket dies.
    let counted = false;
    const finished = () => {
      if (counted) inFlight--;
      counted = false;
    };
    socket.on("finish", finished);
    socket.on("close", () => {
      finished();
      sockets.delete(socket);
    });
    socket.on("error", () => undefined);
    let buf = Buffer.alloc(0);
    let done = false;
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf("\r\n\r\n");
      if (done || end < 0) return;
      const head = buf.subarray(0, end).toString("latin1");
      // Honour only the exact spelling nftlb honours.
      const length = /\r\nContent-Length: (\d+)/.exec(head);
      const body = buf.subarray(end + 4);
      if (length && body.length < Number(length[1])) return;
      done = true;
      counted = true;
      inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, inFlight);
      const req = { head, body: body.toString("utf8") };
      requests.push(req);
      respond(req, socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get maxInFlight() {
      return state.maxInFlight;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
