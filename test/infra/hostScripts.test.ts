/**
 * The host scripts that change a running deployment, against real programs: the XMPP service-account passwords
 * set in a real Prosody (then proven by a real SASL login), Prosody's configuration and module check before a
 * restart, and the roll back to the last good files when a pushed file breaks a service.
 */
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { client } from "@xmpp/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCRIPTS } from "../../infra/scripts.ts";
import { ACCOUNTS } from "jitsi-jwt-token/shared";
import { freePort } from "../support/ports.ts";
import { startProsody, type RunningProsody } from "../support/prosody.ts";

const scriptPath = (rel: string) => fileURLToPath(new URL(`../../infra/${rel}`, import.meta.url));
const temps: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "jitsi-host-"));
  temps.push(dir);
  return dir;
};
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}
function runScript(rel: string, env: NodeJS.ProcessEnv, stdin = ""): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn("bash", [scriptPath(rel)], { env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** True when `user@domain` can log in to Prosody's c2s port with `password` (SASL, as Jicofo and the bridge do). */
async function canLogIn(prosody: RunningProsody, user: string, password: string): Promise<boolean> {
  const xmpp = client({ service: `xmpp://127.0.0.1:${prosody.ports.c2s}`, domain: prosody.names.auth, username: user, password });
  xmpp.on("error", () => undefined);
  try {
    await xmpp.start();
    return true;
  } catch {
    return false;
  } finally {
    await xmpp.stop().catch(() => undefined);
  }
}

describe("set-xmpp-passwords.sh against a real Prosody", () => {
  let prosody: RunningProsody;
  beforeAll(async () => {
    prosody = await startProsody();
  }, 30_000);
  afterAll(async () => prosody?.stop());

  /** A prosodyctl on PATH that records its arguments, then runs the real one: proves no password on argv. */
  function recordingPath(): { env: NodeJS.ProcessEnv; argvLog: string } {
    const dir = tempDir();
    const argvLog = join(dir, "argv.log");
    writeFileSync(join(dir, "prosodyctl"), `#!/bin/sh\necho "$*" >>"${argvLog}"\nexec /usr/bin/prosodyctl "$@"\n`);
    chmodSync(join(dir, "prosodyctl"), 0o755);
    return {
      env: { ...prosody.env, PATH: `${dir}:${process.env.PATH ?? ""}`, JITSI_DOMAIN: prosody.deployment.domain, PROSODY_CONFIG: prosody.paths.globalConfig },
      argvLog,
    };
  }

  it("creates missing accounts, changes existing ones, and the services log in with exactly the new passwords", async () => {
    const first = { focus: "Focus1stPw-abc123", jvb: "Jvb1stPw-def456" };
    const { env, argvLog } = recordingPath();
    const created = await runScript(SCRIPTS.setXmppPasswords, env, `focus ${first.focus}\njvb ${first.jvb}\n`);
    expect(created.stderr).toBe("");
    expect(created.status).toBe(0);
    expect(created.stdout).toContain(`focus@${prosody.names.auth} password set (adduser)`);
    expect(await canLogIn(prosody, ACCOUNTS.focus, first.focus)).toBe(true);
    expect(await canLogIn(prosody, ACCOUNTS.jvb, first.jvb)).toBe(true);

    // A regenerated password (stack recreated, imported): Prosody must follow, the old one must stop working.
    const second = { focus: "Focus2ndPw-ghi789", jvb: "Jvb2ndPw-jkl012" };
    const changed = await runScript(SCRIPTS.setXmppPasswords, env, `focus ${second.focus}\njvb ${second.jvb}\n`);
    expect(changed.stderr).toBe("");
    expect(changed.status).toBe(0);
    expect(changed.stdout).toContain(`jvb@${prosody.names.auth} password set (passwd)`);
    expect(await canLogIn(prosody, ACCOUNTS.focus, second.focus)).toBe(true);
    expect(await canLogIn(prosody, ACCOUNTS.jvb, second.jvb)).toBe(true);
    expect(await canLogIn(prosody, ACCOUNTS.focus, first.focus)).toBe(false);

    const argv = readFileSync(argvLog, "utf8");
    expect(argv).toContain(`passwd focus@${prosody.names.auth}`);
    for (const secret of [...Object.values(first), ...Object.values(second)]) expect(argv).not.toContain(secret);
  }, 60_000);

  it("refuses an unknown account or an empty stdin before touching Prosody", async () => {
    const { env, argvLog } = recordingPath();
    const other = await runScript(SCRIPTS.setXmppPasswords, env, "admin secret\n");
    expect(other.status).toBe(2);
    expect(other.stderr).toContain("unexpected account 'admin'");
    const empty = await runScript(SCRIPTS.setXmppPasswords, env, "");
    expect(empty.status).toBe(2);
    expect(existsSync(argvLog)).toBe(false);
  });
});

describe("restart-service.sh: Prosody's check before its restart", () => {
  let prosody: RunningProsody;
  beforeAll(async () => {
    prosody = await startProsody();
  }, 30_000);
  afterAll(async () => prosody?.stop());

  /** A systemctl that only records (the restart must never happen when the check fails). */
  function standIns(): { env: NodeJS.ProcessEnv; log: string; state: string } {
    const dir = tempDir();
    const log = join(dir, "calls.log");
    writeFileSync(join(dir, "systemctl"), `#!/bin/sh\necho "systemctl $*" >>"${log}"\n`);
    writeFileSync(join(dir, "journalctl"), `#!/bin/sh\necho "journal line of $3"\n`);
    chmodSync(join(dir, "systemctl"), 0o755);
    chmodSync(join(dir, "journalctl"), 0o755);
    return {
      env: { ...prosody.env, PATH: `${dir}:${process.env.PATH ?? ""}`, PROSODY_CONFIG: prosody.paths.globalConfig, JITSI_STATE_DIR: join(dir, "state") },
      log,
      state: join(dir, "state"),
    };
  }

  it("names the modules the configuration loads that the host does not have, and never restarts", async () => {
    const { env, log } = standIns();
    // Stock Prosody without Jitsi's plugins: the rendered config loads Jitsi modules that are not there.
    const result = await runScript(SCRIPTS.restartService, { ...env, JITSI_SERVICE: "prosody", JITSI_ACTION: "restart", JITSI_CONFIG_TEST: "prosody" });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/loads modules this host does not have: .*token_verification \(/);
    expect(result.stderr).toMatch(/polls_component \(polls\./);
    expect(existsSync(log) ? readFileSync(log, "utf8") : "").not.toContain("restart");
  }, 30_000);

  it("passes with every module present (Jitsi's own plugins, when extracted)", async ({ skip }) => {
    const plugins = process.env.JITSI_PLUGINS_DIR;
    if (plugins === undefined) skip("JITSI_PLUGINS_DIR not set (see docs: the plugin e2e)");
    const real = await startProsody({ pluginsDir: plugins });
    try {
      const { env, log } = standIns();
      const result = await runScript(SCRIPTS.restartService, {
        ...real.env,
        PATH: env.PATH,
        PROSODY_CONFIG: real.paths.globalConfig,
        JITSI_STATE_DIR: env.JITSI_STATE_DIR,
        JITSI_SERVICE: "prosody",
        JITSI_ACTION: "restart",
        JITSI_CONFIG_TEST: "prosody",
        JITSI_HEALTH_PORT: String(real.ports.c2s),
      });
      expect(result.stderr).not.toContain("does not have");
      expect(readFileSync(log, "utf8")).toContain("systemctl restart prosody");
    } finally {
      await real.stop();
    }
  }, 30_000);

  it("stops at a configuration Prosody cannot read and puts the last good file back", async () => {
    const { env, log, state } = standIns();
    const good = readFileSync(prosody.paths.hostConfig, "utf8");
    const mode = statSync(prosody.paths.hostConfig).mode & 0o777;
    const push = await runScript(
      SCRIPTS.installFile,
      { ...env, JITSI_FILE_PATH: prosody.paths.hostConfig, JITSI_FILE_MODE: "0640", JITSI_FILE_OWNER: "root", JITSI_FILE_GROUP: "root", JITSI_FILE_SERVICE: "prosody" },
      `${good}\nVirtualHost "broken" {\n`,
    );
    expect(push.status).toBe(0);
    const result = await runScript(SCRIPTS.restartService, { ...env, JITSI_SERVICE: "prosody", JITSI_ACTION: "restart", JITSI_CONFIG_TEST: "prosody" });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`FAILED: ${prosody.paths.hostConfig} broke prosody (configuration check failed)`);
    expect(readFileSync(prosody.paths.hostConfig, "utf8")).toBe(good);
    expect(statSync(prosody.paths.hostConfig).mode & 0o777).toBe(mode);
    expect(existsSync(log) ? readFileSync(log, "utf8") : "").not.toContain("restart");
    expect(existsSync(join(state, "pending", "prosody"))).toBe(false);
  }, 30_000);
});

describe("restart-service.sh: a pushed file that breaks the service is rolled back", () => {
  /**
   * A service stand-in whose health depends on its file: the health server answers 200 only while the file
   * says "good". systemctl records the calls; journalctl prints a recognisable line.
   */
  async function scenario() {
    const dir = tempDir();
    const log = join(dir, "calls.log");
    const file = join(dir, "etc", "svc.conf");
    mkdirSync(join(dir, "etc"));
    writeFileSync(file, "good v1\n", { mode: 0o640 });
    writeFileSync(join(dir, "systemctl"), `#!/bin/sh\necho "systemctl $*" >>"${log}"\n`);
    writeFileSync(join(dir, "journalctl"), `#!/bin/sh\necho "svc: could not parse svc.conf"\n`);
    chmodSync(join(dir, "systemctl"), 0o755);
    chmodSync(join(dir, "journalctl"), 0o755);
    const port = await freePort();
    const server = createServer((_req, res) => {
      res.statusCode = readFileSync(file, "utf8").startsWith("good") ? 200 : 503;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dir}:${process.env.PATH ?? ""}`, JITSI_STATE_DIR: join(dir, "state") };
    const push = (content: string) =>
      runScript(
        SCRIPTS.installFile,
        { ...env, JITSI_FILE_PATH: file, JITSI_FILE_MODE: "0640", JITSI_FILE_OWNER: "root", JITSI_FILE_GROUP: "root", JITSI_FILE_SERVICE: "svc" },
        content,
      );
    const restart = () =>
      runScript(SCRIPTS.restartService, {
        ...env,
        JITSI_SERVICE: "svc",
        JITSI_ACTION: "restart",
        JITSI_HEALTH_URL: `http://127.0.0.1:${port}/about/version`,
        JITSI_HEALTH_TIMEOUT: "3",
      });
    return { file, log, state: join(dir, "state"), push, restart, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  it("restores the last good file, restarts on it, and fails naming the file, the service and its last log lines", async () => {
    const s = await scenario();
    try {
      expect((await s.push("good v2\n")).status).toBe(0);
      const ok = await s.restart();
      expect(ok.status).toBe(0);
      // v2 is now the last good: a later broken push goes back to v2, not v1.
      expect((await s.push("broken v3\n")).status).toBe(0);
      const failed = await s.restart();
      expect(failed.status).toBe(1);
      expect(failed.stderr).toContain(`FAILED: ${s.file} broke svc (not healthy after 3s`);
      expect(failed.stderr).toContain("svc is running again on them");
      expect(failed.stderr).toContain("svc: could not parse svc.conf");
      expect(readFileSync(s.file, "utf8")).toBe("good v2\n");
      expect(statSync(s.file).mode & 0o777).toBe(0o640);
      // v2, the broken v3, then v2 again: nothing else touched the service.
      expect(readFileSync(s.log, "utf8").match(/^systemctl restart svc$/gm)).toHaveLength(3);
      expect(existsSync(join(s.state, "pending", "svc"))).toBe(false);
    } finally {
      await s.close();
    }
  }, 30_000);

  it("removes a newly added file that broke the service", async () => {
    const s = await scenario();
    try {
      rmSync(s.file);
      writeFileSync(s.file, "good v1\n");
      const extra = `${s.file}.d`;
      const add = await runScript(
        SCRIPTS.installFile,
        { ...process.env, JITSI_STATE_DIR: s.state, JITSI_FILE_PATH: extra, JITSI_FILE_MODE: "0644", JITSI_FILE_OWNER: "root", JITSI_FILE_GROUP: "root", JITSI_FILE_SERVICE: "svc" },
        "new\n",
      );
      expect(add.status).toBe(0);
      expect((await s.push("broken\n")).status).toBe(0);
      const failed = await s.restart();
      expect(failed.status).toBe(1);
      expect(failed.stderr).toContain(extra);
      expect(existsSync(extra)).toBe(false);
      expect(readFileSync(s.file, "utf8")).toBe("good v1\n");
    } finally {
      await s.close();
    }
  }, 30_000);
});
