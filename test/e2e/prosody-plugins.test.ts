/**
 * Opt-in: the rendered Prosody config with Jitsi's real plugins (JITSI_PLUGINS_DIR = an extracted copy of
 * jitsi-meet's resources/prosody-plugins). Every module it enables loads without a warning or error, and the
 * logins behave as the deployment promises: guests anonymous on guest.<domain>, token holders on the main
 * domain only with a valid token.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { client } from "@xmpp/client";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROSODY_TEST_DEPLOYMENT, hostHeaderWebSocket, startProsody, type RunningProsody } from "../support/prosody.ts";

const pluginsDir = process.env.JITSI_PLUGINS_DIR;

function requirePluginsDir(): string {
  if (pluginsDir === undefined || pluginsDir === "") {
    throw new Error(
      "JITSI_PLUGINS_DIR is not set: point it at an extracted copy of jitsi-meet's resources/prosody-plugins " +
        "(see the templates section of the README).",
    );
  }
  if (!existsSync(join(pluginsDir, "mod_auth_token.lua"))) {
    throw new Error(`JITSI_PLUGINS_DIR=${pluginsDir} does not hold Jitsi's prosody plugins (no mod_auth_token.lua)`);
  }
  return pluginsDir;
}

/** Lines at warn or error level in Prosody's log. */
function warningsAndErrors(log: string): string[] {
  return log.split("\n").filter((line) => /\t(warn|error)\t/.test(line));
}

/** Logs in anonymously over WebSocket (Host = the public domain); resolves with the bound JID. */
async function login(prosody: RunningProsody, xmppDomain: string, query = ""): Promise<string> {
  const previous = globalThis.WebSocket;
  globalThis.WebSocket = hostHeaderWebSocket(prosody.names.domain) as unknown as typeof WebSocket;
  const xmpp = client({ service: `${prosody.websocketUrl}${query}`, domain: xmppDomain });
  xmpp.on("error", () => {});
  try {
    await xmpp.start();
    return String(xmpp.jid);
  } finally {
    xmpp.reconnect.stop();
    await xmpp.stop().catch(() => {});
    globalThis.WebSocket = previous;
  }
}

async function token(secret: string, claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ aud: "jitsi", room: "*", ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setNotBefore(now - 30)
    .setExpirationTime(now + 300)
    .sign(new TextEncoder().encode(secret));
}

describe("rendered Prosody config with Jitsi's real plugins", () => {
  let prosody: RunningProsody;
  const auth = PROSODY_TEST_DEPLOYMENT.auth;
  const secret = auth.algorithm === "HS256" ? auth.appSecret : "";

  beforeAll(async () => {
    prosody = await startProsody({ pluginsDir: requirePluginsDir(), logLevel: "debug" });
  });
  afterAll(async () => {
    await prosody?.stop();
  });

  it("passes prosodyctl check config", async () => {
    const check = await prosody.prosodyctl(["check", "config"]);
    expect(check.output).toContain("All checks passed");
    expect(check.code).toBe(0);
  });

  it("loads every module without a warning or error", async () => {
    const log = await prosody.logs();
    expect(warningsAndErrors(log)).toEqual([]);
    for (const module of ["token_verification", "token_affiliation", "muc_wait_for_host", "persistent_lobby", "muc_lobby_rooms"]) {
      expect(log).toMatch(new RegExp(`:${module}\\t`));
    }
    expect(log).toContain(`Host '${prosody.names.domain}' now set to use user provider 'token'`);
    expect(log).toContain(`Host '${prosody.names.guest}' now set to use user provider 'jitsi-anonymous'`);
  });

  it("lets a guest log in anonymously on guest.<domain>", async () => {
    expect(await login(prosody, prosody.names.guest)).toMatch(/^[^@]+@guest\.meet\.example\.test\/.+$/);
  });

  it("lets a token holder log in on the main domain", async () => {
    const jwt = await token(secret, { iss: auth.appId, sub: prosody.names.domain });
    const jid = await login(prosody, prosody.names.domain, `?room=demo&token=${jwt}`);
    expect(jid).toMatch(/^[^@]+@meet\.example\.test\/.+$/);
  });

  it("refuses the main domain without a token (allow_empty_token = false)", async () => {
    await expect(login(prosody, prosody.names.domain)).rejects.toMatchObject({ condition: "not-allowed" });
  });

  it("refuses a token signed with another secret, or from another issuer", async () => {
    const forged = await token(`${secret}x`, { iss: auth.appId, sub: prosody.names.domain });
    await expect(login(prosody, prosody.names.domain, `?token=${forged}`)).rejects.toMatchObject({ condition: "not-allowed" });
    const foreign = await token(secret, { iss: "someone-else", sub: prosody.names.domain });
    await expect(login(prosody, prosody.names.domain, `?token=${foreign}`)).rejects.toMatchObject({ condition: "not-allowed" });
  });
});
