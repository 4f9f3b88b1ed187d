/** mintToken: a Jitsi meeting token that Prosody's token auth and the web client both accept. */
import type { JitsiTokenClaims, JitsiTokenHeader, JitsiUserClaim } from "./claims.ts";
import { assertTokenFitsConnection } from "./connectionLimit.ts";
import { featureClaims } from "./features.ts";
import { HS256_HEADER, signCompact } from "./jws.ts";
import { hmacKey, rsaPrivateKey } from "./keys.ts";
import { parseMintOptions, type MintTokenOptions, type SeedTokenOptions, type ValidMintOptions } from "./options.ts";
import { ANY_ROOM, normalizeRoomName } from "./roomName.ts";

/** Builds the claims for already-validated options (exported for explain/tests; mintToken is the entry point). */
export function buildClaims(o: ValidMintOptions): JitsiTokenClaims {
  const nowMs = o.now === undefined ? Date.now() : o.now instanceof Date ? o.now.getTime() : o.now;
  // Prosody requires integer seconds and compares with os.time(): fractions would only confuse logs.
  const iat = Math.floor(nowMs / 1000);
  const moderator = o.moderator === true;
  const user: JitsiUserClaim = {
    id: o.user.id,
    name: o.user.name,
    moderator: moderator ? "true" : "false",
    affiliation: moderator ? "owner" : "member",
  };
  if (o.user.email) user.email = o.user.email;
  if (o.user.avatar) user.avatar = o.user.avatar;
  if (o.lobbyBypass) user.lobby_bypass = true;
  if (o.securityBypass) user.security_bypass = true;
  const claims: JitsiTokenClaims = {
    iss: o.appId,
    aud: o.audience,
    // For /TENANT/room URLs the server compares sub with the tenant, lowercased; otherwise with the XMPP domain.
    sub: o.tenant ? o.tenant.toLowerCase() : o.domain,
    // The wildcard only on explicit request; a room name is normalised and can never become "*".
    room: o.allRooms === true ? ANY_ROOM : normalizeRoomName(o.room ?? ""),
    iat,
    nbf: iat - o.notBeforeSkewSeconds,
    exp: iat + o.ttlSeconds,
    context: { user },
    moderator,
  };
  if (o.group) claims.context.group = o.group;
  if (o.features) claims.context.features = featureClaims(o.features);
  return claims;
}

/** The header for a validated option set: exactly {alg, typ} or {alg, typ, kid}. */
export function buildHeader(o: ValidMintOptions): Readonly<JitsiTokenHeader> {
  return o.privateKey !== undefined ? { alg: "RS256", typ: "JWT", kid: o.kid } : HS256_HEADER;
}

/**
 * Mints a token. Accepts the structured options or the seed guide's flat names (roomName, userId, userName,
 * userEmail, userAvatar, moderator, expiresIn). Signing is synchronous node:crypto (HMAC-SHA256 or RSA-SHA256, see
 * mintTokenSync); the Promise is the API's shape, not a sign of I/O. The module needs node:crypto (Node, Bun, Deno).
 *
 * @param options - signing settings (appId, domain, secret or privateKey + kid) and the token's contents.
 * @returns the compact JWS (`header.payload.signature`), valid for `ttlSeconds` (default 7200 s).
 * @throws TokenOptionsError, KeyError or RoomNameError naming the field.
 * @example
 * const token = await mintToken({ appId: "myapp", secret, domain: "meet.example.com", room: "Weekly Sync",
 *   user: { id: "u1", name: "Ada" }, moderator: true });
 */
export async function mintToken(options: MintTokenOptions | SeedTokenOptions): Promise<string> {
  return mintTokenSync(options);
}

/** Synchronous core of mintToken, also returning the claims (the handler reports exp without re-decoding). */
export function mintTokenWithClaims(options: MintTokenOptions | SeedTokenOptions): { token: string; claims: JitsiTokenClaims } {
  const o = parseMintOptions(options);
  const key = o.privateKey !== undefined ? rsaPrivateKey(o.privateKey) : hmacKey(o.secret as string);
  const claims = buildClaims(o);
  const token = signCompact(buildHeader(o), claims, key);
  assertTokenFitsConnection(token, claims.room, o.tenant);
  return { token, claims };
}

export function mintTokenSync(options: MintTokenOptions | SeedTokenOptions): string {
  return mintTokenWithClaims(options).token;
}
