/**
 * Runs Debian's pebble ACME test server with pebble-challtestsrv as its DNS, both on 127.0.0.1 ports from
 * freePort(). Pebble's VA really fetches http://<domain>:<httpPort>/.well-known/acme-challenge/<token>, resolving
 * <domain> through challtestsrv, so an HTTP-01 validation reaches whatever serves that port on loopback (nginx).
 *
 * Debian's package ships no test certificate for pebble's own HTTPS listener, so each instance gets a fresh
 * throwaway CA and a 127.0.0.1/localhost server certificate made with openssl; clients trust `tlsCaFile`
 * (certbot through REQUESTS_CA_BUNDLE). Every instance generates new issuing roots: keep one certbot config dir
 * per instance.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./ports.ts";
import { stopChild } from "./stopChild.ts";

const run = promisify(execFile);
const PEBBLE = "/usr/bin/pebble";
const CHALLTESTSRV = "/usr/bin/pebble-challtestsrv";
const START_TIMEOUT_MS = 10_000;

export interface RunningPebble {
  /** ACME directory URL (https://127.0.0.1:<port>/dir). */
  readonly directoryUrl: string;
  /** Same server, named `localhost` (pebble's TLS certificate covers both): a "different" ACME server URL. */
  readonly directoryUrlByName: string;
  /** PEM file of the CA that signed pebble's HTTPS certificate: REQUESTS_CA_BUNDLE for certbot. */
  readonly tlsCaFile: string;
  /** challtestsrv's DNS server, "127.0.0.1:<port>". */
  readonly dnsServer: string;
  /** Makes challtestsrv answer A queries for `host` with `addresses` (nothing is answered by default). */
  setARecord(host: string, addresses: readonly string[]): Promise<void>;
  /** PEM of the root that issues leaf certificates (via an intermediate), from pebble's management `/roots/0`. */
  issuingRoot(): Promise<string>;
  /** What pebble and challtestsrv printed (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** Starts challtestsrv and pebble; pebble validates HTTP-01 on `httpPort` of whatever the domain resolves to. */
