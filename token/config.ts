/**
 * loadTokenConfig: who signs tokens for which deployment, from the environment or from a Pulumi stack's outputs.
 * The stack is read by running the Pulumi CLI (`pulumi stack output --json --show-secrets`) as a child process —
 * never by importing Pulumi — and no secret ever appears on a command line. Secrets are validated on load.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { FieldError } from "./errors.ts";
import { assertHmacSecret, KeyError, rsaPrivateKey } from "./keys.ts";
import type { TokenSigningConfig } from "./options.ts";
import { appIdProblem, appSecretProblem, domainProblem, keyIdProblem, type Rule } from "./shared/rules.ts";
import { pulumiFailureMessage } from "./shared/pulumiCli.ts";
import { STACK_OUTPUTS } from "./shared/stackOutputs.ts";

export interface TokenConfig extends TokenSigningConfig {
  algorithm: "HS256" | "RS256";
  /** The deployment's public URL for meeting links (JITSI_BASE_URL / stack meetingUrl; default https://DOMAIN). */
  baseUrl: string;
  guestDomain?: string;
  source: "env" | "stack";
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program without a shell. Injectable so stack loading is testable without the Pulumi CLI. */
export type CommandRunner = (command: string, args: readonly string[], options: { cwd?: string }) => Promise<CommandResult>;

export interface LoadTokenConfigOptions {
  /** Read this Pulumi stack's outputs instead of the environment. */
  stack?: string;
  /** The Pulumi project directory (default: current directory). */
  cwd?: string;
  env?: Readonly<Record<string, string | undefined>>;
  runner?: CommandRunner;
}

export class TokenConfigError extends FieldError {
  override readonly name = "TokenConfigError";
}

/** Environment variables read by loadTokenConfig. */
export const TOKEN_ENV = {
  appId: "JITSI_APP_ID",
  secret: "JITSI_APP_SECRET",
  privateKey: "JITSI_PRIVATE_KEY",
  privateKeyFile: "JITSI_PRIVATE_KEY_FILE",
  keyId: "JITSI_KEY_ID",
  domain: "JITSI_DOMAIN",
  baseUrl: "JITSI_BASE_URL",
} as const;

const MAX_PULUMI_OUTPUT_BYTES = 4 * 1024 * 1024;

