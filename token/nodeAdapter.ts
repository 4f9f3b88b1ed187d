/**
 * toNodeHandler: runs a Web-standard `(Request) => Promise<Response>` handler under node:http or Express.
 * The body is read with a size cap (so a huge upload cannot exhaust memory); Express's already-parsed `req.body`
 * is used when the stream has been consumed.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { PLAIN_TOKEN_HANDLER, type PlainTokenHandler } from "./handler.ts";

export interface NodeHandlerOptions {
  /** Requests with a larger body get 413 without reaching the handler (default 65536). */
  maxBodyBytes?: number;
}

type WebHandler = ((request: Request) => Promise<Response>) & { [PLAIN_TOKEN_HANDLER]?: PlainTokenHandler };

function readCapped(req: IncomingMessage, maxBytes: number): Promise<Buffer | "too-large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) {
        done = true;
        resolve("too-large");
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}

function headersOf(req: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    try {
      headers.append(raw[i] as string, raw[i + 1] as string);
    } catch {
      // A header value fetch's Headers refuses (e.g. control characters) is dropped, not fatal.
    }
  }
  return headers;
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(body);
}

function urlOf(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? "/", `http://${req.headers.host ?? "localhost"}`);
  } catch {
    return new URL("http://localhost/");
  }
}

export function toNodeHandler(handler: WebHandler, options: NodeHandlerOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const maxBytes = options.maxBodyBytes ?? 65_536;
  const plain = handler[PLAIN_TOKEN_HANDLER];
  return (req, res) => {
    void (async () => {
      const method = req.method ?? "GET";
      let body: Buffer | string | undefined;
      const parsedByExpress = (req as IncomingMessage & { body?: unknown }).body;
      if (method !== "GET" && method !== "HEAD") {
        if (req.readableEnded && parsedByExpress !== undefined) {
          body = typeof parsedByExpress === "string" ? parsedByExpress : JSON.stringify(parsedByExpress);
        } else {
          const read = await readCapped(req, maxBytes);
          if (read === "too-large") {
            send(res, 413, JSON.stringify({ error: `body is larger than ${maxBytes} bytes`, field: "body" }));
            return;
          }
          body = read;
        }
      }
      if (plain) {
        // Token handlers take the body as text: no Request/Response body streams on the hot path.
        const text = body === undefined ? "" : body.toString("utf8");
        const out = await plain(new Request(urlOf(req), { method, headers: headersOf(req) }), async () => text);
        res.writeHead(out.status, out.headers);
        res.end(out.body);
        return;
      }
      const init: RequestInit = { method, headers: headersOf(req) };
      if (body !== undefined) init.body = typeof body === "string" ? body : new Uint8Array(body);
      const response = await handler(new Request(urlOf(req), init));
      const headers: Record<string, string> = {};
      response.headers.forEach((value, key) => {
        headers[key] = value;
      });
      res.writeHead(response.status, headers);
      res.end(Buffer.from(await response.arrayBuffer()));
    })().catch(() => {
      if (!res.headersSent) send(res, 400, JSON.stringify({ error: "request could not be processed" }));
      else res.destroy();
    });
  };
}
