/**
 * toNodeHandler: runs a Web-standard `(Request) => Promise<Response>` handler (createTokenHandler's, or any other)
 * under node:http or Express. The Node ↔ Fetch bridge is @hono/node-server's getRequestListener, a maintained
 * library (repeated response headers such as two set-cookie survive, TRACE and aborted clients are handled, its
 * lightweight Request/Response keep the per-request cost low). What the bridge leaves to the application is
 * nodeBody.ts's: the body limit and a bound on the time a body may take, both enforced before the handler runs, and a
 * body an Express parser (express.json()) has already consumed. The token endpoint's own node:http entry point,
 * without Fetch objects, is createNodeTokenHandler (nodeTokenHandler.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener } from "@hono/node-server";
import type { HttpProblem } from "./httpProblem.ts";
import { DEFAULT_BODY_TIMEOUT_MS, positiveInteger, receiveBody, type FrameworkRequest } from "./nodeBody.ts";
import { DEFAULT_MAX_BODY_BYTES } from "./requestBody.ts";

export { DEFAULT_BODY_TIMEOUT_MS };

export interface NodeHandlerOptions {
  /**
   * Bodies above this many bytes get 413 without reaching the handler: at once on a declared Content-Length, after
   * `maxBodyBytes` + one chunk on a streamed body. Default: the handler's own `maxBodyBytes` (createTokenHandler's,
   * 4096 unless configured), else 4096.
   */
  maxBodyBytes?: number;
  /**
   * A body still arriving this many ms after the request's headers gets 408 and the connection is closed (slow
   * clients cannot hold connections for node:http's 300 s requestTimeout). Default 10000.
   */
  bodyTimeoutMs?: number;
  /**
   * Opt-in fast path (default false): @hono/node-server installs its lightweight Request/Response classes as
   * globalThis.Request/Response for the whole process (standard-compatible; `instanceof Request` still holds) and
   * writes a Response built from a string without creating streams. Measured 1.5-1.6x the endpoint's requests/s
   * (docs/token.md, figures). Off by default because it replaces globals the rest of the application also uses;
   * for the token endpoint, createNodeTokenHandler is as fast without it.
   */
  overrideGlobalObjects?: boolean;
}

/**
 * A Web handler. Properties createTokenHandler's handler has: `maxBodyBytes` sets the adapter's default limit,
 * `logRefusal` is told of each 413/408 the adapter answers itself.
 */
export type WebHandler = ((request: Request) => Response | Promise<Response>) & {
  readonly maxBodyBytes?: number;
  readonly logRefusal?: (problem: HttpProblem) => void;
};

/**
 * Adapts a Web handler to node:http's `(req, res)` (also an Express route handler).
 * @throws RangeError when maxBodyBytes or bodyTimeoutMs is not a positive whole number.
 */
export function toNodeHandler(handler: WebHandler, options: NodeHandlerOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const maxBytes = positiveInteger(options.maxBodyBytes, handler.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, "maxBodyBytes");
  const timeoutMs = positiveInteger(options.bodyTimeoutMs, DEFAULT_BODY_TIMEOUT_MS, "bodyTimeoutMs");
  const listener = getRequestListener((request) => handler(request), { overrideGlobalObjects: options.overrideGlobalObjects ?? false });
  const run = (req: IncomingMessage, res: ServerResponse) => void listener(req, res);

  return (req: FrameworkRequest, res) => {
    // GET and HEAD go to the bridge with their stream untouched (it builds no body for them).
    if (req.method === "GET" || req.method === "HEAD") return run(req, res);
    receiveBody(req, res, { maxBodyBytes: maxBytes, bodyTimeoutMs: timeoutMs, ...(handler.logRefusal === undefined ? {} : { onRefused: handler.logRefusal }) }, (body) => {
      // The bridge hands `rawBody` to the handler as the Request body (its support for pre-read bodies).
      req.rawBody = body;
      run(req, res);
    });
  };
}
