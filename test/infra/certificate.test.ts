/**
 * The certificate step for real: the shipped infra/scripts/obtain-certificate.sh runs certbot against Debian's
 * pebble ACME server, whose VA resolves the domain through pebble-challtestsrv to 127.0.0.1 and fetches the
 * HTTP-01 token from the project's rendered nginx site (port 80 webroot, on a loopback test port). Then nginx
 * serves the issued certificate over HTTPS, and `certbot renew` runs the rendered deploy hook, which reloads
 * nginx onto the renewed certificate.
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { chmod, mkdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCRIPTS } from "../../infra/scripts.ts";
import type { Deployment, RenderedFile } from "../../templates/deployment.ts";
import { runtimeHostPaths, underRoot } from "../../templates/files/hostRuntime.ts";
import { renderNginxSite } from "../../templates/files/nginx.ts";
import { renderNginxStream, TURN_HOP_SOCKET } from "../../templates/files/nginxStream.ts";
import { renderRenewalHook } from "../../templates/files/renewalHook.ts";
import { hostPaths, turnHostname } from "jitsi-jwt-token/shared";
import { nginxTestRuntime, startNginx, writeSelfSignedCertificate, type RunningNginx } from "../support/nginx.ts";
import { startPebble, type RunningPebble } from "../support/pebble.ts";
import { freePort } from "../support/ports.ts";
import { sampleDeployment } from "../templates/sampleDeployment.ts";

const DOMAIN = "meet.example.test";
/** The "Elastic IP": pebble's VA must reach the test nginx, so the A record points at loopback. */
const LOOPBACK = "127.0.0.1";
const SCRIPT = fileURLToPath(new URL(`../../infra/${SCRIPTS.obtainCertificate}`, import.meta.url));
const SCRIPT_TIMEOUT_MS = 45_000;

interface CommandResult {
  readonly code: number;
  readonly output: string;
  readonly seconds: number;
}

/** Runs a program to completion (bounded), never throwing: the test asserts on code and output. */
function runProgram(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: SCRIPT_TIMEOUT_MS, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, output: `${stdout}${stderr}`, seconds: (performance.now() - started) / 1000 });
    });
  });
}

/** Fails (never skips) without certbot: the script would otherwise try to apt-get it onto the test machine. */
async function requireCertbot(): Promise<void> {
  const result = await runProgram("certbot", ["--version"], process.env);
  if (result.code !== 0) throw new Error(`certbot is missing: install the Debian package certbot (${result.output.trim()})`);
}

/** certbot's own directories for a deployment: /etc/letsencrypt (where names.ts puts the live files) etc. */
function certbotDirs(d: Deployment) {
  const configDir = dirname(dirname(dirname(runtimeHostPaths(d).certificate)));
  return {
    configDir,
    workDir: underRoot(d, "/var/lib/letsencrypt"),
    logsDir: underRoot(d, "/var/log/letsencrypt"),
    args: ["--config-dir", configDir, "--work-dir", underRoot(d, "/var/lib/letsencrypt"), "--logs-dir", underRoot(d, "/var/log/letsencrypt")],
  };
}

/** The script's environment: the four production inputs plus the test-only overrides. */
function scriptEnv(d: Deployment, pebble: RunningPebble, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  const paths = runtimeHostPaths(d);
  const dirs = certbotDirs(d);
  return {
    ...process.env,
    DOMAIN: d.domain,
    EMAIL: "ops@example.test",
    EXPECTED_IP: LOOPBACK,
    ACME_SERVER: pebble.directoryUrl,
    CERTBOT_CONFIG_DIR: dirs.configDir,
    CERTBOT_WORK_DIR: dirs.workDir,
    CERTBOT_LOGS_DIR: dirs.logsDir,
    ACME_WEBROOT: paths.acmeWebroot,
    ACME_BOOTSTRAP_ROOT: paths.jitsiMeetWebRoot,
    ACME_DEFAULT_ROOT: underRoot(d, "/var/www/html"),
    ACME_HTTP_PORT: String(d.runtime?.httpPort),
    DNS_RESOLVER: pebble.dnsServer,
    DNS_WAIT_SECONDS: "20",
    RENEWAL_TIMER: "",
    REQUESTS_CA_BUNDLE: pebble.tlsCaFile,
    ...overrides,
  };
}