export const execFileRunner: CommandRunner = (command, args, options) =>
  new Promise((resolve, reject) => {
    execFile(command, [...args], { cwd: options.cwd, maxBuffer: MAX_PULUMI_OUTPUT_BYTES, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === "ENOENT") {
        reject(new TokenConfigError("--stack", `the ${command} CLI is not on PATH; install it, or configure with JITSI_* environment variables`));
        return;
      }
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });

function baseUrlFor(value: string | undefined, domain: string, field: string): string {
  const text = value?.trim() || `https://${domain}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TokenConfigError(field, "must be an absolute URL such as https://meet.example.com");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new TokenConfigError(field, "must be an http(s) URL");
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/**
 * A set value, trimmed, that passes `rule` (one of the shared field rules the stack config uses too, so a token is
 * never minted for a value the deployment would refuse).
 */
function required(value: string | undefined, field: string, what: string, rule?: Rule): string {
  const v = value?.trim();
  if (!v) throw new TokenConfigError(field, `is not set (${what})`);
  const problem = rule?.(v);
  if (problem !== undefined) throw new TokenConfigError(field, problem);
  return v;
}

function checkSecret(secret: string, field: string): string {
  // The deployment's rule first (length, alphabet): a secret it refuses can never match the server's.
  const problem = appSecretProblem(secret);
  if (problem !== undefined) throw new TokenConfigError(field, problem);
  try {
    assertHmacSecret(secret, field);
  } catch (error) {
    if (error instanceof KeyError) throw new TokenConfigError(field, error.message.slice(field.length + 2));
    throw error;
  }
  return secret;
}

async function fromEnv(env: Readonly<Record<string, string | undefined>>): Promise<TokenConfig> {
  const appId = required(env[TOKEN_ENV.appId], TOKEN_ENV.appId, "Prosody app_id", appIdProblem);
  const domain = required(env[TOKEN_ENV.domain], TOKEN_ENV.domain, "the XMPP domain, config.js hosts.domain", domainProblem);
  const baseUrl = baseUrlFor(env[TOKEN_ENV.baseUrl], domain, TOKEN_ENV.baseUrl);
  const secret = env[TOKEN_ENV.secret];
  let pem = env[TOKEN_ENV.privateKey];
  const pemFile = env[TOKEN_ENV.privateKeyFile];
  let pemField: string = TOKEN_ENV.privateKey;
  if (pem === undefined && pemFile) {
    pemField = TOKEN_ENV.privateKeyFile;
    try {
      pem = await readFile(pemFile, "utf8");
    } catch (error) {
      // The reason (no such file, permission denied, a directory), never the file's content.
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a directory" : (code ?? "unreadable");
      throw new TokenConfigError(TOKEN_ENV.privateKeyFile, `cannot be read: ${JSON.stringify(pemFile)}: ${reason}`);
    }
  }
  if ((secret !== undefined) === (pem !== undefined)) {
    throw new TokenConfigError(TOKEN_ENV.secret, `set exactly one of ${TOKEN_ENV.secret} (HS256) or ${TOKEN_ENV.privateKey}/${TOKEN_ENV.privateKeyFile} (RS256)`);
  }
  if (secret !== undefined) return { appId, domain, baseUrl, algorithm: "HS256", secret: checkSecret(secret, TOKEN_ENV.secret), source: "env" };
  // One-line env values often carry the PEM with literal "\n".
  const privateKey = (pem as string).includes("\\n") ? (pem as string).replaceAll("\\n", "\n") : (pem as string);
  try {
    rsaPrivateKey(privateKey, pemField);
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^[^:]*: /, "") : "unusable";
    throw new TokenConfigError(pemField, pemField === TOKEN_ENV.privateKeyFile ? `${JSON.stringify(pemFile)}: ${reason}` : reason);
  }
  const kid = required(env[TOKEN_ENV.keyId], TOKEN_ENV.keyId, "the key id (kid) the key server publishes the public key under", keyIdProblem);
  return { appId, domain, baseUrl, algorithm: "RS256", privateKey, kid, source: "env" };
}

async function fromStack(stack: string, options: LoadTokenConfigOptions): Promise<TokenConfig> {
  if (!/^[A-Za-z0-9_./-]+$/.test(stack)) throw new TokenConfigError("--stack", "must be a stack name (letters, digits, '-', '_', '.', '/')");
  const runner = options.runner ?? execFileRunner;
  const cwd = options.cwd === undefined ? {} : { cwd: options.cwd };
  const result = await runner("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", stack], cwd);
  if (result.code !== 0) {
    // Pulumi's stderr names the problem (no such stack, not logged in, a CLI the npm package could not download);
    // it never holds output values.
    const reason = pulumiFailureMessage(result.stderr).split("\n").slice(0, 3).join(" ").slice(0, 600);
    throw new TokenConfigError("--stack", `pulumi stack output failed for ${stack}${reason ? `: ${reason}` : ""}`);
  }
  let outputs: Record<string, unknown>;
  try {
    outputs = JSON.parse(result.stdout) as Record<string, unknown>;
  } catch {
    throw new TokenConfigError("--stack", "pulumi stack output did not print JSON");
  }
  if (typeof outputs !== "object" || outputs === null) throw new TokenConfigError("--stack", "pulumi stack output did not print an object");
  const text = (name: string): string | undefined => (typeof outputs[name] === "string" ? (outputs[name] as string) : undefined);
  const appId = required(text(STACK_OUTPUTS.appId), `stack output ${STACK_OUTPUTS.appId}`, "Prosody app_id", appIdProblem);
  const domain = required(text(STACK_OUTPUTS.xmppDomain), `stack output ${STACK_OUTPUTS.xmppDomain}`, "the XMPP domain", domainProblem);
  const baseUrl = baseUrlFor(text(STACK_OUTPUTS.meetingUrl), domain, `stack output ${STACK_OUTPUTS.meetingUrl}`);
  const algorithm = text(STACK_OUTPUTS.tokenAlgorithm) ?? "HS256";
  const guest = text(STACK_OUTPUTS.guestDomain);
  const extra = guest ? { guestDomain: guest } : {};
  if (algorithm === "RS256") {
    // The stack does not export private keys; take the key from the environment.
    const rsa = await fromEnv({ ...(options.env ?? process.env), [TOKEN_ENV.appId]: appId, [TOKEN_ENV.domain]: domain, [TOKEN_ENV.baseUrl]: baseUrl, [TOKEN_ENV.secret]: undefined });
    return { ...rsa, ...extra, source: "stack" };
  }
  if (algorithm !== "HS256") throw new TokenConfigError(`stack output ${STACK_OUTPUTS.tokenAlgorithm}`, `is ${algorithm}; expected HS256 or RS256`);
  const field = `stack output ${STACK_OUTPUTS.appSecret}`;
  const secret = checkSecret(required(text(STACK_OUTPUTS.appSecret), field, "the app secret (a secret output)"), field);
  return { appId, domain, baseUrl, algorithm: "HS256", secret, ...extra, source: "stack" };
}

/**
 * Loads the signing config from a Pulumi stack's outputs (`options.stack`, through the pulumi CLI) or from the
 * environment (JITSI_*). Values follow the stack config's field rules (jitsi-jwt-token/shared), so a token is never
 * minted for a domain, app id or secret the deployment would refuse.
 *
 * @param options - `stack` and `cwd` to read a stack; `env` (default process.env); `runner` to replace the CLI.
 * @returns who signs (appId, domain, HS256 secret or RS256 private key + kid), the meeting base URL, the source.
 * @throws TokenConfigError naming the variable or stack output and what is allowed; never a secret's value.
 * @example
 * const config = await loadTokenConfig();                 // JITSI_APP_ID, JITSI_DOMAIN, JITSI_APP_SECRET
 * const fromStack = await loadTokenConfig({ stack: "dev" }); // pulumi stack output --json --show-secrets
 */
export async function loadTokenConfig(options: LoadTokenConfigOptions = {}): Promise<TokenConfig> {
  if (options.stack !== undefined) return fromStack(options.stack, options);
  return fromEnv(options.env ?? process.env);
}
