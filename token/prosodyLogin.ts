/**
 * The login-time checks of Jitsi's Prosody token auth (mod_auth_token → token/util.lib.lua
 * process_and_verify_token → luajwtjitsi verify), evaluated in the server's order with the server's texts.
 * Decoded JSON is read the way Lua sees it: null is cjson.null (truthy, not indexable), false counts as absent,
 * and numbers are floats (so the expiry text prints "12.0").
 */
import type { Finding, HostProfile, Verdict } from "./explainTypes.ts";
import { decodeJws, fromUrl64, verifyJwsSignature } from "./jws.ts";
import { rsaPublicKey } from "./keys.ts";
import { looksLikeMilliseconds, SECONDS_FIX } from "./timeClaims.ts";

/** A decoded token the way the server holds it after parsing (undefined = not decodable). */
export interface ParsedToken {
  header: unknown;
  payload: unknown;
}

/** Thrown when the server itself would raise a Lua error (e.g. indexing a JSON number): the login fails. */
class ServerCrash extends Error {}

export function luaIndex(value: unknown, key: string): unknown {
  if (typeof value === "string") return undefined; // string library lookup: none of the claim names we read
  if (typeof value === "object" && value !== null) return (value as Record<string, unknown>)[key];
  throw new ServerCrash(`attempt to index a ${value === null ? "null" : typeof value} value`);
}

/** Lua's string.lower in the C locale: only ASCII letters change (JavaScript's toLowerCase changes all of Unicode). */
export function luaLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

export function luaTruthy(value: unknown): boolean {
  return value !== undefined && value !== false;
}

/** Lua 5.4 tostring() of a float: %.14g, plus ".0" when it looks like an integer. */
export function luaFloatText(value: number): string {
  if (Number.isNaN(value)) return value < 0 ? "-nan" : "nan";
  if (!Number.isFinite(value)) return value < 0 ? "-inf" : "inf";
  let text = value.toPrecision(14);
  if (text.includes("e")) {
    const [mantissa = "", exponent = ""] = text.split("e");
    const m = mantissa.includes(".") ? mantissa.replace(/\.?0+$/, "") : mantissa;
    const sign = exponent.startsWith("-") ? "-" : "+";
    text = `${m}e${sign}${exponent.replace(/^[+-]/, "").padStart(2, "0")}`;
  } else if (text.includes(".")) {
    text = text.replace(/\.?0+$/, "");
  }
  return /^-?\d+$/.test(text) ? `${text}.0` : text;
}

function signatureMatches(alg: string, signingInput: string, signature: Buffer, profile: HostProfile, kid: unknown): boolean {
  if (alg.startsWith("HS")) return profile.secret !== undefined && verifyJwsSignature(alg, signingInput, signature, { secret: profile.secret });
  const pem = typeof kid === "string" ? profile.publicKeys?.[kid] : undefined;
  if (pem === undefined) return false;
  let publicKey: ReturnType<typeof rsaPublicKey>;
  try {
    publicKey = rsaPublicKey(pem);
  } catch {
    return false;
  }
  return verifyJwsSignature(alg, signingInput, signature, { publicKey });
}

export interface LoginResult {
  findings: Finding[];
  verdict: Verdict;
  parsed: ParsedToken | null;
  /** Whether the session carries a token (join rules differ for token-less sessions). */
  hasToken: boolean;
}

export function expectedAlgorithm(profile: HostProfile): string {
  return profile.signatureAlgorithm ?? (profile.publicKeys ? "RS256" : "HS256");
}

