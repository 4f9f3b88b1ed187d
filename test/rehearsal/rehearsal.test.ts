/**
 * The host rehearsal: the provisioning played for real on a throwaway host on this machine (namespace.sh:
 * overlayfs over / in new mount, network and PID namespaces, loopback only, real sshd, user ubuntu with
 * passwordless sudo), with the exact command strings, environment and stdin the program builds (taken from the
 * program run under mocks, test/infra/harness.ts), in the program's order, over real SSH. Jitsi's repository is a
 * signed local stand-in (build-repo.sh) served over HTTPS as download.jitsi.org; Prosody, nginx, certbot, apt and
 * dpkg are real; the stand-ins are systemctl, cloud-init and Jicofo/videobridge (standins/service.py, serving the
 * REST routes the real services register).
 *
 * One deviation from the program's own values: the certificate step's ACME_SERVER points at pebble (a local ACME
 * CA) instead of Let's Encrypt, which cannot be reached or imitated here.
 *
 * The AWS endpoints the host calls (Secrets Manager for the certificate store, the instance metadata service for
 * the role's credentials) are stand-ins under their real names and addresses inside the namespace (driver.ts).
 *
 * Phases: first deploy pinned to a non-newest release → re-run unchanged → retried install steps → the certificate
 * step on a "replaced instance" (certbot's lineage removed: restored from the store, no new issuance) →
 * app-secret rotation → service-account password change → a broken Prosody push and a broken nginx push, each
 * rolled back → upgrade across the holds.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RenderedFile } from "../../templates/deployment.ts";
import { hostPaths } from "jitsi-jwt-token/shared";
import { baseConfig, MOCK, runProgram, type RunOptions } from "../infra/harness.ts";
import { standInAnonymousAuth } from "../support/prosody.ts";
import type { Check, Phase, PhaseResult, Plan } from "./driver.ts";
import { changedSteps, hostSteps, type HostStep } from "./plan.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const DOMAIN = "meet.example.com";
const PINNED = "2.0.11146-1"; // not the newest release in the stand-in repository
const NEWEST = "2.0.11248-1";
const PEBBLE_DIRECTORY = "https://pebble.rehearsal:14000/dir";
const paths = hostPaths(DOMAIN);

const canRun = process.getuid?.() === 0 && ["unshare", "nft", "sshd", "sudo", "dpkg-deb", "apt-ftparchive", "pebble"].every(
  (tool) => {
    try {
      execFileSync("bash", ["-c", `command -v ${tool} || test -x /usr/sbin/${tool}`], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  },
);

/** Modules the rendered Prosody config loads that stock Prosody lacks: what jitsi-meet-prosody must ship. */
function jitsiModules(prosodyConfig: string): string[] {
  const names = new Set<string>();
  for (const block of prosodyConfig.matchAll(/modules_enabled\s*=\s*\{([^}]*)\}/g)) {
    for (const m of block[1]!.matchAll(/"([^"]+)"/g)) names.add(m[1]!);
  }
  for (const m of prosodyConfig.matchAll(/^Component\s+"[^"]+"\s+"([^"]+)"/gm)) names.add(m[1]!);
  for (const m of prosodyConfig.matchAll(/authentication\s*=\s*"([^"]+)"/g)) names.add(`auth_${m[1]!}`);
  const stock = (name: string) =>
    existsSync(`/usr/lib/prosody/modules/mod_${name}.lua`) || existsSync(`/usr/lib/prosody/modules/${name}/mod_${name}.lua`);
  return [...names].filter((n) => !stock(n)).sort();
}

/** The steps as the program builds them for a config, with the one deviation (ACME directory). */
async function programSteps(config: Record<string, string>, options?: RunOptions): Promise<HostStep[]> {
  const steps = hostSteps(await runProgram(config, options));
  return steps.map((s) =>
    s.env.ACME_SERVER === undefined ? s : { ...s, env: { ...s.env, ACME_SERVER: PEBBLE_DIRECTORY }, fingerprint: s.fingerprint },
  );
}

