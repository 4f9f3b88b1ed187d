import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { explainToken, mintToken, TokenVerificationError, verifyToken } from "../../token/index.ts";
import { APP_ID, HS_PROFILE, SECRET, SIGNING, USER } from "./fixtures.ts";

const b64 = (v: string) => Buffer.from(v).toString("base64url");

/** Token-shaped junk: random strings, random segment counts, random JSON in each segment, mutated real tokens. */
const junkTokens = (good: string) =>
  fc.oneof(
    fc.string({ unit: "binary", maxLength: 120 }),
    fc.array(fc.string({ maxLength: 30 }), { maxLength: 5 }).map((parts) => parts.join(".")),
    fc.tuple(fc.jsonValue(), fc.jsonValue(), fc.string({ maxLength: 40 })).map(([h, p, s]) => `${b64(JSON.stringify(h))}.${b64(JSON.stringify(p))}.${s}`),
    fc.tuple(fc.nat({ max: good.length - 1 }), fc.string({ minLength: 1, maxLength: 3 })).map(([i, s]) => good.slice(0, i) + s + good.slice(i + 1)),
    fc.dictionary(fc.constantFrom("iss", "aud", "sub", "room", "exp", "nbf", "iat", "context"), fc.jsonValue()).map((p) => `${b64('{"alg":"HS256","typ":"JWT"}')}.${b64(JSON.stringify(p))}.sig`),
  );

describe("malformed input never crashes verify or explain", () => {
  it("verifyToken only ever throws TokenVerificationError", async () => {
    const good = await mintToken({ ...SIGNING, room: "r", user: USER });
    await fc.assert(
      fc.asyncProperty(junkTokens(good), async (token) => {
        try {
          await verifyToken(token, SECRET, { appId: APP_ID, room: "r" });
        } catch (error) {
          expect(error).toBeInstanceOf(TokenVerificationError);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it("explainToken always returns findings with a verdict, failing exactly when a login check fails", async () => {
    const good = await mintToken({ ...SIGNING, room: "r", user: USER });
    fc.assert(
      fc.property(junkTokens(good), fc.constantFrom(undefined, "r", "other"), (token, room) => {
        const result = explainToken(token, HS_PROFILE, room === undefined ? {} : { room });
        expect(result.length).toBeGreaterThan(0);
        expect(result.login.ok).toBe(result.filter((f) => f.stage === "login").every((f) => f.ok));
        if (room === undefined) expect(result.join).toBeNull();
        else expect(typeof result.join?.ok).toBe("boolean");
        for (const f of result) expect(typeof f.detail).toBe("string");
      }),
      { numRuns: 1500 },
    );
  });
});
