/**
 * createNodeTokenHandler: the token endpoint as node:http's `(req, res)` (also an Express route handler), built on
 * the endpoint's transport-neutral core (handler.ts tokenEndpoint) with no Fetch objects on the way: the head is
 * read from node's raw headers, the body from the stream (nodeBody.ts: limit, time bound, express.json() bodies,
 * drain-then-close), the answer written with writeHead/end. authorize still gets a standard Request, built only if
 * it reads `request`. Same answers, limits and log entries as `toNodeHandler(createTokenHandler(options))`, at a
 * fraction of the per-request cost (docs/token.md, figures); toNodeHandler stays the bridge for any other Web handler.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { tokenEndpoint, type EndpointAnswer, type TokenHandlerOptions } from "./handler.ts";
import { HttpProblem } from "./httpProblem.ts";
import { DEFAULT_BODY_TIMEOUT_MS, positiveInteger, rawHeader, receiveBody } from "./nodeBody.ts";
import { decodeUtf8, type RequestHead } from "./requestBody.ts";

export interface NodeTokenHandlerOptions extends TokenHandlerOptions {
  /**
   * A body still arriving this many ms after the request's headers gets 408 and the connection is closed (slow
   * clients cannot hold connections for node:http's 300 s requestTimeout). Default 10000 (DEFAULT_BODY_TIMEOUT_MS).
   */
  bodyTimeoutMs?: number;
}

/** The endpoint under node:http, plus the body limit it enforces. */
export type NodeTokenHandler = ((req: IncomingMessage, res: ServerResponse) => void) & { readonly maxBodyBytes: number };

/** The request's head as the core reads it: method and raw headers, nothing copied until asked for. */
function headOf(req: IncomingMessage): RequestHead {
  const raw = req.rawHeaders;
  return { method: req.method ?? "GET", headers: { get: (name) => rawHeader(raw, name.toLowerCase()) } };
}

/**
 * The standard Request authorize may read: method, URL (scheme from the socket, host from the Host header, as
 * @hono/node-server builds it) and the headers as `rawHeader` joins them; no body (the endpoint has read it).
 * @throws HttpProblem 400 naming `host` when the Host header and path make no URL.
 */
function webRequestOf(req: IncomingMessage): Request {
  const scheme = (req.socket as Partial<TLSSocket>).encrypted === true ? "https" : "http";
  let url: URL;
  try {
    url = new URL(req.url ?? "/", `${scheme}://${req.headers.host ?? "localhost"}`);
  } catch {
    throw new HttpProblem(400, "host", "the Host header and path do not make a URL");
  }
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (!headers.has(name)) headers.set(name, rawHeader(raw, name) as string);
  }
  return new Request(url, { method: req.method ?? "GET", headers });
}

/** The answer with its Content-Length, so node:http sends head and body in one write (not chunked). */
function write(res: ServerResponse, { status, headers, body }: EndpointAnswer): void {
  res.writeHead(status, { ...headers, "content-length": body === null ? 0 : Buffer.byteLength(body) });
  res.end(body ?? undefined);
}

/**
 * Builds the token endpoint for node:http and Express: `http.createServer(createNodeTokenHandler(options))` or
 * `app.post(path, createNodeTokenHandler(options))`. Options are createTokenHandler's plus `bodyTimeoutMs`.
 * @throws TokenOptionsError / KeyError naming the option, as createTokenHandler; RangeError when bodyTimeoutMs is not
 *   a positive whole number.
 */
export function createNodeTokenHandler(options: NodeTokenHandlerOptions): NodeTokenHandler {
  const endpoint = tokenEndpoint(options);
  const limits = { maxBodyBytes: endpoint.maxBodyBytes, bodyTimeoutMs: positiveInteger(options.bodyTimeoutMs, DEFAULT_BODY_TIMEOUT_MS, "bodyTimeoutMs") };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    receiveBody(req, res, limits, (body) => {
      let request: Request | undefined;
      endpoint
        .answer({ head: headOf(req), readBody: () => decodeUtf8(body), request: () => (request ??= webRequestOf(req)) })
        .then((answer) => write(res, answer))
        .catch(() => res.destroy()); // answer() never rejects; a write to a socket gone wrong leaves nothing to answer
    });
  };
  return Object.assign(handler, { maxBodyBytes: endpoint.maxBodyBytes });
}