async function liveCertificate(d: Deployment): Promise<X509Certificate> {
  return new X509Certificate(await readFile(join(certbotDirs(d).configDir, "live", d.domain, "cert.pem")));
}

/** The certificate nginx presents on its HTTPS port for SNI = domain, verified against `root` only. */
function servedCertificate(nginx: RunningNginx, domain: string, root: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: LOOPBACK, port: nginx.httpsPort, servername: domain, ca: root, timeout: 5_000 }, () => {
      const certificate = socket.getPeerX509Certificate();
      socket.end();
      if (certificate === undefined) reject(new Error("no peer certificate"));
      else resolve(certificate);
    });
    socket.on("error", reject);
    socket.on("timeout", () => socket.destroy(new Error("TLS handshake timed out")));
  });
}

/**
 * Polls (bounded) until nginx serves the certificate with `serial`, verified against `root`: after a reload the
 * old workers finish their connections while the new ones start.
 */
async function waitForServed(nginx: RunningNginx, domain: string, root: string, serial: string): Promise<X509Certificate> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const served = await servedCertificate(nginx, domain, root);
      if (served.serialNumber === serial || Date.now() > deadline) return served;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Stand-ins for the two host commands the rendered deploy hook calls, pointed at the test's nginx:
 * `nginx -t` checks the test main configuration, `systemctl reload nginx` sends the master SIGHUP exactly as
 * the nginx unit's ExecReload does. Each call is recorded.
 */
async function hookCommands(nginx: RunningNginx, dir: string): Promise<{ binDir: string; calls: string }> {
  const { prefixDir, mainConf, pidFile } = nginx;
  if (!existsSync(pidFile)) throw new Error(`test nginx has no pid file at ${pidFile}`);
  const binDir = join(dir, "bin");
  const calls = join(dir, "hook-calls.log");
  await mkdir(binDir, { recursive: true });
  const write = async (name: string, body: string) => {
    await writeFile(join(binDir, name), `#!/bin/sh\nprintf '%s\\n' "${name} $*" >>'${calls}'\n${body}\n`);
    await chmod(join(binDir, name), 0o755);
  };
  await write("nginx", `exec /usr/sbin/nginx -p '${prefixDir}' -c '${mainConf}' "$@"`);
  await write(
    "systemctl",
    `[ "$1" = reload ] && [ "$2" = nginx ] || { echo "systemctl stand-in: only 'reload nginx' is expected" >&2; exit 1; }\nexec kill -HUP "$(cat '${pidFile}')"`,
  );
  return { binDir, calls };
}

