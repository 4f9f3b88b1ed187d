/**
 * The shell the program runs on the host: shellcheck on every script, and the scripts that can run here run for
 * real (Debian 12 ships lua-basexx/lua-inspect only for older Lua than Prosody's 5.4 — the very trap the Lua fix
 * is for).
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { scriptCommand, scriptText, SCRIPTS } from "../../infra/scripts.ts";
import { freePort } from "../support/ports.ts";

const scriptsDir = fileURLToPath(new URL("../../infra/scripts/", import.meta.url));
const scriptPath = (rel: string) => fileURLToPath(new URL(`../../infra/${rel}`, import.meta.url));
const temps: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "jitsi-infra-"));
  temps.push(dir);
  return dir;
};
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("shellcheck", () => {
  const scripts = readdirSync(scriptsDir).filter((f) => f.endsWith(".sh"));

  it("finds the scripts the program ships", () => {
    expect(Object.values(SCRIPTS)).toContain(SCRIPTS.obtainCertificate);
    // certificate-store.py is Python (compiled and run in certificateStore.test.ts).
    for (const rel of Object.values(SCRIPTS).filter((r) => r.endsWith(".sh"))) expect(scripts).toContain(rel.replace("scripts/", ""));
  });

  it.each(scripts)("%s passes shellcheck", (script) => {
    const result = spawnSync("shellcheck", ["--severity=style", "--external-sources", join(scriptsDir, script)], {
      encoding: "utf8",
      cwd: scriptsDir,
    });
    expect(result.error, "shellcheck must be installed").toBeUndefined();
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it("passes shellcheck for the generated remote command wrapper", () => {
    const dir = tempDir();
    const file = join(dir, "wrapper.sh");
    writeFileSync(file, `#!/usr/bin/env bash\n${scriptCommand(scriptText(SCRIPTS.installFile), ["JITSI_FILE_PATH"])}\n`);
    const result = spawnSync("shellcheck", [file], { encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
  });
});

describe("fix-lua-modules.sh", () => {
  it("makes basexx and inspect loadable by Lua 5.4 and is idempotent", () => {
    const share = tempDir();
    const run = () =>
      spawnSync("bash", [scriptPath(SCRIPTS.fixLuaModules)], {
        encoding: "utf8",
        env: { ...process.env, LUA_VERSION: "5.4", LUA_SHARE_DIR: share },
      });
    // Precondition on this Debian 12 host: the distro copies are not visible to Lua 5.4.
    const before = spawnSync("lua5.4", ["-e", "require('basexx')"], { encoding: "utf8" });
    expect(before.status).not.toBe(0);

    const first = run();
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(first.stdout).toContain("basexx.lua copied");
    expect(existsSync(join(share, "5.4", "basexx.lua"))).toBe(true);
    expect(existsSync(join(share, "5.4", "inspect.lua"))).toBe(true);

    // Load them the way the token plugin does, with the fixed tree on the path.
    const check = spawnSync(
      "lua5.4",
      ["-e", "local b = require('basexx'); local i = require('inspect'); assert(b.to_base64('hi') == 'aGk='); assert(i({1}) == '{ 1 }'); print('ok')"],
      { encoding: "utf8", env: { ...process.env, LUA_PATH: `${share}/5.4/?.lua;;` } },
    );
    expect(check.stdout.trim()).toBe("ok");

    const second = run();
    expect(second.status).toBe(0);
    expect(second.stdout).not.toContain("copied");
  });

  it("finds Prosody's Lua version from the installed prosody itself", () => {
    const share = tempDir();
    const result = spawnSync("bash", [scriptPath(SCRIPTS.fixLuaModules)], {
      encoding: "utf8",
      env: { ...process.env, LUA_VERSION: "", LUA_SHARE_DIR: share },
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("load on Lua 5.4"); // Debian 12's prosody runs on lua5.4
    expect(existsSync(join(share, "5.4", "basexx.lua"))).toBe(true);
  });

  it("fails naming the module when a library cannot be found", () => {
    const result = spawnSync("bash", [scriptPath(SCRIPTS.fixLuaModules)], {
      encoding: "utf8",
      env: { ...process.env, LUA_VERSION: "5.4", LUA_SHARE_DIR: tempDir(), PATH: `${fakeLuaDir()}:${process.env.PATH}` },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/cannot load: .*cjson\.safe/);
  });
});

/** A lua5.4 that cannot load anything, to prove the script's final check fails loudly. */
function fakeLuaDir(): string {
  const dir = tempDir();
  writeFileSync(join(dir, "lua5.4"), "#!/bin/sh\nexit 1\n");
  chmodSync(join(dir, "lua5.4"), 0o755);
  return dir;
}

