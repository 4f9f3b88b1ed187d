import { describe, expect, it } from "vitest";
import { mintToken, TokenVerificationError, verifyToken, type VerificationCheck } from "../../token/index.ts";
import { APP_ID, DOMAIN, forge, rsaPair, SECRET, SIGNING, USER } from "./fixtures.ts";

async function failure(promise: Promise<unknown>): Promise<VerificationCheck> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenVerificationError);
  return (error as TokenVerificationError).check;
}

describe("verifyToken", () => {
  const expectations = { appId: APP_ID, sub: DOMAIN, room: "Room 1" };

  it("returns typed claims for a good token", async () => {
    const token = await mintToken({ ...SIGNING, room: "Room 1", user: USER, moderator: true });
    const { header, claims } = await verifyToken(token, SECRET, expectations);
    expect(header).toEqual({ alg: "HS256", typ: "JWT" });
    expect(claims.context.user.affiliation).toBe("owner");
    await expect(verifyToken(token, { secret: SECRET }, { appId: APP_ID })).resolves.toBeDefined();
  });

  it("accepts the wildcard room and sub (the server does; mintToken makes sub \"*\" never, so the token is signed by hand)", async () => {
    const minted = await mintToken({ ...SIGNING, allRooms: true, user: USER });
    const claims = JSON.parse(Buffer.from(minted.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
    const token = await forge({ alg: "HS256", typ: "JWT" }, { ...claims, sub: "*" });
    await expect(verifyToken(token, SECRET, expectations)).resolves.toBeDefined();
    await expect(mintToken({ ...SIGNING, domain: "*", allRooms: true, user: USER })).rejects.toThrow(/domain/);
  });

  it("holds a tenant link's token to that tenant, as explain and the server do", async () => {
    const rootToken = await mintToken({ ...SIGNING, room: "team-a", user: USER });
    const tenantLink = `https://${DOMAIN}/othercorp/team-a`;
    expect(await failure(verifyToken(rootToken, SECRET, { appId: APP_ID, room: tenantLink }))).toBe("sub");
    const tenantToken = await mintToken({ ...SIGNING, tenant: "othercorp", room: "team-a", user: USER });
    await expect(verifyToken(tenantToken, SECRET, { appId: APP_ID, room: tenantLink })).resolves.toBeDefined();
  });

  it("says which check failed", async () => {
    const good = await mintToken({ ...SIGNING, room: "Room 1", user: USER });
    const claims = JSON.parse(Buffer.from(good.split(".")[1]!, "base64url").toString());
    expect(await failure(verifyToken(good, "another-secret-another-secret-0123456789", expectations))).toBe("signature");
    expect(await failure(verifyToken(good, SECRET, { ...expectations, room: "Room 2" }))).toBe("room");
    expect(await failure(verifyToken(good, SECRET, { ...expectations, sub: "other.example" }))).toBe("sub");
    expect(await failure(verifyToken(good, SECRET, { ...expectations, appId: "other" }))).toBe("iss");
    expect(await failure(verifyToken(good, SECRET, { ...expectations, audience: "other" }))).toBe("aud");
    expect(await failure(verifyToken(good, SECRET, { ...expectations, now: Date.now() + 3 * 3600_000 }))).toBe("exp");
    expect(await failure(verifyToken(good, SECRET, { ...expectations, now: Date.now() - 3600_000 }))).toBe("nbf");
    expect(await failure(verifyToken(await forge({ alg: "HS256" }, claims), SECRET, expectations))).toBe("typ");
    expect(await failure(verifyToken(await forge({ alg: "HS512", typ: "JWT" }, claims), SECRET, expectations))).toBe("alg");
    expect(await failure(verifyToken(await forge({ alg: "HS256", typ: "JWT" }, { ...claims, exp: String(claims.exp) }), SECRET, expectations))).toBe("exp");
    expect(await failure(verifyToken(await forge({ alg: "HS256", typ: "JWT" }, { ...claims, room: undefined }), SECRET, expectations))).toBe("room");
    expect(await failure(verifyToken("not.a.jwt", SECRET, expectations))).toBe("format");
    expect(await failure(verifyToken(good, "short", expectations))).toBe("key");
  });

  it("pins RS256 for public keys and refuses an HS256 token signed with the public key's text", async () => {
    const { privateKey, publicKey } = rsaPair();
    const token = await mintToken({ appId: APP_ID, domain: DOMAIN, privateKey, kid: "k1", room: "r", user: USER });
    await expect(verifyToken(token, { publicKey }, { appId: APP_ID, room: "r" })).resolves.toBeDefined();
    const pem = publicKey.export({ type: "spki", format: "pem" }) as string;
    await expect(verifyToken(token, { publicKey: pem }, { appId: APP_ID })).resolves.toBeDefined();
    // The classic algorithm-confusion attack: HS256 keyed with the public PEM.
    const confused = await forge({ alg: "HS256", typ: "JWT" }, { iss: APP_ID, aud: "jitsi", sub: DOMAIN, room: "r", exp: 4e9 }, pem);
    expect(await failure(verifyToken(confused, { publicKey: pem }, { appId: APP_ID }))).toBe("alg");
  });
});
