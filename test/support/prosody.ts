/**
 * Runs the real `prosody` on the project's rendered host configuration, for tests.
 *
 *   const prosody = await startProsody();            // stock Prosody, guest logins work
 *   const prosody = await startProsody({ pluginsDir: process.env.JITSI_PLUGINS_DIR });   // Jitsi's real plugins
 *   try { ... prosody.websocketUrl ... prosody.ports.c2s ... } finally { await prosody.stop(); }
 *
 * What it does: renders the host config with runtime overrides (a fresh temp dir as rootDir, free loopback
 * ports, bind address 127.0.0.1), writes a small test-only global config that Includes it (pid file, data dir,
 * log file and certificate dir under the temp dir, run_as_root because tests run as root, no encryption
 * required, no s2s), starts `prosody` with it in the foreground and waits until its HTTP port answers.
 *
 * Without `pluginsDir`, Jitsi's plugins are absent (stock Debian Prosody). The guest VirtualHost's
 * `jitsi-anonymous` auth is then provided by a small stand-in module (plain anonymous SASL, written into the
 * temp dir), so guest logins work; Jitsi-only modules on other hosts are reported missing by Prosody and
 * skipped. With `pluginsDir`, the real plugins load, with LUA_PATH extended for the Lua 5.1-5.3 copies of
 * inspect/basexx that Debian 12 ships.
 *
 * Everything stays under the temp dir; stop() ends the process and removes it. Call stop() in afterAll.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { client } from "@xmpp/client";
import { WebSocket as NodeWebSocket } from "ws";
import type { Deployment, RuntimeOverrides } from "../../templates/deployment.ts";
import { luaString } from "../../templates/escape/lua.ts";
import { renderProsodyHostConfig } from "../../templates/files/prosody.ts";
import { renderProsodyModules } from "../../templates/files/prosodyModules.ts";
import { URL_PATHS, xmppNames, type XmppNames } from "jitsi-jwt-token/shared";
import { validateDeployment } from "../../templates/validate.ts";
import { sampleDeployment } from "../templates/sampleDeployment.ts";
import { freePort } from "./ports.ts";
import { stopChild } from "./stopChild.ts";
import { startSyslogCapture, type SyslogCapture } from "./syslogCapture.ts";

const run = promisify(execFile);
const PROSODY = "/usr/bin/prosody";
const PROSODYCTL = "/usr/bin/prosodyctl";
const LOOPBACK = "127.0.0.1";
/** Debian 12 ships lua-inspect and lua-basexx for Lua 5.1-5.3 only; Prosody runs on 5.4. */
const JITSI_LUA_PATH = "/usr/share/lua/5.4/?.lua;/usr/share/lua/5.3/?.lua;/usr/share/lua/5.2/?.lua;;";

/** A valid deployment for Prosody tests (the templates' sample, own domain); `deployment` options are merged over it. */
export const PROSODY_TEST_DEPLOYMENT: Deployment = sampleDeployment({ domain: "meet.example.test" });

export interface ProsodyHarnessOptions {
  /** Directory of Jitsi's prosody-plugins (e.g. process.env.JITSI_PLUGINS_DIR). Default: stock Prosody + stand-in. */
  readonly pluginsDir?: string;
  /** Lua appended to the global config after the Include (e.g. a `Component` for a stand-in Jicofo). */
  readonly extraConfig?: string;
  /** Fields merged over PROSODY_TEST_DEPLOYMENT; `runtime` is always the harness's own. */
  readonly deployment?: Partial<Omit<Deployment, "runtime">>;
  /** Ports other programs of the stack listen on that the rendered file names (TURN's on the HTTPS port). */
  readonly runtime?: Pick<RuntimeOverrides, "httpsPort" | "turnUdpPort">;
  /** Prosody's log level for the log file (default "debug"). */
  readonly logLevel?: "debug" | "info" | "warn" | "error";
  /**
   * "debian": the `log` option of Debian's /etc/prosody/prosody.cfg.lua (info and up to one file, errors to a
   * second file and to syslog), with syslog captured: Prosody runs in a mount namespace of its own whose /dev/log
   * is a datagram socket a small receiver writes to `paths.syslogFile`. Default: one file at `logLevel`.
   */
  readonly logging?: "file" | "debian";
}

