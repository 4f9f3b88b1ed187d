import { execFile, execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deployment } from "../../../templates/deployment.ts";
import { runtimeHostPaths } from "../../../templates/files/hostRuntime.ts";
import { renderRenewalHook } from "../../../templates/files/renewalHook.ts";
import { hostPaths } from "jitsi-jwt-token/shared";
import { sampleDeployment } from "../sampleDeployment.ts";

interface HookRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Commands the hook ran, one per line: "nginx -t -q", "systemctl reload nginx". */
  readonly calls: string[];
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "renewal-hook-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Runs the rendered hook with the real /bin/sh. systemd cannot run in a test, so `systemctl` and `nginx` are
 * recorders on PATH; `nginx -t` fails when NGINX_TEST_FAILS is set.
 */
async function runHook(d: Deployment, env: Record<string, string>): Promise<HookRun> {
  const work = await mkdtemp(join(dir, "run-"));
  const calls = join(work, "calls");
  await writeFile(calls, "");
  for (const tool of ["systemctl", "nginx"]) {
    const stub = join(work, tool);
    await writeFile(
      stub,
      `#!/bin/sh\nprintf '%s\\n' "${tool} $*" >> '${calls}'\n` +
        (tool === "nginx" ? 'if [ -n "${NGINX_TEST_FAILS:-}" ]; then exit 1; fi\n' : ""),
    );
    await chmod(stub, 0o755);
  }
  const hook = join(work, "hook.sh");
  const file = renderRenewalHook(d);
  await writeFile(hook, file.content);
  await chmod(hook, file.mode);
  return new Promise((resolve) => {
    execFile("/bin/sh", [hook], { env: { PATH: `${work}:/usr/bin:/bin`, ...env } }, async (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      const recorded = (await readFile(calls, "utf8")).split("\n").filter((line) => line !== "");
      resolve({ code, stdout, stderr, calls: recorded });
    });
  });
}

function shellcheck(content: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile("shellcheck", ["--shell=sh", "--severity=style", "-"], (error, stdout, stderr) => {
      if (error !== null && (error as NodeJS.ErrnoException).code === "ENOENT") {
        reject(new Error("shellcheck is not installed"));
        return;
      }
      resolve({ code: error === null ? 0 : Number(error.code), output: stdout + stderr });
    });
    child.stdin?.end(content);
  });
}

const lineage = (d: Deployment) => hostPaths(d.domain).certificate.replace(/\/fullchain\.pem$/, "");

