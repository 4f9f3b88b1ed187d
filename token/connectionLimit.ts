/**
 * The longest token that can reach Prosody on this deployment. A browser sends the token in the request line of
 * the XMPP connection, `GET /[<tenant>/]xmpp-websocket?room=<room>&token=<jwt> HTTP/1.1` (BOSH: `POST
 * /[<tenant>/]http-bind?…`; jitsi-meet adds `room=`, lib-jitsi-meet `token=`, and on a reconnect `previd=`),
 * which must pass two limits:
 *  - nginx: the request line and its CRLF in one `large_client_header_buffers` buffer (8 KiB as rendered), or
 *    414 Request-URI Too Large (ngx_http_core_module; measured: 8190 characters pass, 8191 get 414);
 *  - Prosody 0.12: the whole request head nginx forwards — the line, now `/xmpp-websocket?prefix=<tenant>&…`
 *    for a tenant, plus the headers — within the first 10 KiB it buffers (net/http/parser.lua `headlimit`), or
 *    no answer at all.
 * Pure: from the room, the tenant and the limits in the shared names module (what the nginx renderer writes).
 */
import { HTTP_REQUEST_LIMITS, URL_PATHS } from "./shared/names.ts";
import type { Finding } from "./explainTypes.ts";
import { TokenOptionsError } from "./options.ts";

/** The limits and reserves the computation uses; defaults are the rendered deployment's. */
export interface ConnectionLimitSettings {
  /** nginx `large_client_header_buffers` size, bytes. */
  readonly nginxHeaderBufferBytes: number;
  /** Prosody's request-head limit, bytes. */
  readonly prosodyHeadBytes: number;
  /**
   * Headers of the request as nginx forwards it (the browser's own — User-Agent, Origin, Sec-WebSocket-*,
   * cookies — and the Host, Upgrade, Connection, X-Forwarded-For nginx sets), bytes. A browser sends about
   * 0.7 KiB without cookies.
   */
  readonly headerReserveBytes: number;
  /** `&previd=<36-character stream resumption id>` that lib-jitsi-meet appends when it reconnects, bytes. */
  readonly resumeReserveBytes: number;
}

export const DEFAULT_CONNECTION_LIMIT_SETTINGS: ConnectionLimitSettings = {
  nginxHeaderBufferBytes: HTTP_REQUEST_LIMITS.nginxLargeHeaderBuffers.sizeBytes,
  prosodyHeadBytes: HTTP_REQUEST_LIMITS.prosodyHeadBytes,
  headerReserveBytes: 1536,
  resumeReserveBytes: "&previd=".length + 36,
};

/** Where the token travels: the room as it appears in `?room=` (the room claim's form) and the tenant, if any. */
export interface ConnectionTarget {
  readonly room: string;
  readonly tenant?: string;
}

export interface ConnectionLimit {
  /** The longest token (characters = bytes: a JWT is ASCII) that passes both limits on every transport. */
  readonly maxTokenLength: number;
  /** Which limit decides, and on which transport. */
  readonly boundBy: "nginx" | "prosody";
  readonly transport: "websocket" | "bosh";
}

/** Bytes `value` takes in a URL query as a browser writes it (WHATWG special-query percent-encode set). */
export function queryBytes(value: string): number {
  let bytes = 0;
  if (NON_ASCII.test(value)) {
    for (const byte of UTF8.encode(value)) bytes += isQueryEncoded(byte) ? 3 : 1;
    return bytes;
  }
  // A room claim is ASCII (encodeURIComponent's output): counted per character, nothing to encode first.
  for (let i = 0; i < value.length; i++) bytes += isQueryEncoded(value.charCodeAt(i)) ? 3 : 1;
  return bytes;
}

const NON_ASCII = /[^\x00-\x7f]/;
const UTF8 = new TextEncoder();

function isQueryEncoded(byte: number): boolean {
  return byte <= 0x20 || byte >= 0x7f || byte === 0x22 || byte === 0x23 || byte === 0x27 || byte === 0x3c || byte === 0x3e;
}

const TRANSPORTS = [
  { transport: "websocket", method: "GET", path: URL_PATHS.websocket },
  { transport: "bosh", method: "POST", path: URL_PATHS.bosh },
] as const;

