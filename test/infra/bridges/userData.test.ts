/**
 * The bridge instance scripts exactly as the launch template's user data delivers them: checked by the real
 * shellcheck, and run by bash against a local stand-in for the EC2 instance metadata service (IMDSv2 tokens
 * enforced) with `aws`, `systemctl` and Jitsi's graceful shutdown replaced by recorders — those three cannot run
 * here; everything else (curl, timeout, the scripts' own logic) is real.
 */
import { execFile, spawn } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BRIDGE_INSTANCE_PATHS, bridgeUserData, DRAIN_HOOK_NAME, LAUNCH_HOOK_NAME, poolBridgeJvbConf } from "../../../infra/bridges/userData.ts";
import { BRIDGE_ENV } from "../../../templates/files/jvb.ts";
import { freePort } from "../../support/ports.ts";
import { at, HoconLoadError, loadHocon } from "../../support/typesafeConfig.ts";

const run = promisify(execFile);
const SCRIPTS_DIR = fileURLToPath(new URL("../../../infra/scripts/", import.meta.url));
const PASSWORD = "pool-Pa55-Zk81-q";
const PARAMETER = "/jitsi/test/jvb-password";
const ASG = "jitsi-test-pool";
const DOMAIN = "meet.example.com";
const SIGNALLING_PRIVATE_IP = "10.0.1.23";
const JVB_VERSION = "2.3-219-g9bd8e9ae-1";

describe("bridge scripts pass shellcheck", () => {
  it.each(["bridge-boot.sh", "bridge-identity.sh", "bridge-drain.sh"])("%s", async (script) => {
    // Fails (not skips) when shellcheck is missing: CI installs it.
    const { stdout } = await run("shellcheck", ["--format=gcc", join(SCRIPTS_DIR, script)]);
    expect(stdout).toBe("");
  });
});

/** The files user data writes, by path. */
function userDataFiles(): Map<string, string> {
  const text = bridgeUserData({
    domain: DOMAIN,
    jitsiVersion: "2.0.11248-1",
    // What the pool puts in the launch template (bridges.test.ts checks that it does).
    jvbConf: poolBridgeJvbConf(DOMAIN, SIGNALLING_PRIVATE_IP),
    passwordParameter: PARAMETER,
    asgName: ASG,
    drainTimeoutSeconds: 3600,
  });
  expect(text.startsWith("#cloud-config\n")).toBe(true);
  const config = JSON.parse(text.slice("#cloud-config\n".length)) as { write_files: { path: string; content: string }[] };
  return new Map(config.write_files.map((f) => [f.path, f.content]));
}

/** A stand-in for IMDS that, like the real one with IMDSv2 required, answers only with a session token. */
class FakeImds {
  readonly values = new Map<string, string>();
  readonly requests: string[] = [];
  private server: Server | undefined;
  url = "";

