/**
 * The stack reader: a thin adapter from Pulumi config (`jitsi:*`, `aws:region`) to `JitsiServerArgs`.
 *
 * It owns only what is about the config format: which keys exist (a misspelled key is refused, not ignored),
 * strings into booleans, numbers and lists, required keys with a hint, keys that only make sense together, and
 * that `appSecret` is stored as a secret. Every field rule is the component's own (`settleJitsiServerArgs`, built on
 * jitsi-jwt-token/shared), reported here under the stack key (`jitsi:letsEncryptEmail`, `jitsi:adminCidrs[1]`).
 * Runs before any resource exists; secret values are never echoed.
 */
import * as pulumi from "@pulumi/pulumi";
import { regionProblem, type Problem } from "jitsi-jwt-token/shared";
import { VIDEOBRIDGES_KEY } from "./bridges/config.ts";
import { ConfigProblemsError } from "./configProblems.ts";
import { DEFAULTS, settleJitsiServerArgs, JitsiServerArgsError, type JitsiServerArgs, type SettledJitsiServerArgs } from "./jitsiServerArgs.ts";

export { DEFAULTS };

/** Pulumi config namespace of this project (`name:` in Pulumi.yaml). */
export const CONFIG_NAMESPACE = "jitsi";

/** Every key this program reads from its own namespace, in the order Pulumi.yaml documents them. */
export const CONFIG_KEYS = [
  "domain",
  "hostedZone",
  "instanceType",
  "architecture",
  "diskSizeGb",
  "letsEncryptEmail",
  "letsEncryptStaging",
  "appId",
  "appSecret",
  "tokenAlgorithm",
  "tokenPublicKeys",
  "guests",
  "turn",
  "adminCidrs",
  "jitsiVersion",
  "vpcId",
  "subnetId",
  "sshPublicKey",
  "alarmEmail",
  VIDEOBRIDGES_KEY,
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

/** Keys that must be stored as secrets (`pulumi config set --secret`); Pulumi.yaml declares them `secret: true`. */
export const SECRET_KEYS: readonly ConfigKey[] = ["appSecret"];

/** The stack's config as `pulumi.runtime.allConfig()` returns it: full keys (`jitsi:domain`) to strings (JSON for structured values). */
export type RawStackConfig = Readonly<Record<string, string>>;

/** What the program needs from a stack: its region and the component's arguments (validated). */
export interface StackConfig {
  readonly region: string;
  /** The arguments for `new JitsiServer(...)`; `token.appSecret` is plain here, the component wraps it as a secret. */
  readonly server: JitsiServerArgs;
  /** The same arguments with every default settled. */
  readonly settled: SettledJitsiServerArgs;
}

/** Thrown for invalid stack configuration; each problem's path is the stack key (`jitsi:domain`, `aws:region`). */
export class StackConfigError extends ConfigProblemsError {
  constructor(problems: readonly Problem[]) {
    super("Invalid stack configuration (fix with `pulumi config set <key> <value>`):", problems);
  }
}

const REGION_KEY = "aws:region";
const qualified = (key: string) => (key.includes(":") ? key : `${CONFIG_NAMESPACE}:${key}`);

/** Argument field → stack key, for the fields whose names differ (longest first). */
const KEY_OF_FIELD: readonly [string, ConfigKey][] = [
  ["letsEncrypt.staging", "letsEncryptStaging"],
  ["letsEncrypt.email", "letsEncryptEmail"],
  ["letsEncrypt", "letsEncryptEmail"],
  ["token.algorithm", "tokenAlgorithm"],
  ["token.appSecret", "appSecret"],
  ["token.publicKeys", "tokenPublicKeys"],
  ["token.appId", "appId"],
  ["token", "appId"],
];

/** `letsEncrypt.email` → `jitsi:letsEncryptEmail`; `adminCidrs[1]` → `jitsi:adminCidrs[1]`. */
function stackKeyOf(path: string): string {
  for (const [field, key] of KEY_OF_FIELD) {
    if (path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`)) return qualified(key + path.slice(field.length));
  }
  return qualified(path);
}

/** The key a stack path belongs to, for ordering and de-duplication (`jitsi:adminCidrs[1]` → adminCidrs). */
function keyOfPath(path: string): string {
  return path.replace(/^jitsi:/, "").split(/[.[]/)[0] ?? path;
}

const REQUIRED: Partial<Record<ConfigKey | typeof REGION_KEY, string>> = {
  domain: "the public name of the meeting server, like meet.example.com",
  hostedZone: "the Route53 zone (id or name) that holds the domain",
  [REGION_KEY]: "the AWS region to deploy to, like eu-central-1",
  letsEncryptEmail: "the contact address for the Let's Encrypt account",
  adminCidrs: 'the addresses allowed to SSH in (include the machine running pulumi), like ["203.0.113.7/32"]',
  jitsiVersion: "the jitsi-meet package version to install, like 2.0.11248-1",
};

/**
 * Validates a stack's config and turns it into `JitsiServerArgs`. Pure.
 *
 * @param config - full keys to string values, as `pulumi.runtime.allConfig()` returns them.
 * @param secretKeys - the keys Pulumi holds as secrets (`appSecret` must be one of them when set).
 * @returns the region and the component's arguments, validated by the component's own rules.
 * @throws StackConfigError naming every bad key (`jitsi:domain: must not end with a dot: write …`), values of
 *   secret keys never shown.
 */
export function parseStackConfig(config: RawStackConfig, secretKeys: readonly string[] = []): StackConfig {
  const problems: Problem[] = [];
  const report = (key: string, message: string, value?: string) => {
    const shown = value === undefined || (SECRET_KEYS as readonly string[]).includes(key) ? "" : ` (got ${JSON.stringify(value)})`;
    problems.push({ path: qualified(key), message: message + shown });
  };
  /** The value of a key, or undefined when unset or empty (Pulumi.yaml's empty defaults mean "not set"). */
  const value = (key: ConfigKey | typeof REGION_KEY): string | undefined => {
    const v = config[qualified(key)];
    return v === undefined || v === "" ? undefined : v;
  };

  // Keys: unknown ones (a misspelling would otherwise be ignored silently), required ones, secret ones.
  const known = new Set<string>(CONFIG_KEYS.map(qualified));
  for (const key of Object.keys(config)) {
    if (!key.startsWith(`${CONFIG_NAMESPACE}:`) || known.has(key)) continue;
    const near = CONFIG_KEYS.find((k) => k.toLowerCase() === key.slice(CONFIG_NAMESPACE.length + 1).toLowerCase());
    problems.push({
      path: key,
      message: `is not a key of this program${near === undefined ? "" : ` (did you mean ${qualified(near)}?)`}; known keys: ${CONFIG_KEYS.join(", ")} (remove it with \`pulumi config rm ${key}\`)`,
    });
  }
  for (const [key, hint] of Object.entries(REQUIRED)) {
    if (value(key as ConfigKey) === undefined) report(key, `is required: ${hint}`);
  }
  const region = value(REGION_KEY);
  const regionWrong = region === undefined ? undefined : regionProblem(region);
  if (regionWrong !== undefined) report(REGION_KEY, regionWrong, region);
  for (const key of SECRET_KEYS) {
    if (value(key) !== undefined && !secretKeys.includes(qualified(key))) {
      report(key, `is stored in plain text: set it with \`pulumi config set --secret ${key} …\` (Pulumi.yaml declares it secret)`);
    }
  }

  // Formats: booleans, whole numbers, JSON lists and maps.
  const bool = (key: ConfigKey): boolean | undefined => {
    const v = value(key);
    if (v === undefined || v === "true" || v === "false") return v === undefined ? undefined : v === "true";
    report(key, "must be true or false", v);
    return undefined;
  };
  const json = (key: ConfigKey, shape: string, ok: (parsed: unknown) => boolean): unknown => {
    const v = value(key);
    if (v === undefined) return undefined;
    try {
      const parsed = JSON.parse(v) as unknown;
      if (ok(parsed)) return parsed;
    } catch {
      // reported below
    }
    report(key, `must be ${shape}`, v);
    return undefined;
  };
  const disk = value("diskSizeGb");
  let diskSizeGb: number | undefined;
  if (disk !== undefined) {
    if (/^\d+$/.test(disk)) diskSizeGb = Number(disk);
    else report("diskSizeGb", "must be a whole number of GiB between 10 and 1024", disk);
  }
  const algorithm = value("tokenAlgorithm") ?? DEFAULTS.tokenAlgorithm;
  if (algorithm !== "HS256" && algorithm !== "RS256") report("tokenAlgorithm", 'must be "HS256" or "RS256"', algorithm);
  const adminCidrs = json(
    "adminCidrs",
    'a list of CIDR blocks, like ["203.0.113.7/32"] (set it with `pulumi config set --path adminCidrs[0] 203.0.113.7/32`)',
    (parsed) => Array.isArray(parsed),
  );
  const publicKeys = json(
    "tokenPublicKeys",
    "a map from key id to PEM public key (set it with `pulumi config set --path 'tokenPublicKeys.mykid' -- \"$(cat pub.pem)\"`)",
    (parsed) => typeof parsed === "object" && parsed !== null && !Array.isArray(parsed),
  );

  // Keys that only make sense together.
  if (algorithm === "RS256") {
    if (value("tokenPublicKeys") === undefined) report("tokenPublicKeys", "is required when jitsi:tokenAlgorithm is RS256: a map from key id to PEM public key");
    if (value("appSecret") !== undefined) report("appSecret", "must not be set when jitsi:tokenAlgorithm is RS256 (tokens are verified with jitsi:tokenPublicKeys)");
  } else if (value("tokenPublicKeys") !== undefined) {
    report("tokenPublicKeys", "is only used with jitsi:tokenAlgorithm RS256; remove it or switch the algorithm");
  }

  const hostedZone = value("hostedZone");
  const appId = value("appId") ?? DEFAULTS.appId;
  const server = {
    domain: value("domain"),
    hostedZone: hostedZone === undefined ? undefined : /^Z[A-Z0-9]+$/.test(hostedZone) ? { zoneId: hostedZone } : { zoneName: hostedZone },
    instanceType: value("instanceType"),
    architecture: value("architecture"),
    diskSizeGb,
    letsEncrypt: { email: value("letsEncryptEmail"), staging: bool("letsEncryptStaging") },
    token: algorithm === "RS256" ? { algorithm, appId, publicKeys: publicKeys ?? {} } : { algorithm: "HS256", appId, appSecret: value("appSecret") },
    guests: bool("guests"),
    turn: bool("turn"),
    adminCidrs,
    jitsiVersion: value("jitsiVersion"),
    vpcId: value("vpcId"),
    subnetId: value("subnetId"),
    sshPublicKey: value("sshPublicKey"),
    alarmEmail: value("alarmEmail"),
    videobridges: value(VIDEOBRIDGES_KEY),
  } as unknown as JitsiServerArgs;

  // The field rules: the component's own, each problem under its stack key. A key already reported above keeps
  // that (more specific) message.
  let settled: SettledJitsiServerArgs | undefined;
  try {
    settled = settleJitsiServerArgs(server);
  } catch (error) {
    if (!(error instanceof JitsiServerArgsError)) throw error;
    const reported = new Set(problems.map((p) => keyOfPath(p.path)));
    for (const problem of error.problems) {
      const path = stackKeyOf(problem.path);
      if (!reported.has(keyOfPath(path))) problems.push({ path, message: problem.message.replace(/\bmust match instanceType\b/, "must match jitsi:instanceType").replace(/\bwhen vpcId is set\b/, "when jitsi:vpcId is set") });
    }
  }

  if (problems.length > 0) {
    const order = (path: string) => (path === REGION_KEY ? -1 : CONFIG_KEYS.indexOf(keyOfPath(path) as ConfigKey));
    throw new StackConfigError([...problems].sort((a, b) => order(a.path) - order(b.path)));
  }
  // With no problem recorded, settleJitsiServerArgs returned and aws:region is set.
  return { region: value(REGION_KEY)!, server, settled: settled! };
}

/** Which keys the Pulumi runtime holds as secrets. @internal SDK function; present since 3.x, checked by the tests. */
function runtimeSecretKeys(config: RawStackConfig): string[] {
  const isSecret = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
  if (isSecret === undefined) throw new Error("@pulumi/pulumi no longer offers runtime.isConfigSecret; the stack reader cannot tell secret keys");
  return Object.keys(config).filter((key) => isSecret(key));
}

/**
 * Reads this stack's config from the Pulumi runtime (a `pulumi up`, the mocks, or the render command's
 * `runtime.setAllConfig`) and validates it.
 *
 * @returns the region and the component's arguments.
 * @throws StackConfigError before any resource exists.
 */
export function readStackConfig(): StackConfig {
  const config = pulumi.runtime.allConfig();
  return parseStackConfig(config, runtimeSecretKeys(config));
}
