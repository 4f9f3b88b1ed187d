/**
 * Opt-in (JITSI_PLUGINS_DIR): at debug level, with Jitsi's real plugins and TURN on, no secret reaches Prosody's
 * log: not the app secret (token_verification logs it while it loads: "starting MUC token verifier … app_secret:
 * …"), not the TURN secret, not the focus and jvb passwords (they log in with SCRAM; Prosody logs only the top tag
 * of SASL elements), in no encoding a log could show (plain, base64, the SASL PLAIN payload), and no token.
 * Sessions: focus and jvb log in, a token holder joins, a join outside the token's room is refused, a token with
 * a wrong signature is refused, and a session asks for TURN credentials.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client } from "@xmpp/client";
import { XmppSession } from "../../token/smoke/xmppSession.ts";
import { startFocus, joinRoom, tokenLogin } from "../support/jitsiSession.ts";
import { hostHeaderWebSocket, startProsody, type RunningProsody } from "../support/prosody.ts";

const TURN = { secret: "e2eTurnSecretLogProbe0123456789abcdefghij", vpcCidr: "10.0.0.0/16" } as const;
const ACCOUNTS = { focusPassword: "focusPassLogProbe0123456789", jvbPassword: "jvbPassLogProbe0123456789" };
const APP_SECRET = "appSecretLogProbe0123456789abcdefghij";

function pluginsDir(): string {
  const dir = process.env.JITSI_PLUGINS_DIR;
  if (dir === undefined || dir === "" || !existsSync(join(dir, "mod_auth_token.lua"))) {
    throw new Error("JITSI_PLUGINS_DIR must point at an extracted copy of jitsi-meet's resources/prosody-plugins (see README.md, 'Opt-in')");
  }
  return dir;
}

async function token(secret: string, claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ aud: "jitsi", iss: "jitsi-app", sub: "meet.example.test", ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setNotBefore(now - 30)
    .setExpirationTime(now + 300)
    .sign(new TextEncoder().encode(secret));
}

describe("secrets in Prosody's debug log", () => {
  let prosody: RunningProsody;
  let log = "";

  beforeAll(async () => {
    prosody = await startProsody({
      pluginsDir: pluginsDir(),
      deployment: { turn: TURN, accounts: ACCOUNTS, auth: { algorithm: "HS256", appId: "jitsi-app", appSecret: APP_SECRET } },
      logLevel: "debug",
    });
    const previous = globalThis.WebSocket;
    globalThis.WebSocket = hostHeaderWebSocket(prosody.names.domain) as unknown as typeof WebSocket;
    const focus = await startFocus(prosody);
    await prosody.prosodyctl(["register", "jvb", prosody.names.auth, ACCOUNTS.jvbPassword]);
    const jvb = client({ service: `xmpp://127.0.0.1:${prosody.ports.c2s}`, domain: prosody.names.auth, username: "jvb", password: ACCOUNTS.jvbPassword });
    jvb.on("error", () => {});
    await jvb.start();
    const good = await token(APP_SECRET, { room: "weekly", context: { user: { name: "A", moderator: true } } });
    const holder = await tokenLogin(prosody, good, "weekly");
    if (holder.xmpp) {
      await joinRoom(prosody, holder.xmpp, "weekly");
      await joinRoom(prosody, holder.xmpp, "other");
      await holder.xmpp.stop();
    }
    await tokenLogin(prosody, await token("wrong-secret-0123456789abcdefghijkl", { room: "weekly" }), "weekly");
    const session = await XmppSession.open({
      service: `ws://${prosody.names.domain}:${String(prosody.ports.http)}/xmpp-websocket?room=weekly&token=${good}`,
      domain: prosody.names.domain,
      resolve: { [prosody.names.domain]: "127.0.0.1" },
      timeoutMs: 10_000,
    });
    await session.externalServices(prosody.names.domain, 10_000);
    await session.close();
    await jvb.stop();
    await focus.stop();
    globalThis.WebSocket = previous;
    await new Promise((r) => setTimeout(r, 500));
    log = await prosody.logs();
  });
  afterAll(async () => {
    await prosody?.stop();
  });

  it("logged at debug level, the lines that carry a secret or a token among them", () => {
    expect(log).toMatch(/\tdebug\t/);
    expect(log).toContain("starting MUC token verifier app_id: jitsi-app app_secret: [secret redacted]");
    expect(log).toMatch(/Token \[JWT redacted\] not allowed to join: other@/);
    expect(log).toContain("Authenticated as focus@");
    expect(log).toContain("Authenticated as jvb@");
  });

  it("holds no secret, in no encoding", () => {
    const base64 = (text: string) => Buffer.from(text).toString("base64");
    for (const [name, value] of Object.entries({ APP_SECRET, turn: TURN.secret, ...ACCOUNTS })) {
      for (const form of [value, base64(value), base64(`\0focus\0${value}`), base64(`\0jvb\0${value}`), encodeURIComponent(value)]) {
        expect(log, name).not.toContain(form);
      }
    }
    expect(log).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}\./);
  });
});