export interface RunningProsody {
  /** The deployment as rendered (with the harness's runtime overrides). */
  readonly deployment: Deployment;
  readonly names: XmppNames;
  /** Process id of the running prosody. */
  readonly pid: number;
  readonly ports: { readonly http: number; readonly c2s: number };
  /** ws://127.0.0.1:<http>/xmpp-websocket. Send `Host: <names.domain>`: Prosody routes HTTP by Host header. */
  readonly websocketUrl: string;
  readonly boshUrl: string;
  readonly paths: {
    /** Temp dir holding everything below; removed by stop(). */
    readonly root: string;
    /** The test-only global config (pass to prosodyctl --config). */
    readonly globalConfig: string;
    /** The rendered host config, at its production path under root. */
    readonly hostConfig: string;
    readonly dataDir: string;
    readonly logFile: string;
    /** With logging "debian": the error-level file and what syslog received. */
    readonly errorLogFile?: string;
    readonly syslogFile?: string;
    /** plugin_paths entry the rendered config uses (the real plugins or the stand-in dir). */
    readonly pluginsDir: string;
  };
  /** Environment Prosody runs with (LUA_PATH for the real plugins); reuse it for prosodyctl. */
  readonly env: NodeJS.ProcessEnv;
  /** Log file contents plus the process's stdout/stderr so far. */
  logs(): Promise<string>;
  /** Runs `prosodyctl --config <globalConfig> ...args`; resolves with its output even when it exits non-zero. */
  prosodyctl(args: readonly string[]): Promise<{ readonly code: number; readonly output: string }>;
  /** Stops Prosody (SIGTERM, then SIGKILL after 5 s) and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Lua source of a test stand-in auth provider: anonymous SASL with random user names, as Jitsi's
 * mod_auth_jitsi-anonymous gives guests (stock Prosody lacks it). With `requireToken`, it also applies the one rule of
 * Jitsi's token auth that needs no JWT library: a WebSocket login without `?token=` fails SASL with
 * ("not-allowed", "token required"), through Prosody's own mod_saslauth. Any token is accepted; signatures, expiry
 * and rooms are judged only with Jitsi's real plugins.
 */
export function standInAnonymousAuth(options: { readonly requireToken?: boolean } = {}): string {
  const tokenCapture = `
local formdecode = require "util.http".formdecode;
module:hook_global("websocket-session", function(event)
    local query = event.request.url.query;
    local params = query and formdecode(query) or {};
    event.session.standin_token = params.token;
end);
`;
  const handler = options.requireToken
    ? `function provider.get_sasl_handler(session)
    local handler = new_sasl(module.host, { anonymous = function() return true; end });
    local process = handler.process;
    function handler:process(message)
        local token = session and session.standin_token;
        if token == nil or token == "" then
            return "failure", "not-allowed", "token required";
        end
        return process(self, message);
    end
    return handler;
end`
    : `function provider.get_sasl_handler()
    return new_sasl(module.host, { anonymous = function() return true; end });
end`;
  return `-- Test stand-in auth provider (test/support/prosody.ts standInAnonymousAuth).
local new_sasl = require "util.sasl".new;
${options.requireToken ? tokenCapture : ""}
local provider = {};
function provider.test_password() return nil, "password auth not supported"; end
function provider.get_password() return nil; end
function provider.set_password() return nil, "password auth not supported"; end
function provider.user_exists() return nil; end
function provider.create_user() return nil, "accounts not supported"; end
function provider.delete_user() return nil, "accounts not supported"; end
function provider.users() return next, {}, nil; end
${handler}
module:provides("auth", provider);
`;
}

/**
 * A WebSocket class (the `ws` package) that sends `Host: <host>` whatever URL it is given. Prosody picks the
 * virtual host of an HTTP request by its Host header, and a client connecting to 127.0.0.1 would send the
 * address. Install it as globalThis.WebSocket for @xmpp/client on Node 20 (restore the old value afterwards).
 */
export function hostHeaderWebSocket(host: string): new (url: string | URL, protocols?: string | string[]) => NodeWebSocket {
  return class HostHeaderWebSocket extends NodeWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { headers: { host } });
    }
  };
}

/**
 * Logs in over the harness's WebSocket as a web client does (SASL ANONYMOUS; a token goes in `query`, e.g.
 * `?room=r&token=…`), binds, disconnects, and resolves with the bound JID. Rejects with @xmpp/client's error
 * (its `condition`, e.g. "not-allowed" or "host-unknown") when the server refuses.
 */
export async function anonymousLogin(prosody: RunningProsody, xmppDomain: string, query = ""): Promise<string> {
  const previous = globalThis.WebSocket;
  globalThis.WebSocket = hostHeaderWebSocket(prosody.names.domain) as unknown as typeof WebSocket;
  const xmpp = client({ service: `${prosody.websocketUrl}${query}`, domain: xmppDomain });
  xmpp.on("error", () => {});
  try {
    await xmpp.start();
    return String(xmpp.jid);
  } finally {
    xmpp.reconnect.stop();
    await xmpp.stop().catch(() => {});
    globalThis.WebSocket = previous;
  }
}

function logOption(logFile: string, logLevel: string, debian: { errorLogFile: string } | undefined): string {
  if (debian === undefined) {
    return `log = {
    { levels = { min = ${luaString(logLevel)} }, to = "file", filename = ${luaString(logFile)} };
}`;
  }
  // The shape of Debian's prosody.cfg.lua (prosody 0.12.3-1+deb12u1), paths moved into the temp dir.
  return `log = {
    info = ${luaString(logFile)};
    error = ${luaString(debian.errorLogFile)};
    { levels = { "error" }; to = "syslog"; };
}`;
}