  async start(): Promise<void> {
    const port = await freePort();
    this.server = createServer((req, res) => {
      this.requests.push(`${req.method} ${req.url}`);
      if (req.method === "PUT" && req.url === "/latest/api/token") {
        res.end("imds-session-token");
        return;
      }
      if (req.headers["x-aws-ec2-metadata-token"] !== "imds-session-token") {
        res.statusCode = 401;
        res.end();
        return;
      }
      const value = this.values.get((req.url ?? "").replace("/latest/meta-data/", ""));
      res.statusCode = value === undefined ? 404 : 200;
      res.end(value ?? "");
    });
    await new Promise<void>((resolve) => this.server!.listen(port, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describe("bridge scripts on a simulated instance", () => {
  const imds = new FakeImds();
  let dir = "";
  let calls = "";
  let env: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    await imds.start();
  });
  afterAll(async () => {
    await imds.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = mkdtempSync(join(tmpdir(), "bridge-scripts-"));
    const bin = join(dir, "bin");
    mkdirSync(bin);
    calls = join(dir, "calls.log");
    // Recorders: one line per call. `aws` answers the two calls the scripts make.
    const bootBin = join(dir, "boot-bin");
    mkdirSync(bootBin);
    const recorder = (name: string, body: string, into = bin) => {
      writeFileSync(join(into, name), `#!/bin/bash\necho "${name} $*" >>"$CALLS"\n${body}\n`);
      chmodSync(join(into, name), 0o755);
    };
    recorder(
      "aws",
      'case "$1 $2" in\n  "ssm get-parameter") printf "%s\\n" "$STUB_PASSWORD" ;;\n  "autoscaling complete-lifecycle-action") : ;;\n  *) exit 2 ;;\nesac',
    );
    recorder("systemctl", ":");
    recorder("graceful-shutdown", 'exec sleep "${STUB_GRACEFUL_SECONDS:-0}"');
    // For the boot script only (the others use the real curl): tools that would reach the network or change
    // this machine.
    const writeOutput = 'while [ "$#" -gt 0 ]; do if [ "$1" = -o ]; then echo "$0 output" >"$2"; fi; shift; done';
    // The bridge's statistics: STUB_MUC_CONNECTED is what /colibri/stats reports as muc_clients_connected.
    recorder(
      "curl",
      `case "$*" in *colibri/stats) printf '{"muc_clients_connected":%s}' "\${STUB_MUC_CONNECTED:-1}" ;; */latest/*) exec /usr/bin/curl "$@" ;; *) ${writeOutput} ;; esac`,
      bootBin,
    );
    recorder("gpg", writeOutput, bootBin);
    recorder(
      "apt-cache",
      `[ "$*" = "show jitsi-meet=2.0.11248-1" ] || exit 100\nprintf '%s\\n' "Package: jitsi-meet" "Version: 2.0.11248-1" ` +
        `"Pre-Depends: jitsi-videobridge2 (= ${JVB_VERSION})" "Depends: jicofo (= 1.0-1139-1), jitsi-meet-web (= 1.0.8800-1)"`,
      bootBin,
    );
    // Records what is in place when the package would install: the config and the drop-in must be there first.
    recorder(
      "apt-get",
      'case " $* " in *" install "*) for f in etc/jitsi/videobridge/jvb.conf etc/systemd/system/jitsi-videobridge2.service.d/pool-identity.conf; do [ -f "$BRIDGE_ROOT/$f" ] && echo "present $f" >>"$CALLS"; done ;; esac',
      bootBin,
    );
    recorder("debconf-set-selections", 'echo "  stdin: $(cat)" >>"$CALLS"', bootBin);
    recorder("apt-mark", ":", bootBin);
    // `snap install aws-cli` brings the AWS CLI: here, the aws recorder.
    copyFileSync(join(bin, "aws"), join(dir, "aws.recorder"));
    recorder("snap", `cp "${join(dir, "aws.recorder")}" "${join(bin, "aws")}"`, bootBin);

    const files = userDataFiles();
    for (const [path, content] of files) {
      const local = join(dir, path.replaceAll("/", "_"));
      writeFileSync(local, content, { mode: 0o755 });
    }
    imds.values.clear();
    imds.values.set("local-ipv4", "10.0.1.57");
    imds.values.set("public-ipv4", "203.0.113.57");
    imds.values.set("instance-id", "i-0abc123def4567890");
    imds.values.set("placement/region", "eu-central-1");
    imds.values.set("autoscaling/target-lifecycle-state", "InService");
    imds.requests.length = 0;

    // The real pool env from user data, then test-only overrides (later assignments win when sourced).
    const poolEnv = join(dir, "pool.env");
    writeFileSync(
      poolEnv,
      `${files.get(BRIDGE_INSTANCE_PATHS.poolEnv)}IDENTITY_ENV='${join(dir, "run", "identity.env")}'\nDRAIN_TIMEOUT_SECONDS='2'\n`,
    );
    env = {
      PATH: `${bin}:${process.env.PATH}`,
      POOL_ENV: poolEnv,
      IMDS_ENDPOINT: imds.url,
      GRACEFUL_SHUTDOWN: join(bin, "graceful-shutdown"),
      POLL_SECONDS: "0.2",
      CALLS: calls,
      STUB_PASSWORD: PASSWORD,
    };
  });

  const script = (path: string) => join(dir, path.replaceAll("/", "_"));
  // Instance metadata reads (curl to the fake IMDS) are left out: the fake IMDS records them itself.
  const recorded = () => readFileSync(calls, "utf8").trim().split("\n").filter((line) => !line.includes("/latest/"));
  const launchCall = (result: string) =>
    `aws autoscaling complete-lifecycle-action --region eu-central-1 --auto-scaling-group-name ${ASG} ` +
    `--lifecycle-hook-name ${LAUNCH_HOOK_NAME} --instance-id i-0abc123def4567890 --lifecycle-action-result ${result}`;

  /** Runs the boot script under a scratch root, with only the stubs and the base system on PATH. */
  function boot(extra: NodeJS.ProcessEnv = {}) {
    const root = join(dir, "root");
    mkdirSync(root, { recursive: true });
    writeFileSync(env.POOL_ENV!, `STAGED_JVB_CONF='${script(BRIDGE_INSTANCE_PATHS.stagedJvbConf)}'\n`, { flag: "a" });
    return run("bash", [script(BRIDGE_INSTANCE_PATHS.bootScript)], {
      env: { ...env, PATH: `${join(dir, "boot-bin")}:${join(dir, "bin")}:/usr/bin:/bin`, BRIDGE_ROOT: root, RETRY_SECONDS: "0", XMPP_POLL_SECONDS: "0.1", ...extra },
    }).then(() => root);
  }

  it("boot: installs the bridge version jitsi-meet pins, config and identity hook first, then starts it", async () => {
    rmSync(join(dir, "bin", "aws")); // a fresh Ubuntu image has no AWS CLI
    const root = await boot();
    expect(recorded()).toEqual([
      "snap install aws-cli --classic",
      "curl -fsSL https://download.jitsi.org/jitsi-key.gpg.key -o " + join(root, "run/jitsi-key.gpg.key"),
      "gpg --batch --yes --dearmor -o " + join(root, "usr/share/keyrings/jitsi-keyring.gpg") + " " + join(root, "run/jitsi-key.gpg.key"),
      "apt-get -o DPkg::Lock::Timeout=600 -y -q update",
      "apt-cache show jitsi-meet=2.0.11248-1",
      "debconf-set-selections ",
      `  stdin: jitsi-videobridge2 jitsi-videobridge/jvb-hostname string ${DOMAIN}`,
      "systemctl daemon-reload",
      `apt-get -o DPkg::Lock::Timeout=600 -y -q install --no-install-recommends jitsi-videobridge2=${JVB_VERSION} jq curl`,
      "present etc/jitsi/videobridge/jvb.conf",
      "present etc/systemd/system/jitsi-videobridge2.service.d/pool-identity.conf",
      "apt-mark hold jitsi-videobridge2",
      "systemctl enable --now jitsi-bridge-drain.service",
      "systemctl enable jitsi-videobridge2",
      "systemctl restart jitsi-videobridge2",
      "curl -fsS --max-time 5 http://127.0.0.1:8080/colibri/stats",
      // In service only now: the launch hook is completed once the XMPP client is connected.
      launchCall("CONTINUE"),
    ]);
    const jvbConf = join(root, "etc/jitsi/videobridge/jvb.conf");
    expect(readFileSync(jvbConf, "utf8")).toBe(poolBridgeJvbConf(DOMAIN, SIGNALLING_PRIVATE_IP));
    expect(statSync(jvbConf).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(root, "etc/apt/sources.list.d/jitsi-stable.list"), "utf8")).toBe(
      "deb [signed-by=/usr/share/keyrings/jitsi-keyring.gpg] https://download.jitsi.org stable/\n",
    );
    expect(readFileSync(join(root, "etc/systemd/system/jitsi-videobridge2.service.d/pool-identity.conf"), "utf8")).toBe(
      `[Service]\nExecStartPre=+${BRIDGE_INSTANCE_PATHS.identityScript}\nEnvironmentFile=-${join(dir, "run", "identity.env")}\n`,
    );
    expect(readFileSync(join(root, "etc/systemd/system/jitsi-bridge-drain.service"), "utf8")).toContain(
      `ExecStart=${BRIDGE_INSTANCE_PATHS.drainScript}\n`,
    );
  });

  it("boot: stops before installing anything when the pinned jitsi-meet version is unknown", async () => {
    writeFileSync(env.POOL_ENV!, "JITSI_VERSION='9.9.9-1'\n", { flag: "a" });
    const error = await boot().catch((e: { stderr: string }) => e);
    expect((error as { stderr: string }).stderr).toContain("jitsi-meet=9.9.9-1 is not in Jitsi's repository");
    expect(recorded().filter((line) => line.startsWith("apt-get install"))).toEqual([]);
  });

  it("boot: fails, bounded, when the started bridge's XMPP client never connects (its health check would not notice)", async () => {
    const started = Date.now();
    const error = await boot({ STUB_MUC_CONNECTED: "0", XMPP_WAIT_SECONDS: "1" }).catch((e: { stderr: string }) => e);
    expect((error as { stderr: string }).stderr).toContain(
      `is not connected to ${DOMAIN} after 1s (muc_clients_connected=0); check the password in`,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    // Out at once: the group replaces the instance instead of waiting for the hook's heartbeat.
    expect(recorded().at(-1)).toBe(launchCall("ABANDON"));
  });

  it("identity: writes addresses, nickname and the SSM password root-only, reading metadata over IMDSv2", async () => {
    await run("bash", [script(BRIDGE_INSTANCE_PATHS.identityScript)], { env });
    const file = join(dir, "run", "identity.env");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "run")).mode & 0o777).toBe(0o700);
    expect(readFileSync(file, "utf8")).toBe(
      [
        `${BRIDGE_ENV.privateIp}='10.0.1.57'`,
        `${BRIDGE_ENV.publicIp}='203.0.113.57'`,
        `${BRIDGE_ENV.nickname}='i-0abc123def4567890'`,
        `${BRIDGE_ENV.password}='${PASSWORD}'`,
        "",
      ].join("\n"),
    );
    expect(recorded()).toEqual([
      `aws ssm get-parameter --region eu-central-1 --name ${PARAMETER} --with-decryption --query Parameter.Value --output text`,
    ]);
    // Every metadata read was preceded by a token request (IMDSv1 would have been refused with 401 above).
    expect(imds.requests.filter((r) => r.startsWith("PUT")).length).toBe(imds.requests.filter((r) => r.startsWith("GET")).length);
  });