describe("install-file.sh", () => {
  const install = (env: Record<string, string>, content: string) =>
    spawnSync("bash", [scriptPath(SCRIPTS.installFile)], { encoding: "utf8", input: content, env: { ...process.env, ...env } });

  it("writes content from stdin with mode, owner and link, replacing atomically", () => {
    const dir = tempDir();
    const path = join(dir, "etc", "jitsi", "secret.conf");
    const link = join(dir, "enabled", "secret.conf");
    const env = { JITSI_FILE_PATH: path, JITSI_FILE_MODE: "0640", JITSI_FILE_OWNER: "root", JITSI_FILE_GROUP: "root", JITSI_FILE_LINK: link };
    const first = install(env, "password = \"s3cr$t `x` 'y'\"\n");
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(readFileSync(path, "utf8")).toBe("password = \"s3cr$t `x` 'y'\"\n");
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(path);

    const second = install({ ...env, JITSI_FILE_MODE: "0600" }, "v2\n");
    expect(second.status).toBe(0);
    expect(readFileSync(link, "utf8")).toBe("v2\n");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, "etc", "jitsi"))).toEqual(["secret.conf"]); // no temp files left
  });

  it("leaves the mode of an existing directory alone", () => {
    const dir = join(tempDir(), "videobridge");
    mkdirSync(dir, { mode: 0o750 });
    chmodSync(dir, 0o750);
    const result = install({ JITSI_FILE_PATH: join(dir, "jvb.conf"), JITSI_FILE_MODE: "0600", JITSI_FILE_OWNER: "root", JITSI_FILE_GROUP: "root" }, "x");
    expect(result.status).toBe(0);
    expect(statSync(dir).mode & 0o777).toBe(0o750);
  });

  it("rejects a relative path or a bad mode before writing", () => {
    const dir = tempDir();
    const bad = install({ JITSI_FILE_PATH: "relative.conf", JITSI_FILE_MODE: "0640", JITSI_FILE_OWNER: "root", JITSI_FILE_GROUP: "root" }, "x");
    expect(bad.status).toBe(2);
    const badMode = install({ JITSI_FILE_PATH: join(dir, "a"), JITSI_FILE_MODE: "rwx", JITSI_FILE_OWNER: "root", JITSI_FILE_GROUP: "root" }, "x");
    expect(badMode.status).toBe(2);
    expect(existsSync(join(dir, "a"))).toBe(false);
  });
});

describe("prune-dir.sh", () => {
  it("removes exactly the files not listed on stdin, and tolerates a missing directory", () => {
    const dir = tempDir();
    for (const name of ["keep-a.pem", "keep b.pem", "drop.pem", ".hidden-drop"]) writeFileSync(join(dir, name), "x");
    const prune = (target: string, keep: string) =>
      spawnSync("bash", [scriptPath(SCRIPTS.pruneDir)], { encoding: "utf8", input: keep, env: { ...process.env, JITSI_PRUNE_DIR: target } });
    const result = prune(dir, "keep-a.pem\nkeep b.pem\n");
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["keep b.pem", "keep-a.pem"]);
    expect(prune(dir, "").status).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
    expect(prune(join(dir, "absent"), "").status).toBe(0);
    expect(prune("relative/dir", "").status).toBe(2);
    expect(prune("/tmp/../etc", "").status).toBe(2);
  });
});

describe("scriptCommand (the remote command text)", () => {
  // There is no sudo on this test machine; a stand-in keeps only what the wrapper relies on: run the command as
  // root (we are root) with just the named variables preserved from the caller's environment.
  function sudoStandIn(): string {
    const dir = tempDir();
    writeFileSync(
      join(dir, "sudo"),
      [
        "#!/usr/bin/env bash",
        'keep=()',
        'if [[ "$1" == --preserve-env=* ]]; then IFS=, read -ra names <<<"${1#--preserve-env=}"; shift;',
        '  for n in "${names[@]}"; do keep+=("$n=${!n-}"); done; fi',
        'exec env -i PATH="$PATH" "${keep[@]}" "$@"',
        "",
      ].join("\n"),
    );
    chmodSync(join(dir, "sudo"), 0o755);
    return dir;
  }

  it("runs the script verbatim (no expansion), with only the named variables and stdin passed through", () => {
    const script = '#!/usr/bin/env bash\nset -eu\nprintf "%s|%s|%s|" "$GREETING" "${OTHER-unset}" \'$HOME `x`\'\ncat\n';
    const out = execFileSync("bash", ["-c", scriptCommand(script, ["GREETING"])], {
      encoding: "utf8",
      input: "from-stdin",
      env: { ...process.env, PATH: `${sudoStandIn()}:${process.env.PATH}`, GREETING: "hello", OTHER: "leak" },
    });
    expect(out).toBe("hello|unset|$HOME `x`|from-stdin");
  });

  it("refuses invalid variable names and scripts containing the heredoc terminator", () => {
    expect(() => scriptCommand("echo", ["lower-case"])).toThrow(/invalid environment variable name/);
    expect(() => scriptCommand("echo\nJITSI_SCRIPT_EOF\n")).toThrow(/must not contain/);
  });
});

