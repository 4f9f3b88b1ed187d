/**
 * explainToken's verdict against the real server: Prosody 0.12 with Jitsi's own token plugins, on the project's
 * rendered host config (test/support/prosody.ts). Each token in the table logs in over the XMPP WebSocket
 * (?token=, SASL ANONYMOUS) and, when it gets in, joins a room a focus stand-in has opened; the server's answer
 * (SASL failure text, presence error text, or the role it grants), also for a tenant's rooms, must be what explainToken predicted.
 * Opt-in: JITSI_PLUGINS_DIR must point at jitsi-meet's resources/prosody-plugins.
 */
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { explainToken, mintToken, normalizeRoomName, type HostProfile } from "../../token/index.ts";
import { joinRoom as joinRoomAs, startTokenHost, tokenLogin, type TokenHost, type XmppClient } from "../support/jitsiSession.ts";
import type { RunningProsody } from "../support/prosody.ts";

const ROOM = "E2E Room";
const TENANT = "acme";

let prosody: RunningProsody;
let profile: HostProfile;
let focus: XmppClient;
let secret = "";
let host: TokenHost | undefined;

const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
function sign(header: unknown, payload: unknown, key = secret): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac("sha256", key).update(input).digest("base64url")}`;
}

const login = (token: string | undefined) => tokenLogin(prosody, token, normalizeRoomName(ROOM));
const joinRoom = (xmpp: XmppClient, node: string, nick?: string, tenant?: string) => joinRoomAs(prosody, xmpp, node, nick, tenant);

beforeAll(async () => {
  host = await startTokenHost();
  ({ prosody, profile, focus } = host);
  secret = host.profile.secret;
  // mod_muc_meeting_id holds every other joiner until the occupant with nick "focus" (Jicofo) is in.
  for (const tenant of [undefined, TENANT]) {
    const opened = await joinRoom(focus, normalizeRoomName(ROOM), "focus", tenant);
    if (!opened.ok) throw new Error(`the focus could not open the room${tenant ? ` of tenant ${tenant}` : ""}: ${opened.text ?? ""}`);
  }
});

afterAll(async () => {
  await host?.stop();
});

const now = () => Math.floor(Date.now() / 1000);
const claims = (patch: Record<string, unknown> = {}) => ({ iss: profile.appId, aud: "jitsi", sub: prosody.names.domain, room: normalizeRoomName(ROOM), iat: now(), nbf: now() - 30, exp: now() + 600, context: { user: { id: "u1", name: "E2E" } }, ...patch });
const HS = { alg: "HS256", typ: "JWT" };

describe("explainToken agrees with real Prosody + Jitsi plugins at login", () => {
  const cases: [string, () => string | undefined][] = [
    ["a minted token", () => sign(HS, claims())],
    ["no token", () => undefined],
    ["no typ", () => sign({ alg: "HS256" }, claims())],
    ["typ in lowercase", () => sign({ alg: "HS256", typ: "jwt" }, claims())],
    ["alg HS512 in the header", () => sign({ alg: "HS512", typ: "JWT" }, claims())],
    ["the wrong secret", () => sign(HS, claims(), `${secret}-other`)],
    ["the secret with a trailing newline", () => sign(HS, claims(), `${secret}\n`)],
    ["expired", () => sign(HS, claims({ exp: now() - 100, iat: now() - 3700 }))],
    ["nbf in the future", () => sign(HS, claims({ nbf: now() + 600 }))],
    ["exp as a string", () => sign(HS, claims({ exp: String(now() + 600) }))],
    ["exp null", () => sign(HS, claims({ exp: null }))],
    ["no exp at all", () => sign(HS, claims({ exp: undefined }))],
    ["another issuer", () => sign(HS, claims({ iss: "someone-else" }))],
    ["no aud", () => sign(HS, claims({ aud: undefined }))],
    ["no room", () => sign(HS, claims({ room: undefined }))],
    ["no sub", () => sign(HS, claims({ sub: undefined }))],
    ["two segments", () => `${b64(HS)}.${b64(claims())}`],
    ["an empty segment", () => `${b64(HS)}..${b64(claims())}`],
    ["a header that is not JSON", () => sign("{nope", claims())],
    ["a payload that is not JSON", () => sign(HS, "{nope")],
    ["a signature with a non-base64url character", () => `${sign(HS, claims()).slice(0, -1)}*`],
    // Decoding rules shared with verifyToken (token/jws.ts): what the server ignores and what it does not.
    ["a crit header", () => sign({ ...HS, crit: ["exp"] }, claims())],
    ["a padded signature", () => `${sign(HS, claims())}=`],
    ["padding inside the signed header segment", () => sign(HS, claims()).replace(".", "=.")],
    ["a non-canonical last signature character", () => {
      const t = sign(HS, claims());
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      return t.slice(0, -1) + alphabet.charAt(alphabet.indexOf(t.slice(-1)) ^ 1);
    }],
    ["backslashes as separators", () => sign(HS, claims()).replaceAll(".", "\\")],
    ["exp in milliseconds", () => sign(HS, claims({ exp: (now() + 600) * 1000 }))],
    ["nbf in milliseconds", () => sign(HS, claims({ nbf: now() * 1000 }))],
  ];

  it.each(cases)("%s", async (_name, make) => {
    const token = make();
    const before = explainToken(token, profile);
    const server = await login(token);
    const after = explainToken(token, profile);
    await server.xmpp?.stop().catch(() => {});
    expect(server.ok).toBe(before.login.ok);
    if (!server.ok) expect([before.login.serverText, after.login.serverText]).toContain(server.text);
  });
});

describe("explainToken agrees with the real server when joining a room", () => {
  const node = () => normalizeRoomName(ROOM);
  const cases: [string, () => Promise<string> | string, string?, string?][] = [
    ["a moderator token for the room", () => mintToken({ appId: profile.appId, secret, domain: prosody.names.domain, room: ROOM, user: { id: "m", name: "Mod" }, moderator: true }), "moderator"],
    ["a participant token for every room", () => mintToken({ appId: profile.appId, secret, domain: prosody.names.domain, allRooms: true, user: { id: "p", name: "Part" } }), "participant"],
    ["a token for another room", () => sign(HS, claims({ room: "other" }))],
    ["a token with the room as typed, not backend-safe", () => sign(HS, claims({ room: ROOM }))],
    ["a token for another domain", () => sign(HS, claims({ sub: "other.example.test" }))],
    ["a token with sub *", () => sign(HS, claims({ sub: "*" }))],
    ["a matching Lua pattern (context.room.regex)", () => sign(HS, claims({ room: "e2e%%20r.*", context: { user: { id: "x", name: "x" }, room: { regex: true } } }))],
    ["a Lua pattern that does not match", () => sign(HS, claims({ room: "^lobby.*", context: { user: { id: "x", name: "x" }, room: { regex: "true" } } }))],
    // Lua, not RegExp: %g is a class, a * after a capture is a literal, a bad pattern raises inside pcall.
    ["a Lua pattern with %g", () => sign(HS, claims({ room: "%g+", context: { user: { id: "x", name: "x" }, room: { regex: true } } }))],
    ["a capture followed by a literal *", () => sign(HS, claims({ room: "^(e2e)*", context: { user: { id: "x", name: "x" }, room: { regex: true } } }))],
    ["a position capture", () => sign(HS, claims({ room: "()e2e", context: { user: { id: "x", name: "x" }, room: { regex: true } } }))],
    ["a malformed Lua pattern", () => sign(HS, claims({ room: "e2e%", context: { user: { id: "x", name: "x" }, room: { regex: true } } }))],
    ["a tenant token (sub = tenant) in the tenant's room", () => mintToken({ appId: profile.appId, secret, domain: prosody.names.domain, tenant: "ACME", room: ROOM, user: { id: "t", name: "T" }, moderator: true }), "moderator", TENANT],
    ["a domain token in a tenant's room", () => sign(HS, claims()), undefined, TENANT],
    ["a token with sub * in a tenant's room", () => sign(HS, claims({ sub: "*" })), undefined, TENANT],
    ["a tenant token for another room", () => sign(HS, claims({ sub: TENANT, room: "other" })), undefined, TENANT],
    ["a tenant token in the tenant-less room", () => sign(HS, claims({ sub: TENANT }))],
  ];

  it.each(cases)("%s", async (_name, make, role, tenant) => {
    const token = await make();
    const predicted = explainToken(token, profile, { room: ROOM, ...(tenant ? { tenant } : {}) });
    expect(predicted.login.ok).toBe(true);
    const session = await login(token);
    expect(session.ok).toBe(true);
    try {
      const joined = await joinRoom(session.xmpp as XmppClient, node(), undefined, tenant);
      expect(joined.ok).toBe(predicted.join?.ok);
      if (!joined.ok) expect(joined.text).toBe(predicted.join?.serverText);
      if (role !== undefined) expect(joined.role).toBe(role);
    } finally {
      await session.xmpp?.stop().catch(() => {});
    }
  });
});
