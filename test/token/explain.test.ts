import { describe, expect, it } from "vitest";
import { explainToken, mintToken, RoomNameError, type HostProfile } from "../../token/index.ts";
import { luaMatch } from "../../token/luaPattern.ts";
import { luaFloatText } from "../../token/prosodyLogin.ts";
import { APP_ID, DOMAIN, forge, HS_PROFILE, rsaPair, SECRET, SIGNING, USER } from "./fixtures.ts";

const NOW = Date.UTC(2031, 4, 6, 12, 0, 0);
const NOW_S = NOW / 1000;
const base = { iss: APP_ID, aud: "jitsi", sub: DOMAIN, room: "team", iat: NOW_S - 60, nbf: NOW_S - 90, exp: NOW_S + 3600, context: { user: { id: "u", name: "n" } } };
const hdr = { alg: "HS256", typ: "JWT" };

describe("explainToken: login verdicts and the server's texts", () => {
  it.each<[string, () => Promise<string | undefined>, string | undefined]>([
    ["a good token", () => forge(hdr, base), undefined],
    ["no token", async () => undefined, "token required"],
    ["two segments", async () => "abc.def", "Invalid token"],
    ["an empty middle segment (Lua drops it)", async () => "abc..def", "Invalid token"],
    ["a non-JSON header", () => forge("not json", base), "Invalid header"],
    ["a non-JSON payload", () => forge(hdr, "{bad"), "Invalid body"],
    ["a signature with '!'", async () => `${(await forge(hdr, base)).slice(0, -2)}!!`, "Invalid signature"],
    ["no typ (jose's default)", () => forge({ alg: "HS256" }, base), "Invalid typ"],
    ["typ jwt in lowercase", () => forge({ alg: "HS256", typ: "jwt" }, base), "Invalid typ"],
    ["HS512", () => forge({ alg: "HS512", typ: "JWT" }, base), "Invalid or incorrect alg"],
    ["the wrong secret", () => forge(hdr, base, `${SECRET}x`), "Invalid signature"],
    ["a string exp", () => forge(hdr, { ...base, exp: String(base.exp) }), "exp must be number"],
    ["a null nbf", () => forge(hdr, { ...base, nbf: null }), "nbf must be number"],
    ["an expired token", () => forge(hdr, { ...base, exp: NOW_S - 42, iat: NOW_S - 3642 }), "Not acceptable by exp (42.0 sec since expired, valid for:3600.0 sec)"],
    ["exp == now (no leeway)", () => forge(hdr, { ...base, exp: NOW_S, iat: undefined }), "Not acceptable by exp (0.0 sec since expired)"],
    ["nbf one second ahead", () => forge(hdr, { ...base, nbf: NOW_S + 1 }), "Not acceptable by nbf"],
    ["no iss", () => forge(hdr, { ...base, iss: undefined }), "'iss' claim is missing"],
    ["another iss", () => forge(hdr, { ...base, iss: "other" }), "invalid 'iss' claim"],
    ["no aud", () => forge(hdr, { ...base, aud: undefined }), "'aud' claim is missing"],
    ["no room", () => forge(hdr, { ...base, room: undefined }), "room claim is missing"],
    ["no sub", () => forge(hdr, { ...base, sub: undefined }), "sub claim is missing"],
    ["no exp at all (the server does not require it)", () => forge(hdr, { ...base, exp: undefined }), undefined],
  ])("%s", async (_name, make, serverText) => {
    const result = explainToken(await make(), HS_PROFILE, { now: NOW });
    expect(result.login.ok).toBe(serverText === undefined);
    expect(result.login.serverText).toBe(serverText);
    const failing = result.filter((f) => f.stage === "login" && !f.ok);
    expect(failing.length).toBe(serverText === undefined ? 0 : 1);
    if (serverText !== undefined) expect(failing[0]?.fix).not.toBe("");
  });

  it("lists the server's checks in its order", async () => {
    const result = explainToken(await forge(hdr, base), HS_PROFILE, { now: NOW, room: "team" });
    expect(result.filter((f) => f.stage === "login").map((f) => f.check)).toEqual(["connection-length", "token", "format", "typ", "alg", "signature", "exp", "nbf", "iss", "aud", "room", "sub"]);
    expect(result.join).toEqual({ ok: true });
  });

  it("honours accepted issuers/audiences, allow_empty_token and asap_require_room_claim", async () => {
    const profile: HostProfile = { ...HS_PROFILE, acceptedIssuers: ["a", "b"], acceptedAudiences: ["meet"], requireRoomClaim: false, allowEmptyToken: true };
    expect(explainToken(await forge(hdr, { ...base, iss: "b", aud: "meet", room: undefined }), profile, { now: NOW }).login.ok).toBe(true);
    expect(explainToken(await forge(hdr, { ...base, iss: "b" }), profile, { now: NOW }).login.serverText).toBe("invalid 'aud' claim");
    expect(explainToken(undefined, profile, { now: NOW, room: "any" }).join).toEqual({ ok: true });
  });

  it("follows the ASAP (RS256 + kid) path and its texts", async () => {
    const { privateKey, publicKey } = rsaPair();
    const profile: HostProfile = { appId: APP_ID, xmppDomain: DOMAIN, publicKeys: { "key-1": publicKey } };
    const good = await mintToken({ appId: APP_ID, domain: DOMAIN, privateKey, kid: "key-1", room: "r", user: USER, now: NOW });
    expect(explainToken(good, profile, { now: NOW, room: "r" })).toMatchObject({ login: { ok: true }, join: { ok: true } });
    const unknownKid = await mintToken({ appId: APP_ID, domain: DOMAIN, privateKey, kid: "key-2", room: "r", user: USER, now: NOW });
    expect(explainToken(unknownKid, profile, { now: NOW }).login.serverText).toBe("could not obtain public key");
    expect(explainToken(await forge(hdr, base), profile, { now: NOW }).login.serverText).toBe("'kid' claim is missing");
    expect(explainToken(await forge({ ...hdr, kid: "key-1" }, base), profile, { now: NOW }).login.serverText).toBe("'kid' claim only support with RS family");
  });
});

