/**
 * A stack's renderer input as far as its configuration knows it, for `render --stack`: the settings come from
 * `pulumi config --json` (validated by the program's own parseStackConfig), the values that only exist after
 * deployment (account passwords, the instance's private IP, a generated app secret) and every secret are
 * replaced by placeholders, so rendered files can be reviewed and diffed without handling credentials.
 */
import { CONFIG_NAMESPACE, parseStackConfig, type RawStackConfig } from "../infra/config.ts";
import { rendererInput } from "../infra/rendererInput.ts";
import { STACK_OUTPUTS } from "../token/stackOutputs.ts";
import type { Deployment } from "./deployment.ts";

/** Runs a program and returns its exit code and output (injectable: the Pulumi CLI is not always installed). */
export type CommandRunner = (
  command: string,
  args: readonly string[],
  options: { readonly cwd: string },
) => Promise<{ readonly code: number; readonly stdout: string; readonly stderr: string }>;

/** Stand-ins for values the stack's configuration does not hold; they pass validation and read as what they are. */
export const PLACEHOLDERS = {
  appSecret: "PLACEHOLDER-app-secret-known-only-at-deploy-time",
  focusPassword: "PLACEHOLDER-focus-password",
  jvbPassword: "PLACEHOLDER-jvb-password",
  /** TEST-NET-1 / a private address: obviously not the instance's. */
  privateIp: "10.0.0.1",
  publicIp: "192.0.2.1",
  /** coturn's secret (letters and digits only, as the renderer requires) and the VPC range AWS reports. */
  turnSecret: "PLACEHOLDERturnSecretKnownOnlyAtDeployTime",
  vpcCidr: "10.0.0.0/16",
} as const;

export class StackReadError extends Error {
  override readonly name = "StackReadError";
}

/** One entry of `pulumi config --json`: `value` (string form), `objectValue` for structured values, `secret`. */
interface PulumiConfigEntry {
  readonly value?: string;
  readonly objectValue?: unknown;
  readonly secret?: boolean;
}

/** `pulumi config --json` output → the raw strings parseStackConfig expects; secret values are left out. */
export function rawStackConfig(json: string): RawStackConfig {
  let entries: Record<string, PulumiConfigEntry>;
  try {
    entries = JSON.parse(json) as Record<string, PulumiConfigEntry>;
  } catch {
    throw new StackReadError("`pulumi config --json` did not print JSON");
  }
  const raw: Record<string, string> = {};
  for (const [key, entry] of Object.entries(entries)) {
    if (entry.secret === true) continue;
    const ownPrefix = `${CONFIG_NAMESPACE}:`;
    const name = key === "aws:region" ? key : key.startsWith(ownPrefix) ? key.slice(ownPrefix.length) : undefined;
    if (name === undefined) continue;
    const value = entry.value ?? (entry.objectValue === undefined ? undefined : JSON.stringify(entry.objectValue));
    if (value !== undefined) raw[name] = value;
  }
  return raw as RawStackConfig;
}

/** Builds the Deployment the stack would render, with PLACEHOLDERS where deployment-time values belong. */
export function deploymentFromStackConfig(raw: RawStackConfig, publicIp: string | undefined): Deployment {
  const settings = parseStackConfig(raw);
  return rendererInput(
    {
      domain: settings.domain,
      token:
        settings.tokenAlgorithm === "HS256"
          ? { algorithm: "HS256", appId: settings.appId }
          : { algorithm: "RS256", appId: settings.appId, publicKeys: settings.tokenPublicKeys },
      guests: settings.guests,
      localVideobridge: settings.videobridges === undefined || settings.videobridges.keepLocalBridge,
      turn: settings.turn,
      letsEncryptEmail: settings.letsEncryptEmail,
    },
    {
      appSecret: PLACEHOLDERS.appSecret,
      focusPassword: PLACEHOLDERS.focusPassword,
      jvbPassword: PLACEHOLDERS.jvbPassword,
      privateIp: PLACEHOLDERS.privateIp,
      publicIp: publicIp ?? PLACEHOLDERS.publicIp,
      turn: { secret: PLACEHOLDERS.turnSecret, vpcCidr: PLACEHOLDERS.vpcCidr },
    },
  );
}

/**
 * What the `pulumi` npm package (a devDependency; `node_modules/.bin/pulumi`, ahead of any installed CLI on
 * `npm run`'s PATH) prints when it cannot download the CLI on first use — offline it says only "fetch failed".
 */
const CLI_DOWNLOAD_FAILED = /^Downloading pulumi v(\S+)\.\.\.\s*\npulumi: (.+)$/m;

/** The CLI's own error, or for a failed CLI download what to install and where the npm package looks for it. */
export function pulumiFailureMessage(stderr: string): string {
  const failed = CLI_DOWNLOAD_FAILED.exec(stderr);
  if (failed === null) return stderr.trim();
  const [, version, reason] = failed;
  return (
    `the Pulumi CLI is not installed and the \`pulumi\` npm package could not download it (${reason!.trim()}; offline?). ` +
    `Run \`npx pulumi version\` once with internet access, or install the Pulumi CLI ${version!} yourself ` +
    `(https://www.pulumi.com/docs/install/) and unpack its pulumi/ folder as ~/.pulumi/versions/${version!}/bin, ` +
    `where the npm package looks first; or render from a JSON file with --input`
  );
}

/** Reads `stack`'s configuration (and its public IP if it is deployed) through the Pulumi CLI. */
export async function readStackDeployment(stack: string, run: CommandRunner, cwd: string): Promise<Deployment> {
  const config = await run("pulumi", ["config", "--stack", stack, "--json"], { cwd });
  if (config.code !== 0) {
    throw new StackReadError(`pulumi config --stack ${stack} failed (exit ${String(config.code)}): ${pulumiFailureMessage(config.stderr)}`);
  }
  const outputs = await run("pulumi", ["stack", "output", "--stack", stack, "--json"], { cwd });
  let publicIp: string | undefined;
  if (outputs.code === 0) {
    try {
      const value = (JSON.parse(outputs.stdout) as Record<string, unknown>)[STACK_OUTPUTS.publicIp];
      publicIp = typeof value === "string" ? value : undefined;
    } catch {
      publicIp = undefined;
    }
  }
  return deploymentFromStackConfig(rawStackConfig(config.stdout), publicIp);
}
