/**
 * The TURN switch (jitsi:turn, on by default): its pieces are the coturn ports in the security group, the
 * turn.<domain> record, the name on the certificate, a generated shared secret, coturn's file and restart and the
 * nginx stream file. Turning it off removes exactly those, changes only file pushes, restarts and the
 * certificate step, and replaces nothing.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { hostPaths, PORTS } from "jitsi-jwt-token/shared";
import { baseConfig, byType, COMMAND, MOCK, reveal, runProgram, TYPES, type ProgramRun, type RecordedResource } from "./harness.ts";

const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;
const paths = hostPaths("meet.example.com");

let on: ProgramRun;
let off: ProgramRun;
beforeAll(async () => {
  on = await runProgram(baseConfig());
  off = await runProgram({ ...baseConfig(), "jitsi:turn": "false" });
});

function command(run: ProgramRun, suffix: string): RecordedResource | undefined {
  return run.resources.find((r) => r.type === COMMAND && r.name.endsWith(suffix));
}

describe("jitsi:turn on (the default)", () => {
  it("generates the TURN secret with @pulumi/random, 64 letters and digits", () => {
    const secret = byType(on, TYPES.randomPassword).find((r) => r.name === "dev-turn-secret");
    expect(secret?.inputs).toMatchObject({ length: 64, special: false });
  });

  it("renders coturn's file with that secret and the VPC's range, pushed as a secret, and restarts coturn", () => {
    const push = command(on, "-file-etc-turnserver-conf");
    expect(push).toBeDefined();
    const stdin = String(reveal(push!.inputs.stdin));
    expect(stdin).toContain(`static-auth-secret=${MOCK.password("dev-turn-secret")}`);
    expect(stdin).toContain("denied-peer-ip=172.31.0.0-172.31.255.255");
    // The VPC's secondary block, public address space: denied as well, once.
    expect(stdin.split("\n").filter((line) => line === "denied-peer-ip=44.200.0.0-44.200.255.255")).toHaveLength(1);
    expect(stdin.split("\n").filter((line) => line === "denied-peer-ip=172.31.0.0-172.31.255.255")).toHaveLength(1);
    expect(stdin).toContain(`external-ip=${MOCK.publicIp}`);
    expect(stdin).toContain(`relay-ip=${MOCK.privateIp}`);
    // Health: its TLS port accepts TCP and its UDP port answers a STUN Binding (restart-service.sh).
    expect(command(on, "-service-coturn")!.inputs.environment).toMatchObject({
      JITSI_SERVICE: "coturn",
      JITSI_ACTION: "restart",
      JITSI_HEALTH_PORT: String(PORTS.turnTls),
      JITSI_HEALTH_STUN_PORT: String(PORTS.turnUdp),
    });
    expect(command(on, `-file-${paths.nginxStream.replace(/^\/+/, "").replace(/[^A-Za-z0-9]+/g, "-").toLowerCase()}`)).toBeDefined();
    expect(on.calls.some((c) => c.token === "aws:ec2/getVpc:getVpc" && c.inputs.id === MOCK.vpcId)).toBe(true);
  });

  it("runs the deploy hook once (coturn's certificate copy) after the certificate and the files, before coturn's restart", () => {
    const run = command(on, "-coturn-cert-copy")!;
    expect(run.inputs.environment).toEqual({ JITSI_HOOK: paths.renewalHook });
    const deps = on.dependsOn.get(run.name)!;
    for (const suffix of ["-certificate", "-file-etc-letsencrypt-renewal-hooks-deploy-jitsi-reload-sh", "-file-etc-turnserver-conf", "-file-etc-nginx-sites-available-meet-example-com-conf"]) {
      expect(deps, suffix).toContain(command(on, suffix)!.name);
    }
    expect(on.dependsOn.get(command(on, "-service-coturn")!.name)).toContain(run.name);
  });
});

describe("turning TURN off", () => {
  const added = () => on.resources.filter((r) => !off.resources.some((o) => key(o) === key(r))).map(key).sort();
  const changedInputs = () =>
    off.resources
      .filter((r) => {
        const before = on.resources.find((o) => key(o) === key(r));
        return before !== undefined && JSON.stringify(before.inputs) !== JSON.stringify(r.inputs);
      })
      .map((r) => r.name.replace(/^dev-/, ""))
      .sort();

  it("removes exactly the TURN pieces and adds only the step that takes TURN off a host that had it", () => {
    expect(off.resources.filter((r) => !on.resources.some((o) => key(o) === key(r))).map(key)).toEqual([`${COMMAND}::dev-turn-off`]);
    const turnOff = command(off, "-turn-off")!;
    expect(turnOff.inputs.environment).toEqual({ JITSI_STREAM_FILE: paths.nginxStream });
    // Before nginx reloads with the site back on the HTTPS port.
    expect(off.dependsOn.get(command(off, "-service-nginx")!.name)).toContain(turnOff.name);
    expect(added()).toEqual(
      [
        `${TYPES.ingress}::dev-udp-${String(PORTS.turnUdp)}`,
        `${TYPES.ingress}::dev-udp-${String(PORTS.turnRelayMin)}-${String(PORTS.turnRelayMax)}`,
        `${TYPES.record}::dev-turn-a`,
        `${TYPES.randomPassword}::dev-turn-secret`,
        `${COMMAND}::dev-file-etc-turnserver-conf`,
        `${COMMAND}::dev-file-etc-nginx-modules-enabled-90-jitsi-turn-stream-conf`,
        `${COMMAND}::dev-service-coturn`,
        `${COMMAND}::dev-coturn-cert-copy`,
      ].sort(),
    );
  });

  it("changes only the files that mention TURN, their services and the certificate's names; the machine stays", () => {
    expect(changedInputs()).toEqual(
      [
        "certificate",
        "file-etc-jitsi-meet-meet-example-com-config-js",
        "file-etc-letsencrypt-renewal-hooks-deploy-jitsi-reload-sh",
        "file-etc-nginx-sites-available-meet-example-com-conf",
        "file-etc-prosody-conf-avail-meet-example-com-cfg-lua",
        "service-nginx",
        "service-prosody",
      ].sort(),
    );
    for (const type of [TYPES.instance, TYPES.eip, TYPES.eipAssociation, TYPES.securityGroup, TYPES.keyPair]) {
      const before = byType(on, type).map((r) => JSON.stringify(r.inputs));
      expect(byType(off, type).map((r) => JSON.stringify(r.inputs)), type).toEqual(before);
    }
    expect(command(off, "-certificate")!.inputs.environment).not.toHaveProperty("EXTRA_DOMAINS");
  });
});