describe("restart-service.sh", () => {
  // No systemd in this test environment: a stand-in systemctl records its calls and reports the unit active.
  // The health check itself is real: an HTTP server that turns healthy after a few requests.
  function standIns(): { dir: string; log: string } {
    const dir = tempDir();
    const log = join(dir, "calls.log");
    writeFileSync(join(dir, "systemctl"), `#!/bin/sh\necho "systemctl $*" >>"${log}"\nexit 0\n`);
    writeFileSync(join(dir, "fakesvc"), `#!/bin/sh\necho "fakesvc $*" >>"${log}"\n[ "$FAKESVC_CONFIG_OK" = 1 ]\n`);
    chmodSync(join(dir, "systemctl"), 0o755);
    chmodSync(join(dir, "fakesvc"), 0o755);
    return { dir, log };
  }

  async function healthServer(unhealthyFirst: number): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
    const port = await freePort();
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.statusCode = hits > unhealthyFirst ? 200 : 503;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    return {
      url: `http://127.0.0.1:${port}/about/health`,
      hits: () => hits,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }

  const restart = (env: Record<string, string>, dir: string) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("bash", [scriptPath(SCRIPTS.restartService)], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, ...env } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("close", (status) => resolve({ status, stdout, stderr }));
    });

  it("tests the config, acts, then waits until the health URL answers 2xx", async () => {
    const { dir, log } = standIns();
    const health = await healthServer(2);
    try {
      const result = await restart(
        { JITSI_SERVICE: "fakesvc", JITSI_ACTION: "reload", JITSI_CONFIG_TEST: "1", FAKESVC_CONFIG_OK: "1", JITSI_HEALTH_URL: health.url },
        dir,
      );
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      expect(health.hits()).toBe(3);
      const calls = readFileSync(log, "utf8").trim().split("\n");
      expect(calls.slice(0, 3)).toEqual(["fakesvc -t", "systemctl enable --quiet fakesvc", "systemctl reload fakesvc"]);
    } finally {
      await health.close();
    }
  });

  it("never touches the running service when its config test fails", async () => {
    const { dir, log } = standIns();
    const result = await restart({ JITSI_SERVICE: "fakesvc", JITSI_ACTION: "reload", JITSI_CONFIG_TEST: "1", FAKESVC_CONFIG_OK: "0" }, dir);
    expect(result.status).not.toBe(0);
    expect(readFileSync(log, "utf8").trim()).toBe("fakesvc -t");
  });

  it("gives up after the timeout with a message naming the service", async () => {
    const { dir } = standIns();
    const health = await healthServer(Number.MAX_SAFE_INTEGER);
    try {
      const result = await restart({ JITSI_SERVICE: "fakesvc", JITSI_ACTION: "restart", JITSI_HEALTH_URL: health.url, JITSI_HEALTH_TIMEOUT: "3" }, dir);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/restart-service: fakesvc: not healthy after 3s \(last: curl: \(22\)/);
    } finally {
      await health.close();
    }
  });

  it("waits for a TCP port to accept connections", async () => {
    const { dir } = standIns();
    const port = await freePort();
    const late = createNetServer();
    setTimeout(() => late.listen(port, "127.0.0.1"), 1500);
    try {
      const started = Date.now();
      const result = await restart({ JITSI_SERVICE: "fakesvc", JITSI_ACTION: "restart", JITSI_HEALTH_PORT: String(port) }, dir);
      expect(result.status).toBe(0);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    } finally {
      await new Promise<void>((resolve) => late.close(() => resolve()));
    }
  });

  it("disables a service for good without waiting for health", async () => {
    const { dir, log } = standIns();
    const result = await restart({ JITSI_SERVICE: "fakesvc", JITSI_ACTION: "disable", JITSI_HEALTH_PORT: "1" }, dir);
    expect(result.status).toBe(0);
    expect(readFileSync(log, "utf8").trim()).toBe("systemctl disable --now fakesvc");
  });

  it("rejects an unknown action", async () => {
    const { dir, log } = standIns();
    const result = await restart({ JITSI_SERVICE: "fakesvc", JITSI_ACTION: "stop" }, dir);
    expect(result.status).toBe(2);
    expect(existsSync(log)).toBe(false);
  });
});
