/**
 * Policies over what the program registers, run against the real program under mocks: ports, IMDSv2, disk,
 * DNS, AMI lookup, step ordering, outputs.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { hostPaths, PORTS, SERVICES } from "jitsi-jwt-token/shared";
import { STACK_OUTPUTS } from "jitsi-jwt-token/shared";
import { baseConfig, byType, COMMAND, MOCK, only, reveal, rsaPublicKeyPem, runProgram, TYPES, type ProgramRun } from "./harness.ts";

const { securityGroup: SG, ingress: INGRESS, egress: EGRESS, instance: INSTANCE, record: RECORD, eip: EIP } = TYPES;

let run: ProgramRun;
beforeAll(async () => {
  run = await runProgram(baseConfig());
});

const commands = () => byType(run, COMMAND);
const commandNamed = (suffix: string) => {
  const found = commands().filter((c) => c.name.endsWith(suffix));
  expect(found, suffix).toHaveLength(1);
  return found[0]!;
};

describe("security group", () => {
  it("opens exactly 443/tcp, 80/tcp, 10000/udp, TURN's 3478/udp and relay range to the world and 22/tcp to the admin CIDRs", () => {
    const rules = byType(run, INGRESS).map((r) => {
      const i = r.inputs as Record<string, unknown>;
      return `${String(i.ipProtocol)} ${String(i.fromPort)}-${String(i.toPort)} ${String(i.cidrIpv4 ?? i.cidrIpv6)}`;
    });
    expect(rules.sort()).toEqual(
      [
        `tcp ${PORTS.publicHttps}-${PORTS.publicHttps} 0.0.0.0/0`,
        `tcp ${PORTS.publicHttp}-${PORTS.publicHttp} 0.0.0.0/0`,
        `udp ${PORTS.publicMediaUdp}-${PORTS.publicMediaUdp} 0.0.0.0/0`,
        // jitsi:turn is on by default
        `udp ${PORTS.turnUdp}-${PORTS.turnUdp} 0.0.0.0/0`,
        `udp ${PORTS.turnRelayMin}-${PORTS.turnRelayMax} 0.0.0.0/0`,
        `tcp ${PORTS.ssh}-${PORTS.ssh} 203.0.113.7/32`,
        `tcp ${PORTS.ssh}-${PORTS.ssh} 2001:db8::/48`,
      ].sort(),
    );
  });

  it("has no inline ingress and no other kind of ingress rule", () => {
    expect(only(run, SG).inputs.ingress ?? []).toEqual([]);
    expect(byType(run, "aws:ec2/securityGroupRule:SecurityGroupRule")).toEqual([]);
    for (const rule of byType(run, INGRESS)) {
      expect(rule.inputs.securityGroupId).toBe(`${only(run, SG).name}-id`);
    }
  });

  it("allows all egress (apt, ACME, STUN)", () => {
    const egress = byType(run, EGRESS).map((r) => `${String(r.inputs.ipProtocol)} ${String(r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6)}`);
    expect(egress.sort()).toEqual(["-1 0.0.0.0/0", "-1 ::/0"]);
  });
});

describe("instance", () => {
  it("requires IMDSv2 with a hop limit of 1", () => {
    expect(only(run, INSTANCE).inputs.metadataOptions).toMatchObject({ httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 });
  });

  it("boots from an encrypted gp3 root volume of the configured size", () => {
    expect(only(run, INSTANCE).inputs.rootBlockDevice).toMatchObject({ volumeType: "gp3", encrypted: true, volumeSize: 20, deleteOnTermination: true });
  });

  it("uses the looked-up Ubuntu LTS AMI for its architecture, from Canonical", () => {
    expect(only(run, INSTANCE).inputs.ami).toBe(MOCK.amiId);
    const lookup = run.calls.find((c) => c.token === "aws:ec2/getAmi:getAmi");
    expect(lookup?.inputs.owners).toEqual(["099720109477"]);
    expect(lookup?.inputs.mostRecent).toBe(true);
    const filters = lookup?.inputs.filters as { name: string; values: string[] }[];
    expect(filters.find((f) => f.name === "name")?.values[0]).toMatch(/^ubuntu\/images\/hvm-ssd-gp3\/ubuntu-[a-z]+-\d\d\.04-amd64-server-\*$/);
    expect(filters.find((f) => f.name === "architecture")?.values).toEqual(["x86_64"]);
  });

  it("looks up the arm64 image for a Graviton instance type", async () => {
    const arm = await runProgram({ ...baseConfig(), "jitsi:instanceType": "t4g.large", "jitsi:architecture": "arm64" });
    const filters = arm.calls.find((c) => c.token === "aws:ec2/getAmi:getAmi")?.inputs.filters as { name: string; values: string[] }[];
    expect(filters.find((f) => f.name === "name")?.values[0]).toContain("-arm64-server-");
    expect(only(arm, INSTANCE).inputs.instanceType).toBe("t4g.large");
  });

  it("is not replaced for a newer AMI, but is for a new domain", () => {
    expect(run.lifecycle.get(only(run, INSTANCE).name)).toEqual({ ignoreChanges: ["ami"], replacementTrigger: "meet.example.com" });
    // Nothing else in the program overrides update behaviour, except the certificate store keeping the host's tags.
    expect([...run.lifecycle.keys()].sort()).toEqual([only(run, INSTANCE).name, "dev-certificate-store"].sort());
  });

  it("has no user data and is bound to the Elastic IP", () => {
    expect(only(run, INSTANCE).inputs.userData).toBeUndefined();
    expect(only(run, INSTANCE).inputs.userDataBase64).toBeUndefined();
    const association = only(run, TYPES.eipAssociation);
    expect(association.inputs.instanceId).toBe(`${only(run, INSTANCE).name}-id`);
    expect(association.inputs.allocationId).toBe(`eipalloc-${only(run, EIP).name}`);
  });
});

describe("DNS", () => {
  it("points A records for the domain and turn.<domain> at the Elastic IP, in the looked-up zone", () => {
    const records = byType(run, RECORD)
      .map((r) => r.inputs)
      .sort((a, b) => String(a.name).localeCompare(String(b.name)));
    expect(records).toEqual([
      expect.objectContaining({ name: "meet.example.com", type: "A", zoneId: MOCK.zoneId, records: [MOCK.publicIp] }),
      expect.objectContaining({ name: "turn.meet.example.com", type: "A", zoneId: MOCK.zoneId, records: [MOCK.publicIp] }),
    ]);
    const zone = run.calls.find((c) => c.token === "aws:route53/getZone:getZone");
    expect(zone?.inputs).toMatchObject({ name: "example.com", privateZone: false });
  });
});

describe("provisioning order", () => {
  it("connects over SSH to the Elastic IP with the generated key as a secret", () => {
    for (const cmd of commands()) {
      const connection = reveal(cmd.inputs.connection) as Record<string, unknown>;
      expect(connection.host).toBe(MOCK.publicIp);
      expect(connection.user).toBe("ubuntu");
      expect(reveal(connection.privateKey)).toContain("MOCKPRIVATEKEY");
    }
  });

  it("passes only variables that the prepare step told sshd to accept, and no previous output", () => {
    const accepted = String(reveal(commandNamed("-prepare").inputs.stdin)).trim().split(/\s+/);
    const acceptedBy = (name: string) =>
      accepted.some((pattern) => new RegExp(`^${pattern.replace(/\*/g, ".*")}$`).test(name));
    for (const cmd of commands()) {
      expect(cmd.inputs.addPreviousOutputInEnv, cmd.name).toBe(false);
      for (const name of Object.keys((cmd.inputs.environment ?? {}) as object)) {
        expect(acceptedBy(name), `${cmd.name}: ${name}`).toBe(true);
        expect(cmd.inputs.create as string, cmd.name).toContain(name); // preserved through sudo
      }
    }
  });

  it("re-runs every step on a replaced instance (the connection goes to the Elastic IP, which stays)", () => {
    const instanceId = `${only(run, INSTANCE).name}-id`;
    for (const cmd of commands()) {
      expect((reveal(cmd.inputs.triggers) as unknown[])[0], cmd.name).toBe(instanceId);
    }
  });

  it("prepares the host after the Elastic IP association, restricts the metadata service to root, then installs, then fixes Lua", () => {
    expect(run.dependsOn.get(commandNamed("-prepare").name)).toEqual([only(run, TYPES.eipAssociation).name]);
    expect(run.dependsOn.get(commandNamed("-imds-root-only").name)).toEqual([commandNamed("-prepare").name]);
    expect(run.dependsOn.get(commandNamed("-install").name)).toEqual([commandNamed("-imds-root-only").name]);
    expect(run.dependsOn.get(commandNamed("-lua-fix").name)).toEqual([commandNamed("-install").name]);
  });

  it("requests the certificate (both names) only after the DNS records exist (and Jitsi is installed)", () => {
    const deps = run.dependsOn.get(commandNamed("-certificate").name);
    for (const record of byType(run, RECORD)) expect(deps).toContain(record.name);
    expect(deps).toContain(commandNamed("-install").name);
    const env = commandNamed("-certificate").inputs.environment as Record<string, string>;
    expect(env).toEqual({
      DOMAIN: "meet.example.com",
      EMAIL: "ops@example.com",
      EXPECTED_IP: MOCK.publicIp,
      ACME_SERVER: "https://acme-v02.api.letsencrypt.org/directory",
      EXTRA_DOMAINS: "turn.meet.example.com",
      JITSI_CERT_STORE_ARN: only(run, "aws:secretsmanager/secret:Secret").state.arn,
    });
  });

  it("uses the staging ACME directory when letsEncryptStaging is on", async () => {
    const staging = await runProgram({ ...baseConfig(), "jitsi:letsEncryptStaging": "true" });
    const cert = byType(staging, COMMAND).find((c) => c.name.endsWith("-certificate"))!;
    expect((cert.inputs.environment as Record<string, string>).ACME_SERVER).toBe("https://acme-staging-v02.api.letsencrypt.org/directory");
  });

  it("pushes every rendered file after the certificate, with its path, mode and owner", () => {
    const pushes = commands().filter((c) => c.name.includes("-file-"));
    expect(pushes.length).toBeGreaterThan(3);
    const paths = hostPaths("meet.example.com");
    const pushed = pushes.map((p) => (p.inputs.environment as Record<string, string>).JITSI_FILE_PATH);
    for (const expected of [paths.prosodyHostConfig, paths.meetConfigJs, paths.jicofoConf, paths.jvbConf, paths.nginxSite]) {
      expect(pushed).toContain(expected);
    }
    for (const push of pushes) {
      expect(run.dependsOn.get(push.name)).toEqual(expect.arrayContaining([commandNamed("-certificate").name, commandNamed("-lua-fix").name]));
      const env = push.inputs.environment as Record<string, string>;
      expect(env.JITSI_FILE_MODE).toMatch(/^0[0-7]{3}$/);
      expect(env.JITSI_FILE_OWNER).toMatch(/^[a-z][a-z0-9_-]*$/);
    }
    const prosody = pushes.find((p) => (p.inputs.environment as Record<string, string>).JITSI_FILE_PATH === paths.prosodyHostConfig)!;
    expect((prosody.inputs.environment as Record<string, string>).JITSI_FILE_LINK).toBe(paths.prosodyHostConfigLink);
  });

  it("restarts each service after the pushes of its own files, in SERVICES order", () => {
    const restarts = commands().filter((c) => c.name.includes("-service-"));
    const order = restarts.map((r) => (r.inputs.environment as Record<string, string>).JITSI_SERVICE);
    expect(order).toEqual(SERVICES.filter((s) => order.includes(s)));
    expect(order).toEqual(expect.arrayContaining(["prosody", "jicofo", "nginx"]));

    const pushByPath = new Map(
      commands()
        .filter((c) => c.name.includes("-file-"))
        .map((c) => [(c.inputs.environment as Record<string, string>).JITSI_FILE_PATH!, c.name]),
    );
    const paths = hostPaths("meet.example.com");
    const needs: Record<string, string> = {
      prosody: paths.prosodyHostConfig,
      jicofo: paths.jicofoConf,
      nginx: paths.nginxSite,
    };
    restarts.forEach((restart, index) => {
      const service = (restart.inputs.environment as Record<string, string>).JITSI_SERVICE!;
      const deps = run.dependsOn.get(restart.name) ?? [];
      if (needs[service] !== undefined) expect(deps).toContain(pushByPath.get(needs[service]!));
      if (index > 0) expect(deps).toContain(restarts[index - 1]!.name);
    });
    const nginx = restarts.find((r) => (r.inputs.environment as Record<string, string>).JITSI_SERVICE === "nginx")!;
    expect(nginx.inputs.environment).toMatchObject({ JITSI_ACTION: "reload", JITSI_CONFIG_TEST: "1" });
  });
});

describe("outputs", () => {
  it("exports every shared output name, with the app secret as a secret", () => {
    for (const name of Object.values(STACK_OUTPUTS)) {
      if (name === STACK_OUTPUTS.guestDomain) continue; // checked below; absent when guests are off
      expect(run.outputs[name], name).toBeDefined();
    }
    expect(run.outputs.meetingUrl).toEqual({ value: "https://meet.example.com/", secret: false });
    expect(run.outputs.publicIp).toEqual({ value: MOCK.publicIp, secret: false });
    expect(run.outputs.xmppDomain?.value).toBe("meet.example.com");
    expect(run.outputs.guestDomain?.value).toBe("guest.meet.example.com");
    expect(run.outputs.appId?.value).toBe("example-app");
    expect(run.outputs.tokenAlgorithm?.value).toBe("HS256");
    expect(run.outputs.appSecret).toEqual({ value: baseConfig()["jitsi:appSecret"], secret: true });
    expect(run.outputs.sshPrivateKey?.secret).toBe(true);
    expect(run.outputs.sshCommand?.value).toBe(`ssh -i dev-ssh-key.pem ubuntu@${MOCK.publicIp}`);
    expect(run.outputs.instanceId?.value).toMatch(/-id$/);
  });

  it("generates a secret app secret when none is configured", async () => {
    const config = baseConfig();
    delete config["jitsi:appSecret"];
    const generated = await runProgram(config);
    expect(generated.outputs.appSecret?.secret).toBe(true);
    expect(generated.outputs.appSecret?.value).toBe(MOCK.password("dev-app-secret"));
    expect(byType(generated, TYPES.randomPassword).map((r) => r.inputs.length)).toContain(64);
  });
});

describe("with a videobridge pool", () => {
  it("adds only XMPP (5222/tcp) from the pool's own security group to the server's group", async () => {
    const pooled = await runProgram({ ...baseConfig(), "jitsi:videobridges": JSON.stringify({ count: 2, instanceType: "c6i.xlarge" }) });
    expect(byType(pooled, "jitsi:index:VideobridgePool")).toHaveLength(1);
    const serverSg = `${byType(pooled, SG).find((g) => g.name === "dev-sg")!.name}-id`;
    const toServer = byType(pooled, INGRESS).filter((r) => r.inputs.securityGroupId === serverSg);
    const extra = toServer.filter((r) => r.inputs.cidrIpv4 === undefined && r.inputs.cidrIpv6 === undefined);
    expect(extra).toHaveLength(1);
    expect(extra[0]!.inputs).toMatchObject({ ipProtocol: "tcp", fromPort: PORTS.xmppClient, toPort: PORTS.xmppClient });
    expect(extra[0]!.inputs.referencedSecurityGroupId).not.toBe(serverSg);
    expect(toServer).toHaveLength(byType(run, INGRESS).length + 1);
  });
});

describe("with a pool carrying all media", () => {
  it("switches the host's own bridge off after install and never restarts it", async () => {
    const pooled = await runProgram({
      ...baseConfig(),
      "jitsi:videobridges": JSON.stringify({ count: 2, instanceType: "c6i.xlarge", keepLocalBridge: false }),
    });
    const services = byType(pooled, COMMAND)
      .filter((c) => c.name.includes("-service-"))
      .map((c) => c.inputs.environment as Record<string, string>);
    const bridge = "jitsi-videobridge2";
    expect(services.filter((e) => e.JITSI_SERVICE === bridge)).toEqual([{ JITSI_SERVICE: bridge, JITSI_ACTION: "disable" }]);
    const off = byType(pooled, COMMAND).find((c) => c.name.endsWith(`-service-${bridge}-off`))!;
    expect(pooled.dependsOn.get(off.name)).toEqual([byType(pooled, COMMAND).find((c) => c.name.endsWith("-install"))!.name]);
    // With the default (a pool next to the local bridge) nothing is switched off.
    expect(byType(run, COMMAND).filter((c) => c.name.endsWith("-off"))).toEqual([]);
  });
});

describe("with a supplied SSH public key", () => {
  it("installs that key, generates none, and provisions through the ssh-agent", async () => {
    // A real ssh-keygen public key: the key line is parsed (token/shared/sshPublicKey.ts).
    const publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIwQLdiL2FpRAHVDK15pCij7o0UP2jKB//41ZEsYCppH ops@laptop";
    const own = await runProgram({ ...baseConfig(), "jitsi:sshPublicKey": publicKey });
    expect(byType(own, "tls:index/privateKey:PrivateKey")).toEqual([]);
    expect(only(own, TYPES.keyPair).inputs.publicKey).toBe(publicKey);
    for (const cmd of byType(own, COMMAND)) {
      expect((reveal(cmd.inputs.connection) as Record<string, unknown>).privateKey).toBeUndefined();
    }
    expect(own.outputs.sshPrivateKey).toBeUndefined();
    expect(own.outputs.sshCommand?.value).toBe(`ssh ubuntu@${MOCK.publicIp}`);
  });
});

describe("with RS256", () => {
  it("pushes the public keys for Prosody's key server and exports no app secret", async () => {
    const config: Record<string, string> = {
      ...baseConfig(),
      "jitsi:tokenAlgorithm": "RS256",
      "jitsi:tokenPublicKeys": JSON.stringify({ "key-1": rsaPublicKeyPem() }),
    };
    delete config["jitsi:appSecret"];
    const rs = await runProgram(config);
    const pushed = byType(rs, COMMAND)
      .filter((c) => c.name.includes("-file-"))
      .map((c) => (c.inputs.environment as Record<string, string>).JITSI_FILE_PATH!);
    const keyFiles = pushed.filter((p) => p.startsWith(`${hostPaths("meet.example.com").asapKeysDir}/`));
    expect(keyFiles).toHaveLength(1);
    // Keys no longer configured are pruned before Prosody restarts (and forgets its key cache).
    const prune = byType(rs, COMMAND).find((c) => c.name.endsWith("-prune-asap-keys"))!;
    const keysDir = hostPaths("meet.example.com").asapKeysDir;
    expect(prune.inputs.environment).toEqual({ JITSI_PRUNE_DIR: keysDir });
    expect(prune.inputs.stdin).toBe(`${keyFiles[0]!.slice(keysDir.length + 1)}\n`);
    const prosodyRestart = byType(rs, COMMAND).find((c) => c.name.endsWith("-service-prosody"))!;
    expect(rs.dependsOn.get(prosodyRestart.name)).toContain(prune.name);
    const keyPush = byType(rs, COMMAND).find((c) => (c.inputs.environment as Record<string, string> | undefined)?.JITSI_FILE_PATH === keyFiles[0])!;
    expect(rs.dependsOn.get(prune.name)).toContain(keyPush.name);
    expect(rs.outputs.tokenAlgorithm?.value).toBe("RS256");
    expect(rs.outputs.appSecret).toBeUndefined();
    expect(byType(rs, TYPES.randomPassword).map((r) => r.name)).not.toContain("dev-app-secret");
  });
});
