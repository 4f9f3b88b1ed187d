/**
 * XMPP as the Jitsi web client speaks it to the test Prosody (test/support/prosody.ts): log in over the WebSocket
 * with ?token= (SASL ANONYMOUS), and join a MUC room, reporting the server's answer.
 */
import { client, xml } from "@xmpp/client";
import { hostHeaderWebSocket, startProsody, type RunningProsody } from "./prosody.ts";

export type XmppClient = ReturnType<typeof client>;

const MUC_USER = "http://jabber.org/protocol/muc#user";
const STANZA_NS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/** Logs in with the token (the web client also sends ?room=NODE); resolves with the SASL outcome and the client. */
export async function tokenLogin(prosody: RunningProsody, token: string | undefined, roomNode?: string): Promise<{ ok: boolean; text?: string; xmpp?: XmppClient }> {
  const query = new URLSearchParams(roomNode === undefined ? {} : { room: roomNode });
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

/** Joins node@muc (of the tenant, if any); resolves with the presence error text or the role/affiliation granted. */
export function joinRoom(prosody: RunningProsody, xmpp: XmppClient, node: string, nick = Math.random().toString(16).slice(2, 10), tenant?: string): Promise<{ ok: boolean; text?: string; role?: string; affiliation?: string }> {
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

/** Registers and connects a focus stand-in (an admin, like Jicofo): only admins may create rooms on this host. */
export async function startFocus(prosody: RunningProsody): Promise<XmppClient> {
  const password = (prosody.deployment.accounts as { focusPassword: string }).focusPassword;
  const registered = await prosody.prosodyctl(["register", "focus", prosody.names.auth, password]);
  if (registered.code !== 0) throw new Error(`prosodyctl register failed: ${registered.output}`);
  const focus = client({ service: `xmpp://127.0.0.1:${prosody.ports.c2s}`, domain: prosody.names.auth, username: "focus", password });
  focus.on("error", () => {});
  await focus.start();
  return focus;
}

/** Real Prosody with Jitsi's token plugins (JITSI_PLUGINS_DIR), the WebSocket set up as the web client uses it, and a focus. */
export interface TokenHost {
  prosody: RunningProsody;
  /** What explainToken needs to know about this host (HS256 app secret). */
  profile: { appId: string; xmppDomain: string; secret: string };
  focus: XmppClient;
  stop(): Promise<void>;
}

/**
 * Starts the token host for an e2e test.
 * @throws when JITSI_PLUGINS_DIR is not set (the e2e tests are opt-in) or Prosody does not start.
 */
export async function startTokenHost(): Promise<TokenHost> {
  const pluginsDir = process.env.JITSI_PLUGINS_DIR;
  if (!pluginsDir) throw new Error("set JITSI_PLUGINS_DIR to jitsi-meet's resources/prosody-plugins to run the e2e tests");
  const prosody = await startProsody({ pluginsDir, logLevel: "info" });
  const auth = prosody.deployment.auth as { appId: string; appSecret: string };
  const previousWebSocket = (globalThis as { WebSocket?: unknown }).WebSocket;
  (globalThis as { WebSocket?: unknown }).WebSocket = hostHeaderWebSocket(prosody.names.domain);
  const stop = async () => {
    await focus?.stop().catch(() => {});
    (globalThis as { WebSocket?: unknown }).WebSocket = previousWebSocket;
    await prosody.stop();
  };
  let focus: XmppClient | undefined;
  try {
    // A focus stand-in (an admin, like Jicofo) opens rooms: only admins may create rooms here.
    focus = await startFocus(prosody);
  } catch (error) {
    await stop();
    throw error;
  }
  return { prosody, profile: { appId: auth.appId, xmppDomain: prosody.names.domain, secret: auth.appSecret }, focus, stop };
}
