/**
 * toNodeHandler: runs a Web-standard `(Request) => Promise<Response>` handler (createTokenHandler's, or any other)
 * under node:http or Express. The Node ↔ Fetch bridge is @hono/node-server's getRequestListener, a maintained
 * library (repeated response headers such as two set-cookie survive, TRACE and aborted clients are handled, its
 * lightweight Request/Response keep the per-request cost near a bare node:http handler). This file only adds what
 * the bridge leaves to the application: the body limit and a bound on the time a body may take, both enforced
 * before the handler runs, and a body an Express parser (express.json()) has already consumed.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { bodyTooLarge, HttpProblem, JSON_HEADERS, problemBody } from "./httpProblem.ts";
import { DEFAULT_MAX_BODY_BYTES } from "./requestBody.ts";

/** How long a request body may take to arrive, from its headers to its last byte (ms). */
export const DEFAULT_BODY_TIMEOUT_MS = 10_000;
/** After a refusal, what is still read and thrown away (so the client sees the answer, not a reset) before closing. */
const DRAIN_MS = 500;
const DRAIN_BYTES = 64 * 1024;

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
   * writes a Response built from a string without creating streams. Measured 1.2-2.2x the endpoint's requests/s
   * (docs/token.md, figures). Off by default because it replaces globals the rest of the application also uses.
   */
  overrideGlobalObjects?: boolean;
}

/** A Web handler; a `maxBodyBytes` property on it (createTokenHandler's has one) sets the adapter's default limit. */
export type WebHandler = ((request: Request) => Response | Promise<Response>) & { readonly maxBodyBytes?: number };

/** The request as Express and similar frameworks leave it: `body` set once a body parser consumed the stream. */
type FrameworkRequest = IncomingMessage & { body?: unknown; rawBody?: Buffer };

function positiveInteger(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${field} must be a positive whole number`);
  return value;
}

/** The body a framework already parsed (express.json(), express.text(), express.raw()), as bytes; else undefined. */
function parsedBody(req: FrameworkRequest): Buffer | undefined {
  if (req.body === undefined || !req.readableEnded) return undefined;
  if (Buffer.isBuffer(req.body)) return req.body;
  if (typeof req.body === "string") return Buffer.from(req.body, "utf8");
  return Buffer.from(JSON.stringify(req.body), "utf8");
}

/**
 * After a refusal: reads and throws away what the client still sends (at most DRAIN_BYTES, then stops reading, so
 * memory stays flat), then closes the connection: gracefully as soon as the body has ended, by force DRAIN_MS after
 * the answer otherwise. Closing at once would reset a connection with unread data, and the client could lose the
 * answer before reading it.
 */
function drainThenClose(req: IncomingMessage): void {
  let seen = 0;
  const onData = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > DRAIN_BYTES) {
      req.off("data", onData);
      req.pause();
    }
  };
  const timer = setTimeout(() => req.socket.destroy(), DRAIN_MS);
  timer.unref();
  req.on("data", onData);
  req.once("end", () => {
    clearTimeout(timer);
    req.socket.end();
  });
  req.resume();
}

function refuse(req: IncomingMessage, res: ServerResponse, problem: HttpProblem): void {
  if (res.headersSent) {
    req.socket.destroy();
    return;
  }
  // Reading starts before the answer so node:http does not take over the unread body (its own dump reads all of
  // it, however long, throwing it away).
  if (!req.readableEnded) drainThenClose(req);
  res.writeHead(problem.status, JSON_HEADERS);
  res.end(problemBody(problem));
}

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
    const method = req.method ?? "GET";
    if (method === "GET" || method === "HEAD") return run(req, res);
    const parsed = parsedBody(req);
    if (parsed !== undefined) {
      if (parsed.length > maxBytes) return refuse(req, res, bodyTooLarge(maxBytes));
      // The bridge hands `rawBody` to the handler as the Request body (its support for pre-read bodies).
      req.rawBody = parsed;
      return run(req, res);
    }
    if (Number(req.headers["content-length"] ?? 0) > maxBytes) return refuse(req, res, bodyTooLarge(maxBytes));
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
      req.on("error", () => {}); // a reset while draining is expected, not a crash
      req.pause();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        stop();
        refuse(req, res, bodyTooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      req.rawBody = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      run(req, res);
    };
    const onError = () => {
      // The client went away mid-body: nobody to answer.
      stop();
      res.destroy();
    };
    const onClose = () => {
      if (!req.readableEnded) onError();
    };
    const timer = setTimeout(() => {
      stop();
      refuse(req, res, new HttpProblem(408, "body", `body did not arrive within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onError);
    req.once("close", onClose);
  };
}
