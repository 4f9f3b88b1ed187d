import { createPrivateKey, type KeyObject } from "node:crypto";
import fc from "fast-check";
import { jwtVerify } from "jose";
import jwt from "jsonwebtoken";
import { describe, expect, it } from "vitest";
import { JITSI_FEATURES, KeyError, mintToken, normalizeRoomName, TokenOptionsError, verifyToken } from "../../token/index.ts";
import { decodePart, DOMAIN, rsaPair, SECRET, SIGNING, USER, APP_ID } from "./fixtures.ts";

type VerifyKey = string | KeyObject;

/**
 * The independent oracles: every token minted here must pass jsonwebtoken's verification and jose's (RFC 7515/7519,
 * strict; the package itself verifies by the server's own decoding rules instead), and both must read the same
 * header and claims.
 */
async function oracle(token: string, key: VerifyKey, algorithm: "HS256" | "RS256", nowMs = Date.now()): Promise<jwt.JwtPayload> {
  const claims = jwt.verify(token, key, { algorithms: [algorithm], issuer: APP_ID, audience: "jitsi", clockTimestamp: Math.floor(nowMs / 1000) }) as jwt.JwtPayload;
  const jose = await jwtVerify(token, typeof key === "string" ? new TextEncoder().encode(key) : key, { algorithms: [algorithm], issuer: APP_ID, audience: "jitsi", currentDate: new Date(nowMs) });
  expect(jose.payload).toEqual(claims);
  expect(jose.protectedHeader).toEqual(decodePart(token, 0));
  return claims;
}

/** mintToken with the HS256 fixture's signing settings; the token's claims as both oracles verified them. */
async function mintVerified(options: Record<string, unknown>, nowMs?: number): Promise<jwt.JwtPayload> {
  return oracle(await mintToken({ ...SIGNING, user: USER, ...options } as never), SECRET, "HS256", nowMs);
}

