/**
 * The token endpoint. One transport-neutral core (tokenEndpoint: method, headers and body text in; status, headers and
 * body text out) behind two entry points: createTokenHandler, a Web-standard `(Request) => Promise<Response>`
 * (Next.js route handlers, Hono, Bun, Deno; node:http and Express through toNodeHandler), and
 * createNodeTokenHandler (nodeTokenHandler.ts), node:http's `(req, res)` without Fetch objects. The request only
 * names the room (and tenant); who the user is and whether they moderate come from `authorize`, never from the body.
 *
 * Answers: 200 with the token; 400/405/408/413/415 for a bad request, 401/403 from authorize, 500 for a server
 * fault (authorize threw, its grant is unusable, anything unexpected). Every refusal uses the project's one error
 * vocabulary (httpProblem.ts); no answer or log entry carries a stack, a token's secret or key material.
 */
import { KeyError } from "./keys.ts";
import { meetingUrl, type TokenPlacement } from "./meetingUrl.ts";
import { mintTokenSync, mintTokenWithClaims } from "./mint.ts";
import { isTenant } from "./shared/names.ts";
import { TokenOptionsError, type MintTokenOptions, type TokenSigningConfig, type TokenUser } from "./options.ts";
import { normalizeRoomName, RoomNameError } from "./roomName.ts";
import { corsPolicy } from "./cors.ts";
import { HttpProblem, JSON_HEADERS, problemBody } from "./httpProblem.ts";
import { checkJsonBodyHeaders, DEFAULT_MAX_BODY_BYTES, readBodyText, type RequestHead } from "./requestBody.ts";

export interface AuthorizeContext {
  /**
   * The request, for its headers (session cookie, Authorization), URL and method. Its body is the endpoint's: from
   * createTokenHandler it is the Request as received, body already read; from createNodeTokenHandler a Request
   * built from the node:http request on first access (method, URL, every header as sent, no body).
   */
  readonly request: Request;
  /**
   * The request's headers, answering as `request.headers.get` does (name any case, repeated lines joined, null when
   * absent): what most authorize functions read (a session cookie, Authorization). Reading them here, without
   * touching `request` (destructuring `({ request })` reads it), spares createNodeTokenHandler building a Request.
   */
  readonly headers: { get(name: string): string | null };
  /** The room as requested (what the user sees). */
  roomName: string;
  /** Its backend-safe form (what the token will carry). */
  room: string;
  /** The tenant the request names (`/TENANT/room`); authorize must grant it explicitly (TokenGrant.tenant). */
  tenant?: string;
}

/**
 * What the signed-in user may do in the requested room: the per-user part of the mint options. `tenant` must be
 * returned, equal to the requested one, for a request that names a tenant: the body is the client's word, so a
 * grant that does not name the tenant (an authorize written for rooms only) is answered 403, never a token for
 * another tenant's room.
 */
export type TokenGrant = Pick<MintTokenOptions, "user" | "moderator" | "features" | "group" | "lobbyBypass" | "securityBypass" | "ttlSeconds"> & {
  tenant?: string;
};

export interface TokenDenial {
  status: 401 | 403;
  message?: string;
}

/** A grant, a denial, or null/undefined (= 401: not signed in). */
export type AuthorizeResult = TokenGrant | TokenDenial | null | undefined;

/**
 * One entry per request. `internal-error` is a fault of the server (never of the client): the handler answered 500;
 * `errorName` is the thrown value's class name only (never its message, which may quote a secret).
 */
