/**
 * verifyToken: local verification by the server's rules. The token is decoded exactly as explainToken and Prosody
 * decode it (token/jws.ts: `.`/`\\` separators, `=` ignored in base64url, unknown header fields such as `crit`
 * ignored), then: typ "JWT", algorithm pinned to the key, signature, exp (required, as the web client requires it)
 * and nbf with no clock leeway unless asked for, time claims in seconds, iss, aud, sub and room. Errors say which
 * check failed. jose is not used here: it applies RFC 7515 strictly (refusing `crit`, padding), so verify would
 * disagree with the server that decides.
 */
import { KeyObject } from "node:crypto";
import type { JitsiTokenClaims, JitsiTokenHeader, SigningAlgorithm } from "./claims.ts";
import { decodeJws, verifyJwsSignature } from "./jws.ts";
import { hmacKey, rsaPublicKey, type PublicKeyInput } from "./keys.ts";
import { ANY_ROOM } from "./roomName.ts";
import { roomTarget } from "./roomTarget.ts";
import { looksLikeMilliseconds, SECONDS_FIX } from "./timeClaims.ts";

export type VerificationCheck = "format" | "typ" | "alg" | "signature" | "exp" | "nbf" | "iss" | "aud" | "sub" | "room" | "claims" | "key";

export class TokenVerificationError extends Error {
  override readonly name = "TokenVerificationError";
  constructor(
    readonly check: VerificationCheck,
    message: string,
  ) {
    super(`${check}: ${message}`);
  }
}

/** A shared secret (HS256), `{secret}`, `{publicKey}` (RS256) or an RSA KeyObject. */
export type VerificationKey = string | KeyObject | { secret: string } | { publicKey: PublicKeyInput };

export interface VerifyExpectations {
  /** Expected `iss` (Prosody app_id). */
  appId: string;
  /** Accepted `sub` values besides "*": the XMPP domain and/or a tenant. Omit to skip the check. */
  sub?: string | readonly string[];
  /**
   * The room the token must open (a room name as given to mintToken, or a meeting link): its claim must be the node
   * the web client joins for it, or "*". Omit to skip. A name that names no room throws RoomNameError.
   */
  room?: string;
  /** Expected `aud`; by default any (Prosody's default `asap_accepted_audiences` is "*"), but it must exist. */
  audience?: string;
  now?: Date | number;
  /** Leeway for exp/nbf; 0 by default because Prosody allows none. */
  clockToleranceSeconds?: number;
}

export interface VerifiedToken {
  header: JitsiTokenHeader;
  claims: JitsiTokenClaims;
}

function resolveKey(key: VerificationKey): { alg: SigningAlgorithm; key: { secret: KeyObject } | { publicKey: KeyObject } } {
  try {
    if (typeof key === "string") return { alg: "HS256", key: { secret: hmacKey(key) } };
    if (key instanceof KeyObject) return { alg: "RS256", key: { publicKey: rsaPublicKey(key) } };
    if (typeof key === "object" && key !== null && "secret" in key) return { alg: "HS256", key: { secret: hmacKey(key.secret) } };
    if (typeof key === "object" && key !== null && "publicKey" in key) return { alg: "RS256", key: { publicKey: rsaPublicKey(key.publicKey) } };
  } catch (error) {
    throw new TokenVerificationError("key", error instanceof Error ? error.message : "unusable key");
  }
  throw new TokenVerificationError("key", "give a secret string, {secret}, {publicKey} or an RSA KeyObject");
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A time claim the server reads: absent (undefined) or a number of seconds; anything else fails `check`. */
function timeClaim(payload: Record<string, unknown>, name: "exp" | "nbf"): number | undefined {
  const value = payload[name];
  // The server treats false (and absence) as "no claim"; null is truthy in Lua and not a number.
  if (value === undefined || value === false) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) throw new TokenVerificationError(name, `the ${name} claim is ${JSON.stringify(value)}, not a number of seconds since the epoch`);
  if (looksLikeMilliseconds(value)) {
    const effect = name === "exp" ? "the server would never expire the token" : "the server would never let it in";
    throw new TokenVerificationError(name, `the ${name} claim ${value} is in milliseconds; ${effect}. ${SECONDS_FIX}`);
  }
  return value;
}

function asSubList(sub: string | readonly string[]): string[] {
  return (typeof sub === "string" ? [sub] : [...sub]).map((s) => s.toLowerCase());
}