describe("mintToken", () => {
  it("emits the header and claims Prosody requires", async () => {
    const now = Date.UTC(2030, 0, 1);
    const token = await mintToken({ ...SIGNING, room: "Team Sync", user: { ...USER, email: "ada@example.test" }, now });
    expect(Object.keys(decodePart(token, 0))).toEqual(["alg", "typ"]);
    expect(decodePart(token, 0)).toEqual({ alg: "HS256", typ: "JWT" });
    const claims = await oracle(token, SECRET, "HS256", now);
    const iat = now / 1000;
    expect(claims).toMatchObject({ iss: APP_ID, aud: "jitsi", sub: DOMAIN, room: "team%20sync", iat, nbf: iat - 30, exp: iat + 7200, moderator: false });
    expect(claims.context).toEqual({ user: { id: "user-1", name: "Ada Lovelace", email: "ada@example.test", moderator: "false", affiliation: "member" } });
  });

  it("makes moderators owners in both conventions and keeps the seed's top-level flag", async () => {
    const claims = await mintVerified({ room: "r", moderator: true });
    expect(claims.context).toMatchObject({ user: { moderator: "true", affiliation: "owner" } });
    expect(claims.moderator).toBe(true);
  });

  it("types every claim the way the server reads it: user strings, feature strings, bypass booleans", async () => {
    const claims = (await mintVerified({ room: "r", features: { recording: true, "screen-sharing": false }, lobbyBypass: true, securityBypass: true, group: "g1" })) as unknown as { context: { user: Record<string, unknown>; features: Record<string, unknown>; group: string } };
    expect(claims.context.features).toEqual({ recording: "true", "screen-sharing": "false" });
    expect(claims.context.user.lobby_bypass).toBe(true);
    expect(claims.context.user.security_bypass).toBe(true);
    expect(claims.context.group).toBe("g1");
    for (const [k, v] of Object.entries(claims.context.user)) if (!k.endsWith("_bypass")) expect(typeof v).toBe("string");
  });

  it("uses the tenant (lowercased) as sub", async () => {
    expect((await mintVerified({ tenant: "Acme", room: "r" })).sub).toBe("acme");
  });

  it("accepts the seed guide's option names", async () => {
    const token = await mintToken({ ...SIGNING, roomName: "Fireteam 1", userId: "u9", userName: "Ann", userEmail: "", userAvatar: "https://a.test/x.png", moderator: true, expiresIn: 3600 });
    const claims = await oracle(token, SECRET, "HS256");
    expect(claims.room).toBe("fireteam%201");
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(claims.context).toEqual({ user: { id: "u9", name: "Ann", avatar: "https://a.test/x.png", moderator: "true", affiliation: "owner" } });
  });

  it("can mint already-expired tokens via now", async () => {
    const token = await mintToken({ ...SIGNING, room: "r", user: USER, now: new Date(Date.now() - 3 * 3600_000), ttlSeconds: 60 });
    expect(() => jwt.verify(token, SECRET, { algorithms: ["HS256"] })).toThrow(/expired/);
    await expect(jwtVerify(token, new TextEncoder().encode(SECRET), { algorithms: ["HS256"] })).rejects.toMatchObject({ code: "ERR_JWT_EXPIRED" });
    // As of the instant it was minted for, both oracles accept it.
    await oracle(token, SECRET, "HS256", Date.now() - 3 * 3600_000);
  });

  it.each([
    [{ ttlSeconds: 0 }, "ttlSeconds"],
    [{ ttlSeconds: 86_401 }, "ttlSeconds"],
    [{ ttlSeconds: 10, maxTtlSeconds: 5 }, "ttlSeconds"],
    [{ features: { teleport: true } }, "features.teleport"],
    [{ features: { recording: "yes" } }, "features.recording"],
    [{ user: { id: 5, name: "x" } }, "user.id"],
    [{ user: { id: "x", name: "" } }, "user.name"],
    [{ room: "" }, "room"],
    [{ tenant: "a/b" }, "tenant"],
    [{ kid: "k" }, "kid"],
    [{ colour: "red" }, "colour"],
    [{ roomName: "x", room: "y" }, "room"],
  ])("rejects %j naming %s", async (patch, field) => {
    const error = await mintToken({ ...SIGNING, room: "r", user: USER, ...patch } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenOptionsError);
    expect((error as TokenOptionsError).issues.map((i) => i.field)).toContain(field);
  });

  it("rejects weak or sloppy secrets without echoing them", async () => {
    for (const secret of ["short", `${SECRET}\n`, ` ${SECRET}`]) {
      const error = await mintToken({ ...SIGNING, secret, room: "r", user: USER }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeyError);
      expect(String(error)).not.toContain(secret.trim());
    }
  });

  it("signs RS256 with kid from PKCS#8 and PKCS#1 PEM and from a KeyObject", async () => {
    const { privateKey, publicKey } = rsaPair();
    const inputs = [privateKey.export({ type: "pkcs8", format: "pem" }) as string, privateKey.export({ type: "pkcs1", format: "pem" }) as string, privateKey];
    for (const key of inputs) {
      const token = await mintToken({ appId: APP_ID, domain: DOMAIN, privateKey: key, kid: "asap-key-1", room: "r", user: USER });
      expect(decodePart(token, 0)).toEqual({ alg: "RS256", typ: "JWT", kid: "asap-key-1" });
      expect((await oracle(token, publicKey, "RS256")).room).toBe("r");
    }
  });

  it("refuses RSA keys under 2048 bits and non-RSA keys", async () => {
    const { privateKey } = rsaPair(1024);
    await expect(mintToken({ appId: APP_ID, domain: DOMAIN, privateKey, kid: "k", room: "r", user: USER })).rejects.toThrow(/1024-bit/);
    const ec = createPrivateKey({ key: (await import("node:crypto")).generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }), format: "pem" });
    await expect(mintToken({ appId: APP_ID, domain: DOMAIN, privateKey: ec, kid: "k", room: "r", user: USER })).rejects.toThrow(/RSA/);
  });

  it("round-trips through verifyToken, jsonwebtoken and jose for arbitrary users, rooms and features", async () => {
    const text = fc.string({ unit: "grapheme", minLength: 1, maxLength: 24 });
    await fc.assert(
      fc.asyncProperty(
        text.filter((s) => {
          try {
            return normalizeRoomName(s) !== "";
          } catch {
            return false; // refused names have their own tests (roomName.test.ts)
          }
        }),
        text,
        text,
        fc.boolean(),
        fc.dictionary(fc.constantFrom(...JITSI_FEATURES), fc.boolean()),
        fc.integer({ min: 1, max: 86_400 }),
        async (room, id, name, moderator, features, ttlSeconds) => {
          const token = await mintToken({ ...SIGNING, room, user: { id, name }, moderator, features, ttlSeconds });
          const verified = await verifyToken(token, SECRET, { appId: APP_ID, sub: DOMAIN, room });
          expect(verified.claims.context.user).toMatchObject({ id, name, moderator: String(moderator) });
          const claims = await oracle(token, SECRET, "HS256");
          expect(claims.exp! - claims.iat!).toBe(ttlSeconds);
          expect(claims.context.features ?? {}).toEqual(Object.fromEntries(Object.entries(features).map(([k, v]) => [k, String(v)])));
        },
      ),
      { numRuns: 300 },
    );
  });
});