describe("renderRenewalHook", () => {
  const d = sampleDeployment();

  it("is an executable certbot deploy hook that restarts nothing itself", () => {
    const file = renderRenewalHook(d);
    expect(file.path).toBe(hostPaths(d.domain).renewalHook);
    expect(file.mode).toBe(0o755);
    expect([file.owner, file.group]).toEqual(["root", "root"]);
    expect(file.effect).toBeNull();
    expect(file.secret).toBe(false);
    expect(file.content.startsWith("#!/bin/sh\n")).toBe(true);
  });

  it("passes shellcheck, including with hostile values", async () => {
    for (const deployment of [
      d,
      sampleDeployment({ letsEncryptEmail: undefined }),
      sampleDeployment({ domain: "it's\"$(id)`x`\n;", letsEncryptEmail: "a'b\\c$(touch /tmp/x)" }),
    ]) {
      const result = await shellcheck(renderRenewalHook(deployment).content);
      expect(result.output).toBe("");
      expect(result.code).toBe(0);
    }
  });

  it("tests nginx's configuration and reloads it after a renewal of this certificate", async () => {
    const result = await runHook(d, { RENEWED_LINEAGE: lineage(d) });
    expect(result.code).toBe(0);
    expect(result.calls).toEqual(["nginx -t -q", "systemctl reload nginx"]);
    expect(result.stdout).toBe(`jitsi renewal hook: reloaded nginx for ${lineage(d)}\n`);
  });

  it("also reloads when run by hand (no RENEWED_LINEAGE)", async () => {
    expect((await runHook(d, {})).calls).toEqual(["nginx -t -q", "systemctl reload nginx"]);
  });

  it("ignores the renewal of another certificate", async () => {
    const result = await runHook(d, { RENEWED_LINEAGE: "/etc/letsencrypt/live/other.example.org" });
    expect(result.code).toBe(0);
    expect(result.calls).toEqual([]);
  });

  it("does not reload, and fails loudly, when nginx rejects its configuration", async () => {
    const result = await runHook(d, { RENEWED_LINEAGE: lineage(d), NGINX_TEST_FAILS: "1" });
    expect(result.code).toBe(1);
    expect(result.calls).toEqual(["nginx -t -q"]);
    expect(result.stderr).toContain("nginx rejects its configuration");
    expect(result.stderr).toContain("(ACME contact: ops@example.com)");
  });

  it("with TURN: refreshes coturn's copy (owner turnserver, 0400) and restarts coturn after reloading nginx", async () => {
    const root = await mkdtemp(join(dir, "root-"));
    const turnOn = sampleDeployment({ turn: { secret: "s".repeat(40), vpcCidr: "10.0.0.0/16" }, runtime: { rootDir: root } });
    const paths = runtimeHostPaths(turnOn);
    await mkdir(dirname(paths.certificate), { recursive: true });
    await writeFile(paths.certificate, "CERTIFICATE v2\n");
    await writeFile(paths.certificateKey, "KEY v2\n", { mode: 0o600 });
    // An older copy is replaced.
    await mkdir(dirname(paths.coturnCertificate), { recursive: true });
    await writeFile(paths.coturnCertificate, "CERTIFICATE v1\n");
    expect((await shellcheck(renderRenewalHook(turnOn).content)).output).toBe("");
    const result = await runHook(turnOn, { RENEWED_LINEAGE: dirname(paths.certificate) });
    expect(result.stderr).toBe("");
    expect(result.calls).toEqual(["nginx -t -q", "systemctl reload nginx", "systemctl restart coturn"]);
    const turnserver = Number(execFileSync("id", ["-u", "turnserver"], { encoding: "utf8" }).trim());
    for (const [copy, content] of [[paths.coturnCertificate, "CERTIFICATE v2\n"], [paths.coturnCertificateKey, "KEY v2\n"]] as const) {
      expect(await readFile(copy, "utf8")).toBe(content);
      const info = await stat(copy);
      expect(info.mode & 0o777).toBe(0o400);
      expect(info.uid).toBe(turnserver);
    }
    expect((await stat(dirname(paths.coturnCertificate))).mode & 0o777).toBe(0o700);
    // Without TURN the hook leaves coturn alone.
    expect(renderRenewalHook(sampleDeployment()).content).not.toContain("coturn_certificate=");
  });

  it("treats hostile domain and contact as data", async () => {
    const canary = join(dir, "pwned");
    const hostile = sampleDeployment({
      domain: `it's"$(touch ${canary})\`touch ${canary}\`\\n;`,
      letsEncryptEmail: `x'$(touch ${canary})\\c`,
    });
    const ours = await runHook(hostile, { RENEWED_LINEAGE: lineage(hostile), NGINX_TEST_FAILS: "1" });
    expect(ours.calls).toEqual(["nginx -t -q"]);
    expect(ours.stderr).toContain(`(ACME contact: x'$(touch ${canary})\\c)`);
    const reloaded = await runHook(hostile, { RENEWED_LINEAGE: lineage(hostile) });
    expect(reloaded.stdout).toBe(`jitsi renewal hook: reloaded nginx for ${lineage(hostile)}\n`);
    expect((await runHook(hostile, { RENEWED_LINEAGE: `${lineage(hostile)}x` })).calls).toEqual([]);
    await expect(readFile(canary)).rejects.toThrow(/ENOENT/);
  });
});
