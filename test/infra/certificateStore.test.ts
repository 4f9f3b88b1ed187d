/**
 * The certificate store for real, as far as this machine allows: the shipped obtain-certificate.sh and its store
 * client (infra/scripts/certificate-store.py, Debian's python3-boto3) run certbot against pebble; the secret lives
 * in a loopback stand-in of the Secrets Manager JSON API (test/support/secretsManager.ts). Each "host" is its own
 * certbot config dir and client path: the first issues and stores, a fresh second one restores and keeps the same
 * certificate without a new issuance, a third with other names issues anew, and the rendered deploy hook stores a
 * renewed lineage (and fails loudly, after reloading, when it cannot).
 */
import { execFile, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCRIPTS } from "../../infra/scripts.ts";
import { STORE_TAGS } from "../../infra/certificateStore.ts";
import type { Deployment } from "../../templates/deployment.ts";
import { runtimeHostPaths, underRoot } from "../../templates/files/hostRuntime.ts";
import { renderRenewalHook } from "../../templates/files/renewalHook.ts";
import { turnHostname } from "jitsi-jwt-token/shared";
import { nginxTestRuntime, startNginx, type RunningNginx } from "../support/nginx.ts";
import { startPebble, type RunningPebble } from "../support/pebble.ts";
import { freePort } from "../support/ports.ts";
import { startSecretsManager, type SecretsManagerStandIn } from "../support/secretsManager.ts";
import { sampleDeployment } from "../templates/sampleDeployment.ts";

const run = promisify(execFile);
const DOMAIN = "store.example.test";
const LOOPBACK = "127.0.0.1";
const infraFile = (relative: string) => fileURLToPath(new URL(`../../infra/${relative}`, import.meta.url));
const SCRIPT = infraFile(SCRIPTS.obtainCertificate);
const CLIENT = infraFile(SCRIPTS.certificateStore);
const TIMEOUT_MS = 60_000;

interface Result {
  readonly code: number;
  readonly output: string;
}

/** Runs a program with `stdin`, bounded, never throwing. */
function runWithStdin(file: string, args: string[], env: NodeJS.ProcessEnv, stdin = ""): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output });
    });
    child.stdin.end(stdin);
  });
}

/** One simulated instance: its own certbot directories and store client path. */
interface Host {
  readonly configDir: string;
  readonly workDir: string;
  readonly logsDir: string;
  readonly client: string;
}

function hostUnder(root: string): Host {
  return {
    configDir: join(root, "etc/letsencrypt"),
    workDir: join(root, "var/lib/letsencrypt"),
    logsDir: join(root, "var/log/letsencrypt"),
    client: join(root, "usr/local/sbin/jitsi-certificate-store"),
  };
}

/** Credentials for SigV4 signing only (the stand-in checks the header's presence); no instance metadata, no files. */
const FAKE_AWS = {
  AWS_ACCESS_KEY_ID: "AKIDSTANDIN0000000000",
  AWS_SECRET_ACCESS_KEY: "standin-secret-access-key-not-a-real-one",
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_CONFIG_FILE: "/dev/null",
  AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
  JITSI_CERT_STORE_WAIT_SECONDS: "0",
};

