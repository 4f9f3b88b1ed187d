/**
 * Receiving a request body under node:http for the token endpoint's two Node entry points (toNodeHandler, the
 * bridge for any Web handler, and createNodeTokenHandler): the body limit and a bound on the time a body may take,
 * both enforced before the handler runs, a body an Express parser (express.json()) has already consumed, and
 * after a refusal a drain-then-close so the client reads the answer rather than a reset.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { bodyTooLarge, HttpProblem, JSON_HEADERS, problemBody } from "./httpProblem.ts";

/** How long a request body may take to arrive, from its headers to its last byte (ms). */
export const DEFAULT_BODY_TIMEOUT_MS = 10_000;
/** After a refusal, what is still read and thrown away (so the client sees the answer, not a reset) before closing. */
const DRAIN_MS = 500;
const DRAIN_BYTES = 64 * 1024;

/** The request as Express and similar frameworks leave it: `body` set once a body parser consumed the stream. */
export type FrameworkRequest = IncomingMessage & { body?: unknown; rawBody?: Buffer };

/** The two bounds on a body under node:http. */
export interface NodeBodyLimits {
  /** Bytes; more is answered 413 (at once on a declared Content-Length). */
  maxBodyBytes: number;
  /** ms from the request's headers to the body's last byte; later is answered 408 and the connection closed. */
  bodyTimeoutMs: number;
  /** Told of each refusal answered here (413, 408), for the endpoint's one log entry per request. */
  onRefused?: (problem: HttpProblem) => void;
}

/**
 * A positive whole number, or `fallback` when undefined.
 * @throws RangeError naming `field` otherwise.
 */
export function positiveInteger(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${field} must be a positive whole number`);
  return value;
}

/** How repeated lines of one header are joined: ", ", Cookie lines with "; " (RFC 6265 §5.4, as node:http and
 * @hono/node-server join them). */
function joined(name: string, seen: string | undefined | null, value: string): string {
  return seen === undefined || seen === null ? value : seen + (name === "cookie" ? "; " : ", ") + value;
}

/**
 * Every header of `raw` (node's rawHeaders: name, value, name, value, …) by lower-case name, repeated lines joined;
 * one pass, so a request with many headers costs linear time.
 */
export function rawHeaderMap(raw: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    map.set(name, joined(name, map.get(name), raw[i + 1] as string));
  }
  return map;
}

/** Headers.get over node's raw header list (`name` lower-case), repeated lines joined; null when absent. */
export function rawHeader(raw: readonly string[], name: string): string | null {
  let value: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i] as string;
    if (key.length === name.length && key.toLowerCase() === name) value = joined(name, value, raw[i + 1] as string);
  }
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

function refuse(req: IncomingMessage, res: ServerResponse, problem: HttpProblem, onRefused?: (problem: HttpProblem) => void): void {
  onRefused?.(problem);
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
 * Receives the body of `req` within `limits` and hands it to `onBody` (a body express.json() or another parser
 * already consumed is taken from `req.body`), or answers the refusal itself: 413 above the limit (on the declared
 * Content-Length before reading), 408 when the body is too slow; a client gone mid-body gets no answer. GET and HEAD
 * are not read: `onBody` gets an empty buffer at once.
 */
export function receiveBody(req: FrameworkRequest, res: ServerResponse, limits: NodeBodyLimits, onBody: (body: Buffer) => void): void {
  const { maxBodyBytes, bodyTimeoutMs, onRefused } = limits;
  const method = req.method ?? "GET";
  if (method === "GET" || method === "HEAD") return onBody(EMPTY);
  const parsed = parsedBody(req);
  if (parsed !== undefined) {
    if (parsed.length > maxBodyBytes) return refuse(req, res, bodyTooLarge(maxBodyBytes), onRefused);
    return onBody(parsed);
  }
  // From the raw headers: node:http builds req.headers only when first read, and this path needs nothing else of it.
  if (Number(rawHeader(req.rawHeaders, "content-length") ?? 0) > maxBodyBytes) return refuse(req, res, bodyTooLarge(maxBodyBytes), onRefused);
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
    if (size > maxBodyBytes) {
      stop();
      refuse(req, res, bodyTooLarge(maxBodyBytes), onRefused);
      return;
    }
    chunks.push(chunk);
  };
  const onEnd = () => {
    // The body is complete: only the timer has to go. The listeners stay (they die with the request; onClose sees
    // an ended body, onError still stands between a late socket error and an unhandled 'error' event).
    clearTimeout(timer);
    onBody(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
  };
  const onError = () => {
    if (req.readableEnded) return; // after the body: the answer's own write reports it
    // The client went away mid-body: nobody to answer.
    stop();
    res.destroy();
  };
  const onClose = () => {
    if (!req.readableEnded) onError();
  };
  const timer = setTimeout(() => {
    stop();
    refuse(req, res, new HttpProblem(408, "body", `body did not arrive within ${bodyTimeoutMs} ms`), onRefused);
  }, bodyTimeoutMs);
  // `on`, not `once` (which wraps each listener): each fires at most once here, and stop() removes them all.
  req.on("data", onData);
  req.on("end", onEnd);
  req.on("error", onError);
  req.on("close", onClose);
}

const EMPTY = Buffer.alloc(0);
