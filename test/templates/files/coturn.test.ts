import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deployment } from "../../../templates/deployment.ts";
import { deniedPeerRanges, renderCoturnConf } from "../../../templates/files/coturn.ts";
import { cidrToRange, parseIpv4Cidr, vpcResolver } from "../../../templates/ipRanges.ts";
import { hostPaths } from "jitsi-jwt-token/shared";
import { renderFiles } from "../../../templates/render.ts";
import { DeploymentError, validateDeployment } from "../../../templates/validate.ts";
import { TurnClient, TurnRefusal, type TurnServerAddress } from "../../../token/smoke/turnClient.ts";
import { startCoturn, startLoopbackCoturn, turnRestCredentials, type LoopbackCoturn, type RunningCoturn } from "../../support/coturn.ts";
import { createLinkedNamespaces, runNodeInNamespace, type LinkedNamespaces } from "../../support/netns.ts";
import type { ProbeResult } from "../../support/turnProbe.ts";
import { sampleDeployment } from "../sampleDeployment.ts";

const SECRET = "turnSecret0123456789abcdefghijklmnopqrstuvwxyz";
const TURN = { secret: SECRET, vpcCidr: "10.0.0.0/16" } as const;
const hour = () => Math.floor(Date.now() / 1000) + 3600;

function conf(d: Deployment): string {
  const [file] = renderCoturnConf(d);
  if (file === undefined) throw new Error("no coturn file");
  return file.content;
}
const values = (content: string, key: string) =>
  content.split("\n").filter((line) => line.startsWith(`${key}=`)).map((line) => line.slice(key.length + 1));

describe("CIDR to coturn ranges", () => {
  it("converts a VPC CIDR to the A-B form and finds its resolver", () => {
    expect(cidrToRange("10.0.0.0/16")).toBe("10.0.0.0-10.0.255.255");
    expect(cidrToRange("172.31.0.0/16")).toBe("172.31.0.0-172.31.255.255");
    expect(cidrToRange("10.0.0.0/8")).toBe("10.0.0.0-10.255.255.255");
    expect(cidrToRange("192.168.10.16/28")).toBe("192.168.10.16-192.168.10.31");
    expect(vpcResolver("10.20.0.0/16")).toBe("10.20.0.2");
  });
  it("refuses what is not a VPC-sized network address", () => {
    for (const bad of ["10.0.0.1/16", "10.0.0.0/7", "10.0.0.0/29", "10.0.0.0", "10.0.0.0/", "300.0.0.0/16", "::/0", "10.0.0.0/16 "]) {
      expect(parseIpv4Cidr(bad), bad).toBeUndefined();
      expect(() => cidrToRange(bad)).toThrow(/IPv4 CIDR/);
    }
  });
});