const byName = (results: PhaseResult[], name: string): PhaseResult => {
  const found = results.find((r) => r.name === name);
  if (found === undefined) throw new Error(`phase ${name} did not run`);
  return found;
};
const stepNames = (phase: PhaseResult) => phase.steps.map((s) => s.name.replace(/^dev-/, ""));
const restartedIn = (phase: PhaseResult) => (phase.checks["systemctl calls"]?.output ?? "").trim().split("\n").filter(Boolean);

// In CI (CI=true) it always runs, so a missing tool fails it instead of skipping it silently.
describe.runIf(canRun || process.env.CI === "true")("host rehearsal (real sshd, apt, dpkg, Prosody, nginx, certbot in a throwaway root)", () => {
  let work: string;
  let results: PhaseResult[] = [];
  let log = "";
  const configs = {
    first: { ...baseConfig(), "jitsi:jitsiVersion": PINNED },
    rotatedSecret: { ...baseConfig(), "jitsi:jitsiVersion": PINNED, "jitsi:appSecret": "rotated-app-secret-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d" },
    upgraded: { ...baseConfig(), "jitsi:jitsiVersion": NEWEST, "jitsi:appSecret": "rotated-app-secret-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d" },
  };
  const rotatedPasswords: RunOptions = { passwordSuffix: "Rotated" };
  const focusJid = `focus@auth.${DOMAIN}`;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "jitsi-rehearsal-"));
    const first = await programSteps(configs.first);
    const again = await programSteps(configs.first);
    const secret = await programSteps(configs.rotatedSecret);
    const passwords = await programSteps(configs.rotatedSecret, rotatedPasswords);
    const brokenEdit = (path: string, tail: string): RunOptions => ({
      ...rotatedPasswords,
      editRendered: (files: RenderedFile[]) => files.map((f) => (f.path === path ? { ...f, content: `${f.content}${tail}` } : f)),
    });
    const brokenProsody = await programSteps(configs.rotatedSecret, brokenEdit(paths.prosodyHostConfig, '\nVirtualHost "broken" {\n'));
    const brokenNginx = await programSteps(configs.rotatedSecret, brokenEdit(paths.nginxSite, "\nthis_is_not_a_directive on;\n"));
    const upgraded = await programSteps(configs.upgraded, rotatedPasswords);

    // Stand-in plugins for every module the rendered config loads that stock Prosody lacks.
    const prosodyConfig = first.find((s) => s.env.JITSI_FILE_PATH === paths.prosodyHostConfig)!.stdin;
    const modulesDir = join(work, "modules");
    execFileSync("mkdir", ["-p", modulesDir]);
    writeFileSync(join(modulesDir, "list"), `${jitsiModules(prosodyConfig).join("\n")}\n`);
    writeFileSync(join(modulesDir, "mod_auth_token.lua"), standInAnonymousAuth({ requireToken: true }));
    writeFileSync(join(modulesDir, "mod_auth_jitsi-anonymous.lua"), standInAnonymousAuth());
    // Opt-in (like the plugin e2e): Jitsi's own Prosody plugins in the stand-in jitsi-meet-prosody.
    const realPlugins = process.env.JITSI_PLUGINS_DIR === undefined ? [] : [process.env.JITSI_PLUGINS_DIR];
    execFileSync("bash", [join(here, "build-repo.sh"), join(work, "repo"), join(modulesDir, "list"), join(here, "standins"), ...realPlugins], { stdio: "pipe" });
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(work, "id_ed25519")]);

    const passwordOf = (steps: HostStep[], user: string) =>
      steps.find((s) => s.name.endsWith("-xmpp-accounts"))!.stdin.match(new RegExp(`^${user} (\\S+)$`, "m"))![1]!;
    const systemctlMark = (phase: string): Check => ({
      kind: "root",
      name: "systemctl calls",
      command: `touch /var/log/rehearsal/systemctl.log; awk -v since="$(cat /run/rehearsal-mark 2>/dev/null || echo 0)" '$1 > since {print $2, $3}' /var/log/rehearsal/systemctl.log | grep -E '^(restart|reload|start|stop) ' ; date +%s.%N >/run/rehearsal-mark # ${phase}`,
    });
    const state: Check[] = [
      { kind: "root", name: "versions", command: "dpkg-query -W -f='${Package}=${Version}\\n' jitsi-meet jitsi-meet-web jitsi-meet-web-config jitsi-meet-prosody jitsi-meet-tokens jicofo jitsi-videobridge2" },
      { kind: "root", name: "holds", command: "apt-mark showhold | sort" },
      { kind: "http", name: "jicofo stats", url: "http://127.0.0.1:8888/stats" },
      { kind: "root", name: "jicofo.conf", command: `cat ${paths.jicofoConf}` },
      { kind: "root", name: "prosody config", command: `cat ${paths.prosodyHostConfig}` },
      { kind: "root", name: "nginx site", command: `cat ${paths.nginxSite}` },
      { kind: "root", name: "https", command: `curl -ksS --resolve ${DOMAIN}:443:127.0.0.1 -o /dev/null -w '%{http_code}' https://${DOMAIN}/` },
      { kind: "root", name: "certificate issuer", command: `openssl x509 -in /etc/letsencrypt/live/${DOMAIN}/cert.pem -noout -issuer` },
      { kind: "root", name: "certificate serial", command: `openssl x509 -in /etc/letsencrypt/live/${DOMAIN}/cert.pem -noout -serial` },
      { kind: "store", name: "certificate store" },
    ];
    // What a replaced instance lacks: certbot's lineage and account, the store client and its settings (the
    // deploy hook stays: on a new instance it is pushed after the certificate step, which this phase does not run).
    const replaceInstance: Check = {
      kind: "root",
      name: "replace instance",
      command: `rm -rf /etc/letsencrypt/{live,archive,renewal,accounts} /etc/letsencrypt/jitsi-certificate-store.json ${paths.certificateStoreClient} && echo removed`,
    };
    const phase = (name: string, steps: HostStep[], checks: Check[] = []): Phase => ({
      name,
      steps: steps.map(({ name: n, command, env, stdin }) => ({ name: n, command, env, stdin })),
      checks: [systemctlMark(name), ...state, ...checks],
    });
    const imdsToken = "curl -sS --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token";
    const firstFocus = passwordOf(first, "focus");
    const rotatedFocus = passwordOf(passwords, "focus");
    const secretsHost = `secretsmanager.${baseConfig()["aws:region"]!}.amazonaws.com`;
    const plan: Plan = {
      sshKey: join(work, "id_ed25519"),
      merged: join(work, "root", "merged"),
      aws: {
        secretArn: first.find((s) => s.name.endsWith("-certificate"))!.env.JITSI_CERT_STORE_ARN!,
        certificate: join(work, "tls", `${secretsHost}.pem`),
        key: join(work, "tls", `${secretsHost}.key`),
      },
      phases: [
        phase("first deploy", first, [
          { kind: "xmpp", name: "focus login", jid: focusJid, password: firstFocus },
          { kind: "root", name: "unattended-upgrades", command: "apt-config dump Unattended-Upgrade::Package-Blacklist" },
          // The instance metadata stand-in (169.254.169.254:80, DNAT to the driver's :8080) as root and as the
          // package's own service account; the IMDSv2 token request is the first call every client makes.
          { kind: "root", name: "imds as root", command: imdsToken },
          { kind: "root", name: "imds as prosody", command: `runuser -u prosody -- ${imdsToken}` },
          { kind: "root", name: "imds as nobody", command: `setpriv --reuid=65534 --regid=65534 --clear-groups ${imdsToken}` },
          {
            kind: "root",
            name: "needrestart",
            // needrestart's own reading: Perl fragments in conf.d, override_rc keys are regexes over unit names.
            command: `perl -e 'our %nrconf; do "/etc/needrestart/conf.d/60-jitsi.conf"; die $@ if $@; for my $u (qw(prosody.service jicofo.service jitsi-videobridge2.service nginx.service)) { my $v = "restart"; for my $re (keys %{$nrconf{override_rc}}) { $v = ($nrconf{override_rc}{$re} ? "restart" : "keep") if $u =~ $re } print "$u=$v\n" }'`,
          },
        ]),
        phase("re-run unchanged", changedSteps(first, again)),
        phase("retry install (idempotent)", again.filter((s) => /-(install|lua-fix|xmpp-accounts|certificate)$/.test(s.name)), [replaceInstance]),
        phase("replaced instance's certificate", again.filter((s) => s.name.endsWith("-certificate"))),
        phase("app secret rotation", changedSteps(again, secret)),
        phase("password change", changedSteps(secret, passwords), [
          { kind: "xmpp", name: "focus login, new password", jid: focusJid, password: rotatedFocus },
          { kind: "xmpp", name: "focus login, old password", jid: focusJid, password: firstFocus },
        ]),
        phase("broken prosody push", changedSteps(passwords, brokenProsody)),
        phase("broken nginx push", changedSteps(passwords, brokenNginx)),
        // The engine retries a failed step with the same inputs: it must not confirm the rolled-back files.
        phase("retry after roll back", brokenNginx.filter((s) => s.name.endsWith("-service-nginx"))),
        phase("upgrade", changedSteps(passwords, upgraded), [
          { kind: "xmpp", name: "focus login after upgrade", jid: focusJid, password: rotatedFocus },
        ]),
      ],
    };
    const planFile = join(work, "plan.json");
    writeFileSync(planFile, JSON.stringify(plan), { mode: 0o600 });
    const resultFile = join(work, "result.json");

    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        "unshare",
        ["--mount", "--net", "--pid", "--fork", "--kill-child", "--propagation", "private", "bash", join(here, "namespace.sh"), work,
          process.execPath, "--import", "tsx", join(here, "driver.ts"), planFile, resultFile],
        { cwd: repoRoot, env: { ...process.env, REHEARSAL_PUBLIC_IP: MOCK.publicIp, REHEARSAL_PRIVATE_IP: MOCK.privateIp, REHEARSAL_AWS_REGION: baseConfig()["aws:region"] }, stdio: ["ignore", "pipe", "pipe"] },
      );
      const collect = (d: Buffer) => {
        log += d.toString();
        if (process.env.REHEARSAL_VERBOSE !== undefined) process.stderr.write(d);
      };
      child.stdout.on("data", collect);
      child.stderr.on("data", collect);
      const timer = setTimeout(() => child.kill("SIGKILL"), 400_000);
      child.on("exit", (code) => {
        clearTimeout(timer);
        if (existsSync(resultFile)) results = JSON.parse(readFileSync(resultFile, "utf8")) as PhaseResult[];
        if (code === 0) resolve();
        else reject(new Error(`rehearsal exited ${String(code)}:\n${log}`));
      });
    });
  }, 480_000);

  afterAll(() => {
    if (process.env.REHEARSAL_KEEP === undefined && work !== undefined) rmSync(work, { recursive: true, force: true });
    else if (work !== undefined) process.stderr.write(`rehearsal work dir kept: ${work}\n`);
  });

  it("first deploy: every step passes over SSH, the pinned non-newest release is installed and held, all live", () => {
    const first = byName(results, "first deploy");
    for (const step of first.steps) expect(step.code, `${step.name}: ${step.stderr}`).toBe(0);
    expect(stepNames(first)[0]).toBe("prepare");
    expect(first.checks.versions!.output).toContain(`jitsi-meet=${PINNED}`);
    expect(first.checks.versions!.output).toContain("jicofo=1.0-1188-1");
    expect(first.checks.versions!.output).toContain("jitsi-meet-tokens=1.0.9310-1");
    expect(first.checks.holds!.output.trim().split("\n")).toEqual([
      "jicofo", "jitsi-meet", "jitsi-meet-prosody", "jitsi-meet-tokens", "jitsi-meet-web", "jitsi-meet-web-config", "jitsi-videobridge2",
    ]);
    expect(JSON.parse(first.checks["jicofo stats"]!.output.slice(4)).bridge_selector.operational_bridge_count).toBe(1);
    expect(first.checks["focus login"]!.ok).toBe(true);
    expect(first.checks.https!.output).toBe("200");
    expect(first.checks["certificate issuer"]!.output).toMatch(/Pebble/);
  });

  it("leaves the Jitsi services to deployments: unattended-upgrades skips Prosody, needrestart keeps all three", () => {
    const first = byName(results, "first deploy");
    expect(first.checks["unattended-upgrades"]!.output).toContain('Unattended-Upgrade::Package-Blacklist:: "prosody";');
    expect(first.checks.needrestart!.output.trim().split("\n")).toEqual([
      "prosody.service=keep", "jicofo.service=keep", "jitsi-videobridge2.service=keep", "nginx.service=restart",
    ]);
  });

  it("only root reaches the instance metadata service after its step; the certificate store (root) still signs with the role", () => {
    const first = byName(results, "first deploy");
    const names = stepNames(first);
    expect(names.indexOf("imds-root-only")).toBe(names.indexOf("prepare") + 1);
    expect(names.indexOf("imds-root-only")).toBeLessThan(names.indexOf("install"));
    expect(first.steps.find((s) => s.name.endsWith("-imds-root-only"))!.stdout).toContain("only root may reach the instance metadata service");
    expect(first.checks["imds as root"]).toEqual({ ok: true, output: "imds-session-token" });
    for (const user of ["prosody", "nobody"]) {
      expect(first.checks[`imds as ${user}`]!.ok, user).toBe(false);
      expect(first.checks[`imds as ${user}`]!.output, user).toMatch(/Failed to connect to 169\.254\.169\.254 port 80 after \d+ ms/);
    }
    const store = JSON.parse(first.checks["certificate store"]!.output) as { operations: string[]; signed: boolean };
    expect(store.operations.length).toBeGreaterThan(0);
    expect(store.signed).toBe(true);
  });

  it("re-running unchanged runs nothing, and retried steps are idempotent", () => {
    expect(byName(results, "re-run unchanged").steps).toEqual([]);
    const retry = byName(results, "retry install (idempotent)");
    for (const step of retry.steps) expect(step.code, `${step.name}: ${step.stderr}`).toBe(0);
    expect(retry.steps.find((s) => s.name.endsWith("-install"))!.stdout).toContain("already installed");
    expect(restartedIn(retry)).toEqual([]);
  });

  it("the certificate store: the first deploy stores the lineage; a replaced instance restores it without a new issuance", () => {
    const certificateStep = (phase: string) => byName(results, phase).steps.find((s) => s.name.endsWith("-certificate"))!;
    const store = (phase: string) =>
      JSON.parse(byName(results, phase).checks["certificate store"]!.output) as { operations: string[]; versions: number; tags: Record<string, string> };
    const first = certificateStep("first deploy");
    expect(first.stdout).toContain(`nothing stored yet for ${DOMAIN}`);
    expect(first.stdout).toContain(`stored the lineage for ${DOMAIN} turn.${DOMAIN}`);
    expect(store("first deploy").versions).toBe(1);
    expect(store("first deploy").tags["jitsi:certificate-names"]).toBe(`${DOMAIN} turn.${DOMAIN}`);
    expect(store("first deploy").tags["jitsi:certificate-acme-server"]).toBe(PEBBLE_DIRECTORY);

    expect(byName(results, "retry install (idempotent)").checks["replace instance"]!.output.trim()).toBe("removed");
    const replaced = byName(results, "replaced instance's certificate");
    expect(replaced.steps).toHaveLength(1);
    const restored = replaced.steps[0]!;
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`restored the lineage for ${DOMAIN} turn.${DOMAIN}`);
    expect(restored.stdout).toMatch(/not yet due for renewal/i);
    expect(replaced.checks["certificate serial"]!.output).toBe(byName(results, "first deploy").checks["certificate serial"]!.output);
    expect(replaced.checks.https!.output).toBe("200");
    // Nothing new stored (same lineage), and pebble issued exactly one certificate in the whole rehearsal.
    expect(store("replaced instance's certificate").versions).toBe(1);
    expect(readFileSync(join(work, "pebble.log"), "utf8").match(/Issued certificate serial/g)).toHaveLength(1);
  });

  it("an app secret rotation re-runs only Prosody's file and restart", () => {
    const rotation = byName(results, "app secret rotation");
    for (const step of rotation.steps) expect(step.code, `${step.name}: ${step.stderr}`).toBe(0);
    expect(stepNames(rotation)).toEqual(["file-etc-prosody-conf-avail-meet-example-com-cfg-lua", "service-prosody"]);
    expect(rotation.checks["prosody config"]!.output).toContain("rotated-app-secret-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d");
    expect(restartedIn(rotation).filter((l) => l.startsWith("restart"))).toEqual(["restart prosody"]);
  });

  it("a password change reaches Prosody: Jicofo and the bridge log in with the new one, the old one fails", () => {
    const change = byName(results, "password change");
    for (const step of change.steps) expect(step.code, `${step.name}: ${step.stderr}`).toBe(0);
    expect(stepNames(change)).toContain("xmpp-accounts");
    expect(change.checks["focus login, new password"]!.ok).toBe(true);
    expect(change.checks["focus login, old password"]!.ok).toBe(false);
    expect(JSON.parse(change.checks["jicofo stats"]!.output.slice(4)).bridge_selector.operational_bridge_count).toBe(1);
  });

  it.each([
    ["broken prosody push", "service-prosody", paths.prosodyHostConfig, "prosody config"],
    ["broken nginx push", "service-nginx", paths.nginxSite, "nginx site"],
  ])("%s: the restart fails naming the file and service, the last good file is back and the service runs", (name, step, path, fileCheck) => {
    const broken = byName(results, name);
    const failed = broken.steps.at(-1)!;
    expect(failed.name).toBe(`dev-${step}`);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain(`FAILED: ${path} broke`);
    const good = byName(results, "password change").checks[fileCheck]!.output;
    expect(broken.checks[fileCheck]!.output).toBe(good);
    expect(broken.checks.https!.output).toBe("200");
  });

  it("a retried restart after a roll back refuses to confirm files the deployment did not render", () => {
    const retry = byName(results, "retry after roll back");
    expect(retry.steps).toHaveLength(1);
    expect(retry.steps[0]!.code).toBe(1);
    expect(retry.steps[0]!.stderr).toContain("nginx: its files on this host are not the ones this deployment rendered");
    expect(restartedIn(retry)).toEqual([]);
  });

  it("an upgrade moves every held package to the next release together, re-holds them and restores the rendered files", () => {
    const upgrade = byName(results, "upgrade");
    for (const step of upgrade.steps) expect(step.code, `${step.name}: ${step.stderr}`).toBe(0);
    expect(upgrade.checks.versions!.output).toContain(`jitsi-meet=${NEWEST}`);
    expect(upgrade.checks.versions!.output).toContain("jitsi-videobridge2=2.3-312-ga29d97d13-1");
    expect(upgrade.checks.holds!.output.trim().split("\n")).toHaveLength(7);
    // jicofo's postinst edited jicofo.conf on upgrade; the push put the rendered file back.
    expect(upgrade.checks["jicofo.conf"]!.output).not.toContain("edited by the jicofo");
    expect(upgrade.checks["focus login after upgrade"]!.ok).toBe(true);
    expect(JSON.parse(upgrade.checks["jicofo stats"]!.output.slice(4)).bridge_selector.operational_bridge_count).toBe(1);
  });

  it("figures", () => {
    const figures = results.map((p) => ({
      phase: p.name,
      seconds: (p.ms / 1000).toFixed(1),
      steps: p.steps.map((s) => `${s.name.replace(/^dev-/, "")} ${(s.ms / 1000).toFixed(1)}s`).join(", "),
      restarted: restartedIn(p).join("; "),
    }));
    writeFileSync(join(tmpdir(), "jitsi-rehearsal-figures.json"), JSON.stringify(figures, null, 2));
    expect(figures.length).toBe(10);
  });
});