function globalConfig(root: string, hostConfig: string, log: string, extra: string): string {
  const path = (name: string) => luaString(join(root, name));
  return `-- Test-only global configuration written by test/support/prosody.ts.
pidfile = ${path("prosody.pid")}
data_path = ${path("data")}
certificates = ${path("certs")}
run_as_root = true
interfaces = { ${luaString(LOOPBACK)} }
c2s_require_encryption = false
s2s_require_encryption = false
s2s_ports = { }
modules_enabled = { "disco"; "roster"; "saslauth"; "ping"; "posix"; }
modules_disabled = { "s2s"; }
${log}
Include ${luaString(hostConfig)}
${extra}
`;
}

function httpAnswers(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    // agent: false: a socket of its own, closed after the answer (the global agent's keep-alive pool would hold
    // one open to Prosody past the probe).
    const req = request({ host: LOOPBACK, port, path: "/", headers: { host }, timeout: 1000, agent: false }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

export async function startProsody(options: ProsodyHarnessOptions = {}): Promise<RunningProsody> {
  const root = await mkdtemp(join(tmpdir(), "prosody-test-"));
  const output: string[] = [];
  let child: ChildProcess | undefined;
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const logFile = join(root, "prosody.log");

  let syslog: SyslogCapture | undefined;
  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc !== undefined && exited === undefined) await stopChild(proc);
    await syslog?.stop();
    await rm(root, { recursive: true, force: true });
  };
  const logs = async (): Promise<string> => {
    const file = await readFile(logFile, "utf8").catch(() => "");
    return `${file}${output.join("")}`;
  };

  try {
    const ports = { http: await freePort(), c2s: await freePort() };
    const pluginsDir = options.pluginsDir ?? join(root, "plugins-stand-in");
    if (options.pluginsDir === undefined) {
      await mkdir(pluginsDir, { recursive: true });
      await writeFile(join(pluginsDir, "mod_auth_jitsi-anonymous.lua"), standInAnonymousAuth());
    }
    const deployment = validateDeployment({
      ...PROSODY_TEST_DEPLOYMENT,
      ...options.deployment,
      runtime: {
        rootDir: root,
        prosodyHttpPort: ports.http,
        xmppClientPort: ports.c2s,
        bindAddress: LOOPBACK,
        prosodyPluginsDir: pluginsDir,
        ...options.runtime,
      },
    });
    const names = xmppNames(deployment.domain);
    const rendered = renderProsodyHostConfig(deployment);
    for (const file of [rendered, ...renderProsodyModules(deployment)]) {
      await mkdir(dirname(file.path), { recursive: true });
      await writeFile(file.path, file.content, { mode: file.mode });
    }
    await mkdir(join(root, "data"), { recursive: true });
    await mkdir(join(root, "certs"), { recursive: true });
    const globalPath = join(root, "prosody.cfg.lua");
    const debian = options.logging === "debian" ? { errorLogFile: join(root, "prosody.err") } : undefined;
    await writeFile(
      globalPath,
      globalConfig(root, rendered.path, logOption(logFile, options.logLevel ?? "debug", debian), options.extraConfig ?? ""),
    );
    if (debian !== undefined) {
      const capture = await startSyslogCapture(join(root, "syslog"));
      syslog = capture;
    }
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PROSODY_CONFIG: globalPath,
      ...(options.pluginsDir === undefined ? {} : { LUA_PATH: JITSI_LUA_PATH }),
    };

    const launch = syslog === undefined ? { command: PROSODY, args: ["--config", globalPath, "-F"] } : syslog.wrap(PROSODY, ["--config", globalPath, "-F"]);
    const proc = spawn(launch.command, launch.args, { env, stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    proc.stdout.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    proc.stderr.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    proc.on("exit", (code, signal) => (exited = { code, signal }));
    const spawnError = new Promise<never>((_, reject) => proc.once("error", reject));

    const deadline = Date.now() + 20_000;
    for (;;) {
      if (exited !== undefined) {
        throw new Error(`prosody exited (code ${String(exited.code)}) before answering:\n${await logs()}`);
      }
      if (await Promise.race([httpAnswers(ports.http, names.domain), spawnError])) break;
      if (Date.now() > deadline) throw new Error(`prosody did not answer on port ${String(ports.http)} in 20 s:\n${await logs()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    return {
      deployment,
      names,
      pid: proc.pid ?? -1,
      ports,
      websocketUrl: `ws://${LOOPBACK}:${String(ports.http)}${URL_PATHS.websocket}`,
      boshUrl: `http://${LOOPBACK}:${String(ports.http)}${URL_PATHS.bosh}`,
      paths: {
        root,
        globalConfig: globalPath,
        hostConfig: rendered.path,
        dataDir: join(root, "data"),
        logFile,
        ...(debian === undefined ? {} : { errorLogFile: debian.errorLogFile }),
        ...(syslog === undefined ? {} : { syslogFile: syslog.file }),
        pluginsDir,
      },
      env,
      logs,
      prosodyctl: async (args) => {
        try {
          const { stdout, stderr } = await run(PROSODYCTL, ["--config", globalPath, ...args], { env });
          return { code: 0, output: `${stdout}${stderr}` };
        } catch (error) {
          const failed = error as { code?: number; stdout?: string; stderr?: string };
          if (typeof failed.code !== "number") throw error;
          return { code: failed.code, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
        }
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
