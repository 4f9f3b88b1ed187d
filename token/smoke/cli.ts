/**
 * `jitsi-token smoke`: runs the smoke test against a deployment and prints the report. Signing material comes
 * from the environment (JITSI_*) or a Pulumi stack (--stack), never from a flag. Exit 0 when every step
 * passed, 1 when any failed, 2 for usage or configuration errors.
 */
import { readFile, writeFile } from "node:fs/promises";
import { isTenant } from "../shared/names.ts";
import { loadTokenConfig, TokenConfigError } from "../config.ts";
import { EXIT_CODES, readArgs, UsageError } from "../shared/cli.ts";
import { baseUrl } from "./discover.ts";
import { DEFAULT_PROMOTION_WAIT_MS, DEFAULT_TIMEOUT_MS, runSmokeTest, type SmokeOptions } from "./index.ts";
import { parseResolvePins } from "./network.ts";
import { formatJson, formatJunit, formatText } from "./report.ts";

/** The project's exit-code table (token/shared/cli.ts): 0 every step passed, 1 a step failed, 2 usage or configuration. */
export const SMOKE_EXIT = EXIT_CODES;

const SMOKE_HELP = `Usage: jitsi-token smoke [--url https://meet.example.com] [options]

Checks a deployed Jitsi over its public HTTPS port: certificate and /config.js; a moderator token opens a fresh
room as moderator; a non-moderator token joins as participant; a guest (if enabled) cannot open a room alone and
joins as participant once the host is in; wrong-key, expired, other-room and missing tokens are refused, with
the server's own reason.

  --url URL            the deployment's public URL (default JITSI_BASE_URL or the stack's meetingUrl)
  --tenant NAME        run in https://HOST/NAME/ (tokens with sub NAME); adds the case "a token for the same
                       room in another tenant is refused"
  --stack NAME         read signing config from this Pulumi stack's outputs (else JITSI_* environment)
  --cwd DIR            Pulumi project directory for --stack
  --json               print the report as JSON
  --junit FILE         also write a JUnit XML report (one test case per step)
  --timeout SECONDS    total budget (default ${DEFAULT_TIMEOUT_MS / 1000})
  --promotion-wait SECONDS
                       how long to wait for a later promotion to moderator (default ${DEFAULT_PROMOTION_WAIT_MS / 1000})
  --ca FILE            extra trusted CA certificate (PEM), e.g. a staging CA
  --resolve HOST:IP    connect to IP for HOST (repeatable), e.g. before DNS has propagated
  --turn               also check TURN: credentials over XMPP (XEP-0215), a relay over TLS on the HTTPS port
                       (turn.<domain>, pinned like the site's name when only that is given to --resolve)
Environment: JITSI_APP_ID, JITSI_DOMAIN, JITSI_APP_SECRET (HS256) or JITSI_PRIVATE_KEY[_FILE] + JITSI_KEY_ID
(RS256), JITSI_BASE_URL.
Exit codes: 0 all steps passed, 1 a step failed, 2 usage or configuration error.`;

export interface SmokeCliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
}

const defaultIo: SmokeCliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
};

function seconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new UsageError(`${flag} must be a number of seconds between 0 and 3600 (got ${JSON.stringify(value)})`);
  return Math.round(n * 1000);
}

async function options(argv: string[], io: SmokeCliIo): Promise<{ smoke: SmokeOptions; json: boolean; junit?: string } | "help"> {
  const { values: raw } = readArgs(argv, {
    url: { type: "string" },
    tenant: { type: "string" },
    stack: { type: "string" },
    cwd: { type: "string" },
    json: { type: "boolean" },
    junit: { type: "string" },
    timeout: { type: "string" },
    "promotion-wait": { type: "string" },
    ca: { type: "string" },
    resolve: { type: "string", multiple: true },
    turn: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  const values = raw as {
    url?: string;
    tenant?: string;
    stack?: string;
    cwd?: string;
    json?: boolean;
    junit?: string;
    timeout?: string;
    "promotion-wait"?: string;
    ca?: string;
    resolve?: string[];
    turn?: boolean;
    help?: boolean;
  };
  if (values.help) return "help";
  const config = await loadTokenConfig({
    env: io.env,
    ...(values.stack === undefined ? {} : { stack: values.stack }),
    ...(values.cwd === undefined ? {} : { cwd: values.cwd }),
  });
  const url = values.url ?? config.baseUrl;
  try {
    baseUrl(url);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const smoke: SmokeOptions = { url, signing: config, ...(values.turn === true ? { turn: true } : {}) };
  if (values.tenant !== undefined) {
    if (!isTenant(values.tenant)) throw new UsageError("--tenant must be letters, digits and inner hyphens (one DNS label, at most 63 characters)");
    smoke.tenant = values.tenant;
  }
  const timeoutMs = seconds(values.timeout, "--timeout");
  if (timeoutMs !== undefined) smoke.timeoutMs = timeoutMs;
  const promotionWaitMs = seconds(values["promotion-wait"], "--promotion-wait");
  if (promotionWaitMs !== undefined) smoke.promotionWaitMs = promotionWaitMs;
  if (values.ca !== undefined) {
    try {
      smoke.ca = await readFile(values.ca, "utf8");
    } catch {
      throw new UsageError(`--ca ${values.ca}: cannot be read`);
    }
    if (!smoke.ca.includes("-----BEGIN CERTIFICATE-----")) throw new UsageError(`--ca ${values.ca}: not a PEM certificate`);
  }
  if (values.resolve !== undefined) {
    try {
      smoke.resolve = parseResolvePins(values.resolve);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  return { smoke, json: values.json === true, ...(values.junit === undefined ? {} : { junit: values.junit }) };
}

/**
 * Runs `jitsi-token smoke`.
 *
 * @param argv - the arguments after `smoke`.
 * @param io - output and the environment the signing config is read from.
 * @returns 0 when every step passed, 1 when one failed, 2 for usage or configuration errors (SMOKE_EXIT).
 */
export async function runSmokeCli(argv: string[], io: SmokeCliIo = defaultIo): Promise<number> {
  let parsed;
  try {
    parsed = await options(argv, io);
  } catch (error) {
    if (error instanceof UsageError || error instanceof TokenConfigError) {
      io.err(`jitsi-token smoke: ${error.message}`);
      return SMOKE_EXIT.usage;
    }
    throw error;
  }
  if (parsed === "help") {
    io.out(SMOKE_HELP);
    return SMOKE_EXIT.ok;
  }
  const report = await runSmokeTest(parsed.smoke);
  io.out(parsed.json ? formatJson(report) : formatText(report));
  if (parsed.junit !== undefined) {
    try {
      await writeFile(parsed.junit, formatJunit(report));
    } catch (error) {
      io.err(`jitsi-token smoke: --junit ${parsed.junit}: ${(error as Error).message}`);
      return SMOKE_EXIT.usage;
    }
  }
  return report.ok ? SMOKE_EXIT.ok : SMOKE_EXIT.failed;
}
