/**
 * `JitsiServerArgs` and the one function that validates them and settles their defaults. `JitsiServer` calls it
 * before it creates any child (as awsx's `Vpc` checks its args first); the stack reader (infra/config.ts) calls it
 * too and reports the same problems under the stack keys. Every field rule comes from jitsi-jwt-token/shared, the
 * rule set the renderer and the token config loader use as well. Pure: no resources, no engine.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  adminCidrProblem,
  appIdProblem,
  appSecretProblem,
  diskSizeProblem,
  domainProblem,
  emailProblem,
  instanceArchitecture,
  instanceTypeProblem,
  normalizeInstanceType,
  normalizeSshPublicKey,
  keyIdProblem,
  parseHostedZone,
  rsaPublicKeyProblem,
  sshPublicKeyProblem,
  subnetIdProblem,
  vpcIdProblem,
  type Architecture,
  type HostedZoneRef,
  type Problem,
  type Rule,
} from "jitsi-jwt-token/shared";
import { jitsiVersionProblem } from "./jitsiRelease.ts";
import { BridgePoolConfigError, parseVideobridgesConfig, type VideobridgesConfig } from "./bridges/config.ts";
import { ConfigProblemsError } from "./configProblems.ts";

export type { Architecture, HostedZoneRef };

/** Token settings: a shared secret (HS256) or public keys served from the host (RS256, Prosody's key server). */
export type JitsiTokenArgs =
  | {
      readonly algorithm: "HS256";
      /** JWT `iss` and Prosody's `app_id`: 1-64 letters, digits, '.', '_', '-'. */
      readonly appId: string;
      /**
       * Shared signing secret: 32-512 printable ASCII characters without / \ " ' `. Omitted: a 64-character one is
       * generated and kept secret. A plain string is checked now; an Output when it resolves (by the renderer).
       */
      readonly appSecret?: pulumi.Input<string>;
    }
  | {
      readonly algorithm: "RS256";
      readonly appId: string;
      /** PEM (SPKI) RSA public keys by key id (`kid`); Prosody fetches them from this host. */
      readonly publicKeys: Readonly<Record<string, string>>;
    };

/** A pool of extra bridge-only instances (see infra/bridges.ts); `spot` defaults to false, `keepLocalBridge` to true. */
export type JitsiVideobridgesArgs = Pick<VideobridgesConfig, "count" | "instanceType"> &
  Partial<Pick<VideobridgesConfig, "spot" | "keepLocalBridge">>;

export interface JitsiServerArgs {
  /** Public FQDN of the meeting server, also the main XMPP domain, e.g. `meet.example.com` (lower case, ASCII). */
  readonly domain: string;
  /** Route53 public hosted zone that holds `domain`. */
  readonly hostedZone: HostedZoneRef;
  /** EC2 instance type with at least 4 GiB. Default `t3.large` (2 vCPU, 8 GiB: Prosody, Jicofo, the bridge, nginx). */
  readonly instanceType?: string;
  /** CPU architecture; must match the instance type. Default `x86_64`. */
  readonly architecture?: Architecture;
  /** Root volume (encrypted gp3) size in GiB, 10-1024. Default 20. */
  readonly diskSizeGb?: number;
  /** Let's Encrypt account e-mail; `staging: true` issues untrusted test certificates (no rate limits). */
  readonly letsEncrypt: { readonly email: string; readonly staging?: boolean };
  readonly token: JitsiTokenArgs;
  /** Anonymous guests may join rooms a token holder has opened. Default true. */
  readonly guests?: boolean;
  /**
   * TURN relay (coturn) on the server for participants whose networks block UDP: UDP 3478 and TLS on 443 as
   * `turn.<domain>` (its own DNS record, covered by the certificate). Default true.
   */
  readonly turn?: boolean;
  /** CIDR blocks allowed to SSH in (no /0, no host bits). Provisioning runs over SSH from the machine running Pulumi. */
  readonly adminCidrs: readonly string[];
  /** `jitsi-meet` package version to install and hold, e.g. `2.0.11248-1`. */
  readonly jitsiVersion: string;
  /** Existing VPC; requires `subnetId`. Default: the region's default VPC. */
  readonly vpcId?: string;
  /** Public subnet to launch into. Default: a default subnet of the default VPC. */
  readonly subnetId?: string;
  /** OpenSSH public key to install instead of a generated key pair; provisioning then uses your ssh-agent. */
  readonly sshPublicKey?: string;
  /** Optional videobridge pool. */
  readonly videobridges?: JitsiVideobridgesArgs;
  /** Mailed when the status-check alarms (infra/monitoring.ts) fire or clear; they recover/reboot either way. */
  readonly alarmEmail?: string;
  readonly tags?: Record<string, string>;
}

/** Defaults of the optional settings; Pulumi.yaml declares the same, and the README's cost estimate is for them. */
export const DEFAULTS = {
  instanceType: "t3.large",
  architecture: "x86_64",
  diskSizeGb: 20,
  letsEncryptStaging: false,
  appId: "jitsi",
  tokenAlgorithm: "HS256",
  guests: true,
  turn: true,
} as const satisfies Record<string, string | number | boolean>;

