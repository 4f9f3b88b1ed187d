/**
 * Runs the real coturn (`turnserver`, Debian package coturn) on the project's rendered /etc/turnserver.conf, for
 * tests. The file is rendered with runtime overrides (rootDir, bind address, ports); the certificate and key are
 * a self-signed pair for `turn.<domain>` at the rendered cert/pkey paths. Only the log and pid file come from the
 * command line (`--log-file`, `--pidfile`, as Debian's unit passes `--pidfile=`); every other setting is the
 * rendered file's. `netns` starts it inside a network namespace (see netns.ts).
 */
import { execFile, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type { Deployment, RenderedFile, TurnSettings } from "../../templates/deployment.ts";
import { renderCoturnConf } from "../../templates/files/coturn.ts";
import { runtimeHostPaths } from "../../templates/files/hostRuntime.ts";
import { turnHostname } from "jitsi-jwt-token/shared";
import { validateDeployment } from "../../templates/validate.ts";
import type { TurnServerAddress } from "../../token/smoke/turnClient.ts";
import { sampleDeployment } from "../templates/sampleDeployment.ts";
import { writeSelfSignedCertificate } from "./nginx.ts";
import { freePort } from "./ports.ts";
import { stopChild } from "./stopChild.ts";

const run = promisify(execFile);
const TURNSERVER = "/usr/bin/turnserver";
const STUNCLIENT = "/usr/bin/turnutils_stunclient";

export interface RunningCoturn {
  readonly deployment: Deployment;
  /** The rendered file coturn runs on (as written). */
  readonly conf: RenderedFile;
  /** PEM of the self-signed certificate coturn's TLS listener presents (trust it as `ca`). */
  readonly certificatePem: string;
  /** Everything coturn logged so far. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Renders coturn's file for `deployment` (which must carry runtime.rootDir, bindAddress and the TURN ports),
 * writes it and a certificate under rootDir, starts turnserver and waits for a STUN Binding answer on the UDP
 * port (the same check the host's health wait uses).
 */
export async function startCoturn(deployment: Deployment, options: { netns?: string } = {}): Promise<RunningCoturn> {
  if (!existsSync(TURNSERVER)) throw new Error(`${TURNSERVER} is missing: install the Debian package coturn`);
  const d = validateDeployment(deployment);
  const root = d.runtime?.rootDir;
  const bind = d.runtime?.bindAddress;
  const udpPort = d.runtime?.turnUdpPort;
  if (root === undefined || bind === undefined || udpPort === undefined) {
    throw new Error("startCoturn needs runtime.rootDir, bindAddress and turnUdpPort");
  }
  const [conf] = renderCoturnConf(d);
  if (conf === undefined) throw new Error("the deployment has no turn settings");
  const paths = runtimeHostPaths(d);
  await mkdir(dirname(conf.path), { recursive: true });
  await writeFile(conf.path, conf.content, { mode: conf.mode });
  const certificatePem = await writeSelfSignedCertificate(turnHostname(d.domain), paths.coturnCertificate, paths.coturnCertificateKey);
  const runDir = await mkdtemp(join(tmpdir(), "coturn-run-"));
  const args = ["-c", conf.path, "--log-file", "stdout", "--pidfile", join(runDir, "turnserver.pid")];
  const command = options.netns === undefined ? [TURNSERVER, ...args] : ["ip", "netns", "exec", options.netns, TURNSERVER, ...args];
  const child = spawn(command[0]!, command.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const stop = async () => {
    await stopChild(child);
    await rm(runDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`turnserver exited (${String(child.exitCode)}):\n${output}`);
    }
    if (await stunBinding(bind, udpPort, options.netns)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`turnserver did not answer a STUN Binding on ${bind}:${String(udpPort)}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { deployment: d, conf, certificatePem, log: () => output, stop };
}

/** coturn on 127.0.0.1 as startLoopbackCoturn runs it, with the addresses of its two listeners. */
export interface LoopbackCoturn extends RunningCoturn {
  readonly udp: TurnServerAddress;
  /** The TLS listener, SNI turn.<domain>, trusting coturn's test certificate. */
  readonly tls: Extract<TurnServerAddress, { transport: "tls" }>;
}

/**
 * coturn on 127.0.0.1 with free ports and a temp root of its own (removed by stop()). Loopback stands in for
 * the private address, so relays come from 127.0.0.1 and are advertised as `publicIp`.
 */
export async function startLoopbackCoturn(fields: { domain?: string; turn: TurnSettings; publicIp: string }): Promise<LoopbackCoturn> {
  const root = await mkdtemp(join(tmpdir(), "coturn-test-"));
  const runtime = { rootDir: root, bindAddress: "127.0.0.1", turnUdpPort: await freePort(), turnTlsPort: await freePort() };
  try {
    const coturn = await startCoturn(
      sampleDeployment({
        ...(fields.domain === undefined ? {} : { domain: fields.domain }),
        turn: fields.turn,
        network: { privateIp: "127.0.0.1", publicIp: fields.publicIp },
        runtime,
      }),
    );
    return {
      ...coturn,
      udp: { transport: "udp", host: "127.0.0.1", port: runtime.turnUdpPort },
      tls: { transport: "tls", host: "127.0.0.1", port: runtime.turnTlsPort, servername: turnHostname(coturn.deployment.domain), ca: coturn.certificatePem },
      stop: () => coturn.stop().finally(() => rm(root, { recursive: true, force: true })),
    };
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

/** One STUN Binding request with coturn's own turnutils_stunclient; true when a success response came back. */
export async function stunBinding(host: string, port: number, netns?: string): Promise<boolean> {
  const args = ["-p", String(port), host];
  const command = netns === undefined ? [STUNCLIENT, ...args] : ["ip", "netns", "exec", netns, STUNCLIENT, ...args];
  // turnutils_stunclient waits forever when nothing answers: bounded here.
  const result = await run(command[0]!, command.slice(1), { encoding: "utf8", timeout: 1_000, killSignal: "SIGKILL" }).catch(
    () => ({ stdout: "", stderr: "" }),
  );
  return /UDP reflexive addr/.test(result.stdout + result.stderr);
}

/**
 * TURN REST credentials, the scheme coturn's use-auth-secret checks and Prosody's mod_external_services issues
 * (algorithm "turn"): username = expiry (Unix seconds), password = base64(HMAC-SHA1(secret, username)).
 */
export function turnRestCredentials(secret: string, expiresAt: number, name?: string): { username: string; password: string } {
  const username = name === undefined ? String(expiresAt) : `${String(expiresAt)}:${name}`;
  return { username, password: createHmac("sha1", secret).update(username).digest("base64") };
}
