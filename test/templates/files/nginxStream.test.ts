/**
 * TURN over TLS sharing the HTTPS port with the site: the rendered stream proxy and site in real nginx (Debian's
 * stream module), real coturn behind it and real Prosody behind the site. By SNI turn.<domain> a TURN client
 * allocates a relay through port 443's listener; every other name, and none, reaches the site, which sees the
 * real client address (PROXY protocol), and the XMPP WebSocket still logs in.
 */
import { readFile } from "node:fs/promises";
import { request } from "node:https";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderNginxSite } from "../../../templates/files/nginx.ts";
import { renderNginxStream } from "../../../templates/files/nginxStream.ts";
import { turnHostname } from "jitsi-jwt-token/shared";
import { renderFiles } from "../../../templates/render.ts";
import { TurnClient } from "../../../token/smoke/turnClient.ts";
import { XmppSession } from "../../../token/smoke/xmppSession.ts";
import { turnRestCredentials, type LoopbackCoturn } from "../../support/coturn.ts";
import { checkNginxSite, type RunningNginx } from "../../support/nginx.ts";
import { PROSODY_TEST_DEPLOYMENT, type RunningProsody } from "../../support/prosody.ts";
import { startTurnStack, type TurnStack } from "../../support/turnStack.ts";
import { sampleDeployment } from "../sampleDeployment.ts";

const TURN = { secret: "streamTurnSecret0123456789abcdefghijklmnopq", vpcCidr: "10.0.0.0/16" } as const;
const DOMAIN = PROSODY_TEST_DEPLOYMENT.domain;

describe("stream proxy and site (rendered)", () => {
  it("exists only with TURN; without it the site keeps the HTTPS port itself", () => {
    const off = sampleDeployment();
    expect(renderNginxStream(off)).toEqual([]);
    const site = renderNginxSite(off).content;
    expect(site).toMatch(/^ {4}listen 443 ssl http2;$/m);
    expect(site).not.toMatch(/proxy_protocol|set_real_ip_from/);
  });

  it("with TURN: the stream proxy owns 443 and routes by SNI; the site listens on loopback with the PROXY protocol", () => {
    const d = sampleDeployment({ turn: TURN });
    const [stream] = renderNginxStream(d);
    expect(stream).toMatchObject({ path: "/etc/nginx/modules-enabled/90-jitsi-turn-stream.conf", effect: { service: "nginx", action: "reload" } });
    expect(stream!.content).toMatch(/^stream \{$/m);
    expect(stream!.content).toMatch(/^ {8}turn\.meet\.example\.com jitsi_turn;$/m);
    expect(stream!.content).toMatch(/^ {8}default jitsi_site;$/m);
    expect(stream!.content).toMatch(/^ {8}listen 443;$/m);
    expect(stream!.content).toMatch(/^ {8}listen \[::\]:443;$/m);
    const site = renderNginxSite(d).content;
    expect(site).toMatch(/^ {4}listen 127\.0\.0\.1:8443 ssl http2 proxy_protocol;$/m);
    expect(site).not.toMatch(/listen (\[::\]:)?443/);
    expect(site).toMatch(/^ {4}set_real_ip_from 127\.0\.0\.1;\n {4}real_ip_header proxy_protocol;$/m);
    expect(renderFiles(d).map((f) => f.path)).toContain(stream!.path);
  });
});

describe("TURN and the site on one port, in real nginx", () => {
  let stack: TurnStack;
  let coturn: LoopbackCoturn;
  let nginx: RunningNginx;
  let prosody: RunningProsody;

  beforeAll(async () => {
    stack = await startTurnStack(TURN, "198.51.100.50");
    ({ coturn, nginx, prosody } = stack);
    expect(await checkNginxSite(stack.site)).toMatch(/syntax is ok/);
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it("allocates a TURN relay over TLS on the HTTPS port by SNI turn.<domain>", async () => {
    // coturn's own TLS listener settings (SNI turn.<domain>, its certificate), but nginx's HTTPS port.
    const client = await TurnClient.connect({ ...coturn.tls, port: nginx.httpsPort });
    try {
      const result = await client.allocate(turnRestCredentials(TURN.secret, Math.floor(Date.now() / 1000) + 600));
      expect(result.relayed.address).toBe("198.51.100.50");
    } finally {
      client.close();
    }
  });

  /** The certificate's subjectAltName presented on the HTTPS port for `servername` (none: no SNI). */
  function presented(servername: string | undefined): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port: nginx.httpsPort, ...(servername ? { servername } : {}), rejectUnauthorized: false });
      socket.once("secureConnect", () => {
        resolve(socket.getPeerCertificate().subjectaltname ?? "");
        socket.destroy();
      });
      socket.once("error", reject);
    });
  }

  it("hands every other name, and no SNI at all, to the site", async () => {
    expect(await presented(turnHostname(DOMAIN))).toBe(`DNS:${turnHostname(DOMAIN)}`);
    expect(await presented(DOMAIN)).toBe(`DNS:${DOMAIN}`);
    expect(await presented("other.example.org")).toBe(`DNS:${DOMAIN}`);
    expect(await presented(undefined)).toBe(`DNS:${DOMAIN}`);
  });

  it("serves the site through the same port and logs the client's own address, not the proxy's", async () => {
    // The client connects from 127.0.0.2 (all of 127/8 is local): the proxy itself talks to the site from 127.0.0.1.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: nginx.httpsPort, path: "/config.js", servername: DOMAIN, headers: { Host: DOMAIN }, ca: nginx.certificatePem, localAddress: "127.0.0.2", agent: false },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect([200, 404]).toContain(status);
    let log = "";
    for (let i = 0; i < 100 && !log.includes("/config.js"); i++) {
      log = await readFile(nginx.accessLog, "utf8").catch(() => "");
      if (!log.includes("/config.js")) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(log).toMatch(/^127\.0\.0\.2 - - \[[^\]]+\] "GET \/config\.js HTTP\/1\.1"/m);
  });

  it("still carries the XMPP WebSocket: a guest logs in through the shared port", async () => {
    const session = await XmppSession.open({
      service: `wss://${DOMAIN}:${String(nginx.httpsPort)}/xmpp-websocket`,
      domain: prosody.names.guest,
      resolve: { [DOMAIN]: "127.0.0.1" },
      ca: nginx.certificatePem,
      timeoutMs: 5_000,
    });
    try {
      expect(session.jid).toMatch(new RegExp(`@${prosody.names.guest.replace(/\./g, "\\.")}/`));
      const services = await session.externalServices(prosody.names.guest, 5_000);
      expect(services.map((s) => s.type)).toEqual(["stun", "turn", "turns"]);
    } finally {
      await session.close();
    }
  });
});
