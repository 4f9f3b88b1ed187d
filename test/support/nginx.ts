/**
 * Runs the real nginx for tests: a main configuration of our own (prefix, pid, logs and temp paths under a temp
 * dir, workers as root so they can read the temp tree), loopback ports from freePort(), and for a rendered site
 * a self-signed certificate made with openssl where the site expects the issued one. Reusable by any test that
 * needs the site live (certificate tests can swap the certificate files and call reload()).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type { Deployment, RenderedFile, RuntimeOverrides } from "../../templates/deployment.ts";
import { nginxString } from "../../templates/escape/nginx.ts";
import { runtimeHostPaths, underRoot } from "../../templates/files/hostRuntime.ts";
import { NGINX_ACCESS_LOG, renderNginxSite } from "../../templates/files/nginx.ts";
import { freePort } from "./ports.ts";
import { stopChild } from "./stopChild.ts";

const run = promisify(execFile);
const NGINX = "/usr/sbin/nginx";
const MIME_TYPES = "/etc/nginx/mime.types";

/** Runtime overrides for a site on 127.0.0.1: fresh rootDir and ports. Merge in prosodyHttpPort as needed. */
export async function nginxTestRuntime(): Promise<
  Required<Pick<RuntimeOverrides, "rootDir" | "httpPort" | "httpsPort" | "bindAddress" | "asapKeysLocalPort">>
> {
  return {
    rootDir: await mkdtemp(join(tmpdir(), "nginx-site-")),
    httpPort: await freePort(),
    httpsPort: await freePort(),
    asapKeysLocalPort: await freePort(),
    bindAddress: "127.0.0.1",
  };
}

/** Writes a self-signed certificate (and its key) for `domain` at the given paths; returns the certificate PEM. */
export async function writeSelfSignedCertificate(domain: string, certificatePath: string, keyPath: string): Promise<string> {
  await mkdir(dirname(certificatePath), { recursive: true });
  await mkdir(dirname(keyPath), { recursive: true });
  await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-days", "2", "-subj", "/CN=jitsi test certificate", "-addext", `subjectAltName=DNS:${domain}`,
    "-keyout", keyPath, "-out", certificatePath,
  ]);
  return readFile(certificatePath, "utf8");
}

/** An nginx master process started by a test. */
export interface RunningNginxProcess {
  /** nginx's prefix (`-p`): the temp dir holding its main configuration, pid file, logs and temp paths. */
  readonly prefixDir: string;
  /** The main configuration (`-c`); `nginx -t -p prefixDir -c mainConf` checks what is running. */
  readonly mainConf: string;
  /** The master's pid file (what `systemctl reload nginx` signals). */
  readonly pidFile: string;
  readonly errorLog: string;
  /** Re-reads configuration and certificates, as `systemctl reload nginx` does; rejects if nginx refuses them. */
  reload(): Promise<void>;
  /** Stops nginx and removes its temp prefix dir (nothing else). */
  stop(): Promise<void>;
}

export interface RunningNginx extends RunningNginxProcess {
  readonly httpPort: number;
  readonly httpsPort: number;
  /** PEM of the certificate nginx serves (trust it as `ca` in clients). */
  readonly certificatePem: string;
  /** The site's access log (redacted format). */
  readonly accessLog: string;
}

/**
 * `nginx -t` on the site inside a test main configuration; resolves with nginx's output, rejects with it.
 * Creates the certificate and log directory the site needs if they are missing.
 */
export async function checkNginxSite(d: Deployment, site: RenderedFile = renderNginxSite(d)): Promise<string> {
  await writeSiteFiles(d, site);
  const prefix = await preparePrefix(site.path);
  try {
    const { stderr } = await run(NGINX, ["-t", "-p", prefix.dir, "-c", prefix.mainConf]);
    return stderr;
  } catch (error) {
    throw new Error(`nginx -t failed:\n${(error as { stderr?: string }).stderr ?? String(error)}`);
  } finally {
    await rm(prefix.dir, { recursive: true, force: true });
  }
}

/**
 * Starts nginx with the site (rendered from `d` unless given) and waits until both ports accept connections.
 * With `stream` (the rendered TURN stream proxy), the stream module is loaded and the file included at the main
 * configuration's top level, as Debian's nginx.conf includes modules-enabled/*.conf.
 */
export async function startNginx(
  d: Deployment,
  site: RenderedFile = renderNginxSite(d),
  options: { readonly stream?: RenderedFile } = {},
): Promise<RunningNginx> {
  const httpPort = d.runtime?.httpPort;
  const httpsPort = d.runtime?.httpsPort;
  if (httpPort === undefined || httpsPort === undefined) {
    throw new Error("startNginx needs runtime.rootDir, httpPort and httpsPort (see nginxTestRuntime())");
  }
  const certificatePem = await writeSiteFiles(d, site);
  if (options.stream !== undefined) {
    await mkdir(dirname(options.stream.path), { recursive: true });
    await writeFile(options.stream.path, options.stream.content, { mode: options.stream.mode });
  }
  const nginx = await launch(site.path, [httpPort, httpsPort], options.stream?.path);
  return { ...nginx, httpPort, httpsPort, certificatePem, accessLog: underRoot(d, NGINX_ACCESS_LOG) };
}

