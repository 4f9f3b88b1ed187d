/**
 * The smoke test's TURN step against real Prosody, coturn and nginx: it fetches credentials over XMPP as the web
 * client does (XEP-0215, as a guest) and allocates a relay over TLS on the HTTPS port; it fails with a clear reason
 * when the server offers no TURN, and when the TURN server behind the port is down.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { turnHostname } from "jitsi-jwt-token/shared";
import { turnStep, type StepContext } from "../../../token/smoke/steps.ts";
import { startProsody, type RunningProsody } from "../../support/prosody.ts";
import { startTurnStack, type TurnStack } from "../../support/turnStack.ts";

const TURN = { secret: "smokeTurnSecret0123456789abcdefghijklmnopqr", vpcCidr: "10.0.0.0/16" } as const;

function context(domain: string, guestDomain: string | undefined, httpsPort: number, ca: string[]): StepContext {
  return {
    host: {
      domain,
      muc: `conference.${domain}`,
      focus: `focus.${domain}`,
      ...(guestDomain === undefined ? {} : { guestDomain }),
      websocketUrl: `wss://${domain}:${String(httpsPort)}/xmpp-websocket`,
    },
    signing: { appId: "jitsi-app", domain, secret: "s3cret-app-secret-0123456789abcdef" },
    // Only the site's name is pinned: the step reaches turn.<domain> at the same address.
    network: { ca, resolve: { [domain]: "127.0.0.1" } },
    room: "smoke-turn",
    deadline: Date.now() + 30_000,
    promotionWaitMs: 1_000,
    settleMs: 500,
  };
}

describe("smoke test TURN step", () => {
  let stack: TurnStack;
  beforeAll(async () => {
    stack = await startTurnStack(TURN, "198.51.100.70");
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const ctx = () =>
    context(stack.domain, stack.prosody.names.guest, stack.nginx.httpsPort, [stack.nginx.certificatePem, stack.coturn.certificatePem]);

  it("passes: a guest's credentials from Prosody allocate a relay over TLS on the HTTPS port", async () => {
    const result = await turnStep(ctx());
    expect(result).toMatchObject({ id: "turn", status: "passed" });
    expect(result.detail).toContain(`relay 198.51.100.70:`);
    expect(result.detail).toContain(`turns:${turnHostname(stack.domain)}:${String(stack.nginx.httpsPort)}`);
  });

  it("fails with the reason when the certificate for turn.<domain> is not trusted", async () => {
    const untrusted = { ...ctx(), network: { ...ctx().network, ca: [stack.nginx.certificatePem] } };
    const result = await turnStep(untrusted);
    expect(result.status).toBe("failed");
    expect(result.detail).toMatch(/self[- ]signed|certificate/i);
  });

  it("fails with the reason when nothing answers TURN behind the port", async () => {
    await stack.coturn.stop();
    const result = await turnStep(ctx());
    expect(result.status).toBe("failed");
    expect(result.detail).toMatch(/socket|TLS|ECONNRESET|disconnected/i);
  });
});

describe("smoke test TURN step without TURN", () => {
  let prosody: RunningProsody;
  beforeAll(async () => {
    prosody = await startProsody();
  }, 30_000);
  afterAll(async () => {
    await prosody?.stop();
  });

  it("fails saying the server offers no TURN and that jitsi:turn may be off", async () => {
    const domain = prosody.names.domain;
    const ctx = context(domain, prosody.names.guest, prosody.ports.http, []);
    // Straight to Prosody's own WebSocket (no TLS in between): only the services answer matters here.
    const result = await turnStep({ ...ctx, host: { ...ctx.host, websocketUrl: `ws://${domain}:${String(prosody.ports.http)}/xmpp-websocket` } });
    expect(result.status).toBe("failed");
    expect(result.detail).toMatch(/answers no external services query \(XEP-0215\); is TURN turned off \(jitsi:turn false\)\?/);
    expect(result.serverReason).toMatch(/service-unavailable|feature-not-implemented/);
  });
});