export async function startPebble(options: { readonly httpPort: number }): Promise<RunningPebble> {
  for (const program of [PEBBLE, CHALLTESTSRV]) {
    await run(program, ["-h"]).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") throw new Error(`${program} is missing: install the Debian package pebble`);
    });
  }
  const dir = await mkdtemp(join(tmpdir(), "pebble-"));
  const children: ChildProcess[] = [];
  let output = "";
  const stop = async () => {
    await Promise.all(children.map((child) => stopChild(child)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const tls = await writeTlsCertificates(dir);
    const [dnsPort, challManagementPort, acmePort, managementPort, tlsAlpnPort] = await Promise.all(
      Array.from({ length: 5 }, () => freePort()),
    );
    const dnsServer = `127.0.0.1:${String(dnsPort)}`;
    const challManagement = `http://127.0.0.1:${String(challManagementPort)}`;

    // Only the DNS and management servers: pebble's VA must reach the real nginx for HTTP-01, and no default
    // A/AAAA answers so the certificate step's DNS wait sees exactly the records a test sets.
    children.push(
      spawnLogged(CHALLTESTSRV, [
        "-dns01", dnsServer, "-http01", "", "-https01", "", "-tlsalpn01", "",
        "-management", `127.0.0.1:${String(challManagementPort)}`, "-defaultIPv4", "", "-defaultIPv6", "",
      ], process.env, (text) => (output += text)),
    );
    const configFile = join(dir, "pebble-config.json");
    await writeFile(
      configFile,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${String(acmePort)}`,
          managementListenAddress: `127.0.0.1:${String(managementPort)}`,
          certificate: tls.certificateFile,
          privateKey: tls.keyFile,
          httpPort: options.httpPort,
          tlsPort: tlsAlpnPort,
          ocspResponderURL: "",
          externalAccountBindingRequired: false,
          // 90 days, as Let's Encrypt issues (pebble's default is 5 years); the store client refuses over 100.
          certificateValidityPeriod: 90 * 86_400,
        },
      }),
    );
    // Real validations, deterministic timing: no random VA sleeps, no rejected nonces, and no authorization
    // reuse so a renewal validates again instead of riding on the first order's authorization.
    const env: NodeJS.ProcessEnv = { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" };
    delete env.PEBBLE_VA_ALWAYS_VALID;
    children.push(spawnLogged(PEBBLE, ["-config", configFile, "-dnsserver", dnsServer], env, (text) => (output += text)));

    const tlsCa = await readFile(tls.caFile, "utf8");
    const managementUrl = `https://127.0.0.1:${String(managementPort)}`;
    await waitUntil(async () => {
      await httpAnswers(`${challManagement}/`);
      await httpsGet(`https://127.0.0.1:${String(acmePort)}/dir`, tlsCa);
    }, children, () => output);

    return {
      directoryUrl: `https://127.0.0.1:${String(acmePort)}/dir`,
      directoryUrlByName: `https://localhost:${String(acmePort)}/dir`,
      tlsCaFile: tls.caFile,
      dnsServer,
      setARecord: async (host, addresses) => {
        await httpPost(`${challManagement}/add-a`, JSON.stringify({ host: `${host}.`, addresses }));
      },
      issuingRoot: () => httpsGet(`${managementUrl}/roots/0`, tlsCa),
      log: () => output,
      stop,
    };
  } catch (error) {
    await stop();
    throw new Error(`pebble did not start: ${String(error)}\n${output}`);
  }
}

/** A throwaway CA and a server certificate for 127.0.0.1 and localhost, signed by it. */
async function writeTlsCertificates(dir: string) {
  const caFile = join(dir, "tls-ca.pem");
  const caKey = join(dir, "tls-ca.key");
  const keyFile = join(dir, "tls.key");
  const requestFile = join(dir, "tls.csr");
  const certificateFile = join(dir, "tls.pem");
  const extensions = join(dir, "tls.ext");
  const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("openssl", ["req", "-x509", ...ecKey, "-days", "2", "-subj", "/CN=pebble test TLS CA", "-keyout", caKey, "-out", caFile]);
  await run("openssl", ["req", ...ecKey, "-subj", "/CN=127.0.0.1", "-keyout", keyFile, "-out", requestFile]);
  await writeFile(extensions, "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
  await run("openssl", [
    "x509", "-req", "-in", requestFile, "-CA", caFile, "-CAkey", caKey, "-CAcreateserial",
    "-days", "2", "-extfile", extensions, "-out", certificateFile,
  ]);
  return { caFile, keyFile, certificateFile };
}

function spawnLogged(program: string, args: string[], env: NodeJS.ProcessEnv, log: (text: string) => void): ChildProcess {
  const child = spawn(program, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  const name = program.split("/").pop() ?? program;
  child.stdout?.on("data", (chunk: Buffer) => log(chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => log(chunk.toString()));
  child.on("exit", (code, signal) => log(`[${name} exited: ${String(code ?? signal)}]\n`));
  return child;
}

async function waitUntil(ready: () => Promise<void>, children: ChildProcess[], log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const exited = children.find((child) => child.exitCode !== null || child.signalCode !== null);
    if (exited !== undefined) throw new Error(`${String(exited.spawnfile)} exited early:\n${log()}`);
    try {
      await ready();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`not ready after ${String(START_TIMEOUT_MS)} ms: ${String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function collect(resolve: (body: string) => void, reject: (error: Error) => void) {
  return (response: import("node:http").IncomingMessage) => {
    let body = "";
    response.setEncoding("utf8");
    response.on("data", (chunk: string) => (body += chunk));
    response.on("end", () => {
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300) resolve(body);
      else reject(new Error(`HTTP ${String(status)}: ${body}`));
    });
  };
}

/**
 * Resolves once the server answers at all (challtestsrv's management root is a 404). Every request here uses
 * agent: false, so no keep-alive socket of the global agent outlives the call (and holds the port at stop).
 */
function httpAnswers(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { timeout: 5_000, agent: false }, (response) => {
      response.resume();
      resolve();
    })
      .on("error", reject)
      .end();
  });
}

function httpPost(url: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { method: "POST", timeout: 5_000, agent: false }, collect(resolve, reject)).on("error", reject).end(body);
  });
}

/** GET over HTTPS trusting only `ca` (pebble's endpoints). */
function httpsGet(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpsRequest(url, { ca, timeout: 5_000, agent: false }, collect(resolve, reject)).on("error", reject).end();
  });
}