/** Everything on the request line but the token: method, path, "?room=", room, "&token=", previd, version. */
function requestLineBytes(method: string, linePath: string, prefix: string, roomBytes: number, settings: ConnectionLimitSettings): number {
  return `${method} ${linePath}?${prefix}room=`.length + roomBytes + "&token=".length + settings.resumeReserveBytes + " HTTP/1.1".length;
}

/**
 * The longest token that fits the connection for `target`: the smaller of nginx's and Prosody's allowance on
 * WebSocket and BOSH, the reconnect's `previd` included. Never negative (0: not even an empty token fits).
 */
export function maxTokenLength(target: ConnectionTarget, settings: ConnectionLimitSettings = DEFAULT_CONNECTION_LIMIT_SETTINGS): ConnectionLimit {
  const room = queryBytes(target.room);
  const tenant = target.tenant;
  let best: ConnectionLimit | undefined;
  for (const { transport, method, path } of TRANSPORTS) {
    const fromBrowser = requestLineBytes(method, tenant === undefined ? path : `/${tenant}${path}`, "", room, settings);
    const toProsody = requestLineBytes(method, path, tenant === undefined ? "" : `prefix=${tenant}&`, room, settings);
    // nginx: line + CRLF within one buffer. Prosody: line + CRLF + headers + the blank line's CRLF.
    const nginx = settings.nginxHeaderBufferBytes - 2 - fromBrowser;
    const prosody = settings.prosodyHeadBytes - 4 - settings.headerReserveBytes - toProsody;
    if (best === undefined || nginx < best.maxTokenLength) best = { maxTokenLength: nginx, boundBy: "nginx", transport };
    if (prosody < best.maxTokenLength) best = { maxTokenLength: prosody, boundBy: "prosody", transport };
  }
  const result = best as ConnectionLimit;
  return { ...result, maxTokenLength: Math.max(0, result.maxTokenLength) };
}

/** One sentence for an error or a finding: why a token of `length` does or does not fit. */
export function describeConnectionLimit(length: number, limit: ConnectionLimit): string {
  const where = limit.boundBy === "nginx" ? "nginx answers 414 to a longer request line" : "Prosody 0.12 never answers a longer request head";
  return `the token is ${String(length)} characters; at most ${String(limit.maxTokenLength)} fit in the ${limit.transport === "websocket" ? "WebSocket" : "BOSH"} URL for this room and tenant (${where})`;
}

/** The target for a room claim ("*" joins a room not known here: counted as empty) and tenant. */
function targetOf(room: string, tenant: string | undefined): ConnectionTarget {
  return { room: room === "*" ? "" : room, ...(tenant === undefined ? {} : { tenant }) };
}

/**
 * Throws when `token` cannot reach Prosody in the room's connection URL (mintToken's last check). A wildcard
 * room ("*") is joined under a name not known here: the check then assumes an empty one, so a token refused
 * here fits no room at all.
 * @throws TokenOptionsError (field "token") naming the limit and what to shorten.
 */
export function assertTokenFitsConnection(token: string, room: string, tenant?: string): void {
  const limit = maxTokenLength(targetOf(room, tenant));
  if (token.length <= limit.maxTokenLength) return;
  throw new TokenOptionsError([
    { field: "token", message: `${describeConnectionLimit(token.length, limit)}; shorten the claims (name, avatar URL, email, group, features) or the room name` },
  ]);
}

/** explainToken's finding for the connection URL (stage "login": it comes before any login check). */
export function connectionFinding(token: string, room: string, tenant?: string): Finding {
  const limit = maxTokenLength(targetOf(room, tenant));
  const ok = token.length <= limit.maxTokenLength;
  return {
    check: "connection-length",
    stage: "login",
    ok,
    detail: ok
      ? `the token (${String(token.length)} characters) fits the connection URL: at most ${String(limit.maxTokenLength)} for this room and tenant`
      : `${describeConnectionLimit(token.length, limit)}; the browser never gets to log in`,
    fix: ok ? "" : "Mint a shorter token: fewer or shorter claims (name, avatar URL, email, group, features), or a shorter room name",
  };
}