/**
 * Verifies `token` with `key` against `expectations`.
 * @throws TokenVerificationError whose `check` names the failed check ("format", "typ", "alg", "signature", "exp",
 * "nbf", "iss", "aud", "sub", "room", "claims" or "key").
 */
export async function verifyToken(token: string, key: VerificationKey, expectations: VerifyExpectations): Promise<VerifiedToken> {
  if (typeof token !== "string" || token.length === 0) throw new TokenVerificationError("format", "no token given");
  const { alg, key: resolved } = resolveKey(key);
  const decoded = decodeJws(token);
  if (!decoded.ok) throw new TokenVerificationError("format", `${decoded.detail} (the server answers "${decoded.serverText}")`);
  const header = asRecord(decoded.header);
  if (header === undefined) throw new TokenVerificationError("format", "the header is not a JSON object");
  if (header.typ !== "JWT") throw new TokenVerificationError("typ", `header typ is ${JSON.stringify(header.typ)}; Prosody requires exactly "JWT"`);
  if (header.alg !== alg) throw new TokenVerificationError("alg", `header alg is ${JSON.stringify(header.alg)}; expected ${alg}`);
  if (!verifyJwsSignature(alg, decoded.signingInput, decoded.signature, resolved)) throw new TokenVerificationError("signature", "the signature does not match the key");
  const payload = asRecord(decoded.payload);
  if (payload === undefined) throw new TokenVerificationError("claims", "the payload is not a JSON object");

  const nowMs = expectations.now === undefined ? Date.now() : expectations.now instanceof Date ? expectations.now.getTime() : expectations.now;
  const now = Math.floor(nowMs / 1000);
  const leeway = expectations.clockToleranceSeconds ?? 0;
  const exp = timeClaim(payload, "exp");
  const nbf = timeClaim(payload, "nbf");
  if (exp === undefined) throw new TokenVerificationError("exp", "the exp claim is missing (the web client refuses a token without one)");
  if (now >= exp + leeway) throw new TokenVerificationError("exp", "the token has expired");
  if (nbf !== undefined && now + leeway < nbf) throw new TokenVerificationError("nbf", "the nbf claim is in the future (not valid yet)");

  if (payload.iss === undefined) throw new TokenVerificationError("iss", "the iss claim is missing");
  if (payload.iss !== expectations.appId) throw new TokenVerificationError("iss", `iss is ${JSON.stringify(payload.iss)}; expected ${JSON.stringify(expectations.appId)}`);
  const aud = payload.aud;
  if (aud === undefined) throw new TokenVerificationError("aud", "the aud claim is missing");
  if (expectations.audience !== undefined && aud !== expectations.audience && !(Array.isArray(aud) && aud.includes(expectations.audience))) {
    throw new TokenVerificationError("aud", `aud is ${JSON.stringify(aud)}; expected ${JSON.stringify(expectations.audience)}`);
  }
  if (typeof payload.sub !== "string") throw new TokenVerificationError("sub", "the sub claim must be a string");
  if (expectations.sub !== undefined) {
    const accepted = asSubList(expectations.sub);
    const sub = payload.sub.toLowerCase();
    if (sub !== "*" && !accepted.includes(sub)) {
      throw new TokenVerificationError("sub", `sub is ${JSON.stringify(payload.sub)}; expected ${accepted.map((s) => JSON.stringify(s)).join(" or ")} or "*"`);
    }
  }
  const roomClaim = payload.room;
  if (typeof roomClaim !== "string") throw new TokenVerificationError("room", "the room claim is missing or not a string");
  if (expectations.room !== undefined) {
    const target = roomTarget(expectations.room);
    const wanted = target.node;
    // A tenant link (https://host/TENANT/room): the server compares sub with the tenant (domain verification).
    const sub = payload.sub.toLowerCase();
    if (target.tenant !== undefined && sub !== "*" && sub !== target.tenant.toLowerCase()) {
      throw new TokenVerificationError("sub", `sub is ${JSON.stringify(payload.sub)}; the link's tenant is ${JSON.stringify(target.tenant)}`);
    }
    const claimed = roomClaim.toLowerCase();
    if (claimed !== ANY_ROOM && claimed !== wanted) {
      throw new TokenVerificationError("room", `the token is for room ${JSON.stringify(roomClaim)}, not ${JSON.stringify(wanted)}`);
    }
  }
  return { header: header as unknown as JitsiTokenHeader, claims: payload as unknown as JitsiTokenClaims };
}