describe("certificate step: certbot → pebble → rendered nginx on loopback", () => {
  let d: Deployment;
  let nginx: RunningNginx | undefined;
  let pebble: RunningPebble | undefined;
  let scratch: string;
  let root: string;
  let issued: X509Certificate;

  beforeAll(async () => {
    await requireCertbot();
    scratch = await mkdtemp(join(tmpdir(), "certificate-test-"));
    d = sampleDeployment({ domain: DOMAIN, runtime: await nginxTestRuntime() });
    // The site needs a certificate to start: the harness puts a self-signed one where certbot's lineage will be.
    nginx = await startNginx(d);
    // nginx holds it in memory; certbot refuses to create a lineage over a non-empty live directory.
    await rm(dirname(runtimeHostPaths(d).certificate), { recursive: true, force: true });
    pebble = await startPebble({ httpPort: nginx.httpPort });
    await pebble.setARecord(DOMAIN, [LOOPBACK]);
    root = await pebble.issuingRoot();
  });

  afterAll(async () => {
    await Promise.all([nginx?.stop(), pebble?.stop()]);
    await Promise.all([d.runtime?.rootDir, scratch].map((dir) => (dir === undefined ? undefined : rm(dir, { recursive: true, force: true }))));
  });

  it("obtains a certificate from pebble through nginx's port-80 webroot", async () => {
    const result = await runProgram("bash", [SCRIPT], scriptEnv(d, pebble!));
    console.info(`certificate issuance (DNS check, webroot pre-flight, certbot with pebble): ${result.seconds.toFixed(1)} s`);
    expect(result.code, `${result.output}\n${pebble!.log()}`).toBe(0);
    expect(result.output).toContain(`${DOMAIN} resolves to ${LOOPBACK}`);

    issued = await liveCertificate(d);
    expect(issued.subjectAltName).toBe(`DNS:${DOMAIN}`);
    expect(issued.issuer).toMatch(/Pebble Intermediate CA/);
    // Chains to this pebble instance's root (regenerated per run), not to any other CA.
    const chain = (await readFile(join(certbotDirs(d).configDir, "live", DOMAIN, "chain.pem"), "utf8")).trim();
    const intermediate = new X509Certificate(chain);
    expect(issued.checkIssued(intermediate) && issued.verify(intermediate.publicKey)).toBe(true);
    expect(intermediate.verify(new X509Certificate(root).publicKey)).toBe(true);

    // pebble's VA fetched its token from nginx (the script's own pre-flight probe is named "preflight-…").
    const log = await readFile(nginx!.accessLog, "utf8");
    expect(log).toMatch(/"GET \/\.well-known\/acme-challenge\/(?!preflight-)[A-Za-z0-9_-]+ HTTP\/1\.1" 200 /);
  });

  it("makes nginx serve the issued certificate over HTTPS", async () => {
    await nginx!.reload();
    const served = await waitForServed(nginx!, DOMAIN, root, issued.serialNumber);
    expect(served.serialNumber).toBe(issued.serialNumber);
    expect(served.subject).toBe(issued.subject);
    expect(served.issuer).toBe(issued.issuer);
  });

  it("keeps the certificate on a re-run (idempotent)", async () => {
    const result = await runProgram("bash", [SCRIPT], scriptEnv(d, pebble!));
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/not yet due for renewal/i);
    expect((await liveCertificate(d)).serialNumber).toBe(issued.serialNumber);
  });

  it("renews and the rendered deploy hook reloads nginx onto the new certificate", async () => {
    const hook = renderRenewalHook(d);
    // Where production pushes the hook is where certbot looks for deploy hooks.
    expect(dirname(hook.path)).toBe(join(certbotDirs(d).configDir, "renewal-hooks", "deploy"));
    await mkdir(dirname(hook.path), { recursive: true });
    await writeFile(hook.path, hook.content, { mode: hook.mode });
    const commands = await hookCommands(nginx!, scratch);

    const result = await runProgram(
      "certbot",
      ["renew", "--force-renewal", "--no-random-sleep-on-renew", "--non-interactive", ...certbotDirs(d).args],
      { ...process.env, PATH: `${commands.binDir}:${process.env.PATH ?? ""}`, REQUESTS_CA_BUNDLE: pebble!.tlsCaFile },
    );
    console.info(`forced renewal with deploy hook (certbot renew): ${result.seconds.toFixed(1)} s`);
    expect(result.code, `${result.output}\n${pebble!.log()}`).toBe(0);

    const renewed = await liveCertificate(d);
    expect(renewed.serialNumber).not.toBe(issued.serialNumber);
    // The test did not reload nginx: only the hook did.
    const served = await waitForServed(nginx!, DOMAIN, root, renewed.serialNumber);
    expect(served.serialNumber).toBe(renewed.serialNumber);
    expect((await readFile(commands.calls, "utf8")).split("\n")).toEqual(expect.arrayContaining(["nginx -t -q", "systemctl reload nginx"]));
  });

  it("re-issues from the new ACME server when the staging switch changes it", async () => {
    const before = await liveCertificate(d);
    const result = await runProgram("bash", [SCRIPT], scriptEnv(d, pebble!, { ACME_SERVER: pebble!.directoryUrlByName }));
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain("ACME server changed");
    expect((await liveCertificate(d)).serialNumber).not.toBe(before.serialNumber);
    const renewal = await readFile(join(certbotDirs(d).configDir, "renewal", `${DOMAIN}.conf`), "utf8");
    expect(renewal).toContain(`server = ${pebble!.directoryUrlByName}`);
  });

  it("stops with a clear message, in bounded time, when DNS points elsewhere", async () => {
    const elsewhere = "elsewhere.example.test";
    await pebble!.setARecord(elsewhere, ["192.0.2.10"]);
    const result = await runProgram(
      "bash",
      [SCRIPT],
      scriptEnv(d, pebble!, { DOMAIN: elsewhere, DNS_WAIT_SECONDS: "3" }),
    );
    expect(result.code).toBe(2);
    expect(result.output).toContain(`DNS: ${elsewhere} resolves to '192.0.2.10'`);
    expect(result.output).toContain(`not ${LOOPBACK}`);
    expect(result.seconds).toBeLessThan(15);
  });
});

