/**
 * jitsi-token CLI: mint | url | verify | explain | smoke. Key material comes only from the environment (JITSI_*)
 * or a Pulumi stack (--stack), never from a flag, so it cannot leak into shell history or `ps`.
 * Exit codes: 0 ok, 1 rejected or invalid, 2 usage error.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { loadTokenConfig, TokenConfigError, type TokenConfig } from "./config.ts";
import { explainToken } from "./explain.ts";
import { isJitsiFeature, JITSI_FEATURES, type FeatureFlags } from "./features.ts";
import type { HostProfile } from "./explainTypes.ts";
import { KeyError } from "./keys.ts";
import { meetingUrl, MeetingUrlError, type TokenPlacement } from "./meetingUrl.ts";
import { mintToken } from "./mint.ts";
import { TokenOptionsError, type MintTokenOptions } from "./options.ts";
import { RoomNameError } from "./roomName.ts";
import { EXIT_CODES, readArgs, UsageError, type ArgValues, type OptionsConfig } from "./shared/cli.ts";
import { TokenVerificationError, verifyToken } from "./verify.ts";

/** The project's exit-code table (token/shared/cli.ts): 0 ok, 1 rejected, 2 usage or configuration. */
const EXIT_OK = EXIT_CODES.ok;
const EXIT_REJECTED = EXIT_CODES.failed;
const EXIT_USAGE = EXIT_CODES.usage;

type Options = OptionsConfig;

const CONFIG_OPTIONS: Options = {
  stack: { type: "string" },
  cwd: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

const MINT_OPTIONS: Options = {
  ...CONFIG_OPTIONS,
  room: { type: "string" },
  "user-id": { type: "string" },
  "user-name": { type: "string" },
  email: { type: "string" },
  avatar: { type: "string" },
  moderator: { type: "boolean" },
  feature: { type: "string", multiple: true },
  group: { type: "string" },
  tenant: { type: "string" },
  ttl: { type: "string" },
  audience: { type: "string" },
  "lobby-bypass": { type: "boolean" },
  "security-bypass": { type: "boolean" },
  "all-rooms": { type: "boolean" },
};

const URL_OPTIONS: Options = { ...MINT_OPTIONS, base: { type: "string" }, "token-in": { type: "string" }, config: { type: "string", multiple: true } };

const CHECK_OPTIONS: Options = { ...CONFIG_OPTIONS, room: { type: "string" }, tenant: { type: "string" }, audience: { type: "string" } };

const EXPLAIN_OPTIONS: Options = { ...CHECK_OPTIONS, "domain-verification": { type: "string" }, "allow-empty-token": { type: "boolean" }, at: { type: "string" } };

const CONFIG_HELP = `Configuration (secrets are never accepted as flags):
  --stack NAME   read the Pulumi stack's outputs (runs \`pulumi stack output --json --show-secrets\`)
  --cwd DIR      the Pulumi project directory for --stack (default: .)
  otherwise the environment: JITSI_APP_ID, JITSI_DOMAIN, JITSI_APP_SECRET (HS256)
  or JITSI_PRIVATE_KEY / JITSI_PRIVATE_KEY_FILE + JITSI_KEY_ID (RS256), optional JITSI_BASE_URL
  --json         machine-readable output
Exit codes: 0 ok, 1 rejected (the token failed a check), 2 usage or configuration error.`;

const MINT_HELP_FLAGS = `  --room NAME            room name, normalised to the node the web client joins (never the wildcard)
  --all-rooms            mint: a token for every room (room claim "*"), instead of --room
  --user-id ID           the user's stable id (required)
  --user-name NAME       display name (required)
  --email ADDR, --avatar URL, --group ID, --tenant NAME, --audience AUD
  --moderator            context.user.moderator "true" + affiliation "owner"
  --feature NAME[=BOOL]  repeatable; known Jitsi features only
  --ttl SECONDS          lifetime (default 7200, max 86400)
  --lobby-bypass, --security-bypass`;

const HELP: Record<string, string> = {
  main: `Usage: jitsi-token <command> [options]

Commands:
  mint      print a meeting token
  url       print a meeting link carrying a fresh token
  verify    verify a token locally (signature, typ, alg, exp/nbf, iss, sub, room)
  explain   replay the server's checks on a token and give its verdict for login and for joining a room
  smoke     end-to-end check against a deployment (see: jitsi-token smoke --help)

Run jitsi-token <command> --help for its options.

${CONFIG_HELP}`,
  mint: `Usage: jitsi-token mint --room NAME --user-id ID --user-name NAME [options]

${MINT_HELP_FLAGS}

${CONFIG_HELP}`,
  url: `Usage: jitsi-token url --room NAME --user-id ID --user-name NAME [options]

${MINT_HELP_FLAGS}
  --base URL             public URL of the deployment (default JITSI_BASE_URL / stack meetingUrl)
  --token-in WHERE       hash (default), query or both
  --config KEY=JSON      repeatable config.js override, e.g. --config prejoinConfig='{"enabled":false}'

${CONFIG_HELP}`,
  verify: `Usage: jitsi-token verify TOKEN|- [--room NAME|LINK] [--tenant NAME] [--audience AUD]

Reads the token from the argument, or from stdin with "-". Exit 0 when valid, 1 when not.
--room takes a room name (as given to mint) or a whole meeting link; the room is the node the web client joins.

${CONFIG_HELP}`,
  explain: `Usage: jitsi-token explain TOKEN|- [--room NAME|LINK] [--tenant NAME] [options]

Lists every check Prosody and the web client make, in order, with the server's own rejection text,
and the verdict for login and (with --room) for joining the room. Exit 0 when both pass, 1 otherwise.
--room takes a room name (as given to mint) or a whole meeting link (its tenant included, so no --tenant);
the room is the node the web client derives from the link, as the browser would.
  --domain-verification on|off   the server's enable_domain_verification (default on)
  --allow-empty-token            the server's allow_empty_token
  --at ISO-TIME                  evaluate as of this time (default now)

${CONFIG_HELP}`,
};

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  readStdin: () => string;
}

const defaultIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  readStdin: () => readFileSync(0, "utf8"),
};

type Values = ArgValues;

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

function requireFlag(values: Values, name: string): string {
  const v = str(values, name);
  if (v === undefined || v === "") throw new UsageError(`--${name} is required`);
  return v;
}

async function config(values: Values): Promise<TokenConfig> {
  const stack = str(values, "stack");
  const cwd = str(values, "cwd");
  return loadTokenConfig({ ...(stack === undefined ? {} : { stack }), ...(cwd === undefined ? {} : { cwd }) });
}

function features(values: Values): FeatureFlags | undefined {
  const list = values.feature;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const flags: FeatureFlags = {};
  for (const item of list) {
    const [name = "", value = "true"] = String(item).split("=", 2);
    // Not echoed: whatever was typed may be a pasted secret. The known names are the help.
    if (!isJitsiFeature(name)) throw new UsageError(`--feature: not a known Jitsi feature name (known: ${JITSI_FEATURES.join(", ")})`);
    if (value !== "true" && value !== "false") throw new UsageError(`--feature ${name}: value must be true or false`);
    flags[name] = value === "true";
  }
  return flags;
}

function mintOptions(values: Values, cfg: TokenConfig): MintTokenOptions {
  const ttlText = str(values, "ttl");
  // Decimal digits only: Number() would also read "0x10" (16 s), "1e3" and " 60 ".
  if (ttlText !== undefined && !/^\d{1,9}$/.test(ttlText)) throw new UsageError("--ttl must be a whole number of seconds, in decimal digits");
  const ttl = ttlText === undefined ? undefined : Number(ttlText);
  const user = { id: requireFlag(values, "user-id"), name: requireFlag(values, "user-name"), ...(str(values, "email") ? { email: str(values, "email") } : {}), ...(str(values, "avatar") ? { avatar: str(values, "avatar") } : {}) };
  const f = features(values);
  const optional = {
    ...(str(values, "tenant") === undefined ? {} : { tenant: str(values, "tenant") }),
    ...(str(values, "group") === undefined ? {} : { group: str(values, "group") }),
    ...(str(values, "audience") === undefined ? {} : { audience: str(values, "audience") }),
    ...(ttl === undefined ? {} : { ttlSeconds: ttl }),
    ...(f === undefined ? {} : { features: f }),
  };
  if (values["all-rooms"] === true && str(values, "room") !== undefined) throw new UsageError("give --room or --all-rooms, not both");
  const signing = cfg.algorithm === "RS256" ? { privateKey: cfg.privateKey, kid: cfg.kid } : { secret: cfg.secret };
  return {
    appId: cfg.appId,
    domain: cfg.domain,
    ...signing,
    ...(values["all-rooms"] === true ? { allRooms: true } : { room: requireFlag(values, "room") }),
    user,
    moderator: values.moderator === true,
    lobbyBypass: values["lobby-bypass"] === true,
    securityBypass: values["security-bypass"] === true,
    ...optional,
  } as MintTokenOptions;
}

function claimsOf(token: string): unknown {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
}