describe("certificate store: certbot + pebble + the store client against a Secrets Manager stand-in", () => {
  let d: Deployment;
  let nginx: RunningNginx | undefined;
  let pebble: RunningPebble | undefined;
  let store: SecretsManagerStandIn | undefined;
  let scratch: string;
  let clientText: string;
  let first: Host;
  let firstSerial: string;
  let materials: Promise<Materials> | undefined;

  const issuances = () => (pebble!.log().match(/Issued certificate serial/g) ?? []).length;

  const env = (host: Host, overrides: Record<string, string> = {}): NodeJS.ProcessEnv => {
    const paths = runtimeHostPaths(d);
    return {
      ...process.env,
      ...FAKE_AWS,
      DOMAIN,
      EMAIL: "ops@example.test",
      EXPECTED_IP: LOOPBACK,
      ACME_SERVER: pebble!.directoryUrl,
      CERTBOT_CONFIG_DIR: host.configDir,
      CERTBOT_WORK_DIR: host.workDir,
      CERTBOT_LOGS_DIR: host.logsDir,
      ACME_WEBROOT: paths.acmeWebroot,
      ACME_BOOTSTRAP_ROOT: paths.jitsiMeetWebRoot,
      ACME_DEFAULT_ROOT: underRoot(d, "/var/www/html"),
      ACME_HTTP_PORT: String(d.runtime?.httpPort),
      DNS_RESOLVER: pebble!.dnsServer,
      DNS_WAIT_SECONDS: "20",
      RENEWAL_TIMER: "",
      REQUESTS_CA_BUNDLE: pebble!.tlsCaFile,
      JITSI_CERT_STORE_ARN: store!.arn,
      JITSI_CERT_STORE_ENDPOINT: store!.endpoint,
      JITSI_CERT_STORE_CLIENT: host.client,
      ...overrides,
    };
  };
  const step = (host: Host, overrides: Record<string, string> = {}) => runWithStdin("bash", [SCRIPT], env(host, overrides), clientText);
  const live = async (host: Host, name = "cert.pem") => new X509Certificate(await readFile(join(host.configDir, "live", DOMAIN, name)));
  const stored = () => JSON.parse(store!.secret.value ?? "null") as { sha256: string; names: string[]; notAfter: string; server: string; lineage: string } | null;
  /** The private key's base64 body lines (long enough to be unmistakable). */
  const keyLines = async (host: Host) =>
    (await readFile(join(host.configDir, "live", DOMAIN, "privkey.pem"), "utf8")).split("\n").filter((line) => line.length >= 40 && !line.startsWith("-"));

  beforeAll(async () => {
    const certbot = await run("certbot", ["--version"]).catch(() => undefined);
    if (certbot === undefined) throw new Error("certbot is missing: install the Debian package certbot");
    await run("/usr/bin/python3", ["-c", "import boto3, cryptography"]).catch(() => {
      throw new Error("python3-boto3 is missing: bash .ci/install-system-packages");
    });
    scratch = await mkdtemp(join(tmpdir(), "certificate-store-test-"));
    d = sampleDeployment({ domain: DOMAIN, runtime: await nginxTestRuntime() });
    nginx = await startNginx(d);
    await rm(dirname(runtimeHostPaths(d).certificate), { recursive: true, force: true });
    pebble = await startPebble({ httpPort: nginx.httpPort });
    await pebble.setARecord(DOMAIN, [LOOPBACK]);
    await pebble.setARecord(turnHostname(DOMAIN), [LOOPBACK]);
    store = await startSecretsManager();
    clientText = await readFile(CLIENT, "utf8");
    // The first host is the deployment's own root, where the rendered deploy hook looks for the client.
    first = { ...hostUnder(d.runtime!.rootDir!), client: runtimeHostPaths(d).certificateStoreClient };
  }, TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all([nginx?.stop(), pebble?.stop(), store?.stop()]);
    await Promise.all([d.runtime?.rootDir, scratch].map((dir) => (dir === undefined ? undefined : rm(dir, { recursive: true, force: true }))));
  });

  it("first host: nothing stored, certbot issues, the lineage is stored with its metadata as tags", async () => {
    const result = await step(first);
    expect(result.code, `${result.output}\n${pebble!.log()}`).toBe(0);
    expect(result.output).toContain(`nothing stored yet for ${DOMAIN}`);
    expect(result.output).toMatch(/stored the lineage for store\.example\.test \(expires \d{4}-\d\d-\d\dT/);
    expect(issuances()).toBe(1);
    firstSerial = (await live(first)).serialNumber;

    const value = stored();
    expect(value?.names).toEqual([DOMAIN]);
    expect(value?.server).toBe(pebble!.directoryUrl);
    expect(store!.secret.versions).toBe(1);
    expect(Object.fromEntries(store!.secret.tags)).toEqual({
      [STORE_TAGS.names]: DOMAIN,
      [STORE_TAGS.notAfter]: value?.notAfter,
      [STORE_TAGS.acmeServer]: pebble!.directoryUrl,
    });
    expect(new Date(value!.notAfter).getTime()).toBe(new Date((await live(first)).validTo).getTime());
    // Every request was signed, and only the three operations the instance role allows were used.
    expect(store!.requests.every((r) => r.signed && r.secretId === store!.arn)).toBe(true);
    expect(new Set(store!.requests.map((r) => r.operation))).toEqual(new Set(["GetSecretValue", "PutSecretValue", "TagResource"]));
    // The client was installed root-only-writable, and the settings name only the ARN, domain and endpoint.
    expect((await stat(first.client)).mode & 0o777).toBe(0o755);
    expect(JSON.parse(await readFile(join(first.configDir, "jitsi-certificate-store.json"), "utf8"))).toEqual({
      secret: store!.arn,
      domain: DOMAIN,
      endpoint: store!.endpoint,
    });
  });

  it("a re-run on the same host stores nothing new (the lineage is unchanged)", async () => {
    const result = await step(first);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain("a local lineage exists");
    expect(result.output).toContain(`the stored lineage for ${DOMAIN} is current`);
    expect(store!.secret.versions).toBe(1);
  });

  it("a fresh host restores the stored lineage and certbot keeps it: no new certificate, nothing secret in argv, env or output", async () => {
    const second = hostUnder(join(scratch, "second"));
    const trace = join(scratch, "second-execve.trace");
    // Every program the step runs, with its full argv and environment (strace -v prints envp).
    const result = await runWithStdin(
      "strace",
      ["-f", "-qq", "-v", "-s", "1000000", "-e", "trace=execve", "-o", trace, "bash", SCRIPT],
      env(second),
      clientText,
    );
    expect(result.code, `${result.output}\n${pebble!.log()}`).toBe(0);
    expect(result.output).toMatch(/restored the lineage for store\.example\.test \(expires /);
    expect(result.output).toMatch(/not yet due for renewal/i);
    expect(issuances()).toBe(1);
    expect((await live(second)).serialNumber).toBe(firstSerial);
    expect(store!.secret.versions).toBe(1);

    // Root-only like certbot's own: private key 0600, archive and live directories 0700.
    const mode = async (path: string) => (await stat(join(second.configDir, path))).mode & 0o777;
    expect(await mode(`archive/${DOMAIN}/privkey1.pem`)).toBe(0o600);
    expect(await mode(`archive/${DOMAIN}`)).toBe(0o700);
    expect(await mode("live")).toBe(0o700);
    // certbot's renewal file names the new host's own paths, and no staging directory is left behind.
    const renewal = await readFile(join(second.configDir, "renewal", `${DOMAIN}.conf`), "utf8");
    expect(renewal).toContain(`archive_dir = ${second.configDir}/archive/${DOMAIN}`);
    expect(renewal).toContain(`work_dir = ${second.workDir}`);
    expect(renewal).not.toContain(first.configDir);
    expect((await run("find", [second.configDir, "-name", ".jitsi-restore-*"])).stdout).toBe("");

    const secretParts = [...(await keyLines(second)), stored()!.lineage.slice(0, 200)];
    const traced = await readFile(trace, "utf8");
    // The trace holds every exec's argv and environment (the store's ARN travels in the environment).
    expect(traced).toContain("certbot");
    expect(traced).toContain(`JITSI_CERT_STORE_ARN=${store!.arn}`);
    for (const part of secretParts) {
      expect(traced.includes(part)).toBe(false);
      expect(result.output.includes(part)).toBe(false);
    }
    const certbotLog = await readFile(join(second.logsDir, "letsencrypt.log"), "utf8");
    for (const part of secretParts) expect(certbotLog.includes(part)).toBe(false);
  }, TIMEOUT_MS);

  it("an interrupted restore (live/ and archive/ without the renewal file) is moved aside, its staging dir removed, and the lineage restored", async () => {
    const interrupted = hostUnder(join(scratch, "interrupted"));
    // A restore killed before its renames leaves its root-only staging dir, holding a private key.
    const staging = join(interrupted.configDir, ".jitsi-restore-killed");
    await mkdir(join(staging, "archive", DOMAIN), { recursive: true, mode: 0o700 });
    await writeFile(join(staging, "archive", DOMAIN, "privkey1.pem"), "a private key", { mode: 0o600 });
    // What a restore or a certbot run killed before its last rename leaves: both write the renewal file last.
    await mkdir(join(interrupted.configDir, "archive", DOMAIN), { recursive: true, mode: 0o700 });
    await writeFile(join(interrupted.configDir, "archive", DOMAIN, "cert1.pem"), "partial");
    await mkdir(join(interrupted.configDir, "live", DOMAIN), { recursive: true, mode: 0o700 });
    const result = await step(interrupted);
    expect(result.code, `${result.output}\n${pebble!.log()}`).toBe(0);
    expect(result.output).toMatch(/an incomplete lineage \(live\/store\.example\.test, archive\/store\.example\.test without renewal\/store\.example\.test\.conf\) was moved aside/);
    expect(result.output).toMatch(/restored the lineage for store\.example\.test/);
    expect(result.output).toContain(`removed ${staging}, left by an interrupted restore`);
    expect((await run("find", [interrupted.configDir, "-name", ".jitsi-restore-*"])).stdout).toBe("");
    expect(issuances()).toBe(1);
    expect((await live(interrupted)).serialNumber).toBe(firstSerial);
    const aside = (await run("find", [interrupted.configDir, "-maxdepth", "1", "-name", ".jitsi-incomplete-*"])).stdout.trim();
    expect(aside).not.toBe("");
    expect((await stat(aside)).mode & 0o777).toBe(0o700);
    expect(await readFile(join(aside, "archive", "cert1.pem"), "utf8")).toBe("partial");
  }, TIMEOUT_MS);

  it("other names (TURN turned on): the stored certificate is not used, certbot issues a new one, which is stored", async () => {
    const third = hostUnder(join(scratch, "third"));
    const result = await step(third, { EXTRA_DOMAINS: turnHostname(DOMAIN) });
    expect(result.code, `${result.output}\n${pebble!.log()}`).toBe(0);
    expect(result.output).toContain(`the stored certificate is not used: it is for ${DOMAIN}, not ${DOMAIN} ${turnHostname(DOMAIN)}`);
    expect(issuances()).toBe(2);
    expect((await live(third)).subjectAltName?.split(", ").sort()).toEqual([`DNS:${DOMAIN}`, `DNS:${turnHostname(DOMAIN)}`]);
    expect(stored()?.names).toEqual([DOMAIN, turnHostname(DOMAIN)]);
    expect(store!.secret.tags.get(STORE_TAGS.names)).toBe(`${DOMAIN} ${turnHostname(DOMAIN)}`);
  }, TIMEOUT_MS);

  it("another ACME server (the staging switch): not used, a new issuance", async () => {
    const fourth = hostUnder(join(scratch, "fourth"));
    const result = await step(fourth, { EXTRA_DOMAINS: turnHostname(DOMAIN), ACME_SERVER: pebble!.directoryUrlByName });
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain(`it was issued by ${pebble!.directoryUrl}, not ${pebble!.directoryUrlByName}`);
    expect(issuances()).toBe(3);
    expect(stored()?.server).toBe(pebble!.directoryUrlByName);
  }, TIMEOUT_MS);

  it("the rendered deploy hook stores the renewed lineage after certbot renew", async () => {
    // Back to the first host's names and server, so the store holds its lineage again.
    expect((await step(first)).code).toBe(0);
    expect(stored()?.names).toEqual([DOMAIN]);
    const hook = renderRenewalHook(d);
    await mkdir(dirname(hook.path), { recursive: true });
    await writeFile(hook.path, hook.content, { mode: hook.mode });
    const bin = await reloadStandIns(scratch);
    const before = stored()!.sha256;
    const versions = store!.secret.versions;

    const result = await runWithStdin(
      "certbot",
      ["renew", "--force-renewal", "--no-random-sleep-on-renew", "--non-interactive", "--config-dir", first.configDir, "--work-dir", first.workDir, "--logs-dir", first.logsDir],
      { ...process.env, ...FAKE_AWS, PATH: `${bin.dir}:${process.env.PATH ?? ""}`, REQUESTS_CA_BUNDLE: pebble!.tlsCaFile },
    );
    expect(result.code, `${result.output}\n${pebble!.log()}`).toBe(0);
    expect(store!.secret.versions).toBe(versions + 1);
    expect(stored()!.sha256).not.toBe(before);
    // The stored tarball holds the renewed version the live links point at.
    const tarball = join(scratch, "stored.tar.gz");
    await writeFile(tarball, Buffer.from(stored()!.lineage, "base64"));
    const listing = (await run("tar", ["-tzvf", tarball])).stdout;
    expect(listing).toMatch(new RegExp(`live/${DOMAIN.replaceAll(".", "\\.")}/cert\\.pem -> \\.\\./\\.\\./archive/${DOMAIN.replaceAll(".", "\\.")}/cert2\\.pem`));
    expect(listing).not.toMatch(/cert1\.pem/);
    expect((await readFile(bin.calls, "utf8")).split("\n")).toContain("systemctl reload nginx");
  }, TIMEOUT_MS);

  it("when the store fails, the deploy hook still reloads, then fails loudly", async () => {
    const bin = await reloadStandIns(join(scratch, "failing"));
    store!.failWith = "AccessDeniedException";
    try {
      const hook = renderRenewalHook(d);
      const result = await runWithStdin(hook.path, [], {
        ...process.env,
        ...FAKE_AWS,
        PATH: `${bin.dir}:${process.env.PATH ?? ""}`,
        RENEWED_LINEAGE: join(first.configDir, "live", DOMAIN),
      });
      expect(result.code).toBe(1);
      expect(result.output).toContain("AccessDeniedException");
      expect(result.output).toContain("the renewed certificate is served but could not be stored");
      expect((await readFile(bin.calls, "utf8")).split("\n")).toContain("systemctl reload nginx");
    } finally {
      store!.failWith = undefined;
    }
  });

  it("a store that cannot be read stops the step before certbot asks the CA", async () => {
    const fifth = hostUnder(join(scratch, "fifth"));
    store!.failWith = "AccessDeniedException";
    try {
      const result = await step(fifth);
      expect(result.code).toBe(2);
      expect(result.output).toContain("could not read the certificate store; not asking");
      expect(issuances()).toBe(4);
    } finally {
      store!.failWith = undefined;
    }
  });

  it("an unreachable store is a failure to read too (exit 1), not an unusable value", async () => {
    const host = hostUnder(join(scratch, "unreachable"));
    const clientEnv = env(host, { JITSI_CERT_STORE_ENDPOINT: `http://${LOOPBACK}:${String(await freePort())}` });
    await mkdir(host.configDir, { recursive: true });
    expect((await runWithStdin("/usr/bin/python3", [CLIENT, "configure", "--config-dir", host.configDir], clientEnv)).code).toBe(0);
    const result = await runWithStdin("/usr/bin/python3", [CLIENT, "restore", "--config-dir", host.configDir], clientEnv);
    expect(result.code, result.output).toBe(1);
    expect(result.output).toMatch(/certificate-store: restore: EndpointConnectionError: Could not connect/);
    expect(result.output).not.toContain("not used");
  }, TIMEOUT_MS);

  /** A renewal parameter added under [renewalparams] (a hook there runs as root at the next `certbot renew`). */
  const param = (line: string): Tamper => ({ renewal: ["^\\[renewalparams\\]$", `[renewalparams]\n${line}`] });
  it.each<[string, Tamper | ((m: Materials) => Tamper), string]>([
    ["a path outside the lineage", { file: "../../evil" }, "stored lineage holds an unsafe path"],
    ["a live link leaving the archive", { link: "../../archive/store.example.test/../../../../evil" }, "stored lineage holds an unexpected link"],
    ["not this program's JSON", { raw: "{not json" }, "is not this program's JSON"],
    // certbot's renew relinks live/ to the newest complete version in archive/: no other file may be there.
    ["another version in the archive", { file: "archive/store.example.test/cert7.pem" }, "archive/store.example.test/ holds files live/ does not point at"],
    [
      "a live link to a name certbot does not read",
      { file: "archive/store.example.test/cert-x.pem", link: "../../archive/store.example.test/cert-x.pem" },
      "live/store.example.test/cert.pem does not point at archive/store.example.test/cert<N>.pem",
    ],
    ["live links to two versions", { file: "archive/store.example.test/cert7.pem", link: "../../archive/store.example.test/cert7.pem" }, "the live/ links point at different versions"],
    ["a checksum that does not match", { sha256: "0".repeat(64) }, "does not match its own checksum"],
    ["a duplicate member", { duplicate: true }, "twice"],
    ["a member that is neither file nor link", { fifo: true }, "neither a file nor a symbolic link"],
    ...["pre_hook", "post_hook", "renew_hook", "deploy_hook"].map((hook): [string, Tamper, string] => [
      `a ${hook} in the renewal file`, param(`${hook} = touch /tmp/jitsi-store-${hook}`), `the stored renewal file sets ${hook}, which restore does not accept`,
    ]),
    ["an installer in the renewal file", param("installer = nginx"), "sets installer, which restore does not accept"],
    ["an unknown renewal parameter", param("frobnicate = yes"), "sets frobnicate, which restore does not accept"],
    ["another webroot", { renewal: ["^webroot_path = .*$", "webroot_path = /srv/elsewhere,"] }, "sets webroot_path = '/srv/elsewhere,'"],
    ["a private key that is not the certificate's", (m) => ({ replace: { privkey: m.otherKey } }), "its private key does not belong to its certificate"],
    [
      "a self-signed certificate for the name",
      (m) => ({ replace: { cert: m.selfSigned.cert, privkey: m.selfSigned.key, fullchain: m.selfSigned.cert + m.chain } }),
      "was not issued by the first certificate of its chain.pem",
    ],
    [
      "a self-signed certificate as its own chain",
      (m) => ({ replace: { cert: m.selfSigned.cert, privkey: m.selfSigned.key, chain: m.selfSigned.cert, fullchain: m.selfSigned.cert + m.selfSigned.cert } }),
      "was not issued by the first certificate of its chain.pem",
    ],
    ["a foreign chain", (m) => ({ replace: { chain: m.foreign.ca, fullchain: m.cert + m.foreign.ca } }), "was not issued by the first certificate of its chain.pem"],
    ["a fullchain that is not cert + chain", (m) => ({ replace: { fullchain: m.chain + m.cert } }), "its fullchain.pem is not its certificate followed by its chain.pem"],
    [
      "another CA's complete lineage valid for a year",
      (m) => ({ replace: { cert: m.foreign.leaf, privkey: m.foreign.key, chain: m.foreign.ca, fullchain: m.foreign.leaf + m.foreign.ca } }),
      "its certificate is valid for 365 days, longer than Let's Encrypt issues (100)",
    ],
  ])("a damaged or hostile stored value (%s) is not restored, and the step goes on to certbot", async (_case, tamper, message) => {
    const good = store!.secret.value!;
    const host = hostUnder(join(scratch, `tampered-${String(Math.random()).slice(2, 8)}`));
    try {
      materials ??= makeMaterials(join(scratch, "materials"), first);
      store!.secret.value = await tamperedValue(good, typeof tamper === "function" ? tamper(await materials) : tamper);
      const clientEnv = env(host);
      await mkdir(host.configDir, { recursive: true });
      expect((await runWithStdin("/usr/bin/python3", [CLIENT, "configure", "--config-dir", host.configDir], clientEnv)).code).toBe(0);
      const result = await runWithStdin("/usr/bin/python3", [CLIENT, "restore", "--config-dir", host.configDir], clientEnv);
      expect(result.code, result.output).toBe(0);
      expect(result.output).toContain("the stored value is not used");
      expect(result.output).toContain(message);
      // Nothing was written but the settings: no lineage, no staging directory, nothing outside.
      expect((await run("find", [host.configDir, "-mindepth", "1"])).stdout.trim()).toBe(join(host.configDir, "jitsi-certificate-store.json"));
      expect((await run("find", [scratch, "-name", "evil"])).stdout).toBe("");
      // The next store replaces it.
      const stored = await runWithStdin("/usr/bin/python3", [CLIENT, "store", "--config-dir", first.configDir], env(first));
      expect(stored.code, stored.output).toBe(0);
      expect(stored.output).toContain("stored the lineage");
      expect(JSON.parse(store!.secret.value!)).toMatchObject({ names: [DOMAIN] });
    } finally {
      store!.secret.value = good;
    }
  });
});

/**
 * One change to a stored value. In the tarball (rebuilt by Python's tarfile, the client's own format): an extra
 * file, a replaced cert.pem link, a re-added member (duplicate), a FIFO member, a regex replacement in the renewal
 * file, or archive files replaced by basename prefix (cert, chain, fullchain, privkey). Or raw text, or another
 * checksum. Any tarball change is re-summed with the client's own digest(), as anyone who can write the value can.
 */
interface Tamper {
  readonly file?: string;
  readonly link?: string;
  readonly duplicate?: boolean;
  readonly fifo?: boolean;
  readonly renewal?: readonly [pattern: string, replacement: string];
  readonly replace?: Readonly<Record<string, string>>;
  readonly raw?: string;
  readonly sha256?: string;
}

async function tamperedValue(good: string, tamper: Tamper): Promise<string> {
  if (tamper.raw !== undefined) return tamper.raw;
  const payload = JSON.parse(good) as Record<string, unknown>;
  if (tamper.sha256 !== undefined) return JSON.stringify({ ...payload, sha256: tamper.sha256 });
  const rebuild = [
    "import base64, importlib.util, io, json, re, sys, tarfile",
    "payload = json.loads(sys.stdin.read()); tamper = json.loads(sys.argv[1])",
    "spec = importlib.util.spec_from_file_location('client', sys.argv[2]); client = importlib.util.module_from_spec(spec); spec.loader.exec_module(client)",
    "source = tarfile.open(fileobj=io.BytesIO(base64.b64decode(payload['lineage'])), mode='r:gz')",
    "out = io.BytesIO(); tar = tarfile.open(fileobj=out, mode='w:gz')",
    "def add(info, data=None):",
    "    if data is not None: info.size = len(data)",
    "    tar.addfile(info, None if data is None else io.BytesIO(data))",
    "for info in source.getmembers():",
    "    data = source.extractfile(info).read() if info.isfile() else None",
    "    if tamper.get('link') and info.name.endswith('/cert.pem') and info.issym(): info.linkname = tamper['link']",
    "    if tamper.get('renewal') and info.name.startswith('renewal/'):",
    "        data = re.sub(tamper['renewal'][0], tamper['renewal'][1], data.decode(), count=1, flags=re.M).encode()",
    "    prefix = re.sub(r'\\d+\\.pem$', '', info.name.rsplit('/', 1)[-1])",
    "    if info.name.startswith('archive/') and prefix in tamper.get('replace', {}): data = tamper['replace'][prefix].encode()",
    "    add(info, data)",
    "    if tamper.get('duplicate') and info.name.startswith('archive/') and info.isfile(): add(info, data); tamper['duplicate'] = False",
    "if tamper.get('file'): add(tarfile.TarInfo(tamper['file']), b'evil')",
    "if tamper.get('fifo'):",
    "    fifo = tarfile.TarInfo('archive/' + payload['names'][0] + '/fifo'); fifo.type = tarfile.FIFOTYPE; add(fifo)",
    "tar.close(); payload['lineage'] = base64.b64encode(out.getvalue()).decode()",
    "try: payload['sha256'] = client.digest(client.unpack(payload['lineage'], payload['names'][0]), payload['configDir'])",
    "except client.Unusable: pass",
    "print(json.dumps(payload))",
  ].join("\n");
  const result = await runWithStdin("/usr/bin/python3", ["-c", rebuild, JSON.stringify(tamper), CLIENT], process.env, good);
  if (result.code !== 0) throw new Error(result.output);
  return result.output;
}

/** PEM material for the certificate cases, made with openssl: all EC P-256, like certbot's default key. */
interface Materials {
  /** The stored lineage's own certificate and chain (the first host's, which the store holds). */
  readonly cert: string;
  readonly chain: string;
  /** A key that belongs to no certificate here. */
  readonly otherKey: string;
  /** A self-signed certificate for DOMAIN (openssl marks it CA:TRUE) and its key. */
  readonly selfSigned: { readonly cert: string; readonly key: string };
  /** Another CA, and a certificate for DOMAIN it issued for 365 days, with its key. */
  readonly foreign: { readonly ca: string; readonly leaf: string; readonly key: string };
}

async function makeMaterials(dir: string, host: Host): Promise<Materials> {
  await mkdir(dir, { recursive: true });
  const file = (name: string) => join(dir, name);
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file("other.key")]);
  await run("openssl", ["req", "-x509", ...newKey, "-subj", `/CN=${DOMAIN}`, "-addext", `subjectAltName=DNS:${DOMAIN}`, "-days", "30", "-keyout", file("self.key"), "-out", file("self.pem")]);
  await run("openssl", ["req", "-x509", ...newKey, "-subj", "/CN=Foreign CA", "-days", "30", "-keyout", file("ca.key"), "-out", file("ca.pem")]);
  await run("openssl", ["req", "-new", ...newKey, "-subj", `/CN=${DOMAIN}`, "-keyout", file("leaf.key"), "-out", file("leaf.csr")]);
  await writeFile(file("leaf.ext"), `subjectAltName=DNS:${DOMAIN}\nbasicConstraints=CA:FALSE\n`);
  await run("openssl", ["x509", "-req", "-in", file("leaf.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-days", "365", "-extfile", file("leaf.ext"), "-out", file("leaf.pem")]);
  const read = (path: string) => readFile(path, "utf8");
  return {
    cert: await read(join(host.configDir, "live", DOMAIN, "cert.pem")),
    chain: await read(join(host.configDir, "live", DOMAIN, "chain.pem")),
    otherKey: await read(file("other.key")),
    selfSigned: { cert: await read(file("self.pem")), key: await read(file("self.key")) },
    foreign: { ca: await read(file("ca.pem")), leaf: await read(file("leaf.pem")), key: await read(file("leaf.key")) },
  };
}

/** `nginx -t` and `systemctl reload` stand-ins for the deploy hook: they record the call and succeed. */
async function reloadStandIns(dir: string): Promise<{ dir: string; calls: string }> {
  const bin = join(dir, "bin");
  const calls = join(dir, "calls.log");
  await mkdir(bin, { recursive: true });
  for (const name of ["nginx", "systemctl"]) {
    await writeFile(join(bin, name), `#!/bin/sh\nprintf '%s\\n' "${name} $*" >>'${calls}'\n`);
    await chmod(join(bin, name), 0o755);
  }
  return { dir: bin, calls };
}
