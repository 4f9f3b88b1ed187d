/**
 * Stack configuration → typed, validated settings.
 *
 * Validation is a pure function over the raw strings Pulumi hands us (`parseStackConfig`), so it can be tested
 * without an engine and runs before any resource exists: a wrong value stops the preview with one message that
 * names every bad key (`jitsi:domain`, `aws:region`, …) and says what is allowed. Secret values are never echoed.
 */
import { createPublicKey } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ConfigProblemsError, type ConfigProblem } from "./configProblems.ts";
import {
  BridgePoolConfigError,
  instanceArchitecture,
  parseVideobridgesConfig,
  VIDEOBRIDGES_KEY,
  type VideobridgesConfig,
} from "./bridgePoolConfig.ts";

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

/** Keys whose values must never appear in a message or a plain output. */
const SECRET_KEYS: ReadonlySet<ConfigKey> = new Set<ConfigKey>(["appSecret"]);

/** Defaults of the optional keys; the README's cost estimate is for exactly these. */
export const DEFAULTS = {
  instanceType: "t3.large",
  architecture: "x86_64",
  diskSizeGb: 20,
  letsEncryptStaging: false,
  appId: "jitsi",
  tokenAlgorithm: "HS256",
  guests: true,
  turn: true,
} as const;

export type Architecture = "x86_64" | "arm64";

/** Route53 zone given either by id (`Z0123…`) or by name (`example.com`). */
export type HostedZoneRef = { readonly zoneId: string } | { readonly zoneName: string };

/** Validated stack settings. `appSecret` is plain here; `readStackConfig` wraps it as a secret Output. */
export interface StackSettings {
  readonly domain: string;
  readonly hostedZone: HostedZoneRef;
  readonly region: string;
  readonly instanceType: string;
  readonly architecture: Architecture;
  readonly diskSizeGb: number;
  readonly letsEncryptEmail: string;
  readonly letsEncryptStaging: boolean;
  readonly appId: string;
  /** Undefined when not configured: the program then generates one with @pulumi/random (HS256 only). */
  readonly appSecret: string | undefined;
  readonly tokenAlgorithm: "HS256" | "RS256";
  /** RS256 only: PEM public keys by key id, served from the host for Prosody's key server. */
  readonly tokenPublicKeys: Readonly<Record<string, string>>;
  readonly guests: boolean;
  /** TURN relay (coturn) on the server for clients whose networks block UDP media. */
  readonly turn: boolean;
  readonly adminCidrs: readonly string[];
  readonly jitsiVersion: string;
  readonly vpcId: string | undefined;
  readonly subnetId: string | undefined;
  readonly sshPublicKey: string | undefined;
  /** Where CloudWatch alarms are mailed (infra/monitoring.ts); undefined: the alarms only recover/reboot. */
  readonly alarmEmail: string | undefined;
  /** Optional videobridge pool (validated by the pool's own rules in bridgePoolConfig.ts). */
  readonly videobridges: VideobridgesConfig | undefined;
}

/** Raw values as `pulumi.Config#get` returns them (strings; structured values arrive as JSON text). */
export type RawStackConfig = Partial<Record<ConfigKey | "aws:region", string>>;

// ---- value rules (each message says what is allowed) ----------------------------------------------------------

const LABEL = "(?!-)[a-z0-9-]{1,63}(?<!-)";
const FQDN_PATTERN = new RegExp(`^(?=.{4,253}$)(?:${LABEL}\\.)+[a-z][a-z0-9-]{0,62}(?<!-)$`);
const fqdn = z
  .string()
  .regex(FQDN_PATTERN, "must be a lower-case fully qualified domain name with at least two labels, like meet.example.com");

const zoneRef = z.union([
  z.string().regex(/^Z[A-Z0-9]{1,32}$/).transform((zoneId): HostedZoneRef => ({ zoneId })),
  z
    .string()
    .transform((name) => name.replace(/\.$/, ""))
    .pipe(z.string().regex(FQDN_PATTERN))
    .transform((zoneName): HostedZoneRef => ({ zoneName })),
], { error: "must be a Route53 hosted zone id (Z followed by capital letters and digits) or a public zone name like example.com" });

