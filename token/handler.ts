/**
 * createTokenHandler: a Web-standard token endpoint, `(Request) => Promise<Response>` (Next.js route handlers,
 * Hono, Bun, Deno; node:http/Express through toNodeHandler). The request only names the room (and tenant);
 * who the user is and whether they moderate come from `authorize`, never from the body.
 * Bad input is a 400 naming the field; responses never carry stack traces or key material.
 */
import { KeyError } from "./keys.ts";
import { meetingUrl, type TokenPlacement } from "./meetingUrl.ts";
import { mintTokenSync, mintTokenWithClaims } from "./mint.ts";
import { isTenant } from "../templates/names.ts";
import { TokenOptionsError, type MintTokenOptions, type TokenSigningConfig, type TokenUser } from "./options.ts";
import { normalizeRoomName, RoomNameError } from "./roomName.ts";

export interface AuthorizeContext {
  request: Request;
  /** The room as requested (what the user sees). */
  roomName: string;
  /** Its backend-safe form (what the token will carry). */
  room: string;
  tenant?: string;
}

/** What the signed-in user may do in the requested room: the per-user part of the mint options. */
export type TokenGrant = Pick<MintTokenOptions, "user" | "moderator" | "features" | "group" | "lobbyBypass" | "securityBypass" | "ttlSeconds">;

export interface TokenDenial {
  status: 401 | 403;
  message?: string;
}

/** A grant, a denial, or null/undefined (= 401: not signed in). */
export type AuthorizeResult = TokenGrant | TokenDenial | null | undefined;

export interface TokenHandlerLogEntry {
  level: "info" | "warn" | "error";
  event: "issued" | "denied" | "bad-request" | "authorize-failed" | "grant-invalid";
  status: number;
  room?: string;
  userId?: string;
  field?: string;
}

export interface TokenHandlerOptions extends TokenSigningConfig {
  /** Accepted (and ignored) so `{ ...await loadTokenConfig(), authorize }` works. */
  algorithm?: string;
  source?: string;
  guestDomain?: string;
  authorize: (context: AuthorizeContext) => AuthorizeResult | Promise<AuthorizeResult>;
  /** When set, responses include a meeting `url` on this base. */
  baseUrl?: string;
  tokenIn?: TokenPlacement;
  ttlSeconds?: number;
  maxTtlSeconds?: number;
  notBeforeSkewSeconds?: number;
  /** Request bodies above this are refused with 413 (default 4096). */
  maxBodyBytes?: number;
  /** Receives one entry per request: no token, no secret, no stack. */
  log?: (entry: TokenHandlerLogEntry) => void;
}

export interface TokenResponseBody {
  token: string;
  room: string;
  expiresAt: string;
  url?: string;
}

const SIGNING_KEYS = ["appId", "domain", "secret", "privateKey", "kid", "audience", "ttlSeconds", "maxTtlSeconds", "notBeforeSkewSeconds"] as const;
const GRANT_KEYS = ["moderator", "features", "group", "lobbyBypass", "securityBypass", "ttlSeconds"] as const;
const REQUEST_FIELDS = new Set(["room", "roomName", "tenant"]);
/** Fields a naive client (like the seed guide's) sends; refused loudly so nobody believes they have an effect. */
const IDENTITY_FIELDS = new Set(["userId", "userName", "userEmail", "userAvatar", "user", "moderator", "features", "group", "lobbyBypass", "securityBypass", "ttlSeconds", "expiresIn"]);
const MAX_ROOM_LENGTH = 256;