export interface TokenHandlerLogEntry {
  level: "info" | "warn" | "error";
  event: "issued" | "denied" | "bad-request" | "preflight" | "authorize-failed" | "grant-invalid" | "internal-error";
  status: number;
  room?: string;
  userId?: string;
  /** The tenant of the request, when it names one. */
  tenant?: string;
  field?: string;
  errorName?: string;
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
  /**
   * Request bodies above this many bytes are refused with 413 (default 4096, DEFAULT_MAX_BODY_BYTES): on a declared
   * Content-Length before reading, on a streamed body as soon as the count passes it. createNodeTokenHandler
   * enforces it too, and toNodeHandler uses the same limit unless told otherwise.
   */
  maxBodyBytes?: number;
  /**
   * Origins (`https://app.example.com`, exactly as browsers send Origin) whose pages may call the endpoint
   * cross-origin. Default: none, the endpoint is same-origin and sends no CORS header. Listed origins get their
   * preflight answered (POST with authorization and content-type headers) and Access-Control-Allow-Origin with
   * credentials on every answer.
   */
  allowedOrigins?: readonly string[];
  /** Receives one entry per request: no token, no secret, no stack. */
  log?: (entry: TokenHandlerLogEntry) => void;
}

export interface TokenResponseBody {
  token: string;
  room: string;
  expiresAt: string;
  url?: string;
}

/**
 * The endpoint as a Web handler, plus the body limit it enforces and the logger of refusals answered before it runs
 * (both read by toNodeHandler, so its 413/408 agree with the handler and are logged like the handler's own).
 */
export type TokenHandler = ((request: Request) => Promise<Response>) & { readonly maxBodyBytes: number; readonly logRefusal: (problem: HttpProblem) => void };

const SIGNING_KEYS = ["appId", "domain", "secret", "privateKey", "kid", "audience", "ttlSeconds", "maxTtlSeconds", "notBeforeSkewSeconds"] as const;
const GRANT_KEYS = ["moderator", "features", "group", "lobbyBypass", "securityBypass", "ttlSeconds"] as const;
const REQUEST_FIELDS = new Set(["room", "roomName", "tenant"]);
/** Fields a naive client (like the seed guide's) sends; refused loudly so nobody believes they have an effect. */
const IDENTITY_FIELDS = new Set(["userId", "userName", "userEmail", "userAvatar", "user", "moderator", "features", "group", "lobbyBypass", "securityBypass", "ttlSeconds", "expiresIn"]);
const MAX_ROOM_LENGTH = 256;

/** A refusal of the request itself (400, 405, 413, 415): the field at fault and what is allowed. */
class BadRequest extends HttpProblem {}

function parseBody(text: string): Record<string, unknown> {
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
    throw new BadRequest(400, field, error instanceof RoomNameError ? (error.problems[0]?.message ?? error.message) : `${field} is not a valid room name`);
  }
  const tenant = body.tenant;
  if (tenant === undefined) return { roomName, room };
  // The one tenant rule nginx and Prosody's muc_domain_mapper can serve (token/shared/names.ts TENANT_PATTERN).
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

function checkMaxBodyBytes(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_BODY_BYTES;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 64) {
    throw new TokenOptionsError([{ field: "maxBodyBytes", message: "must be a whole number of bytes, at least 64" }]);
  }
  return value;
}

/**
 * authorize's argument. `request` is an accessor (on the prototype) calling the entry point's `request()` when read;
 * a failure to build it that is the client's fault (an HttpProblem) is remembered for the handler.
 */
class Context implements AuthorizeContext {
  readonly roomName: string;
  readonly room: string;
  readonly tenant?: string;
  readonly headers: AuthorizeContext["headers"];
  readonly #build: () => Request;
  #unusable: HttpProblem | undefined;
  constructor(wanted: { roomName: string; room: string; tenant?: string }, headers: AuthorizeContext["headers"], build: () => Request) {
    this.roomName = wanted.roomName;
    this.room = wanted.room;
    if (wanted.tenant !== undefined) this.tenant = wanted.tenant;
    this.headers = headers;
    this.#build = build;
  }
  get request(): Request {
    try {
      return this.#build();
    } catch (error) {
      if (error instanceof HttpProblem) this.#unusable = error;
      throw error;
    }
  }
  /** The client's fault that kept `context.request` from being built, if reading it failed (not on the instance
   * authorize sees). */
  static unusable(context: Context): HttpProblem | undefined {
    return context.#unusable;
  }
}

/** An answer of the endpoint, transport-neutral: status, headers (none repeated), body text (null: none). */
export interface EndpointAnswer {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: string | null;
}