  it("the jvb.conf from user data, with the environment the identity script wrote, resolves in real Typesafe Config", async () => {
    await run("bash", [script(BRIDGE_INSTANCE_PATHS.identityScript)], { env });
    // systemd's reading of the EnvironmentFile: NAME='value', quotes removed.
    const identity = Object.fromEntries(
      readFileSync(join(dir, "run", "identity.env"), "utf8")
        .trim()
        .split("\n")
        .map((line) => /^([A-Z_][A-Z0-9_]*)='([^']*)'$/.exec(line)!)
        .map((m) => [m[1]!, m[2]!]),
    );
    const jvbConf = userDataFiles().get(BRIDGE_INSTANCE_PATHS.stagedJvbConf)!;
    const config = await loadHocon(jvbConf, { env: identity });
    const shard = at(config, "videobridge.apis.xmpp-client.configs.shard");
    expect(shard).toEqual({
      HOSTNAME: SIGNALLING_PRIVATE_IP,
      PORT: 5222,
      DOMAIN: `auth.${DOMAIN}`,
      USERNAME: "jvb",
      PASSWORD,
      MUC_JIDS: `jvbbrewery@internal.auth.${DOMAIN}`,
      MUC_NICKNAME: "i-0abc123def4567890",
      DISABLE_CERTIFICATE_VERIFICATION: true,
    });
    expect(at(config, "ice4j.harvest.mapping.static-mappings")).toEqual([
      { "local-address": "10.0.1.57", "public-address": "203.0.113.57", name: "public" },
    ]);
    expect(at(config, "ice4j.harvest.mapping.aws.enabled")).toBe(false);
    expect(at(config, "ice4j.harvest.mapping.stun.addresses")).toEqual([]);
    expect(at(config, "videobridge.ice.udp.port")).toBe(10000);
    // The renderer's drain API: graceful_shutdown.sh (its default http://localhost:8080) needs all of it.
    expect(at(config, "videobridge.apis.rest.enabled")).toBe(true);
    expect(at(config, "videobridge.rest.shutdown.enabled")).toBe(true);
    expect(at(config, "videobridge.http-servers.private")).toEqual({ host: "127.0.0.1", port: 8080 });

    // Without the identity environment the bridge must not start half-configured.
    await expect(loadHocon(jvbConf)).rejects.toThrow(HoconLoadError);
    await expect(loadHocon(jvbConf)).rejects.toThrow(/JVB_/);
  });

  it("identity: refuses to start the bridge without a public address", async () => {
    imds.values.delete("public-ipv4");
    await expect(run("bash", [script(BRIDGE_INSTANCE_PATHS.identityScript)], { env })).rejects.toMatchObject({
      stderr: expect.stringContaining("no public IPv4 in instance metadata"),
    });
  });

  it("identity: refuses a password the environment file cannot carry, without printing it", async () => {
    const error = await run("bash", [script(BRIDGE_INSTANCE_PATHS.identityScript)], {
      env: { ...env, STUB_PASSWORD: "it's-bad" },
    }).catch((e: { stderr: string }) => e);
    expect((error as { stderr: string }).stderr).toContain("holds a quote or line break");
    expect((error as { stderr: string }).stderr).not.toContain("it's-bad");
  });

  /** Starts the drain watcher; resolves with its exit code and output. */
  function drain(extra: NodeJS.ProcessEnv = {}) {
    const child = spawn("bash", [script(BRIDGE_INSTANCE_PATHS.drainScript)], { env: { ...env, ...extra } });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = new Promise<{ code: number | null; stderr: string; at: number }>((resolve) =>
      child.on("exit", (code) => resolve({ code, stderr, at: Date.now() })),
    );
    return { child, exit };
  }
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const readCalls = () => {
    try {
      return recorded();
    } catch {
      return [];
    }
  };
  const completeCall =
    `aws autoscaling complete-lifecycle-action --region eu-central-1 --auto-scaling-group-name ${ASG} ` +
    `--lifecycle-hook-name ${DRAIN_HOOK_NAME} --instance-id i-0abc123def4567890 --lifecycle-action-result CONTINUE`;

  it("drain: waits while in service, then drains gracefully, stops the bridge and completes the hook", async () => {
    const { child, exit } = drain();
    try {
      await sleep(1000);
      expect(readCalls()).toEqual([]); // still in service: nothing happened
      imds.values.set("autoscaling/target-lifecycle-state", "Terminated");
      const result = await exit;
      expect(result.code).toBe(0);
      expect(recorded()).toEqual(["graceful-shutdown -s", "systemctl stop jitsi-videobridge2", completeCall]);
    } finally {
      child.kill();
    }
  });

  it("drain: the wait for conferences is bounded, and termination still goes on", async () => {
    imds.values.set("autoscaling/target-lifecycle-state", "Terminated");
    const started = Date.now();
    const { child, exit } = drain({ STUB_GRACEFUL_SECONDS: "30" });
    try {
      const result = await exit;
      expect(result.code).toBe(0);
      expect(result.at - started).toBeLessThan(10_000); // DRAIN_TIMEOUT_SECONDS=2, not 30
      expect(result.stderr).toContain("not drained in time");
      expect(recorded()).toEqual(["graceful-shutdown -s", "systemctl stop jitsi-videobridge2", completeCall]);
    } finally {
      child.kill();
    }
  });

  it("drain: a Spot interruption notice stops the bridge at once so Jicofo moves its conferences", async () => {
    imds.values.set("spot/instance-action", '{"action":"terminate","time":"2026-11-28T14:00:00Z"}');
    const { child, exit } = drain();
    try {
      await sleep(1000);
      expect(readCalls()).toEqual(["systemctl stop jitsi-videobridge2"]); // once, not on every poll
      imds.values.set("autoscaling/target-lifecycle-state", "Terminated");
      expect((await exit).code).toBe(0);
      expect(recorded().at(-1)).toBe(completeCall);
    } finally {
      child.kill();
    }
  });
});