export function evaluateLogin(token: string | undefined, profile: HostProfile, nowSeconds: number): LoginResult {
  const findings: Finding[] = [];
  let parsed: ParsedToken | null = null;
  const pass = (check: string, detail: string) => findings.push({ check, stage: "login", ok: true, detail, fix: "" });
  const fail = (check: string, detail: string, fix: string, serverText?: string): LoginResult => {
    findings.push({ check, stage: "login", ok: false, detail, fix, ...(serverText === undefined ? {} : { serverText }) });
    return { findings, verdict: { ok: false, check, ...(serverText === undefined ? {} : { serverText }) }, parsed, hasToken: true };
  };

  if (token === undefined || token.length === 0) {
    if (profile.allowEmptyToken) {
      findings.push({ check: "token", stage: "login", ok: true, detail: "no token; allow_empty_token lets the session in", fix: "" });
      return { findings, verdict: { ok: true }, parsed, hasToken: false };
    }
    findings.push({ check: "token", stage: "login", ok: false, detail: "no token given", fix: "Pass the token: ?token= on the XMPP WebSocket/BOSH URL (the web client does this from #jwt= / ?jwt=)", serverText: "token required" });
    return { findings, verdict: { ok: false, check: "token", serverText: "token required" }, parsed, hasToken: false };
  }
  pass("token", "a token is present");

  try {
    const alg = expectedAlgorithm(profile);
    const asap = profile.publicKeys !== undefined;
    if (asap) {
      // ASAP mode reads kid/alg from the header before full verification, with its own texts.
      const dot = token.indexOf(".");
      const headerBytes = dot < 0 ? null : fromUrl64(token.slice(0, dot));
      if (headerBytes === null) return fail("asap-header", "cannot read the header before the first '.'", "Send a compact JWS: header.payload.signature", "Invalid token");
      let headerValue: unknown;
      try {
        headerValue = JSON.parse(headerBytes.toString("utf8"));
      } catch {
        return fail("asap-header", "the header is not JSON", "Send a compact JWS with a JSON header", "bad token format");
      }
      const kid = luaIndex(headerValue, "kid");
      if (kid === undefined) return fail("kid", "the header has no kid", "Set kid in the header to the key id the key server knows", "'kid' claim is missing");
      const hAlg = luaIndex(headerValue, "alg");
      if (hAlg === undefined) return fail("alg", "the header has no alg", `Set alg to ${alg}`, "'alg' claim is missing");
      if (typeof hAlg !== "string") throw new ServerCrash("alg is not a string");
      if (hAlg.slice(0, 2) !== "RS") return fail("alg", `alg ${hAlg} with a kid; this server uses RSA keys`, `Sign with ${alg} and the ASAP private key`, "'kid' claim only support with RS family");
      if (typeof kid !== "string" || profile.publicKeys?.[kid] === undefined) {
        return fail("kid", `no public key for kid ${JSON.stringify(kid)}`, "Publish the public key at <asap_key_server>/<sha256hex(kid)>.pem, or use the kid it is published under", "could not obtain public key");
      }
      pass("kid", `public key found for kid ${kid}`);
    } else if (profile.secret === undefined) {
      return fail("key", "the profile has neither app_secret nor public keys; the signature cannot be checked", "Give explain the secret (JITSI_APP_SECRET or --stack)", "signature verification key is missing");
    }

    const decoded = decodeJws(token);
    if (!decoded.ok) {
      if (decoded.header !== undefined) parsed = { header: decoded.header, payload: undefined };
      const fixes = {
        format: "Send header.payload.signature, nothing else (no 'Bearer ', no quotes)",
        header: "Encode the header as base64url JSON",
        payload: "Encode the claims as base64url JSON",
        signature: "Encode the signature as base64url without padding",
      };
      return fail(decoded.part, decoded.detail, fixes[decoded.part], decoded.serverText);
    }
    parsed = { header: decoded.header, payload: decoded.payload };
    pass("format", "three base64url segments with JSON header and payload");
    const crit = luaIndex(decoded.header, "crit");
    if (crit !== undefined) {
      pass("crit", `header crit ${JSON.stringify(crit)}: the server ignores it (so does verifyToken); libraries that follow RFC 7515 strictly, such as jose, refuse the token`);
    }

    const typ = luaIndex(decoded.header, "typ");
    if (typ !== "JWT") return fail("typ", `header typ is ${JSON.stringify(typ) ?? "missing"}`, 'Set the header to {"alg": ..., "typ": "JWT"} (jose: setProtectedHeader({ alg, typ: "JWT" }))', "Invalid typ");
    pass("typ", 'header typ is "JWT"');

    const hAlg = luaIndex(decoded.header, "alg");
    if (hAlg !== alg) return fail("alg", `header alg is ${JSON.stringify(hAlg) ?? "missing"}; the server expects ${alg} (signature_algorithm)`, `Sign with ${alg}`, "Invalid or incorrect alg");
    pass("alg", `header alg is ${alg}`);

    if (!signatureMatches(alg, decoded.signingInput, decoded.signature, profile, luaIndex(decoded.header, "kid"))) {
      return fail("signature", "the signature does not match the server's key", "Sign with the deployment's app_secret (exact bytes: no trailing newline) or its private key", "Invalid signature");
    }
    pass("signature", "signature matches the server's key");

    const body = decoded.payload;
    const exp = luaIndex(body, "exp");
    const nbf = luaIndex(body, "nbf");
    if (luaTruthy(exp) && typeof exp !== "number") return fail("exp", `exp is ${JSON.stringify(exp)}, not a number`, "Use integer seconds since the epoch", "exp must be number");
    if (luaTruthy(nbf) && typeof nbf !== "number") return fail("nbf", `nbf is ${JSON.stringify(nbf)}, not a number`, "Use integer seconds since the epoch", "nbf must be number");
    if (typeof exp === "number" && nowSeconds >= exp) {
      const iat = luaIndex(body, "iat");
      let validFor = "";
      if (luaTruthy(iat)) {
        const iatNumber = typeof iat === "number" ? iat : typeof iat === "string" && iat.trim() !== "" && Number.isFinite(Number(iat)) ? Number(iat) : NaN;
        if (Number.isNaN(iatNumber)) throw new ServerCrash("iat is not numeric");
        validFor = `, valid for:${luaFloatText(exp - iatNumber)} sec`;
      }
      const text = `Not acceptable by exp (${luaFloatText(nowSeconds - exp)} sec since expired${validFor})`;
      return fail("exp", `expired ${nowSeconds - exp} s ago (the server allows no leeway)`, "Mint a fresh token; make exp cover the meeting plus reconnects", text);
    }
    pass(
      "exp",
      exp === undefined || exp === false
        ? "no exp (the server does not require one; the web client does)"
        : looksLikeMilliseconds(exp)
          ? `exp ${exp} is in milliseconds: the server reads it as seconds, so the token never expires (see time-units)`
          : `valid for ${Number(exp) - nowSeconds} more s`,
    );
    if (typeof nbf === "number" && nowSeconds < nbf) {
      if (looksLikeMilliseconds(nbf)) {
        return fail("nbf", `nbf ${nbf} is in milliseconds: the server compares it with seconds since the epoch, so it is never reached and every login is refused`, SECONDS_FIX, "Not acceptable by nbf");
      }
      return fail("nbf", `not valid for another ${nbf - nowSeconds} s`, "Backdate nbf (e.g. now - 30 s): the server allows no clock skew", "Not acceptable by nbf");
    }
    pass("nbf", "not before a time already passed");

    const issuers = profile.acceptedIssuers ?? [profile.appId];
    const iss = luaIndex(body, "iss");
    if (iss === undefined) return fail("iss", "no iss claim", `Set iss to the app_id (${profile.appId})`, "'iss' claim is missing");
    if (!issuers.some((a) => a === "*" || a === iss)) return fail("iss", `iss ${JSON.stringify(iss)} is not an accepted issuer (${issuers.join(", ")})`, `Set iss to ${JSON.stringify(profile.appId)} or add it to asap_accepted_issuers`, "invalid 'iss' claim");
    pass("iss", `iss ${JSON.stringify(iss)} is accepted`);

    const audiences = profile.acceptedAudiences ?? ["*"];
    const aud = luaIndex(body, "aud");
    if (aud === undefined) return fail("aud", "no aud claim", 'Set aud (e.g. "jitsi")', "'aud' claim is missing");
    if (!audiences.some((a) => a === "*" || a === aud)) return fail("aud", `aud ${JSON.stringify(aud)} is not accepted (${audiences.join(", ")})`, `Set aud to one of ${audiences.join(", ")}`, "invalid 'aud' claim");
    pass("aud", `aud ${JSON.stringify(aud)} is accepted`);

    if (profile.requireRoomClaim !== false && luaIndex(body, "room") === undefined) {
      return fail("room", "no room claim (asap_require_room_claim)", 'Set room to the backend-safe room name or "*"', "room claim is missing");
    }
    pass("room", "room claim present");
    if (luaIndex(body, "sub") === undefined) return fail("sub", "no sub claim", "Set sub to the XMPP domain, the tenant or \"*\"", "sub claim is missing");
    pass("sub", "sub claim present");
    const context = luaIndex(body, "context");
    if (context !== undefined) {
      luaIndex(context, "tenant"); // a non-table context makes the server raise here
    }
    return { findings, verdict: { ok: true }, parsed, hasToken: true };
  } catch (error) {
    if (!(error instanceof ServerCrash)) throw error;
    return fail("server-error", `the server's token code raises an error on this token (${error.message})`, "Send a JSON object header and payload with claims of the documented types");
  }
}