/** `JitsiServerArgs` after validation, every default settled. */
export interface SettledJitsiServerArgs {
  readonly domain: string;
  readonly hostedZone: HostedZoneRef;
  readonly instanceType: string;
  readonly architecture: Architecture;
  readonly diskSizeGb: number;
  readonly letsEncrypt: { readonly email: string; readonly staging: boolean };
  readonly token: JitsiTokenArgs;
  readonly guests: boolean;
  readonly turn: boolean;
  readonly adminCidrs: readonly string[];
  readonly jitsiVersion: string;
  readonly vpcId: string | undefined;
  readonly subnetId: string | undefined;
  readonly sshPublicKey: string | undefined;
  /** The pool setting with its defaults; undefined without a pool. */
  readonly videobridges: VideobridgesConfig | undefined;
  /** Whether the signalling node runs its own videobridge: always without a pool, otherwise as the pool says. */
  readonly localVideobridge: boolean;
  readonly alarmEmail: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
}

/** Invalid `JitsiServerArgs`; `path` of each problem is the argument's field (`letsEncrypt.email`, `adminCidrs[1]`). */
export class JitsiServerArgsError extends ConfigProblemsError {
  constructor(problems: readonly Problem[]) {
    super("Invalid JitsiServer arguments:", problems);
  }
}

/** Fields whose values are never repeated in a message. */
const SECRET_PATHS = new Set(["token.appSecret"]);

/**
 * Validates `args` and settles every default. Pure; runs before any resource exists.
 *
 * @param args - the component's arguments, as a TypeScript or JavaScript caller passes them (types are checked too).
 * @returns the same settings with every default applied (`SettledJitsiServerArgs`).
 * @throws JitsiServerArgsError (a `pulumi.RunError`: no stack trace) naming every bad field and what is allowed.
 */
