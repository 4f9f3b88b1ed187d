/**
 * TURN credentials from the rendered Prosody file: real Prosody 0.12 with mod_external_services hands a guest
 * (over the XMPP WebSocket, XEP-0215 as lib-jitsi-meet asks) TURN REST credentials, and real coturn on the
 * rendered coturn file with the same secret accepts them, over UDP and over TLS.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderProsodyHostConfig } from "../../../templates/files/prosody.ts";
import { turnHostname } from "jitsi-jwt-token/shared";
import { TurnClient, TurnRefusal, type TurnServerAddress } from "../../../token/smoke/turnClient.ts";
import { XmppSession, type ExternalService } from "../../../token/smoke/xmppSession.ts";
import { startLoopbackCoturn, type LoopbackCoturn } from "../../support/coturn.ts";
import { PROSODY_TEST_DEPLOYMENT, startProsody, type RunningProsody } from "../../support/prosody.ts";
import { readProsodyOptions } from "../prosodyConfigReader.ts";
import { sampleDeployment } from "../sampleDeployment.ts";

const TURN = { secret: "prosodyTurnSecret0123456789abcdefghijklmnop", vpcCidr: "10.0.0.0/16" } as const;
const DOMAIN = PROSODY_TEST_DEPLOYMENT.domain;

describe("Prosody's external services (rendered)", () => {
  it("defines the secret and the services globally and loads the module on the token and the guest host only", async () => {
    const dir = await mkdtemp(join(tmpdir(), "prosody-turn-"));
    try {
      const d = sampleDeployment({ turn: TURN, runtime: { rootDir: dir } });
      const file = renderProsodyHostConfig(d);
      expect(file.secret).toBe(true);
      expect(file.mode).toBe(0o640);
      await mkdir(dirname(file.path), { recursive: true });
      await writeFile(file.path, file.content);
      const [secret, domainModules, guestModules, authModules] = await readProsodyOptions(file.path, [
        ["*", "external_service_secret"],
        [d.domain, "modules_enabled"],
        [`guest.${d.domain}`, "modules_enabled"],
        [`auth.${d.domain}`, "modules_enabled"],
      ]);
      expect(secret).toBe(TURN.secret);
      expect(domainModules).toContain("external_services");
      expect(guestModules).toContain("external_services");
      expect(authModules).not.toContain("external_services");
      expect(file.content).not.toMatch(/turn_external|turncredentials/);
      // Without TURN, none of it.
      const off = renderProsodyHostConfig(sampleDeployment()).content;
      expect(off).not.toMatch(/external_service/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("TURN credentials from real Prosody, accepted by real coturn", () => {
  let prosody: RunningProsody;
  let coturn: LoopbackCoturn;
  let services: ExternalService[];

  beforeAll(async () => {
    prosody = await startProsody({ deployment: { turn: TURN } });
    coturn = await startLoopbackCoturn({ domain: DOMAIN, turn: TURN, publicIp: "198.51.100.40" });
    // A guest session exactly as the web client opens it: the WebSocket on the public name, anonymous login.
    const session = await XmppSession.open({
      service: `ws://${DOMAIN}:${String(prosody.ports.http)}/xmpp-websocket`,
      domain: prosody.names.guest,
      resolve: { [DOMAIN]: "127.0.0.1" },
      timeoutMs: 5_000,
    });
    try {
      services = await session.externalServices(prosody.names.guest, 5_000);
    } finally {
      await session.close();
    }
  }, 60_000);
  afterAll(async () => {
    await prosody?.stop();
    await coturn?.stop();
  });

  it("offers a guest STUN and TURN on 3478/udp and TURN over TLS at turn.<domain>:443, with credentials", () => {
    expect(services.map(({ type, host, port, transport }) => ({ type, host, port, transport }))).toEqual([
      { type: "stun", host: DOMAIN, port: 3478, transport: "udp" },
      { type: "turn", host: DOMAIN, port: 3478, transport: "udp" },
      { type: "turns", host: turnHostname(DOMAIN), port: 443, transport: "tcp" },
    ]);
    for (const service of services.filter((s) => s.type !== "stun")) {
      expect(service.username).toMatch(/^[0-9]+$/);
      // A day ahead, as Prosody's default external_service_ttl.
      const expiry = Number(service.username) - Date.now() / 1000;
      expect(expiry).toBeGreaterThan(86_000);
      expect(expiry).toBeLessThan(86_500);
      expect(service.password).toMatch(/^[A-Za-z0-9+/]+=*$/);
    }
  });

  it.each(["turn", "turns"] as const)("the %s credentials allocate a relay on coturn", async (type) => {
    const service = services.find((s) => s.type === type)!;
    // The TLS entry's host is the SNI coturn's certificate answers to.
    const server: TurnServerAddress = type === "turn" ? coturn.udp : { ...coturn.tls, servername: service.host };
    const client = await TurnClient.connect(server);
    try {
      const result = await client.allocate({ username: service.username!, password: service.password! });
      expect(result.relayed.address).toBe("198.51.100.40");
      // Tampered credentials from the same answer are refused.
      const other = await TurnClient.connect(server);
      try {
        await expect(other.allocate({ username: service.username!, password: `x${service.password!}` })).rejects.toBeInstanceOf(TurnRefusal);
      } finally {
        other.close();
      }
    } finally {
      client.close();
    }
  });
});