/**
 * What the jitsi-meet package's own site does on port 80 before the rendered site replaces it: challenges from
 * the web app's root, everything else redirected; HTTPS with the package's self-signed certificate.
 */
async function packageLikeSite(d: Deployment, options: { readonly withDefaultSite?: boolean } = {}): Promise<RenderedFile> {
  const paths = runtimeHostPaths(d);
  // Debian's and Ubuntu's own default site: port 80's default server, answering every name no other site claims.
  const defaultRoot = underRoot(d, "/var/www/html");
  if (options.withDefaultSite === true) await mkdir(defaultRoot, { recursive: true });
  const defaultSite =
    options.withDefaultSite === true ? [`server { listen ${LOOPBACK}:${String(d.runtime?.httpPort)} default_server; root ${defaultRoot}; }`] : [];
  const certificate = underRoot(d, `/etc/jitsi/meet/${d.domain}.crt`);
  const key = underRoot(d, `/etc/jitsi/meet/${d.domain}.key`);
  await writeSelfSignedCertificate(d.domain, certificate, key);
  await mkdir(paths.jitsiMeetWebRoot, { recursive: true });
  const listen = (port: number | undefined) => `${LOOPBACK}:${String(port)}`;
  return {
    ...renderNginxSite(d),
    content: [
      ...defaultSite,
      "server {",
      `    listen ${listen(d.runtime?.httpPort)};`,
      `    server_name ${d.domain};`,
      `    location ^~ /.well-known/acme-challenge/ { default_type text/plain; root ${paths.jitsiMeetWebRoot}; }`,
      "    location / { return 301 https://$host$request_uri; }",
      "}",
      "server {",
      `    listen ${listen(d.runtime?.httpsPort)} ssl;`,
      `    server_name ${d.domain};`,
      `    ssl_certificate ${certificate};`,
      `    ssl_certificate_key ${key};`,
      `    root ${paths.jitsiMeetWebRoot};`,
      "}",
      "",
    ].join("\n"),
  };
}