describe("explainToken: joining a room", () => {
  const join = async (payload: object, room: string, options: { tenant?: string; profile?: HostProfile } = {}) =>
    explainToken(await forge(hdr, { ...base, ...payload }), options.profile ?? HS_PROFILE, { now: NOW, room, ...(options.tenant ? { tenant: options.tenant } : {}) }).join;

  it("matches the room claim against the backend-safe room name, case-insensitively", async () => {
    expect(await join({ room: "my%20room" }, "My Room")).toEqual({ ok: true });
    expect(await join({ room: "MY%20ROOM" }, "my room")).toEqual({ ok: true });
    expect(await join({ room: "my room" }, "My Room")).toMatchObject({ ok: false, serverText: "Room and token mismatched" });
    expect(await join({ room: "*" }, "anything")).toEqual({ ok: true });
  });

  it("checks sub against the XMPP domain or the tenant", async () => {
    expect(await join({ sub: "other.test" }, "team")).toMatchObject({ ok: false, serverText: "Room and token mismatched" });
    expect(await join({ sub: "*" }, "team")).toEqual({ ok: true });
    expect(await join({ sub: "acme" }, "team", { tenant: "Acme" })).toEqual({ ok: true });
    expect(await join({ sub: DOMAIN }, "team", { tenant: "acme" })).toMatchObject({ ok: false });
    expect(await join({ sub: "*", room: "*" }, "x", { tenant: "acme" })).toEqual({ ok: true });
  });

  it("with domain verification off only the room is compared, with its own text", async () => {
    const profile = { ...HS_PROFILE, enableDomainVerification: false };
    expect(await join({ sub: "whatever" }, "team", { profile })).toEqual({ ok: true });
    expect(await join({}, "other", { profile })).toMatchObject({ ok: false, serverText: "Room does not match the room from token" });
    expect(await join({ sub: "x" }, "team", { tenant: "acme", profile })).toEqual({ ok: true });
  });

  it("evaluates context.room.regex as a Lua pattern", async () => {
    expect(await join({ room: "team%-.*", context: { room: { regex: true } } }, "team-42")).toEqual({ ok: true });
    expect(await join({ room: "team%-%d+", context: { room: { regex: "true" } } }, "team-x")).toMatchObject({ ok: false, serverText: "Room name cannot be matched to the one from token." });
    expect(await join({ room: "team%-%d", context: { room: { regex: true } } }, "team-42")).toMatchObject({ ok: false, serverText: "Room and token mismatched" });
  });

  it("does not reach the join when login fails, and rejects a bad room argument as the caller's error", async () => {
    expect(explainToken(await forge({ alg: "HS256" }, base), HS_PROFILE, { now: NOW, room: "team" }).join).toEqual({ ok: false, check: "login" });
    expect(() => explainToken("x", HS_PROFILE, { room: "" })).toThrow(RoomNameError);
  });

  it("flags what the web client and the role plugins would trip over", async () => {
    const result = explainToken(await forge(hdr, { ...base, exp: undefined, moderator: true, context: { user: { id: 7, name: "n" }, features: { teleport: true, recording: "yes" } } }), HS_PROFILE, { now: NOW });
    const failing = result.filter((f) => f.stage === "client" && !f.ok).map((f) => f.check);
    expect(failing).toEqual(expect.arrayContaining(["client-exp", "client-feature", "user-strings", "moderator-claim"]));
    expect(result.login.ok).toBe(true);
    const minted = await mintToken({ ...SIGNING, room: "Team", user: USER, moderator: true, features: { recording: true }, now: NOW });
    expect(explainToken(minted, HS_PROFILE, { now: NOW, room: "Team" }).every((f) => f.ok)).toBe(true);
  });
});

describe("Lua semantics helpers", () => {
  it("prints floats like Lua 5.4", () => {
    expect(luaFloatText(42)).toBe("42.0");
    expect(luaFloatText(-3)).toBe("-3.0");
    expect(luaFloatText(1.5)).toBe("1.5");
    expect(luaFloatText(1e20)).toBe("1e+20");
  });

  it("matches like string.match", () => {
    expect(luaMatch("room-12", "room%-%d+")).toBe("room-12");
    expect(luaMatch("room-12", "^(%a+)")).toBe("room");
    expect(luaMatch("a.b", "a.b")).toBe("a.b");
    expect(luaMatch("axb", "a%.b")).toBeNull();
    expect(luaMatch("room", "[%a]-$")).toBe("room");
  });
});
