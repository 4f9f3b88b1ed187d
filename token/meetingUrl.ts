/**
 * meetingUrl: a meeting link the Jitsi web client parses. Hash parameters are `key=` + encodeURIComponent(JSON) —
 * the client JSON-parses each value (parseURLParams) — so the token goes in as `#jwt=%22TOKEN%22`. The hash is
 * never sent to servers; `?jwt=` is what older deployments read.
 */
import { isTenant } from "./shared/names.ts";
import { FieldError } from "./errors.ts";
import { canonicalRoom, RoomNameError, type CanonicalRoom } from "./roomName.ts";

export type TokenPlacement = "hash" | "query" | "both";

export interface MeetingUrlOptions {
  /** The deployment's public URL, e.g. https://meet.example.com (a path prefix is kept). */
  base: string;
  /**
   * The room name as a user types it; the path segment is its canonical link segment (roomName.ts), from which
   * the web client derives exactly the node `mintToken` puts in the room claim for the same name.
   */
  room: string;
  token?: string;
  tenant?: string;
  /** config.js overrides, as `config.KEY=JSON` hash params. */
  config?: Record<string, unknown>;
  interfaceConfig?: Record<string, unknown>;
  userInfo?: { displayName?: string; email?: string };
  /** Where the token goes; default "hash". */
  tokenIn?: TokenPlacement;
}

export class MeetingUrlError extends FieldError {
  override readonly name = "MeetingUrlError";
}

function hashParam(key: string, value: unknown, field: string): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new MeetingUrlError(field, "must be JSON-serialisable");
  return `${key}=${encodeURIComponent(json)}`;
}

function prefixed(prefix: string, values: Record<string, unknown> | undefined): string[] {
  if (values === undefined) return [];
  if (typeof values !== "object" || values === null || Array.isArray(values)) throw new MeetingUrlError(prefix, "must be an object");
  return Object.entries(values).map(([k, v]) => {
    if (!/^[A-Za-z0-9_.-]+$/.test(k)) throw new MeetingUrlError(`${prefix}.${k}`, "keys must be letters, digits, '_', '-' or '.'");
    return hashParam(`${prefix}.${k}`, v, `${prefix}.${k}`);
  });
}

/** The last base accepted and its link prefix (origin + path, no trailing slash): a server uses one base. */
let lastBase: { text: string; prefix: string } | undefined;

/** `base` checked (an absolute http(s) URL without query or fragment) as the links' prefix: origin + path. */
function checkedBase(given: string): string {
  // By value: a URL object (JavaScript callers) is read as its text now, so changing it later cannot leave a stale prefix.
  const text = String(given);
  if (lastBase !== undefined && lastBase.text === text) return lastBase.prefix;
  let base: URL;
  try {
    base = new URL(text);
  } catch {
    throw new MeetingUrlError("base", "must be an absolute URL such as https://meet.example.com");
  }
  if (base.protocol !== "https:" && base.protocol !== "http:") throw new MeetingUrlError("base", "must be an http(s) URL");
  if (base.search || base.hash) throw new MeetingUrlError("base", "must not contain a query or fragment");
  const prefix = `${base.origin}${base.pathname.replace(/\/+$/, "")}`;
  lastBase = { text, prefix };
  return prefix;
}

export function meetingUrl(options: MeetingUrlOptions): string {
  const base = checkedBase(options.base);
  if (typeof options.room !== "string" || options.room.length === 0) throw new MeetingUrlError("room", "must be a room name (not empty)");
  let room: CanonicalRoom;
  try {
    room = canonicalRoom(options.room, "room"); // the segment the client turns into exactly the token's room claim
  } catch (error) {
    if (error instanceof RoomNameError) throw new MeetingUrlError("room", error.problems[0]?.message ?? "is not a room name");
    throw error;
  }
  if (options.tenant !== undefined && !isTenant(options.tenant)) {
    throw new MeetingUrlError("tenant", "must be letters, digits and inner hyphens (one DNS label, at most 63 characters)");
  }
  const placement = options.tokenIn ?? "hash";
  if (!["hash", "query", "both"].includes(placement)) throw new MeetingUrlError("tokenIn", 'must be "hash", "query" or "both"');
  if (options.token !== undefined && !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(options.token)) {
    throw new MeetingUrlError("token", "must be a compact JWT");
  }
  const tenant = options.tenant ? `/${options.tenant}` : "";
  let url = `${base}${tenant}/${room.linkSegment}`;
  if (options.token !== undefined && placement !== "hash") url += `?jwt=${options.token}`;
  const hash: string[] = [];
  // A compact JWT (checked above) is ASCII that neither JSON nor encodeURIComponent changes: `jwt=%22TOKEN%22`.
  if (options.token !== undefined && placement !== "query") hash.push(`jwt=%22${options.token}%22`);
  if (options.config !== undefined) hash.push(...prefixed("config", options.config));
  if (options.interfaceConfig !== undefined) hash.push(...prefixed("interfaceConfig", options.interfaceConfig));
  if (options.userInfo !== undefined) hash.push(...prefixed("userInfo", options.userInfo));
  if (hash.length > 0) url += `#${hash.join("&")}`;
  return url;
}