/**
 * What an entry point hands the core for one request: its head, a reader of its body (called at most once, after
 * the header checks; it enforces the body limit and decoding, throwing HttpProblem 400/413), and the Request for
 * authorize (called only when authorize reads `request`).
 */
export interface EndpointRequest {
  head: RequestHead;
  readBody: () => string | Promise<string>;
  request: () => Request;
}

/** The core: the checked options' answer to each request. Never throws (a fault is a 500 answer). */
export interface TokenEndpoint {
  readonly maxBodyBytes: number;
  answer(request: EndpointRequest): Promise<EndpointAnswer>;
  /** Logs a refusal an entry point answered itself (413 and 408 while the body arrives), like the core's own. */
  logRefusal(problem: HttpProblem): void;
}

function answerOf(status: number, headers: Readonly<Record<string, string>>, body: string | null): EndpointAnswer {
  return { status, headers, body };
}

function problemAnswer(problem: HttpProblem, extra?: Record<string, string>): EndpointAnswer {
  return answerOf(problem.status, extra === undefined ? JSON_HEADERS : { ...JSON_HEADERS, ...extra }, problemBody(problem));
}

/**
 * The endpoint's core, shared by createTokenHandler and createNodeTokenHandler. Checks the signing settings,
 * baseUrl and allowedOrigins at once (a probe mint), so a bad config fails at start-up rather than on the first
 * request.
 * @throws TokenOptionsError / KeyError naming the option (authorize missing, weak secret, bad origin, ...).
 */
