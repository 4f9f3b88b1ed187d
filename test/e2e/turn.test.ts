/**
 * Opt-in (JITSI_PLUGINS_DIR): the rendered Prosody file with TURN on, under Jitsi's real plugins. Every module
 * still loads without a warning or error, and both a guest and a token holder get TURN credentials from
 * Prosody's mod_external_services, which real coturn accepts.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TurnClient } from "../../token/smoke/turnClient.ts";
import { XmppSession, type ExternalService } from "../../token/smoke/xmppSession.ts";
import { startLoopbackCoturn, type LoopbackCoturn } from "../support/coturn.ts";
import { PROSODY_TEST_DEPLOYMENT, startProsody, type RunningProsody } from "../support/prosody.ts";

const TURN = { secret: "e2eTurnSecret0123456789abcdefghijklmnopqrst", vpcCidr: "10.0.0.0/16" } as const;

function pluginsDir(): string {
  const dir = process.env.JITSI_PLUGINS_DIR;
  if (dir === undefined || dir === "" || !existsSync(join(dir, "mod_auth_token.lua"))) {
    throw new Error("JITSI_PLUGINS_DIR must point at an extracted copy of jitsi-meet's resources/prosody-plugins (see README.md, 'Opt-in')");
  }
  return dir;
}

describe("TURN credentials with Jitsi's real plugins", () => {
  let prosody: RunningProsody;
  let coturn: LoopbackCoturn;
  const auth = PROSODY_TEST_DEPLOYMENT.auth;
  const secret = auth.algorithm === "HS256" ? auth.appSecret : "";

  beforeAll(async () => {
    prosody = await startProsody({ pluginsDir: pluginsDir(), deployment: { turn: TURN }, logLevel: "debug" });
    coturn = await startLoopbackCoturn({ domain: prosody.names.domain, turn: TURN, publicIp: "198.51.100.80" });
  });
  afterAll(async () => {
    await prosody?.stop();
    await coturn?.stop();
  });

  async function servicesFor(xmppDomain: string, query = ""): Promise<ExternalService[]> {
    const session = await XmppSession.open({
      service: `ws://${prosody.names.domain}:${String(prosody.ports.http)}/xmpp-websocket${query}`,
      domain: xmppDomain,
      resolve: { [prosody.names.domain]: "127.0.0.1" },
      timeoutMs: 10_000,
    });
    try {
      return await session.externalServices(xmppDomain, 10_000);
    } finally {
      await session.close();
    }
  }

  async function allocates(services: ExternalService[]): Promise<string> {
    const turn = services.find((s) => s.type === "turn")!;
    const client = await TurnClient.connect(coturn.udp);
    try {
      return (await client.allocate({ username: turn.username!, password: turn.password! })).relayed.address;
    } finally {
      client.close();
    }
  }

  // mod_external_services logs nothing when it loads well; the two answers below prove it runs on both hosts.
  it("loads every module without a warning or error", async () => {
    const log = await prosody.logs();
    expect(log.split("\n").filter((line) => /\t(warn|error)\t/.test(line))).toEqual([]);
    expect(log).toContain(`Host '${prosody.names.domain}' now set to use user provider 'token'`);
  });

  it("gives a guest TURN credentials that coturn accepts", async () => {
    const services = await servicesFor(prosody.names.guest);
    expect(services.map((s) => s.type)).toEqual(["stun", "turn", "turns"]);
    expect(await allocates(services)).toBe("198.51.100.80");
  });

  it("gives a token holder TURN credentials that coturn accepts", async () => {
    const now = Math.floor(Date.now() / 1000);
    const jwt = await new SignJWT({ aud: "jitsi", iss: auth.appId, sub: prosody.names.domain, room: "demo" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setNotBefore(now - 30)
      .setExpirationTime(now + 300)
      .sign(new TextEncoder().encode(secret));
    const services = await servicesFor(prosody.names.domain, `?room=demo&token=${jwt}`);
    expect(services.map((s) => s.type)).toEqual(["stun", "turn", "turns"]);
    expect(await allocates(services)).toBe("198.51.100.80");
  });
});