/** verify and explain take one token (`--help` alone takes none). */
const TOKEN_ARGUMENT = { min: 0, max: 1, what: "the token, or - to read it from stdin" } as const;

function tokenArgument(positionals: string[], io: Io): string {
  if (positionals.length !== 1) throw new UsageError("give exactly one token (or - to read it from stdin)");
  const arg = positionals[0] as string;
  const token = arg === "-" ? io.readStdin().trim() : arg;
  if (token === "") throw new UsageError("the token is empty");
  return token;
}

/** `exp` (seconds since 1970) as an ISO time; beyond what a Date holds (±8.64e15 ms) as the number itself. */
function expiry(exp: number): string {
  const date = new Date(exp * 1000);
  return Number.isNaN(date.getTime()) ? `at ${exp} s after 1970 (later than any date can show)` : date.toISOString();
}

async function cmdMint(argv: string[], io: Io): Promise<number> {
  const { values } = readArgs(argv, MINT_OPTIONS);
  if (values.help) return help("mint", io);
  const cfg = await config(values);
  const token = await mintToken(mintOptions(values, cfg));
  io.out(values.json ? JSON.stringify({ token, claims: claimsOf(token) }) : token);
  return EXIT_OK;
}

async function cmdUrl(argv: string[], io: Io): Promise<number> {
  const { values } = readArgs(argv, URL_OPTIONS);
  if (values.help) return help("url", io);
  const tokenIn = str(values, "token-in") ?? "hash";
  if (!["hash", "query", "both"].includes(tokenIn)) throw new UsageError("--token-in must be hash, query or both");
  const overrides: Record<string, unknown> = {};
  for (const item of (values.config as string[] | undefined) ?? []) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`--config ${item}: expected KEY=JSON`);
    try {
      overrides[item.slice(0, eq)] = JSON.parse(item.slice(eq + 1));
    } catch {
      throw new UsageError(`--config ${item.slice(0, eq)}: the value is not JSON (quote strings: '"text"')`);
    }
  }
  const cfg = await config(values);
  const options = mintOptions(values, cfg);
  // A link names one room: url never mints a wildcard token.
  if (options.allRooms === true || options.room === undefined) throw new UsageError("--all-rooms: a link names one room; give --room");
  const token = await mintToken(options);
  const url = meetingUrl({
    base: str(values, "base") ?? cfg.baseUrl,
    room: options.room,
    token,
    tokenIn: tokenIn as TokenPlacement,
    ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
    ...(Object.keys(overrides).length === 0 ? {} : { config: overrides }),
  });
  io.out(values.json ? JSON.stringify({ url, token, claims: claimsOf(token) }) : url);
  return EXIT_OK;
}

async function cmdVerify(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = readArgs(argv, CHECK_OPTIONS, TOKEN_ARGUMENT);
  if (values.help) return help("verify", io);
  const token = tokenArgument(positionals, io);
  const cfg = await config(values);
  const key = cfg.algorithm === "RS256" ? { publicKey: cfg.privateKey as NonNullable<TokenConfig["privateKey"]> } : { secret: cfg.secret as string };
  const tenant = str(values, "tenant");
  const room = str(values, "room");
  const audience = str(values, "audience");
  try {
    const verified = await verifyToken(token, key, {
      appId: cfg.appId,
      sub: tenant === undefined ? [cfg.domain] : [tenant],
      ...(room === undefined ? {} : { room }),
      ...(audience === undefined ? {} : { audience }),
    });
    io.out(values.json ? JSON.stringify({ valid: true, header: verified.header, claims: verified.claims }) : `valid: room ${verified.claims.room}, sub ${verified.claims.sub}, expires ${expiry(verified.claims.exp)}`);
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof TokenVerificationError)) throw error;
    io.out(values.json ? JSON.stringify({ valid: false, check: error.check, error: error.message }) : `invalid: ${error.message}`);
    return EXIT_REJECTED;
  }
}