export function tokenEndpoint(options: TokenHandlerOptions): TokenEndpoint {
  // Without a log option no entry is built at all (log?.(…) skips its argument).
  const { authorize, baseUrl, tokenIn, log } = options;
  const maxBodyBytes = checkMaxBodyBytes(options.maxBodyBytes);
  // Only the signing settings reach mintToken: options often is a spread of loadTokenConfig()'s result, whose
  // extra fields (algorithm, source, guestDomain) are not mint options.
  const mintDefaults = pickDefined(options, SIGNING_KEYS);
  if (typeof authorize !== "function") {
    throw new TokenOptionsError([{ field: "authorize", message: "is required: a function deciding who gets a token for which room" }]);
  }
  const cors = corsPolicy(options.allowedOrigins);
  const allow = cors === undefined ? "POST" : "POST, OPTIONS";
  const probe = { ...mintDefaults, room: "probe", user: { id: "probe", name: "probe" } } as MintTokenOptions;
  mintTokenSync(probe);
  // tokenIn too: a bad placement is a start-up error, not a 500 on every request.
  if (baseUrl !== undefined) meetingUrl({ base: baseUrl, room: "probe", ...(tokenIn === undefined ? {} : { tokenIn }) });

  const respond = async ({ head, readBody, request }: EndpointRequest, corsHeaders: Record<string, string> | undefined): Promise<EndpointAnswer> => {
    const refuse = (problem: HttpProblem, extra?: Record<string, string>) => problemAnswer(problem, corsHeaders === undefined ? extra : { ...corsHeaders, ...extra });
    let room: string | undefined;
    try {
      if (cors?.isPreflight(head)) {
        const answer = cors.preflight(head);
        log?.({ level: answer.status === 204 ? "info" : "warn", event: "preflight", status: answer.status, ...(answer.refused ? { field: answer.refused.field } : {}) });
        if (answer.refused) return problemAnswer(new HttpProblem(403, answer.refused.field, answer.refused.message), answer.headers);
        return answerOf(204, answer.headers, null);
      }
      if (head.method !== "POST") throw new BadRequest(405, "method", `${head.method} is not allowed; use POST`);
      checkJsonBodyHeaders(head.headers, maxBodyBytes);
      // A body or grant already at hand is not awaited: each await is a trip through the microtask queue.
      const text = readBody();
      const wanted = roomRequest(parseBody(typeof text === "string" ? text : await text));
      room = wanted.room;
      let result: AuthorizeResult;
      const context = new Context(wanted, head.headers, request);
      try {
        const answer = authorize(context);
        result = typeof (answer as PromiseLike<AuthorizeResult> | null)?.then === "function" ? await answer : (answer as AuthorizeResult);
      } catch (error) {
        // A request authorize cannot have (createNodeTokenHandler: Host and path make no URL) is the client's fault.
        const unusable = Context.unusable(context);
        if (unusable !== undefined) throw unusable;
        log?.({ level: "error", event: "authorize-failed", status: 500, room, errorName: errorName(error) });
        return refuse(new HttpProblem(500, "authorize", "authorization failed; the server's log has the details"));
      }
      if (result === null || result === undefined || isDenial(result)) {
        const status = result?.status === 403 ? 403 : 401;
        log?.({ level: "info", event: "denied", status, room });
        return refuse(new HttpProblem(status, "authorization", result?.message ?? (status === 401 ? "sign in first" : "not allowed in this room")));
      }
      const grant = result;
      if (wanted.tenant !== grant.tenant) {
        log?.({ level: "info", event: "denied", status: 403, room, ...(wanted.tenant === undefined ? {} : { tenant: wanted.tenant }) });
        return refuse(new HttpProblem(403, "tenant", wanted.tenant === undefined ? "the grant names a tenant the request did not ask for" : "this tenant was not granted: authorize() must return the requested tenant"));
      }
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
        log?.({ level: "error", event: "grant-invalid", status: 500, room, errorName: errorName(error), ...(field === undefined ? {} : { field }) });
        return refuse(new HttpProblem(500, "grant", "could not issue a token; the server's log has the details"));
      }
      const { token } = minted;
      const body: TokenResponseBody = { token, room, expiresAt: new Date(minted.claims.exp * 1000).toISOString() };
      if (baseUrl !== undefined) {
        body.url = meetingUrl({ base: baseUrl, room: wanted.roomName, token, ...(wanted.tenant === undefined ? {} : { tenant: wanted.tenant }), ...(tokenIn === undefined ? {} : { tokenIn }) });
      }
      log?.({ level: "info", event: "issued", status: 200, room, userId: grant.user.id, ...(wanted.tenant === undefined ? {} : { tenant: wanted.tenant }) });
      return answerOf(200, corsHeaders === undefined ? JSON_HEADERS : { ...JSON_HEADERS, ...corsHeaders }, JSON.stringify(body));
    } catch (error) {
      if (error instanceof HttpProblem) {
        log?.(badRequestEntry(error, room));
        return refuse(error, error.status === 405 ? { allow } : undefined);
      }
      // Anything else is our fault, not the client's: 500 with its own event, no message (it may quote a secret).
      log?.({ level: "error", event: "internal-error", status: 500, errorName: errorName(error), ...(room === undefined ? {} : { room }) });
      return refuse(new HttpProblem(500, "server", "the token endpoint failed; the server's log has the details"));
    }
  };
  const logRefusal = (problem: HttpProblem) => log?.(badRequestEntry(problem));
  return { maxBodyBytes, answer: (request) => respond(request, cors?.headersFor(request.head)), logRefusal };
}

/**
 * Builds the endpoint as a Web handler: `(Request) => Promise<Response>`.
 * @throws TokenOptionsError / KeyError naming the option (authorize missing, weak secret, bad origin, ...).
 */
export function createTokenHandler(options: TokenHandlerOptions): TokenHandler {
  const endpoint = tokenEndpoint(options);
  const { maxBodyBytes } = endpoint;
  const handler = async (request: Request): Promise<Response> => {
    const { status, headers, body } = await endpoint.answer({ head: request, readBody: () => readBodyText(request, maxBodyBytes), request: () => request });
    return new Response(body, { status, headers });
  };
  return Object.assign(handler, { maxBodyBytes, logRefusal: endpoint.logRefusal });
}

/** The log entry of a refused request: its status and the field at fault (and the room, once known). */
export function badRequestEntry(problem: HttpProblem, room?: string): TokenHandlerLogEntry {
  return { level: "warn", event: "bad-request", status: problem.status, field: problem.field, ...(room === undefined ? {} : { room }) };
}

/** The class name of a thrown value, for the log: never its message or stack. */
function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
