/**
 * verifyToken: local verification with the server's rules (algorithm pinned, typ "JWT", integer exp/nbf, no clock
 * leeway unless asked for) plus issuer, subject and room. Errors say which check failed.
 */
import { KeyObject } from "node:crypto";
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import type { JitsiTokenClaims, JitsiTokenHeader, SigningAlgorithm } from "./claims.ts";
import { hmacCryptoKey, rsaPublicKey, type HmacCryptoKey, type PublicKeyInput } from "./keys.ts";
import { ANY_ROOM } from "./roomName.ts";
import { roomTarget } from "./roomTarget.ts";

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

async function resolveKey(key: VerificationKey): Promise<{ alg: SigningAlgorithm; key: HmacCryptoKey | KeyObject }> {
  try {
    if (typeof key === "string") return { alg: "HS256", key: await hmacCryptoKey(key) };
    if (key instanceof KeyObject) return { alg: "RS256", key: rsaPublicKey(key) };
    if (typeof key === "object" && key !== null && "secret" in key) return { alg: "HS256", key: await hmacCryptoKey(key.secret) };
    if (typeof key === "object" && key !== null && "publicKey" in key) return { alg: "RS256", key: rsaPublicKey(key.publicKey) };
  } catch (error) {
    throw new TokenVerificationError("key", error instanceof Error ? error.message : "unusable key");
  }
  throw new TokenVerificationError("key", "give a secret string, {secret}, {publicKey} or an RSA KeyObject");
}

function fromJoseError(error: unknown): TokenVerificationError {
  if (error instanceof joseErrors.JWTExpired) return new TokenVerificationError("exp", "the token has expired");
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const claim = error.claim as VerificationCheck;
    const check: VerificationCheck = ["exp", "nbf", "iss", "aud", "sub", "typ"].includes(claim) ? claim : "claims";
    const what = error.reason === "missing" ? "is missing" : error.reason === "invalid" ? "has the wrong type" : "failed its check";
    return new TokenVerificationError(check, `the ${error.claim} claim ${what}${check === "nbf" ? " (not valid yet)" : ""}`);
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return new TokenVerificationError("signature", "the signature does not match the key");
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return new TokenVerificationError("alg", "algorithm not allowed");
  if (error instanceof joseErrors.JWTInvalid || error instanceof joseErrors.JWSInvalid) return new TokenVerificationError("format", error.message);
  return new TokenVerificationError("format", "not a readable compact JWT");
}

function asSubList(sub: string | readonly string[]): string[] {
  return (typeof sub === "string" ? [sub] : [...sub]).map((s) => s.toLowerCase());
}

export async function verifyToken(token: string, key: VerificationKey, expectations: VerifyExpectations): Promise<VerifiedToken> {
  if (typeof token !== "string" || token.length === 0) throw new TokenVerificationError("format", "no token given");
  const { alg, key: resolved } = await resolveKey(key);
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new TokenVerificationError("format", "not a compact JWT (three base64url segments with a JSON header)");
  }
  if (header.typ !== "JWT") throw new TokenVerificationError("typ", `header typ is ${JSON.stringify(header.typ)}; Prosody requires exactly "JWT"`);
  if (header.alg !== alg) throw new TokenVerificationError("alg", `header alg is ${JSON.stringify(header.alg)}; expected ${alg}`);
  let payload: JWTPayload;
  try {
    const nowMs = expectations.now instanceof Date ? expectations.now.getTime() : expectations.now;
    ({ payload } = await jwtVerify(token, resolved, {
      algorithms: [alg],
      typ: "JWT",
      issuer: expectations.appId,
      ...(expectations.audience === undefined ? {} : { audience: expectations.audience }),
      requiredClaims: ["iss", "aud", "sub"],
      clockTolerance: expectations.clockToleranceSeconds ?? 0,
      ...(nowMs === undefined ? {} : { currentDate: new Date(nowMs) }),
    }));
  } catch (error) {
    throw fromJoseError(error);
  }
  if (typeof payload.sub !== "string") throw new TokenVerificationError("sub", "the sub claim must be a string");
  if (expectations.sub !== undefined) {
    const accepted = asSubList(expectations.sub);
    const sub = payload.sub.toLowerCase();
    if (sub !== "*" && !accepted.includes(sub)) {
      throw new TokenVerificationError("sub", `sub is ${JSON.stringify(payload.sub)}; expected ${accepted.map((s) => JSON.stringify(s)).join(" or ")} or "*"`);
    }
  }
  const roomClaim = (payload as { room?: unknown }).room;
  if (typeof roomClaim !== "string") throw new TokenVerificationError("room", "the room claim is missing or not a string");
  if (expectations.room !== undefined) {
    const wanted = roomTarget(expectations.room).node;
    const claimed = roomClaim.toLowerCase();
    if (claimed !== ANY_ROOM && claimed !== wanted) {
      throw new TokenVerificationError("room", `the token is for room ${JSON.stringify(roomClaim)}, not ${JSON.stringify(wanted)}`);
    }
  }
  return { header: header as JitsiTokenHeader, claims: payload as unknown as JitsiTokenClaims };
}
