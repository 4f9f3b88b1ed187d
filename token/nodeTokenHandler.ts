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
import { DEFAULT_BODY_TIMEOUT_MS, positiveInteger, rawHeaderMap, receiveBody } from "./nodeBody.ts";
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

/** The request's headers by lower-case name, built on first use and shared by the head and the lazy Request. */
function headerMapOf(req: IncomingMessage): () => Map<string, string> {
  let map: Map<string, string> | undefined;
  return () => (map ??= rawHeaderMap(req.rawHeaders));
}

/** The request's head as the core reads it: method, and headers answered from the shared map. */
function headOf(req: IncomingMessage, headers: () => Map<string, string>): RequestHead {
  return { method: req.method ?? "GET", headers: { get: (name) => headers().get(name.toLowerCase()) ?? null } };
}

/** A Host header's value: a DNS name or IPv4 address, or an IPv6 literal in brackets, with an optional port. */
const HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/**
 * The request's URL: scheme from the socket; for the usual origin-form target (`/path?query`, RFC 9112 §3.2.1) the
 * Host header, checked, followed by the target as it came (joined as text, never resolved: `//other.example/x` is a
 * path on this host, as @hono/node-server reads it); an absolute-form target is taken as it is (§3.2.2). Express's
 * `originalUrl` (the path before a Router's mount point was cut off) when present. The host is the client's word
 * either way: authorize must not grant anything on it.
 * @throws HttpProblem 400 naming `host` (absent, or not a host[:port]) or `url` (no URL can be made of the target).
 */
function urlOf(req: IncomingMessage & { originalUrl?: string }, scheme: string, headers: Map<string, string>): URL {
  const target = req.originalUrl ?? req.url ?? "/";
  if (target.startsWith("/")) {
    const host = headers.get("host");
    const refused = () => new HttpProblem(400, "host", "the Host header must be a host name or address with an optional port");
    if (host === undefined || !HOST.test(host)) throw refused();
    // The pattern keeps out what would change the URL's meaning; the URL parser refuses the rest (a port above
    // 65535, an IPv4-looking name that is not an address, a malformed IPv6 literal).
    try {
      return new URL(`${scheme}://${host}${target}`);
    } catch {
      throw refused();
    }
  }
  let url: URL | undefined;
  try {
    url = new URL(target);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:") || url.username !== "" || url.password !== "") {
    throw new HttpProblem(400, "url", "the request target must be a path such as /api/jitsi/token");
  }
  return url;
}

/**
 * The standard Request authorize may read: method, URL (urlOf) and the headers, repeated lines joined as
 * rawHeaderMap joins them; no body (the endpoint has read it).
 * @throws HttpProblem 400 naming `host` or `url` when no URL can be made of the request.
 */
function webRequestOf(req: IncomingMessage, map: Map<string, string>): Request {
  const scheme = (req.socket as Partial<TLSSocket>).encrypted === true ? "https" : "http";
  const url = urlOf(req, scheme, map);
  try {
    return new Request(url, { method: req.method ?? "GET", headers: [...map] });
  } catch {
    throw new HttpProblem(400, "url", "the request cannot be represented as a Fetch Request");
  }
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
  const limits = { maxBodyBytes: endpoint.maxBodyBytes, bodyTimeoutMs: positiveInteger(options.bodyTimeoutMs, DEFAULT_BODY_TIMEOUT_MS, "bodyTimeoutMs"), onRefused: endpoint.logRefusal };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    receiveBody(req, res, limits, (body) => {
      let request: Request | undefined;
      const headers = headerMapOf(req);
      endpoint
        .answer({ head: headOf(req, headers), readBody: () => decodeUtf8(body), request: () => (request ??= webRequestOf(req, headers())) })
        .then((answer) => write(res, answer))
        .catch(() => res.destroy()); // answer() never rejects; a write to a socket gone wrong leaves nothing to answer
    });
  };
  return Object.assign(handler, { maxBodyBytes: endpoint.maxBodyBytes });
}
