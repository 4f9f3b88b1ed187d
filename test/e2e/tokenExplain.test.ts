/**
 * explainToken's verdict against the real server: Prosody 0.12 with Jitsi's own token plugins, on the project's
 * rendered host config (test/support/prosody.ts). Each token in the table logs in over the XMPP WebSocket
 * (?token=, SASL ANONYMOUS) and, when it gets in, joins a room a focus stand-in has opened; the server's answer
 * (SASL failure text, presence error text, or the role it grants), also for a tenant's rooms, must be what explainToken predicted.
 * Opt-in: JITSI_PLUGINS_DIR must point at jitsi-meet's resources/prosody-plugins.
 */
import { createHmac } from "node:crypto";
import { client, xml } from "@xmpp/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { explainToken, mintToken, normalizeRoomName, type HostProfile } from "../../token/index.ts";
import { hostHeaderWebSocket, startProsody, type RunningProsody } from "../support/prosody.ts";

type XmppClient = ReturnType<typeof client>;

const ROOM = "E2E Room";
const TENANT = "acme";
const MUC_USER = "http://jabber.org/protocol/muc#user";
const STANZA_NS = "urn:ietf:params:xml:ns:xmpp-stanzas";

let prosody: RunningProsody;
let profile: HostProfile;
let focus: XmppClient | undefined;
let secret = "";
const previousWebSocket = (globalThis as { WebSocket?: unknown }).WebSocket;

const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
function sign(header: unknown, payload: unknown, key = secret): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac("sha256", key).update(input).digest("base64url")}`;
}

/** Logs in with the token; resolves with the SASL outcome and, on success, the connected client. */
async function login(token: string | undefined): Promise<{ ok: boolean; text?: string; xmpp?: XmppClient }> {
  const query = new URLSearchParams({ room: normalizeRoomName(ROOM) });
  if (token !== undefined) query.set("token", token);
  const xmpp = client({ service: `${prosody.websocketUrl}?${query.toString()}`, domain: prosody.names.domain });
  xmpp.on("error", () => {});
  try {
    await xmpp.start();
    return { ok: true, xmpp };
  } catch (error) {
    await xmpp.stop().catch(() => {});
    const failure = error as { condition?: string; text?: string };
    return { ok: false, ...(failure.text ? { text: failure.text } : {}) };
  }
}

/** Joins node@muc; resolves with the presence error text or the role/affiliation of the self-presence. */
function joinRoom(xmpp: XmppClient, node: string, nick = Math.random().toString(16).slice(2, 10), tenant?: string): Promise<{ ok: boolean; text?: string; role?: string; affiliation?: string }> {
  // A tenant's rooms are addressed as room@conference.TENANT.domain; muc_domain_mapper maps them to [tenant]room.
  const muc = tenant ? prosody.names.muc.replace(`.${prosody.names.domain}`, `.${tenant}.${prosody.names.domain}`) : prosody.names.muc;
  const roomJid = `${node}@${muc}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to the join of ${roomJid}`)), 10_000);
    xmpp.on("stanza", (stanza) => {
      if (!stanza.is("presence") || !stanza.attrs.from?.startsWith(`${roomJid}/`)) return;
      if (stanza.attrs.type === "error") {
        clearTimeout(timer);
        resolve({ ok: false, text: stanza.getChild("error")?.getChildText("text", STANZA_NS) ?? "" });
        return;
      }
      const x = stanza.getChild("x", MUC_USER);
      if (!x?.getChildren("status").some((s) => s.attrs.code === "110")) return;
      clearTimeout(timer);
      const item = x.getChild("item");
      resolve({ ok: true, ...(item?.attrs.role ? { role: item.attrs.role } : {}), ...(item?.attrs.affiliation ? { affiliation: item.attrs.affiliation } : {}) });
    });
    void xmpp.send(xml("presence", { to: `${roomJid}/${nick}` }, xml("x", { xmlns: "http://jabber.org/protocol/muc" })));
  });
}

beforeAll(async () => {
  const pluginsDir = process.env.JITSI_PLUGINS_DIR;
  if (!pluginsDir) throw new Error("set JITSI_PLUGINS_DIR to jitsi-meet's resources/prosody-plugins to run the e2e tests");
  prosody = await startProsody({ pluginsDir, logLevel: "info" });
  const auth = prosody.deployment.auth as { appId: string; appSecret: string };
  secret = auth.appSecret;
  profile = { appId: auth.appId, xmppDomain: prosody.names.domain, secret };
  (globalThis as { WebSocket?: unknown }).WebSocket = hostHeaderWebSocket(prosody.names.domain);
  // A focus stand-in (an admin, like Jicofo) opens the room: only admins may create rooms here.
  const password = (prosody.deployment.accounts as { focusPassword: string }).focusPassword;
  const registered = await prosody.prosodyctl(["register", "focus", prosody.names.auth, password]);
  if (registered.code !== 0) throw new Error(`prosodyctl register failed: ${registered.output}`);
  focus = client({ service: `xmpp://127.0.0.1:${prosody.ports.c2s}`, domain: prosody.names.auth, username: "focus", password });
  focus.on("error", () => {});
  await focus.start();
  // mod_muc_meeting_id holds every other joiner until the occupant with nick "focus" (Jicofo) is in.
  for (const tenant of [undefined, TENANT]) {
    const opened = await joinRoom(focus, normalizeRoomName(ROOM), "focus", tenant);
    if (!opened.ok) throw new Error(`the focus could not open the room${tenant ? ` of tenant ${tenant}` : ""}: ${opened.text ?? ""}`);
  }
});

afterAll(async () => {
  await focus?.stop().catch(() => {});
  (globalThis as { WebSocket?: unknown }).WebSocket = previousWebSocket;
  await prosody?.stop();
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
