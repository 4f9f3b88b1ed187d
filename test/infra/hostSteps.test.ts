/**
 * The host steps as the program builds them (under mocks): health waits on routes the pinned packages serve,
 * Prosody checked before its restart, the service accounts' passwords set in Prosody on stdin before Jicofo and
 * the bridge restart, and every pushed file tied to the restart that confirms or rolls it back.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { LAUNCH_HOOK_NAME, LAUNCH_HOOK_SECONDS } from "../../infra/bridges/userData.ts";
import { HEALTH_CHECKS, JICOFO_STATS_URL } from "../../infra/provision.ts";
import { allStrings, baseConfig, COMMAND, isSecretWrapper, plainStrings, reveal, runProgram, type ProgramRun, type RecordedResource } from "./harness.ts";

let run: ProgramRun;
beforeAll(async () => {
  run = await runProgram(baseConfig());
});
const step = (suffix: string): RecordedResource => {
  const found = run.resources.filter((r) => r.type === COMMAND && r.name.endsWith(`-${suffix}`));
  if (found.length !== 1) throw new Error(`expected one step *-${suffix}, found ${found.length}`);
  return found[0]!;
};
const env = (r: RecordedResource) => reveal(r.inputs.environment) as Record<string, string>;

describe("health waits", () => {
  it("wait on Jicofo's always-registered /about/version, not /about/health (off by default)", () => {
    expect(env(step("service-jicofo")).JITSI_HEALTH_URL).toBe("http://127.0.0.1:8888/about/version");
    expect(HEALTH_CHECKS.jicofo.url).not.toMatch(/health/);
  });

  it("after the local bridge restarts, wait for Jicofo to count an operational bridge", () => {
    const bridge = env(step("service-jitsi-videobridge2"));
    expect(bridge.JITSI_HEALTH_URL).toBe("http://127.0.0.1:8080/about/health");
    expect(bridge.JITSI_BRIDGES_URL).toBe(JICOFO_STATS_URL);
    expect(env(step("service-jicofo")).JITSI_BRIDGES_URL).toBeUndefined();
  });

  it("check Prosody's configuration and modules before its restart, and nginx's with nginx -t", () => {
    expect(env(step("service-prosody")).JITSI_CONFIG_TEST).toBe("prosody");
    expect(env(step("service-nginx")).JITSI_CONFIG_TEST).toBe("1");
  });
});

describe("service account passwords", () => {
  it("go to Prosody on stdin only, before the first restart", () => {
    const accounts = step("xmpp-accounts");
    expect(isSecretWrapper(accounts.inputs.stdin)).toBe(true);
    const stdin = String(reveal(accounts.inputs.stdin));
    expect(stdin).toMatch(/^focus \S+\njvb \S+\n$/);
    const [focusPw, jvbPw] = stdin.trim().split("\n").map((l) => l.split(" ")[1]!);
    for (const pw of [focusPw, jvbPw]) {
      expect(plainStrings({ create: accounts.inputs.create, environment: accounts.inputs.environment }).some((s) => s.text.includes(pw!))).toBe(false);
    }
    const prosodyRestart = run.dependsOn.get(step("service-prosody").name) ?? [];
    expect(prosodyRestart).toContain(accounts.name);
  });

  it("use the same passwords as the rendered jicofo.conf and jvb.conf", () => {
    const stdin = String(reveal(step("xmpp-accounts").inputs.stdin));
    const [focusPw, jvbPw] = stdin.trim().split("\n").map((l) => l.split(" ")[1]!);
    const jicofo = allStrings(step("file-etc-jitsi-jicofo-jicofo-conf").inputs.stdin).join("\n");
    const jvb = allStrings(step("file-etc-jitsi-videobridge-jvb-conf").inputs.stdin).join("\n");
    expect(jicofo).toContain(focusPw);
    expect(jvb).toContain(jvbPw);
  });
});

describe("file pushes", () => {
  it("name the service whose restart confirms them (the last good copy is kept until then)", () => {
    const pushes = run.resources.filter((r) => r.type === COMMAND && r.name.includes("-file-"));
    expect(pushes.length).toBeGreaterThan(3);
    expect(env(step("file-etc-jitsi-jicofo-jicofo-conf")).JITSI_FILE_SERVICE).toBe("jicofo");
    const services = new Set(pushes.map((p) => env(p).JITSI_FILE_SERVICE));
    expect([...services].filter((s) => s !== undefined).sort()).toEqual(["coturn", "jicofo", "jitsi-videobridge2", "nginx", "prosody"]);
  });
});

describe("bridge pool launch hook", () => {
  it("keeps a new bridge out of service until its boot says CONTINUE; silence or failure abandons it", async () => {
    const pooled = await runProgram({ ...baseConfig(), "jitsi:videobridges": JSON.stringify({ count: 2, instanceType: "c6i.xlarge" }) });
    const group = pooled.resources.find((r) => r.type === "aws:autoscaling/group:Group")!;
    expect(reveal(group.inputs.initialLifecycleHooks)).toEqual([
      { name: LAUNCH_HOOK_NAME, lifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING", heartbeatTimeout: LAUNCH_HOOK_SECONDS, defaultResult: "ABANDON" },
    ]);
    // The boot script learns the hook's name from the pool env in user data.
    const template = pooled.resources.find((r) => r.type === "aws:ec2/launchTemplate:LaunchTemplate")!;
    const userData = Buffer.from(String(reveal(template.inputs.userData)), "base64").toString("utf8");
    expect(userData).toContain(`LAUNCH_HOOK='${LAUNCH_HOOK_NAME}'`);
  });
});

describe("DNS", () => {
  it("takes over A records that already exist for the domain and turn.<domain> instead of failing the create", () => {
    const records = run.resources.filter((r) => r.type === "aws:route53/record:Record");
    expect(records.map((r) => r.inputs.name).sort()).toEqual(["meet.example.com", "turn.meet.example.com"]);
    for (const record of records) expect(record.inputs.allowOverwrite).toBe(true);
  });
});
