/** Issue 10 item 5a: time claims in milliseconds — explain says what the server will do, and the fix. */
import { describe, expect, it } from "vitest";
import { explainToken, TokenVerificationError, verifyToken } from "../../token/index.ts";
import { APP_ID, DOMAIN, forge, HS_PROFILE, SECRET } from "./fixtures.ts";

const NOW_MS = Date.UTC(2026, 0, 1);
const NOW = NOW_MS / 1000;
const HS = { alg: "HS256", typ: "JWT" };
const CLAIMS = { iss: APP_ID, aud: "jitsi", sub: DOMAIN, room: "team", iat: NOW - 60, nbf: NOW - 90, exp: NOW + 3600, context: { user: { id: "u", name: "n" } } };
const explain = async (patch: object) => explainToken(await forge(HS, { ...CLAIMS, ...patch }), HS_PROFILE, { now: NOW_MS, room: "team" });

describe("time claims in milliseconds", () => {
  it("exp in ms: the server lets the token in for ever; explain fails time-units with the fix", async () => {
    const result = await explain({ exp: NOW_MS + 3_600_000 });
    expect(result.login.ok).toBe(true);
    expect(result.join?.ok).toBe(true);
    expect(result.find((f) => f.check === "exp")?.detail).toMatch(/milliseconds.*never expires/);
    const units = result.find((f) => f.check === "time-units");
    expect(units).toMatchObject({ ok: false, stage: "client", detail: expect.stringMatching(/^exp in milliseconds.*never expires/) });
    expect(units?.fix).toMatch(/seconds since the epoch/);
  });

  it("nbf in ms: every login is refused with the server's text; explain says why and how to fix it", async () => {
    const result = await explain({ nbf: NOW_MS - 90_000 });
    expect(result.login).toMatchObject({ ok: false, check: "nbf", serverText: "Not acceptable by nbf" });
    const nbf = result.find((f) => f.check === "nbf");
    expect(nbf?.detail).toMatch(/milliseconds.*never reached/);
    expect(nbf?.fix).toMatch(/seconds since the epoch/);
  });

  it("iat in ms is flagged too; seconds, and the edge of the plausible range, are not", async () => {
    expect((await explain({ iat: NOW_MS })).find((f) => f.check === "time-units")?.detail).toMatch(/^iat in milliseconds/);
    expect((await explain({})).find((f) => f.check === "time-units")).toBeUndefined();
    expect((await explain({ exp: 99_999_999_999 })).find((f) => f.check === "time-units")).toBeUndefined();
  });

  it("verify refuses both, naming the claim and the fix", async () => {
    for (const [claim, patch] of [["exp", { exp: NOW_MS + 3_600_000 }], ["nbf", { nbf: NOW_MS - 90_000 }]] as const) {
      const error = await verifyToken(await forge(HS, { ...CLAIMS, ...patch }), SECRET, { appId: APP_ID, now: NOW_MS }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenVerificationError);
      expect(error).toMatchObject({ check: claim, message: expect.stringMatching(/milliseconds.*seconds since the epoch/) });
    }
  });
});
