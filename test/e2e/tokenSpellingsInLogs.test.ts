/**
 * Opt-in (JITSI_PLUGINS_DIR): a spelling of a valid token that Jitsi's own parser accepts must be redacted in
 * every Prosody log sink like the usual one (templates/prosody-modules/mod_log_token_redaction.lua). luajwtjitsi's split_token splits at "." and at "\" (its pattern is
 * "([^\\.]+)"), and strip_signature re-joins the parts with ".", so `header.payload\signature` verifies exactly
 * like `header.payload.signature`. Prosody url-decodes ?token=, so a client sends %5C.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { joinRoom, tokenLogin } from "../support/jitsiSession.ts";
import { hostHeaderWebSocket, startProsody, type RunningProsody } from "../support/prosody.ts";

const APP_SECRET = "appSecretLogProbe0123456789abcdefghij";

describe("a token written with a backslash before its signature", () => {
  let prosody: RunningProsody;
  let log = "";
  let good = "";
  let login: { ok: boolean; text?: string } = { ok: false };
  let refused: { ok: boolean; text?: string } = { ok: false };

  beforeAll(async () => {
    const dir = process.env.JITSI_PLUGINS_DIR ?? "";
    if (!existsSync(join(dir, "mod_auth_token.lua"))) throw new Error("JITSI_PLUGINS_DIR must point at Jitsi's prosody-plugins");
    prosody = await startProsody({
      pluginsDir: dir,
      deployment: { auth: { algorithm: "HS256", appId: "jitsi-app", appSecret: APP_SECRET } },
      logLevel: "info",
      logging: "debian",
    });
    const now = Math.floor(Date.now() / 1000);
    good = await new SignJWT({ aud: "jitsi", iss: "jitsi-app", sub: "meet.example.test", room: "weekly", context: { user: { name: "A" } } })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setNotBefore(now - 30)
      .setExpirationTime(now + 300)
      .sign(new TextEncoder().encode(APP_SECRET));
    const parts = good.split(".");
    const backslashed = `${parts[0]!}.${parts[1]!}\\${parts[2]!}`;
    globalThis.WebSocket = hostHeaderWebSocket(prosody.names.domain) as unknown as typeof WebSocket;
    const holder = await tokenLogin(prosody, backslashed, "weekly");
    login = holder;
    if (holder.xmpp) {
      refused = await joinRoom(prosody, holder.xmpp, "other");
      await holder.xmpp.stop();
    }
    await new Promise((r) => setTimeout(r, 500));
    log = [await prosody.logs(), await readFile(prosody.paths.errorLogFile!, "utf8").catch(() => ""), await readFile(prosody.paths.syslogFile!, "utf8").catch(() => "")].join("\n");
  });
  afterAll(async () => {
    await prosody?.stop();
  });

  it("is accepted by Jitsi's token auth (the same credential)", () => {
    expect(login.ok).toBe(true);
    expect(refused.ok).toBe(false);
  });

  it("does not reach any log sink in a replayable form", () => {
    const [, payload, signature] = good.split(".");
    expect(log).toContain("[JWT redacted]");
    expect(log).not.toContain(String(payload));
    expect(log).not.toContain(String(signature));
  });
});
