/**
 * A stack's renderer input as far as its configuration knows it, for `render --stack`. The command runs
 * `pulumi config --json` and hands that configuration to the program's own stack reader through the Pulumi
 * runtime's config (`runtime.setAllConfig`), so it is validated and converted exactly as `pulumi up` would. The
 * values that only exist after deployment (account passwords, the private IP, a generated app secret) and every
 * secret are replaced by placeholders, so rendered files can be reviewed and diffed without handling credentials.
 */
import * as pulumi from "@pulumi/pulumi";
import { pulumiFailureMessage, STACK_OUTPUTS } from "jitsi-jwt-token/shared";
import type { Deployment } from "../../templates/deployment.ts";
import { readStackConfig } from "../config.ts";
import { rendererInput } from "../rendererInput.ts";

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

/** Stand-in for a secret config value of another namespace (never read by this program). */
const SECRET_PLACEHOLDER = "PLACEHOLDER-secret";

/**
 * `pulumi config --json` output → the runtime's config map and its secret keys. Secret values, shown or not, are
 * replaced by placeholders (`jitsi:appSecret` by `PLACEHOLDERS.appSecret`), so no credential is handled here.
 *
 * @param json - what `pulumi config --json` printed: `{ "<ns>:<key>": { value?, objectValue?, secret } }`.
 * @returns the config (full keys to strings, structured values as JSON text) and the keys that are secrets.
 * @throws StackReadError when the text is not that shape.
 */
function runtimeConfigFromCli(json: string): { config: Record<string, string>; secretKeys: string[] } {
  let entries: unknown;
  try {
    entries = JSON.parse(json);
  } catch {
    throw new StackReadError("`pulumi config --json` did not print JSON");
  }
  if (typeof entries !== "object" || entries === null || Array.isArray(entries)) throw new StackReadError("`pulumi config --json` did not print an object");
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, entry] of Object.entries(entries as Record<string, PulumiConfigEntry>)) {
    if (entry.secret === true) {
      secretKeys.push(key);
      config[key] = key === "jitsi:appSecret" ? PLACEHOLDERS.appSecret : SECRET_PLACEHOLDER;
      continue;
    }
    const value = entry.value ?? (entry.objectValue === undefined ? undefined : JSON.stringify(entry.objectValue));
    if (value !== undefined) config[key] = value;
  }
  return { config, secretKeys };
}

/**
 * Builds the Deployment a stack would render, with PLACEHOLDERS where deployment-time values belong.
 *
 * @param cliJson - `pulumi config --json` output.
 * @param publicIp - the deployed stack's Elastic IP, when it has one.
 * @throws StackConfigError (the program's own) when the configuration is invalid.
 */
export function deploymentFromStackConfig(cliJson: string, publicIp: string | undefined): Deployment {
  const { config, secretKeys } = runtimeConfigFromCli(cliJson);
  pulumi.runtime.setAllConfig(config, secretKeys);
  const stack = readStackConfig();
  return rendererInput(stack.settled, {
    appSecret: PLACEHOLDERS.appSecret,
    focusPassword: PLACEHOLDERS.focusPassword,
    jvbPassword: PLACEHOLDERS.jvbPassword,
    privateIp: PLACEHOLDERS.privateIp,
    publicIp: publicIp ?? PLACEHOLDERS.publicIp,
    turn: { secret: PLACEHOLDERS.turnSecret, vpcCidr: PLACEHOLDERS.vpcCidr },
  });
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
  return deploymentFromStackConfig(config.stdout, publicIp);
}