const region = z
  .string()
  .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/, "must be an AWS region name like eu-central-1");

const instanceType = z
  .string()
  .regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, "must be an EC2 instance type like t3.large or t4g.large");

const architecture = z.enum(["x86_64", "arm64"], { error: 'must be "x86_64" or "arm64"' });

const bool = z.enum(["true", "false"], { error: "must be true or false" }).transform((v) => v === "true");

const diskSizeGb = z
  .string()
  .regex(/^\d+$/, "must be a whole number of GiB between 10 and 1024")
  .transform(Number)
  .pipe(z.number().int().min(10, "must be at least 10 (GiB): Ubuntu plus Jitsi needs about 6").max(1024, "must be at most 1024 (GiB)"));

/** An e-mail address without whitespace, quotes or backslashes (also the component's `alarmEmail` check). */
export const EMAIL_PATTERN = /^[^\s@"'`\\]+@[^\s@"'`\\]+\.[a-z]{2,}$/i;
const email = z.string().regex(EMAIL_PATTERN, "must be an e-mail address like ops@example.com");

// Ends up in Prosody's Lua config, in JWT `iss` checks and in debconf: keep it to a safe alphabet.
const appId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");

// HS256 keys shorter than the hash output weaken HMAC (RFC 7518 §3.2); jitsi-meet-tokens' postinst also rejects
// / \ " ' ` in the secret.
const appSecret = z
  .string()
  .min(32, "must be at least 32 characters (HS256 needs a 256-bit key)")
  .max(512, "must be at most 512 characters")
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
  .refine((s) => !/[/\\"'`]/.test(s), "must not contain / \\ \" ' or ` (rejected by jitsi-meet-tokens)");

const tokenAlgorithm = z.enum(["HS256", "RS256"], { error: 'must be "HS256" or "RS256"' });

const jsonOf = <T extends z.ZodType>(schema: T, shape: string) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: `must be ${shape}` });
        return z.NEVER;
      }
    })
    .pipe(schema);

const IPV4_CIDR = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\/(3[0-2]|[12]?\d)$/;
const IPV6_CIDR = /^[0-9a-f:]*:[0-9a-f:]*\/(12[0-8]|1[01]\d|[1-9]?\d)$/i;
const cidr = z
  .string()
  .refine((c) => IPV4_CIDR.test(c) || IPV6_CIDR.test(c), "every entry must be a CIDR like 203.0.113.7/32")
  .refine((c) => !/^(0\.0\.0\.0|::)\/0$/.test(c), "must not open SSH to the whole internet; use your own address/32");
const adminCidrs = jsonOf(
  z.array(cidr, { error: 'must be a list of CIDRs, like ["203.0.113.7/32"]' }).min(1, "must list at least one CIDR: provisioning runs over SSH from your machine"),
  'a list of CIDRs, like ["203.0.113.7/32"] (set it with `pulumi config set --path adminCidrs[0] 203.0.113.7/32`)',
);

function keyType(pem: string): string | undefined {
  try {
    return createPublicKey(pem).asymmetricKeyType;
  } catch {
    return undefined;
  }
}

const PEM_PUBLIC_KEY = /^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----\s*$/;
const tokenPublicKeys = jsonOf(
  z.record(
    z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, "key ids must be 1-128 letters, digits, '.', '_' or '-'"),
    z
      .string()
      .regex(PEM_PUBLIC_KEY, 'values must be PEM public keys ("-----BEGIN PUBLIC KEY-----" …)')
      // RS256 verifies with RSA only; an EC or Ed25519 key would be served but never match a signature.
      .refine((pem) => keyType(pem) === "rsa", "values must be RSA public keys (RS256 verifies with RSA only)"),
    { error: "must be a map from key id to PEM public key" },
  ),
  "a map from key id to PEM public key (set it with `pulumi config set --path 'tokenPublicKeys.mykid' -- \"$(cat pub.pem)\"`)",
);