/**
 * Starts nginx on an http-context configuration written by the test itself (server blocks, maps...), waiting
 * for `ports`. For checking how nginx reads a literal, e.g. through `return 200 "..."`.
 */
export async function startNginxWithHttpConfig(httpConfig: string, ports: readonly number[]): Promise<RunningNginxProcess> {
  const dir = await mkdtemp(join(tmpdir(), "nginx-http-"));
  const include = join(dir, "http.conf");
  await writeFile(include, httpConfig);
  try {
    const nginx = await launch(include, ports);
    return { ...nginx, stop: () => nginx.stop().finally(() => rm(dir, { recursive: true, force: true })) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Puts the site, its certificate (self-signed unless one is there) and its log directory under rootDir. */
async function writeSiteFiles(d: Deployment, site: RenderedFile): Promise<string> {
  const root = d.runtime?.rootDir;
  if (root === undefined || !site.path.startsWith(`${root}/`)) {
    throw new Error(`the site must be rendered with runtime.rootDir so nothing is written outside it (path ${site.path})`);
  }
  if (!existsSync(NGINX)) throw new Error(`${NGINX} is missing: install the Debian package nginx-light`);
  const paths = runtimeHostPaths(d);
  const certificatePem = existsSync(paths.certificate)
    ? await readFile(paths.certificate, "utf8")
    : await writeSelfSignedCertificate(d.domain, paths.certificate, paths.certificateKey);
  await mkdir(dirname(underRoot(d, NGINX_ACCESS_LOG)), { recursive: true });
  await mkdir(dirname(site.path), { recursive: true });
  await writeFile(site.path, site.content, { mode: site.mode });
  return certificatePem;
}

interface Prefix {
  readonly dir: string;
  readonly mainConf: string;
  readonly pidFile: string;
  readonly errorLog: string;
}

/** Debian's libnginx-mod-stream (its 50-mod-stream.conf loads it the same way). */
const STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so";

/**
 * A temp prefix dir with a main configuration that includes `httpInclude` in its http block and, when given,
 * `streamInclude` at the top level after loading the stream module.
 */
async function preparePrefix(httpInclude: string, streamInclude?: string): Promise<Prefix> {
  const dir = await mkdtemp(join(tmpdir(), "nginx-prefix-"));
  const errorLog = join(dir, "error.log");
  const mainConf = join(dir, "nginx.conf");
  const pidFile = join(dir, "nginx.pid");
  const temp = (name: string) => join(dir, name);
  await writeFile(
    mainConf,
    [
      ...(streamInclude === undefined
        ? []
        : [`load_module ${STREAM_MODULE};`, `include ${nginxString(streamInclude, "included file")};`]),
      "daemon off;",
      "master_process on;",
      "worker_processes 1;",
      "user root;",
      `pid ${pidFile};`,
      `error_log ${errorLog} info;`,
      "events { worker_connections 256; }",
      "http {",
      `    include ${MIME_TYPES};`,
      "    default_type application/octet-stream;",
      `    client_body_temp_path ${temp("body")};`,
      `    proxy_temp_path ${temp("proxy")};`,
      `    fastcgi_temp_path ${temp("fastcgi")};`,
      `    uwsgi_temp_path ${temp("uwsgi")};`,
      `    scgi_temp_path ${temp("scgi")};`,
      `    include ${nginxString(httpInclude, "included file")};`,
      "}",
      "",
    ].join("\n"),
  );
  return { dir, mainConf, pidFile, errorLog };
}

async function launch(httpInclude: string, ports: readonly number[], streamInclude?: string): Promise<RunningNginxProcess> {
  if (!existsSync(NGINX)) throw new Error(`${NGINX} is missing: install the Debian package nginx-light`);
  if (streamInclude !== undefined && !existsSync(STREAM_MODULE)) {
    throw new Error(`${STREAM_MODULE} is missing: install the Debian package libnginx-mod-stream`);
  }
  const prefix = await preparePrefix(httpInclude, streamInclude);
  const child = spawn(NGINX, ["-p", prefix.dir, "-c", prefix.mainConf], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const stop = async () => {
    // SIGQUIT: nginx finishes the requests in flight, then exits.
    await stopChild(child, "SIGQUIT");
    await rm(prefix.dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(ports.map((portNumber) => waitForPort(portNumber, child, () => stderr)));
  } catch (error) {
    await stop();
    throw error;
  }
  const readLog = () => readFile(prefix.errorLog, "utf8").catch(() => "");
  return {
    prefixDir: prefix.dir,
    mainConf: prefix.mainConf,
    pidFile: prefix.pidFile,
    errorLog: prefix.errorLog,
    reload: async () => {
      const before = (await readLog()).length;
      child.kill("SIGHUP");
      for (let i = 0; i < 200; i++) {
        const added = (await readLog()).slice(before);
        // A rejected configuration keeps the old one running and logs [emerg]; success starts new workers.
        if (added.includes("[emerg]")) throw new Error(`nginx refused the new configuration:\n${added}`);
        if (/reconfiguring[\s\S]*start worker process/.test(added)) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error("nginx did not reload within 10 s");
    },
    stop,
  };
}

function waitForPort(portNumber: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) {
        reject(new Error(`nginx exited (${String(child.exitCode)}):\n${log()}`));
        return;
      }
      const socket = connect(portNumber, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nginx did not listen on ${String(portNumber)}:\n${log()}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}