class BadRequest extends Error {
  constructor(
    readonly status: number,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** A response before it becomes a Web Response (the node adapter writes it directly, skipping two streams). */
export interface PlainResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function json(status: number, body: unknown, extra: Record<string, string> = {}): PlainResponse {
  return { status, headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...extra }, body: JSON.stringify(body) };
}

/**
 * The handler's core takes the request with its body already read as text. Web callers go through the
 * Request → Response wrapper; toNodeHandler calls the core directly (found under this symbol), which roughly
 * halves the per-request cost on node:http because no body streams are created.
 */
export const PLAIN_TOKEN_HANDLER = Symbol.for("jitsi-token.plainHandler");
export type PlainTokenHandler = (request: Request, bodyText: () => Promise<string>) => Promise<PlainResponse>;
export type TokenHandler = ((request: Request) => Promise<Response>) & { [PLAIN_TOKEN_HANDLER]: PlainTokenHandler };

function checkBodyHeaders(headers: Headers, maxBytes: number): void {
  const type = headers.get("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) throw new BadRequest(415, "content-type", "content-type must be application/json");
  const declared = Number(headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw new BadRequest(413, "body", `body is larger than ${maxBytes} bytes`);
}

function parseBody(text: string, maxBytes: number): Record<string, unknown> {
  if (Buffer.byteLength(text, "utf8") > maxBytes) throw new BadRequest(413, "body", `body is larger than ${maxBytes} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BadRequest(400, "body", "body must be a JSON object");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new BadRequest(400, "body", "body must be a JSON object");
  return parsed as Record<string, unknown>;
}

function roomRequest(body: Record<string, unknown>): { roomName: string; room: string; tenant?: string } {
  for (const key of Object.keys(body)) {
    if (IDENTITY_FIELDS.has(key)) throw new BadRequest(400, key, `${key} is not accepted from the request; identity and rights come from the server's authorize()`);
    if (!REQUEST_FIELDS.has(key)) throw new BadRequest(400, key, `${key} is not a known field (send room and optionally tenant)`);
  }
  if ("room" in body && "roomName" in body) throw new BadRequest(400, "room", "send room or roomName, not both");
  const field = "roomName" in body ? "roomName" : "room";
  const roomName = body[field];
  if (typeof roomName !== "string" || roomName.trim().length === 0) throw new BadRequest(400, field, `${field} must be a non-empty string`);
  if (roomName.length > MAX_ROOM_LENGTH) throw new BadRequest(400, field, `${field} must be at most ${MAX_ROOM_LENGTH} characters`);
  if (roomName === "*") throw new BadRequest(400, field, `${field} must name one room; "*" cannot be requested`);
  let room: string;
  try {
    room = normalizeRoomName(roomName, field);
  } catch (error) {
    throw new BadRequest(400, field, error instanceof RoomNameError ? error.message : `${field} is not a valid room name`);
  }
  const tenant = body.tenant;
  if (tenant === undefined) return { roomName, room };
  // The one tenant rule nginx and Prosody's muc_domain_mapper can serve (templates/names.ts TENANT_PATTERN).
  if (typeof tenant !== "string" || !isTenant(tenant)) {
    throw new BadRequest(400, "tenant", "tenant must be letters, digits and inner hyphens (one DNS label, at most 63 characters)");
  }
  return { roomName, room, tenant };
}

/** The listed fields that are set: options and grants are often spreads of bigger records (a config, a user row). */
function pickDefined<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) picked[key] = source[key];
  return picked;
}

/** Only the identity fields: authorize often hands back a whole user record. */
function pickUser(user: TokenUser): TokenUser {
  const picked: TokenUser = { id: user?.id, name: user?.name };
  if (user?.email !== undefined) picked.email = user.email;
  if (user?.avatar !== undefined) picked.avatar = user.avatar;
  return picked;
}

function isDenial(result: AuthorizeResult): result is TokenDenial {
  return typeof result === "object" && result !== null && "status" in result;
}

export function createTokenHandler(options: TokenHandlerOptions): TokenHandler {
  const { authorize, baseUrl, tokenIn, maxBodyBytes = 4096, log = () => {} } = options;
  // Only the signing settings reach mintToken: options often is a spread of loadTokenConfig()'s result, whose
  // extra fields (algorithm, source, guestDomain) are not mint options.
  const mintDefaults = pickDefined(options, SIGNING_KEYS);
  if (typeof authorize !== "function") {
    throw new TokenOptionsError([{ field: "authorize", message: "is required: a function deciding who gets a token for which room" }]);
  }
  // Fail at start-up, not on the first request, if the signing config is unusable.
  const probe = { ...mintDefaults, room: "probe", user: { id: "probe", name: "probe" } } as MintTokenOptions;
  mintTokenSync(probe);
  if (baseUrl !== undefined) meetingUrl({ base: baseUrl, room: "probe" });

  const plain: PlainTokenHandler = async (request, bodyText) => {
    let room: string | undefined;
    try {
      if (request.method !== "POST") return json(405, { error: "use POST" }, { allow: "POST" });
      checkBodyHeaders(request.headers, maxBodyBytes);
      let text: string;
      try {
        text = await bodyText();
      } catch {
        throw new BadRequest(400, "body", "body could not be read");
      }
      const wanted = roomRequest(parseBody(text, maxBodyBytes));
      room = wanted.room;
      let result: AuthorizeResult;
      try {
        result = await authorize({ request, ...wanted });
      } catch {
        log({ level: "error", event: "authorize-failed", status: 500, room });
        return json(500, { error: "authorization failed" });
      }
      if (result === null || result === undefined || isDenial(result)) {
        const status = result?.status === 403 ? 403 : 401;
        log({ level: "info", event: "denied", status, room });
        return json(status, { error: result?.message ?? (status === 401 ? "sign in first" : "not allowed in this room") });
      }
      const grant = result;
      let minted: ReturnType<typeof mintTokenWithClaims>;
      try {
        minted = mintTokenWithClaims({
          ...mintDefaults,
          ...pickDefined(grant, GRANT_KEYS),
          ...(wanted.tenant === undefined ? {} : { tenant: wanted.tenant }),
          room: wanted.roomName,
          user: pickUser(grant.user),
        } as MintTokenOptions);
      } catch (error) {
        // authorize() returned something unusable: a server bug, reported by field name only.
        const field = error instanceof TokenOptionsError || error instanceof KeyError ? error.field : undefined;
        log({ level: "error", event: "grant-invalid", status: 500, room, ...(field === undefined ? {} : { field }) });
        return json(500, { error: "could not issue a token" });
      }
      const { token } = minted;
      const body: TokenResponseBody = { token, room, expiresAt: new Date(minted.claims.exp * 1000).toISOString() };
      if (baseUrl !== undefined) {
        body.url = meetingUrl({ base: baseUrl, room: wanted.roomName, token, ...(wanted.tenant === undefined ? {} : { tenant: wanted.tenant }), ...(tokenIn === undefined ? {} : { tokenIn }) });
      }
      log({ level: "info", event: "issued", status: 200, room, userId: grant.user.id });
      return json(200, body);
    } catch (error) {
      if (error instanceof BadRequest) {
        log({ level: "warn", event: "bad-request", status: error.status, field: error.field, ...(room === undefined ? {} : { room }) });
        return json(error.status, { error: error.message, field: error.field });
      }
      log({ level: "error", event: "bad-request", status: 400 });
      return json(400, { error: "request could not be processed" });
    }
  };
  const web = async (request: Request): Promise<Response> => {
    const out = await plain(request, () => request.text());
    return new Response(out.body, { status: out.status, headers: out.headers });
  };
  return Object.assign(web, { [PLAIN_TOKEN_HANDLER]: plain });
}
