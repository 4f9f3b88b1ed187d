/**
 * Runs inside the rehearsal's network namespace (started by namespace.sh): plays each phase's host steps over real
 * SSH as user `ubuntu` — the command string as the program built it, its environment sent with SendEnv (so sshd's
 * AcceptEnv decides, as with the Pulumi provider's env requests), its stdin piped — then runs the phase's checks.
 * Writes what happened to the result file; the test asserts on it.
 *
 * usage: tsx driver.ts PLAN_JSON RESULT_JSON
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { client } from "@xmpp/client";
import { startInstanceMetadata } from "../support/instanceMetadata.ts";
import { startSecretsManager, type SecretsManagerStandIn } from "../support/secretsManager.ts";

export interface PlannedStep {
  readonly name: string;
  readonly command: string;
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: string;
}

export type Check =
  | { readonly kind: "root"; readonly name: string; readonly command: string }
  | { readonly kind: "xmpp"; readonly name: string; readonly jid: string; readonly password: string }
  | { readonly kind: "http"; readonly name: string; readonly url: string }
  /** What the Secrets Manager stand-in holds and was asked (JSON): operations, versions, tags. */
  | { readonly kind: "store"; readonly name: string };

/**
 * The AWS endpoints the host reaches, as stand-ins in this namespace (namespace.sh gives them their names and
 * addresses): Secrets Manager over HTTPS under its regional name (127.0.0.5:443 → :8444), the instance metadata
 * service at 169.254.169.254 (:80 → :8080) handing out the instance role's credentials.
 */
export interface AwsStandIns {
  readonly secretArn: string;
  /** PEM files of the endpoint's certificate (signed by the namespace's throwaway CA) and key. */
  readonly certificate: string;
  readonly key: string;
}

export interface Phase {
  readonly name: string;
  readonly steps: readonly PlannedStep[];
  readonly checks: readonly Check[];
}

export interface Plan {
  readonly sshKey: string;
  readonly merged: string;
  readonly phases: readonly Phase[];
  readonly aws?: AwsStandIns;
}

export interface StepResult {
  readonly name: string;
  readonly ms: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface PhaseResult {
  readonly name: string;
  readonly ms: number;
  readonly steps: StepResult[];
  readonly checks: Record<string, { ok: boolean; output: string }>;
}

function run(program: string, args: string[], env: NodeJS.ProcessEnv, stdin: string): Promise<Omit<StepResult, "name" | "ms">> {
  return new Promise((resolve) => {
    const child = spawn(program, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (e) => resolve({ code: -1, stdout, stderr: `${stderr}${String(e)}` }));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(stdin);
  });
}

/** One step over SSH, as the command provider runs it: env requests for its variables, command, stdin. */
async function sshStep(plan: Plan, step: PlannedStep): Promise<StepResult> {
  const names = Object.keys(step.env);
  const args = [
    "-T", "-i", plan.sshKey, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR", ...(names.length > 0 ? ["-o", `SendEnv=${names.join(" ")}`] : []),
    "ubuntu@127.0.0.1", step.command,
  ];
  const started = Date.now();
  // As the provider, retry while the connection itself fails (sshd re-executes itself on a reload).
  for (let attempt = 1; ; attempt++) {
    const result = await run("ssh", args, { PATH: process.env.PATH, ...step.env }, step.stdin);
    const unreachable = result.code === 255 && /Connection (refused|reset|closed)|kex_exchange_identification/.test(result.stderr);
    if (!unreachable || attempt >= 10) return { name: step.name, ms: Date.now() - started, ...result };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function xmppLogin(jid: string, password: string): Promise<{ ok: boolean; output: string }> {
  const [username, domain] = jid.split("@") as [string, string];
  const xmpp = client({ service: "xmpp://127.0.0.1:5222", domain, username, password });
  xmpp.on("error", () => undefined);
  try {
    // xmpp.js reconnects on its own; a refused login must end the check, not retry forever.
    await Promise.race([
      xmpp.start(),
      new Promise((_, reject) => setTimeout(() => reject(new Error("no login within 10 s")), 10_000)),
    ]);
    return { ok: true, output: "logged in" };
  } catch (error) {
    return { ok: false, output: String(error) };
  } finally {
    await xmpp.stop().catch(() => undefined);
  }
}

function httpGet(url: string): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ ok: (res.statusCode ?? 0) < 400, output: `${String(res.statusCode)} ${body}` }));
    });
    req.on("error", (e) => resolve({ ok: false, output: String(e) }));
    req.end();
  });
}

async function check(plan: Plan, c: Check, store: SecretsManagerStandIn | undefined): Promise<{ ok: boolean; output: string }> {
  switch (c.kind) {
    case "store":
      if (store === undefined) return { ok: false, output: "no Secrets Manager stand-in in this plan" };
      return {
        ok: true,
        output: JSON.stringify({
          operations: store.requests.map((r) => r.operation),
          // Every request carried a SigV4 signature: the client had the role's credentials from the IMDS stand-in.
          signed: store.requests.every((r) => r.signed),
          versions: store.secret.versions,
          tags: Object.fromEntries(store.secret.tags),
        }),
      };
    case "root": {
      const env = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root" };
      const r = await run("chroot", [plan.merged, "/bin/bash", "--norc", "--noprofile", "-c", c.command], env, "");
      return { ok: r.code === 0, output: `${r.stdout}${r.stderr}` };
    }
    case "xmpp":
      return xmppLogin(c.jid, c.password);
    case "http":
      return httpGet(c.url);
  }
}

async function main(): Promise<void> {
  const [planFile, resultFile] = process.argv.slice(2) as [string, string];
  const plan = JSON.parse(readFileSync(planFile, "utf8")) as Plan;
  // Prosody's auth-domain certificate is self-signed on the host (as in production); only this check accepts it.
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
  const store =
    plan.aws === undefined
      ? undefined
      : await startSecretsManager({ arn: plan.aws.secretArn, host: "127.0.0.5", port: 8444, tls: { certificate: plan.aws.certificate, key: plan.aws.key } });
  if (plan.aws !== undefined) await startInstanceMetadata({ host: "169.254.169.254", port: 8080 });
  const results: PhaseResult[] = [];
  for (const phase of plan.phases) {
    const started = Date.now();
    const steps: StepResult[] = [];
    for (const step of phase.steps) {
      const result = await sshStep(plan, step);
      steps.push(result);
      process.stderr.write(`rehearsal: ${phase.name}: ${step.name} → ${String(result.code)} in ${result.ms} ms\n`);
      if (result.code !== 0) break; // as the engine: nothing that depends on a failed step runs
    }
    const ms = Date.now() - started;
    const checks: PhaseResult["checks"] = {};
    for (const c of phase.checks) checks[c.name] = await check(plan, c, store);
    results.push({ name: phase.name, ms, steps, checks });
    writeFileSync(resultFile, JSON.stringify(results, null, 2), { mode: 0o600 });
  }
}

// Exit explicitly: the AWS stand-ins would keep the event loop alive.
main().then(() => process.exit(0), (error: unknown) => {
  process.stderr.write(`rehearsal driver: ${String(error)}\n`);
  process.exit(1);
});
