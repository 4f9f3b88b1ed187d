/**
 * Issue 10 item 5d: verifyToken and explainToken decode tokens by one set of rules (token/jws.ts, the server's).
 * Each token in the table goes through both; their answers must agree, and be the right one for its kind.
 */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { explainToken, mintToken, TokenVerificationError, verifyToken, type VerificationCheck } from "../../token/index.ts";
import { APP_ID, DOMAIN, HS_PROFILE, SECRET, SIGNING, USER } from "./fixtures.ts";

const NOW_MS = Date.UTC(2026, 0, 1);
const NOW = NOW_MS / 1000;
const HS = { alg: "HS256", typ: "JWT" };
const CLAIMS = { iss: APP_ID, aud: "jitsi", sub: DOMAIN, room: "team", iat: NOW - 60, nbf: NOW - 90, exp: NOW + 3600, context: { user: { id: "u", name: "n" } } };

const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const mac = (input: string) => createHmac("sha256", SECRET).update(input).digest("base64url");
/** A token over `header` and `payload`, the signature computed on `h.p`, then the segments joined with `sep`. */
function token(header: unknown, payload: unknown, sep = "."): string {
  const [h, p] = [b64(header), b64(payload)];
  return [h, p, mac(`${h}.${p}`)].join(sep);
}
const good = () => token(HS, CLAIMS);
/** The same signature bytes written with different unused low bits in its last base64url character. */
function nonCanonicalSignature(t: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = alphabet.indexOf(t.slice(-1));
  return t.slice(0, -1) + alphabet.charAt(last ^ 1);
}

/** [kind, token, accepted?, the check verifyToken names when it refuses]. */
const TABLE: [string, () => string | Promise<string>, boolean, VerificationCheck?][] = [
  ["a minted token", () => mintToken({ ...SIGNING, room: "team", user: USER, now: NOW_MS }), true],
  ["a crit header (the server ignores it)", () => token({ ...HS, crit: ["exp"] }, CLAIMS), true],
  ["crit with b64:false (ignored; the payload is still base64url JSON)", () => token({ ...HS, b64: false, crit: ["b64"] }, CLAIMS), true],
  ["a padded signature", () => `${good()}=`, true],
  ["padding inside a signed segment (the signature covers the segment as written)", () => good().replace(".", "=."), false, "signature"],
  ["a non-canonical last base64url character in the signature", () => nonCanonicalSignature(good()), true],
  ["backslashes as separators", () => token(HS, CLAIMS, "\\"), true],
  ["an empty segment (it vanishes)", () => good().replace(".", ".."), true],
  ["a 'Bearer ' prefix", () => `Bearer ${good()}`, false, "format"],
  ["four segments", () => `${good()}.x`, false, "format"],
  ["two segments", () => good().split(".").slice(0, 2).join("."), false, "format"],
  ["standard base64 characters in the signature", () => `${good().slice(0, -2)}+/`, false, "format"],
  ["a header that is not JSON", () => token("{nope", CLAIMS), false, "format"],
  ["alg none", () => token({ alg: "none", typ: "JWT" }, CLAIMS), false, "alg"],
  ["typ in lower case", () => token({ alg: "HS256", typ: "jwt" }, CLAIMS), false, "typ"],
  ["another secret", () => good().slice(0, good().lastIndexOf(".") + 1) + createHmac("sha256", `${SECRET}x`).update(good().slice(0, good().lastIndexOf("."))).digest("base64url"), false, "signature"],
  ["exp null", () => token(HS, { ...CLAIMS, exp: null }), false, "exp"],
  ["exp as a string", () => token(HS, { ...CLAIMS, exp: String(CLAIMS.exp) }), false, "exp"],
  ["no exp (the web client requires one)", () => token(HS, { ...CLAIMS, exp: undefined }), false, "exp"],
  ["exp false (absent to the server, invalid to the client)", () => token(HS, { ...CLAIMS, exp: false }), false, "exp"],
  ["exp in milliseconds (never expires)", () => token(HS, { ...CLAIMS, exp: (NOW + 3600) * 1000 }), false, "exp"],
  ["nbf in milliseconds (never reached)", () => token(HS, { ...CLAIMS, nbf: NOW_MS }), false, "nbf"],
  ["expired", () => token(HS, { ...CLAIMS, exp: NOW - 1 }), false, "exp"],
  ["nbf in the future", () => token(HS, { ...CLAIMS, nbf: NOW + 10 }), false, "nbf"],
  ["another issuer", () => token(HS, { ...CLAIMS, iss: "other" }), false, "iss"],
  ["no aud", () => token(HS, { ...CLAIMS, aud: undefined }), false, "aud"],
  ["no room", () => token(HS, { ...CLAIMS, room: undefined }), false, "room"],
  ["no sub", () => token(HS, { ...CLAIMS, sub: undefined }), false, "sub"],
];

/** explain's answer to "would this token work": the server's login verdict and the web client's time checks. */
function explainAccepts(t: string): boolean {
  const result = explainToken(t, HS_PROFILE, { now: NOW_MS });
  return result.login.ok && !result.some((f) => !f.ok && ["client-exp", "client-nbf", "time-units"].includes(f.check));
}

async function verifyAnswer(t: string): Promise<true | VerificationCheck> {
  try {
    await verifyToken(t, SECRET, { appId: APP_ID, now: NOW_MS });
    return true;
  } catch (error) {
    if (error instanceof TokenVerificationError) return error.check;
    throw error;
  }
}

describe("verify and explain decode by the same rules", () => {
  it.each(TABLE)("%s", async (_kind, make, accepted, check) => {
    const t = await make();
    expect(explainAccepts(t)).toBe(accepted);
    expect(await verifyAnswer(t)).toBe(accepted ? true : check);
  });

  it("explain notes a crit header the server ignores", () => {
    const crit = explainToken(token({ ...HS, crit: ["exp"] }, CLAIMS), HS_PROFILE, { now: NOW_MS }).find((f) => f.check === "crit");
    expect(crit).toMatchObject({ ok: true, detail: expect.stringMatching(/ignores it.*jose/) });
  });
});