async function cmdExplain(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = readArgs(argv, EXPLAIN_OPTIONS, TOKEN_ARGUMENT);
  if (values.help) return help("explain", io);
  const token = tokenArgument(positionals, io);
  const dv = str(values, "domain-verification") ?? "on";
  if (dv !== "on" && dv !== "off") throw new UsageError("--domain-verification must be on or off");
  const at = str(values, "at");
  const now = at === undefined ? Date.now() : Date.parse(at);
  if (Number.isNaN(now)) throw new UsageError("--at must be an ISO date-time");
  const cfg = await config(values);
  const profile: HostProfile = {
    appId: cfg.appId,
    xmppDomain: cfg.domain,
    ...(cfg.algorithm === "RS256" && cfg.kid && cfg.privateKey ? { publicKeys: { [cfg.kid]: cfg.privateKey } } : { secret: cfg.secret as string }),
    enableDomainVerification: dv === "on",
    allowEmptyToken: values["allow-empty-token"] === true,
  };
  const room = str(values, "room");
  const tenant = str(values, "tenant");
  const result = explainToken(token, profile, { now, ...(room === undefined ? {} : { room }), ...(tenant === undefined ? {} : { tenant }) });
  const ok = result.login.ok && (result.join?.ok ?? true);
  if (values.json) {
    io.out(JSON.stringify({ ok, login: result.login, join: result.join, room: result.room, checks: [...result] }));
  } else {
    for (const f of result) io.out(`${f.ok ? "ok  " : "FAIL"} ${f.stage.padEnd(6)} ${f.check.padEnd(16)} ${f.detail}${f.serverText ? ` [server: "${f.serverText}"]` : ""}${f.fix ? `\n     fix: ${f.fix}` : ""}`);
    io.out(`login: ${result.login.ok ? "accepted" : `rejected${result.login.serverText ? ` ("${result.login.serverText}")` : ""}`}`);
    // The node, not the --room text: a pasted meeting link may carry the token in its fragment.
    if (result.join) io.out(`join ${result.room?.tenant ? `${result.room.tenant}/` : ""}${result.room?.node ?? ""}: ${result.join.ok ? "allowed" : `refused${result.join.serverText ? ` ("${result.join.serverText}")` : ""}`}`);
  }
  return ok ? EXIT_OK : EXIT_REJECTED;
}

async function cmdSmoke(argv: string[]): Promise<number> {
  // The smoke test lives in its own module (token/smoke/); loaded only when asked for.
  const specifier = "./smoke/cli.ts";
  let mod: { runSmokeCli?: (argv: string[]) => Promise<number> };
  try {
    mod = (await import(specifier)) as typeof mod;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw error;
    // The XMPP stack is an optional peer of the package: a plain install of jitsi-jwt-token does not bring it.
    if (/'(@xmpp\/[^']+|ws|acorn|@msimerson\/stun)'/.test((error as Error).message)) {
      throw new UsageError("the smoke test needs the optional packages @xmpp/client, ws, acorn and @msimerson/stun: npm install @xmpp/client ws acorn @msimerson/stun");
    }
    throw new UsageError("the smoke test is not available in this installation (smoke/cli.js is missing)");
  }
  if (typeof mod.runSmokeCli !== "function") throw new UsageError("token/smoke/cli.ts does not export runSmokeCli");
  return mod.runSmokeCli(argv);
}

function help(topic: string, io: Io): number {
  io.out(HELP[topic] ?? HELP.main ?? "");
  return EXIT_OK;
}

const COMMANDS: Record<string, (argv: string[], io: Io) => Promise<number>> = { mint: cmdMint, url: cmdUrl, verify: cmdVerify, explain: cmdExplain, smoke: cmdSmoke };

/** Errors that mean the invocation or the command's configuration must change (exit 2), each naming its field. */
const USAGE_ERRORS = [UsageError, TokenConfigError, TokenOptionsError, KeyError, RoomNameError, MeetingUrlError] as const;

/**
 * Runs the CLI.
 *
 * @param argv - the arguments after `jitsi-token`.
 * @param io - where output goes (tests pass their own).
 * @returns the exit code: 0 ok, 1 the token was rejected or a smoke step failed, 2 usage or configuration error.
 *   Errors are printed as one line naming the field, never a stack trace, never a positional argument.
 */
export async function runCli(argv: string[], io: Io = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    io.out(HELP.main ?? "");
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const run = COMMANDS[command];
  if (!run) {
    // Not repeated: a mistyped command line can put a token or secret first.
    io.err(`jitsi-token: unknown command (not repeated here); commands: ${Object.keys(COMMANDS).join(", ")}`);
    return EXIT_USAGE;
  }
  try {
    return await run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`jitsi-token ${command}: ${error.message}\nRun jitsi-token ${command} --help for usage.`);
      return EXIT_USAGE;
    }
    if (USAGE_ERRORS.some((type) => error instanceof type)) {
      io.err(`jitsi-token ${command}: ${(error as Error).message}`);
      return EXIT_USAGE;
    }
    io.err(`jitsi-token ${command}: unexpected failure (${error instanceof Error ? error.name : "error"})`);
    return EXIT_REJECTED;
  }
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(resolve(invokedPath)).href) {
  process.exitCode = await runCli(process.argv.slice(2));
}