export function settleJitsiServerArgs(args: JitsiServerArgs): SettledJitsiServerArgs {
  const problems: Problem[] = [];
  const report = (path: string, message: string, value?: unknown) => {
    const shown = value === undefined || SECRET_PATHS.has(path) ? "" : ` (got ${JSON.stringify(value)})`;
    problems.push({ path, message: message + shown });
  };
  /** A required or optional string field checked by a shared rule; returns it when it passes. */
  /** A string option: normalised first (when the field has a normal form), then checked. */
  function text(path: string, value: unknown, rule: Rule, required: boolean, normalize: (v: string) => string = (v) => v): string | undefined {
    if (value === undefined) {
      if (required) report(path, "is required");
      return undefined;
    }
    if (typeof value !== "string") {
      report(path, "must be a string", SECRET_PATHS.has(path) ? undefined : value);
      return undefined;
    }
    const normal = normalize(value);
    const problem = rule(normal);
    if (problem === undefined) return normal;
    report(path, problem, value);
    return undefined;
  }
  function flag(path: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") report(path, "must be true or false", value);
    return value === true;
  }

  const given = (args ?? {}) as Partial<JitsiServerArgs>;
  const domain = text("domain", given.domain, domainProblem, true);

  let hostedZone: HostedZoneRef | undefined;
  const zone = given.hostedZone as Partial<{ zoneId: unknown; zoneName: unknown }> | undefined;
  if (zone === undefined) report("hostedZone", "is required: { zoneId } or { zoneName }");
  else {
    const ref = typeof zone.zoneId === "string" ? zone.zoneId : typeof zone.zoneName === "string" ? zone.zoneName : undefined;
    const parsed = ref === undefined ? "must be { zoneId: \"Z…\" } or { zoneName: \"example.com\" }" : parseHostedZone(ref);
    if (typeof parsed === "string") report("hostedZone", parsed, ref);
    else if (domain !== undefined && "zoneName" in parsed && domain !== parsed.zoneName && !domain.endsWith(`.${parsed.zoneName}`)) {
      report("hostedZone", `must be the zone that contains ${domain}`, parsed.zoneName);
    } else hostedZone = parsed;
  }

  const instanceType = text("instanceType", given.instanceType ?? DEFAULTS.instanceType, (v) => instanceTypeProblem(v, "server"), true, normalizeInstanceType);
  const architectureValue = given.architecture ?? DEFAULTS.architecture;
  let architecture: Architecture | undefined;
  if (architectureValue !== "x86_64" && architectureValue !== "arm64") report("architecture", 'must be "x86_64" or "arm64"', architectureValue);
  else architecture = architectureValue;
  if (instanceType !== undefined && architecture !== undefined && instanceArchitecture(instanceType) !== architecture) {
    report("architecture", `must match instanceType: ${instanceType} is ${instanceArchitecture(instanceType)}`, architecture);
  }

  const diskSizeGb = given.diskSizeGb ?? DEFAULTS.diskSizeGb;
  const diskProblem = typeof diskSizeGb === "number" ? diskSizeProblem(diskSizeGb) : "must be a number of GiB";
  if (diskProblem !== undefined) report("diskSizeGb", diskProblem, diskSizeGb);

  const letsEncrypt = given.letsEncrypt as Partial<{ email: unknown; staging: unknown }> | undefined;
  if (letsEncrypt === undefined) report("letsEncrypt", "is required: { email, staging? }");
  const email = letsEncrypt === undefined ? undefined : text("letsEncrypt.email", letsEncrypt.email, emailProblem, true);
  const staging = flag("letsEncrypt.staging", letsEncrypt?.staging, DEFAULTS.letsEncryptStaging);

  const token = given.token as Partial<{ algorithm: unknown; appId: unknown; appSecret: unknown; publicKeys: unknown }> | undefined;
  if (token === undefined) report("token", 'is required: { algorithm: "HS256", appId, appSecret? } or { algorithm: "RS256", appId, publicKeys }');
  else {
    if (token.algorithm !== "HS256" && token.algorithm !== "RS256") report("token.algorithm", 'must be "HS256" or "RS256"', token.algorithm);
    text("token.appId", token.appId, appIdProblem, true);
    if (token.algorithm === "HS256" && typeof token.appSecret === "string") text("token.appSecret", token.appSecret, appSecretProblem, false);
    else if (token.algorithm === "HS256" && token.appSecret !== undefined && !pulumi.Output.isInstance(token.appSecret) && !(token.appSecret instanceof Promise)) {
      report("token.appSecret", "must be a string or an Output of one");
    }
    if (token.algorithm === "RS256") {
      const keys = token.publicKeys;
      if (typeof keys !== "object" || keys === null || Array.isArray(keys) || Object.keys(keys).length === 0) {
        report("token.publicKeys", "must map at least one key id to a PEM RSA public key");
      } else {
        for (const [kid, pem] of Object.entries(keys as Record<string, unknown>)) {
          const kidProblem = keyIdProblem(kid);
          if (kidProblem !== undefined) report(`token.publicKeys.${kid}`, kidProblem);
          const pemProblem = typeof pem === "string" ? rsaPublicKeyProblem(pem) : "must be a PEM string";
          if (pemProblem !== undefined) report(`token.publicKeys.${kid}`, pemProblem);
        }
      }
    }
  }

  const guests = flag("guests", given.guests, DEFAULTS.guests);
  const turn = flag("turn", given.turn, DEFAULTS.turn);

  const cidrs = given.adminCidrs as unknown;
  if (cidrs === undefined) report("adminCidrs", "is required: the CIDR blocks allowed to SSH in, like [\"203.0.113.7/32\"]");
  else if (!Array.isArray(cidrs)) report("adminCidrs", 'must be a list of CIDR blocks, like ["203.0.113.7/32"]', cidrs);
  else if (cidrs.length === 0) report("adminCidrs", "must list at least one CIDR block: provisioning runs over SSH from your machine");
  else cidrs.forEach((cidr, index) => text(`adminCidrs[${index}]`, cidr, adminCidrProblem, true));

  const jitsiVersion = text("jitsiVersion", given.jitsiVersion, jitsiVersionProblem, true);
  const vpcId = text("vpcId", given.vpcId, vpcIdProblem, false);
  const subnetId = text("subnetId", given.subnetId, subnetIdProblem, false);
  if (given.vpcId !== undefined && given.subnetId === undefined) report("subnetId", "is required when vpcId is set: the public subnet of that VPC to put the server in");
  const sshPublicKey = text("sshPublicKey", given.sshPublicKey, sshPublicKeyProblem, false, normalizeSshPublicKey);
  const alarmEmail = text("alarmEmail", given.alarmEmail, emailProblem, false);

  let videobridges: VideobridgesConfig | undefined;
  try {
    videobridges = parseVideobridgesConfig(given.videobridges);
  } catch (error) {
    if (!(error instanceof BridgePoolConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (videobridges !== undefined && videobridges.count > 0 && architecture !== undefined && instanceArchitecture(videobridges.instanceType) !== architecture) {
    report("videobridges.instanceType", `must be an ${architecture} type like the server's (the pool boots the server's AMI): ${videobridges.instanceType} is ${instanceArchitecture(videobridges.instanceType)}`);
  }

  if (problems.length > 0) throw new JitsiServerArgsError(problems);
  // Every value used below passed its rule; the non-null assertions only restate that.
  return {
    domain: domain!,
    hostedZone: hostedZone!,
    instanceType: instanceType!,
    architecture: architecture!,
    diskSizeGb,
    letsEncrypt: { email: email!, staging },
    token: given.token!,
    guests,
    turn,
    adminCidrs: [...(cidrs as string[])],
    jitsiVersion: jitsiVersion!,
    vpcId,
    subnetId,
    sshPublicKey,
    videobridges,
    localVideobridge: videobridges === undefined || videobridges.keepLocalBridge,
    alarmEmail,
    tags: { ...given.tags },
  };
}