// A Debian package version as apt accepts it after `=`, e.g. 2.0.10184-1.
const jitsiVersion = z
  .string()
  .regex(/^(\d+:)?\d[A-Za-z0-9.+~]*(-[A-Za-z0-9.+~]+)?$/, "must be a jitsi-meet package version like 2.0.10184-1 (see `apt-cache madison jitsi-meet`)");

const vpcId = z.string().regex(/^vpc-[0-9a-f]{8,17}$/, "must be a VPC id like vpc-0123456789abcdef0");
const subnetId = z.string().regex(/^subnet-[0-9a-f]{8,17}$/, "must be a subnet id like subnet-0123456789abcdef0");
const sshPublicKey = z
  .string()
  .regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+=* ?[^\n]*$/, "must be one OpenSSH public key line like `ssh-ed25519 AAAA… you@host`");

// ---- parsing ----------------------------------------------------------------------------------------------------

export type { ConfigProblem };

/** Thrown for invalid stack configuration; keys are fully qualified (`jitsi:domain`, `aws:region`). */
export class StackConfigError extends ConfigProblemsError {
  constructor(problems: readonly ConfigProblem[]) {
    super("Invalid stack configuration (fix with `pulumi config set <key> <value>`):", problems);
  }
}

const qualified = (key: ConfigKey | "aws:region") => (key.includes(":") ? key : `${CONFIG_NAMESPACE}:${key}`);