describe("certificate step on first deployment: the package's nginx site is still live, DNS still propagating", () => {
  let d: Deployment;
  let nginx: RunningNginx | undefined;
  let pebble: RunningPebble | undefined;

  beforeAll(async () => {
    await requireCertbot();
    d = sampleDeployment({ domain: "first.example.test", runtime: await nginxTestRuntime() });
    nginx = await startNginx(d, await packageLikeSite(d));
    await rm(dirname(runtimeHostPaths(d).certificate), { recursive: true, force: true });
    pebble = await startPebble({ httpPort: nginx.httpPort });
  });

  afterAll(async () => {
    await Promise.all([nginx?.stop(), pebble?.stop()]);
    if (d.runtime?.rootDir !== undefined) await rm(d.runtime.rootDir, { recursive: true, force: true });
  });

  it("waits for the A record, serves the challenge through the package's site, and issues", async () => {
    // The record appears only after the script has started waiting for it.
    const publish = new Promise<void>((resolve, reject) => {
      setTimeout(() => void pebble!.setARecord(d.domain, [LOOPBACK]).then(resolve, reject), 3_000);
    });
    const [result] = await Promise.all([runProgram("bash", [SCRIPT], { ...scriptEnv(d, pebble!), DNS_PROGRESS_SECONDS: "1" }), publish]);
    expect(result.code, `${result.output}\n${pebble!.log()}`).toBe(0);
    expect(result.seconds).toBeGreaterThan(3);
    // The wait is never silent (an idle SSH session through a NAT may be cut).
    expect(result.output).toMatch(new RegExp(`waiting for ${d.domain.replaceAll(".", "\\.")} to resolve to ${LOOPBACK.replaceAll(".", "\\.")} \\(now: ''\\), \\d+s left`));

    const paths = runtimeHostPaths(d);
    const link = join(paths.jitsiMeetWebRoot, ".well-known", "acme-challenge");
    expect(result.output).toContain(`linked ${link}`);
    expect(await readlink(link)).toBe(join(paths.acmeWebroot, ".well-known", "acme-challenge"));
    const issued = await liveCertificate(d);
    expect(issued.subjectAltName).toBe(`DNS:${d.domain}`);
    expect(issued.issuer).toMatch(/Pebble Intermediate CA/);
  });
});

/**
 * For the TURN cases: nginx started by `start`, the certificate lineage dir cleared, pebble answering the domain and
 * turn.<domain> with 127.0.0.1; everything stopped after the describe. Returns the running pieces.
 */
function twoNameScenario(d: () => Promise<Deployment>, start: (d: Deployment) => Promise<RunningNginx>) {
  const live: { d?: Deployment; nginx?: RunningNginx; pebble?: RunningPebble } = {};
  beforeAll(async () => {
    await requireCertbot();
    live.d = await d();
    live.nginx = await start(live.d);
    await rm(dirname(runtimeHostPaths(live.d).certificate), { recursive: true, force: true });
    live.pebble = await startPebble({ httpPort: live.nginx.httpPort });
    for (const name of [live.d.domain, turnHostname(live.d.domain)]) await live.pebble.setARecord(name, [LOOPBACK]);
  });
  afterAll(async () => {
    await Promise.all([live.nginx?.stop(), live.pebble?.stop()]);
    if (live.d?.runtime?.rootDir !== undefined) await rm(live.d.runtime.rootDir, { recursive: true, force: true });
  });
  return () => ({ d: live.d!, pebble: live.pebble! });
}

/** Runs the script for the domain plus turn.<domain>; expects success and one certificate naming both. */
async function issueForBoth(d: Deployment, pebble: RunningPebble): Promise<string> {
  const result = await runProgram("bash", [SCRIPT], scriptEnv(d, pebble, { EXTRA_DOMAINS: turnHostname(d.domain) }));
  expect(result.code, `${result.output}\n${pebble.log()}`).toBe(0);
  const issued = await liveCertificate(d);
  expect(issued.subjectAltName?.split(", ").sort()).toEqual([`DNS:${d.domain}`, `DNS:${turnHostname(d.domain)}`].sort());
  return result.output;
}