describe("coturn configuration (rendered)", () => {
  const d = sampleDeployment({ turn: TURN });
  const content = conf(d);

  it("is rendered only when TURN is on, as a secret file coturn's group reads, restarting coturn", () => {
    expect(renderCoturnConf(sampleDeployment())).toEqual([]);
    expect(renderFiles(sampleDeployment()).some((f) => f.path === hostPaths(d.domain).coturnConf)).toBe(false);
    const file = renderFiles(d).find((f) => f.path === "/etc/turnserver.conf");
    expect(file).toMatchObject({ mode: 0o640, owner: "root", group: "turnserver", secret: true, effect: { service: "coturn", action: "restart" } });
  });

  it("takes only time-limited credentials from the shared secret: no static user, no open relay", () => {
    expect(content).toMatch(/^use-auth-secret$/m);
    expect(values(content, "static-auth-secret")).toEqual([SECRET]);
    expect(content).not.toMatch(/^(user|lt-cred-mech|no-auth|allow-loopback-peers|cli-password)\b/m);
    expect(content).toMatch(/^no-cli$/m);
  });

  it("advertises the Elastic IP and relays from the private address only", () => {
    expect(values(content, "external-ip")).toEqual([d.network.publicIp]);
    expect(values(content, "relay-ip")).toEqual([d.network.privateIp]);
    expect(values(content, "listening-port")).toEqual(["3478"]);
    expect(values(content, "tls-listening-port")).toEqual(["5349"]);
    expect(values(content, "cert")).toEqual(["/etc/coturn/certs/fullchain.pem"]);
  });

  it("denies the VPC (converted), its resolver, metadata, loopback and link-local, as A-B ranges only", () => {
    const denied = values(content, "denied-peer-ip");
    expect(denied).toEqual(deniedPeerRanges(TURN));
    expect(denied).toEqual(expect.arrayContaining([
      "10.0.0.0-10.0.255.255", "10.0.0.2", "169.254.169.254", "fd00:ec2::254", "127.0.0.0-127.255.255.255", "::1",
      "169.254.0.0-169.254.255.255", "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ]));
    for (const entry of denied) expect(entry, entry).not.toContain("/");
  });

  it("denies every block of the VPC, a public secondary one too (the fixed list covers only special-purpose space)", () => {
    const turn = { ...TURN, vpcSecondaryCidrs: ["44.20.0.0/16", "100.64.0.0/16"] };
    const denied = values(conf(sampleDeployment({ turn })), "denied-peer-ip");
    expect(denied).toEqual(deniedPeerRanges(turn));
    expect(denied.slice(0, 4)).toEqual(["10.0.0.0-10.0.255.255", "10.0.0.2", "44.20.0.0-44.20.255.255", "100.64.0.0-100.64.255.255"]);
    // A public primary block is denied as it is.
    expect(deniedPeerRanges({ ...TURN, vpcCidr: "44.10.0.0/16" }).slice(0, 2)).toEqual(["44.10.0.0-44.10.255.255", "44.10.0.2"]);
  });

  it("rejects bad TURN settings, naming the field, before rendering", () => {
    const issues = (turn: unknown) => {
      try {
        validateDeployment({ ...sampleDeployment(), turn });
      } catch (error) {
        if (error instanceof DeploymentError) return error.issues.join("\n");
        throw error;
      }
      return "";
    };
    expect(issues({ ...TURN, secret: "short" })).toMatch(/^turn\.secret: must be 32 to 256 letters and digits/);
    expect(issues({ ...TURN, secret: `${"a".repeat(40)}\nallow-loopback-peers` })).toMatch(/^turn\.secret:/);
    expect(issues({ ...TURN, vpcCidr: "10.0.0.1/16" })).toMatch(/^turn\.vpcCidr: must be an IPv4 CIDR/);
    expect(issues({ ...TURN, vpcSecondaryCidrs: ["100.64.0.0/16", "44.0.0.1/16"] })).toMatch(/^turn\.vpcSecondaryCidrs\.1: must be an IPv4 CIDR/);
    expect(issues({ ...TURN, relay: true })).toMatch(/^turn\.relay: is not a known field/);
    expect(issues({ vpcCidr: TURN.vpcCidr })).toMatch(/^turn\.secret: /);
  });
});

describe("real coturn on the rendered file (loopback)", () => {
  let coturn: LoopbackCoturn;
  let udp: TurnServerAddress;
  let tls: TurnServerAddress;

  beforeAll(async () => {
    coturn = await startLoopbackCoturn({ turn: TURN, publicIp: "198.51.100.20" });
    ({ udp, tls } = coturn);
  }, 30_000);
  afterAll(async () => {
    await coturn?.stop();
  });

  async function allocate(server: TurnServerAddress, credentials: { username: string; password: string } | undefined) {
    const client = await TurnClient.connect(server);
    try {
      return await client.allocate(credentials);
    } finally {
      client.close();
    }
  }
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => "allocated",
      (error: unknown) => (error instanceof TurnRefusal ? error.code : String(error)),
    );

  it.each(["udp", "tls"] as const)("allocates a relay over %s with valid time-limited credentials", async (kind) => {
    const result = await allocate(kind === "udp" ? udp : tls, turnRestCredentials(SECRET, hour(), "guest"));
    // coturn advertises the external (Elastic) address, not the private one it relays from.
    expect(result.relayed.address).toBe("198.51.100.20");
    expect(result.relayed.port).toBeGreaterThanOrEqual(49152);
    expect(result.relayed.port).toBeLessThanOrEqual(50175);
    expect(result.lifetimeSeconds).toBeGreaterThan(0);
  });

  it.each(["udp", "tls"] as const)("refuses wrong, expired and missing credentials over %s", async (kind) => {
    const server = kind === "udp" ? udp : tls;
    const wrongSecret = turnRestCredentials("another-secret-0123456789abcdef0123", hour());
    const expired = turnRestCredentials(SECRET, Math.floor(Date.now() / 1000) - 60);
    expect(await refusal(allocate(server, wrongSecret))).toBe(401);
    expect(await refusal(allocate(server, expired))).toBe(401);
    expect(await refusal(allocate(server, undefined))).toBe(401);
    expect(await refusal(allocate(server, { username: "guest", password: "guess" }))).toBe(401);
  });

  it("refuses permissions to loopback, the VPC and the metadata service", async () => {
    const client = await TurnClient.connect(udp);
    try {
      await client.allocate(turnRestCredentials(SECRET, hour()));
      for (const peer of ["127.0.0.1", "10.0.5.5", "10.0.0.2", "169.254.169.254", "192.168.1.1"]) {
        expect(await refusal(client.createPermission(peer)), peer).toBe(403);
      }
    } finally {
      client.close();
    }
  });
});

describe("real coturn relaying between network namespaces", () => {
  // The server namespace's address is the host's "private IP", inside the VPC range; the peer is outside every
  // denied range. Both exist only inside the namespaces.
  const SERVER = "10.77.0.10";
  const PEER = "192.0.3.2";
  let nets: LinkedNamespaces | undefined;
  let coturn: RunningCoturn | undefined;
  let root: string;
  let echo: { stop(): Promise<void> } | undefined;
  const udpPort = 3478;

  beforeAll(async () => {
    nets = await createLinkedNamespaces(SERVER, PEER);
    root = await mkdtemp(join(tmpdir(), "coturn-ns-"));
    // Ports are the namespace's own: production's numbers fit.
    coturn = await startCoturn(
      sampleDeployment({
        // A public secondary block: AWS allows it, and only its own entry keeps relays out of it.
        turn: { secret: SECRET, vpcCidr: "10.77.0.0/16", vpcSecondaryCidrs: ["44.20.0.0/16"] },
        network: { privateIp: SERVER, publicIp: "198.51.100.30" },
        runtime: { rootDir: root, bindAddress: SERVER, turnUdpPort: udpPort, turnTlsPort: 5349 },
      }),
      { netns: nets.server },
    );
    echo = await nets.startEchoPeer(4000);
  }, 30_000);
  afterAll(async () => {
    await echo?.stop();
    await coturn?.stop();
    await nets?.remove();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it("relays to a permitted peer and back, and still refuses loopback, this host, the VPC (every block) and metadata", async () => {
    expect(coturn!.conf.content).not.toMatch(/^\s*allow-loopback-peers/m);
    const request = {
      server: { transport: "udp", host: SERVER, port: udpPort },
      credentials: turnRestCredentials(SECRET, hour(), "guest"),
      permissions: [PEER, "44.21.0.5", "127.0.0.1", SERVER, "10.77.200.1", "44.20.0.5", "169.254.169.254"],
      echo: { address: PEER, port: 4000, text: "hello through the relay" },
    };
    const script = fileURLToPath(new URL("../../support/turnProbe.ts", import.meta.url));
    const result = JSON.parse(await runNodeInNamespace(nets!.server, script, [JSON.stringify(request)])) as ProbeResult;
    expect(result.allocate).toMatchObject({ ok: true, detail: { relayed: { address: "198.51.100.30" } } });
    expect(result.permissions[PEER]).toEqual({ ok: true });
    expect(result.permissions["44.21.0.5"]).toEqual({ ok: true }); // next to the secondary block, outside it
    for (const denied of ["127.0.0.1", SERVER, "10.77.200.1", "44.20.0.5", "169.254.169.254"]) {
      expect(result.permissions[denied], denied).toMatchObject({ ok: false, code: 403 });
    }
    expect(result.echo).toMatchObject({ ok: true, detail: { text: "hello through the relay", from: { address: PEER, port: 4000 } } });
  }, 60_000);
});