/** Validates raw stack config. Pure; throws `StackConfigError` naming every bad key. */
export function parseStackConfig(raw: RawStackConfig): StackSettings {
  const problems: ConfigProblem[] = [];

  function take<T>(key: ConfigKey | "aws:region", schema: z.ZodType<T>, fallback?: T): T | undefined {
    const value = raw[key];
    if (value === undefined || value === "") return fallback;
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    const message = result.error.issues[0]?.message ?? "is not valid";
    const shown = SECRET_KEYS.has(key as ConfigKey) ? "" : ` (got ${JSON.stringify(value)})`;
    problems.push({ key: qualified(key), message: message + shown });
    return undefined;
  }
  function requireKey<T>(key: ConfigKey | "aws:region", schema: z.ZodType<T>, hint: string): T | undefined {
    if (raw[key] === undefined || raw[key] === "") {
      problems.push({ key: qualified(key), message: `is required: ${hint}` });
      return undefined;
    }
    return take(key, schema);
  }

  const domain = requireKey("domain", fqdn, "the public name of the meeting server, like meet.example.com");
  const hostedZone = requireKey("hostedZone", zoneRef, "the Route53 zone (id or name) that holds the domain");
  const awsRegion = requireKey("aws:region", region, "the AWS region to deploy to, like eu-central-1");
  const type = take("instanceType", instanceType, DEFAULTS.instanceType);
  const arch = take("architecture", architecture, DEFAULTS.architecture);
  const disk = take("diskSizeGb", diskSizeGb, DEFAULTS.diskSizeGb);
  const leEmail = requireKey("letsEncryptEmail", email, "the contact address for the Let's Encrypt account");
  const leStaging = take("letsEncryptStaging", bool, DEFAULTS.letsEncryptStaging);
  const id = take("appId", appId, DEFAULTS.appId);
  const secret = take("appSecret", appSecret);
  const algorithm = take("tokenAlgorithm", tokenAlgorithm, DEFAULTS.tokenAlgorithm);
  const publicKeys = take("tokenPublicKeys", tokenPublicKeys, {});
  const guestsOn = take("guests", bool, DEFAULTS.guests);
  const turnOn = take("turn", bool, DEFAULTS.turn);
  const cidrs = requireKey("adminCidrs", adminCidrs, 'the addresses allowed to SSH in (include the machine running pulumi), like ["203.0.113.7/32"]');
  const version = requireKey("jitsiVersion", jitsiVersion, "the jitsi-meet package version to install, like 2.0.10184-1");
  const vpc = take("vpcId", vpcId);
  const subnet = take("subnetId", subnetId);
  const sshKey = take("sshPublicKey", sshPublicKey);
  const alarmEmail = take("alarmEmail", email);

  // Rules that span keys.
  if (domain !== undefined && hostedZone !== undefined && "zoneName" in hostedZone) {
    if (domain !== hostedZone.zoneName && !domain.endsWith(`.${hostedZone.zoneName}`)) {
      problems.push({ key: qualified("hostedZone"), message: `must be the zone that contains ${domain} (got "${hostedZone.zoneName}")` });
    }
  }
  if (type !== undefined && arch !== undefined && instanceArchitecture(type) !== arch) {
    problems.push({
      key: qualified("architecture"),
      message: `must match jitsi:instanceType: ${type} is ${instanceArchitecture(type)} (got "${arch}")`,
    });
  }
  let videobridges: VideobridgesConfig | undefined;
  try {
    videobridges = parseVideobridgesConfig(raw[VIDEOBRIDGES_KEY]);
  } catch (error) {
    if (!(error instanceof BridgePoolConfigError)) throw error;
    problems.push(...error.problems.map((p) => ({ key: `${CONFIG_NAMESPACE}:${p.key}`, message: p.message })));
  }
  if (algorithm === "RS256") {
    if (publicKeys !== undefined && Object.keys(publicKeys).length === 0 && raw.tokenPublicKeys === undefined) {
      problems.push({ key: qualified("tokenPublicKeys"), message: "is required when jitsi:tokenAlgorithm is RS256: a map from key id to PEM public key" });
    } else if (publicKeys !== undefined && Object.keys(publicKeys).length === 0) {
      problems.push({ key: qualified("tokenPublicKeys"), message: "must hold at least one key when jitsi:tokenAlgorithm is RS256" });
    }
    if (raw.appSecret !== undefined) {
      problems.push({ key: qualified("appSecret"), message: "must not be set when jitsi:tokenAlgorithm is RS256 (tokens are verified with jitsi:tokenPublicKeys)" });
    }
  } else if (algorithm === "HS256" && raw.tokenPublicKeys !== undefined) {
    problems.push({ key: qualified("tokenPublicKeys"), message: "is only used with jitsi:tokenAlgorithm RS256; remove it or switch the algorithm" });
  }
  if (vpc !== undefined && subnet === undefined && raw.subnetId === undefined) {
    problems.push({ key: qualified("subnetId"), message: "is required when jitsi:vpcId is set: the public subnet of that VPC to put the server in" });
  }

  if (problems.length > 0) throw new StackConfigError(problems);
  // Every required value is defined here, otherwise a problem was recorded above.
  return {
    domain: domain!,
    hostedZone: hostedZone!,
    region: awsRegion!,
    instanceType: type!,
    architecture: arch!,
    diskSizeGb: disk!,
    letsEncryptEmail: leEmail!,
    letsEncryptStaging: leStaging!,
    appId: id!,
    appSecret: secret,
    tokenAlgorithm: algorithm!,
    tokenPublicKeys: publicKeys ?? {},
    guests: guestsOn!,
    turn: turnOn!,
    adminCidrs: cidrs!,
    jitsiVersion: version!,
    vpcId: vpc,
    subnetId: subnet,
    sshPublicKey: sshKey,
    alarmEmail,
    videobridges,
  };
}

/** Reads this stack's config through Pulumi and validates it. Throws `StackConfigError` before any resource exists. */
export function readStackConfig(): StackSettings {
  const own = new pulumi.Config(CONFIG_NAMESPACE);
  const raw: RawStackConfig = { "aws:region": new pulumi.Config("aws").get("region") };
  for (const key of CONFIG_KEYS) {
    // `get` (not `getSecret`) because validation needs the plain value; callers wrap appSecret in pulumi.secret.
    const value = own.get(key);
    if (value !== undefined) raw[key] = value;
  }
  return parseStackConfig(raw);
}