describe("certificate step with TURN: one certificate for the domain and turn.<domain>", () => {
  const live = twoNameScenario(
    async () =>
      sampleDeployment({
        domain: "two.example.test",
        turn: { secret: "certificateTurnSecret0123456789abcdefghij", vpcCidr: "10.0.0.0/16" },
        runtime: { ...(await nginxTestRuntime()), siteBehindStreamPort: await freePort() },
      }),
    // The rendered site with TURN (HTTPS behind the stream proxy; port 80 answers both names).
    async (d) => {
      const [stream] = renderNginxStream(d);
      await mkdir(dirname(underRoot(d, TURN_HOP_SOCKET)), { recursive: true });
      return startNginx(d, renderNginxSite(d), { stream: stream! });
    },
  );

  it("waits for both names, validates both through the port-80 webroot and issues one certificate", async () => {
    const { d, pebble } = live();
    expect(await issueForBoth(d, pebble)).toContain(`${turnHostname(d.domain)} resolves to ${LOOPBACK}`);
  });

  it("refuses a malformed extra name before asking anyone", async () => {
    const { d, pebble } = live();
    const result = await runProgram("bash", [SCRIPT], scriptEnv(d, pebble, { EXTRA_DOMAINS: "Turn.Example.test" }));
    expect(result.code).toBe(2);
    expect(result.output).toContain("EXTRA_DOMAINS must hold lower-case FQDNs");
  });
});

describe("certificate step with TURN on first deployment: turn.<domain> reaches the distribution's default site", () => {
  const live = twoNameScenario(
    async () => sampleDeployment({ domain: "fresh.example.test", runtime: await nginxTestRuntime() }),
    async (d) => startNginx(d, await packageLikeSite(d, { withDefaultSite: true })),
  );

  it("links the default site's challenge directory too, and issues for both names", async () => {
    const { d, pebble } = live();
    await issueForBoth(d, pebble);
    const challenges = join(runtimeHostPaths(d).acmeWebroot, ".well-known", "acme-challenge");
    expect(await readlink(underRoot(d, "/var/www/html/.well-known/acme-challenge"))).toBe(challenges);
  });
});

describe("obtain-certificate.sh interface", () => {
  const script = () => readFile(SCRIPT, "utf8");

  it("defaults to the production paths in names.ts", async () => {
    const text = await script();
    const paths = hostPaths(DOMAIN);
    expect(text).toContain(`webroot=\${ACME_WEBROOT:-${paths.acmeWebroot}}`);
    expect(text).toContain(`bootstrap_root=\${ACME_BOOTSTRAP_ROOT:-${paths.jitsiMeetWebRoot}}`);
    expect(text).toContain(`config_dir=\${CERTBOT_CONFIG_DIR:-${dirname(dirname(dirname(paths.certificate)))}}`);
    expect(paths.renewalHook.startsWith(`${dirname(dirname(dirname(paths.certificate)))}/renewal-hooks/deploy/`)).toBe(true);
  });

  it("treats an unusable resolver as no answer and ends the wait with the DNS message", async () => {
    const result = await runProgram("bash", [SCRIPT], {
      ...process.env,
      DOMAIN: "meet.example.com",
      EMAIL: "ops@example.com",
      EXPECTED_IP: "203.0.113.45",
      ACME_SERVER: "https://acme.example/dir",
      DNS_RESOLVER: "127.0.0.1:not-a-port",
      DNS_WAIT_SECONDS: "0",
    });
    expect(result.code).toBe(2);
    expect(result.output).toContain("DNS: meet.example.com resolves to '' (resolver 127.0.0.1:not-a-port), not 203.0.113.45");
    expect(result.output).not.toContain("Traceback");
  });

  it.each([
    ["DOMAIN", "Meet.Example.com", "DOMAIN must be a lower-case FQDN"],
    ["EMAIL", "nobody", "EMAIL must be an address"],
    ["EXPECTED_IP", "203.0.113", "EXPECTED_IP must be an IPv4 address"],
    ["ACME_SERVER", "http://acme.example/dir", "ACME_SERVER must be an https:// directory URL"],
  ])("rejects a bad %s before doing anything", async (name, value, message) => {
    const env = {
      ...process.env,
      DOMAIN: "meet.example.com",
      EMAIL: "ops@example.com",
      EXPECTED_IP: "203.0.113.45",
      ACME_SERVER: "https://acme.example/dir",
      [name]: value,
    };
    const result = await runProgram("bash", [SCRIPT], env);
    expect(result.code).toBe(2);
    expect(result.output).toContain(message);
  });
});
