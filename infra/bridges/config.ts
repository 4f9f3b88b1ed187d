/**
 * The stack key `videobridges` → a validated pool setting, plus the checks the pool applies to the values it is
 * handed (subnets, instance type against the AMI architecture, drain and disk bounds). Pure: runs before any resource exists, and every
 * message names the field and says what is allowed.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  domainProblem,
  instanceArchitecture,
  instanceTypeProblem,
  normalizeInstanceType,
  subnetIdProblem,
  type Architecture,
} from "jitsi-jwt-token/shared";
import { jitsiVersionProblem } from "../jitsiRelease.ts";
import { z } from "zod";
import type { VideobridgePoolArgs } from "../bridges.ts";
import { ConfigProblemsError, type ConfigProblem } from "../configProblems.ts";

/** The stack key this module reads (`pulumi config set --path videobridges.count 2`). */
export const VIDEOBRIDGES_KEY = "videobridges";

/**
 * Upper bound on the pool size. A typo guard, not a Jitsi limit: one Prosody + Jicofo has been reported to drive
 * dozens of bridges, and a bigger fleet wants more than one shard anyway.
 */
export const MAX_BRIDGES = 50;

/** Validated `videobridges` setting. */
export interface VideobridgesConfig {
  /** Bridge instances the Auto Scaling Group keeps running (min = max = desired). */
  readonly count: number;
  readonly instanceType: string;
  /** Run the pool on Spot capacity (cheaper; an interrupted bridge drops its conferences to the others). */
  readonly spot: boolean;
  /** Whether the signalling node keeps its own videobridge (`Deployment.localVideobridge`). */
  readonly keepLocalBridge: boolean;
}


/** Thrown for an invalid pool setting. */
export class BridgePoolConfigError extends ConfigProblemsError {
  constructor(problems: readonly ConfigProblem[]) {
    super("Invalid videobridge pool setting:", problems);
  }
}

// `pulumi config set --path videobridges.count 2` stores a number, but hand-edited YAML often quotes it.
const wholeNumber = z.preprocess(
  (v) => (typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v),
  z
    .number({ error: `must be a whole number from 0 to ${MAX_BRIDGES}` })
    .int(`must be a whole number from 0 to ${MAX_BRIDGES}`)
    .min(0, `must be a whole number from 0 to ${MAX_BRIDGES}`)
    .max(MAX_BRIDGES, `must be at most ${MAX_BRIDGES}; for more, split the deployment into shards`),
);

const flag = z.preprocess(
  (v) => (v === "true" ? true : v === "false" ? false : v),
  z.boolean({ error: "must be true or false" }),
);

const instanceType = z
  .string({ error: "must be an EC2 instance type like c6i.xlarge" })
  .transform(normalizeInstanceType)
  .superRefine((value, ctx) => {
    const problem = instanceTypeProblem(value, "videobridge");
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  });

const schema = z.strictObject({
  count: wholeNumber,
  instanceType,
  spot: flag.optional().default(false),
  keepLocalBridge: flag.optional().default(true),
});

/** The `<field>: <message> (got …)` form every pool message uses. */
function problem(path: string, message: string, got?: unknown): ConfigProblem {
  return { path, message: got === undefined ? message : `${message} (got ${JSON.stringify(got)})` };
}

/**
 * Validates the stack key `videobridges`. `raw` is what `pulumi.Config#get` or `#getObject` returns: undefined
 * (no pool), a JSON text or an object. Throws `BridgePoolConfigError` naming every bad field.
 */
export function parseVideobridgesConfig(raw: unknown): VideobridgesConfig | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  let value: unknown = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      throw new BridgePoolConfigError([
        problem(VIDEOBRIDGES_KEY, 'must be an object like {"count": 2, "instanceType": "c6i.xlarge"}'),
      ]);
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BridgePoolConfigError([
      problem(VIDEOBRIDGES_KEY, 'must be an object like {"count": 2, "instanceType": "c6i.xlarge"}'),
    ]);
  }

  const result = schema.safeParse(value);
  if (!result.success) {
    throw new BridgePoolConfigError(
      result.error.issues.map((issue) => {
        if (issue.code === "unrecognized_keys") {
          return problem(VIDEOBRIDGES_KEY, `has unknown field(s) ${issue.keys.join(", ")}; allowed: count, instanceType, spot, keepLocalBridge`);
        }
        const field = issue.path.join(".");
        const given = (value as Record<string, unknown>)[String(issue.path[0])];
        const message = given === undefined ? "is required" : issue.message;
        return problem(`${VIDEOBRIDGES_KEY}.${field}`, message, given);
      }),
    );
  }
  const config = result.data;
  if (config.count === 0 && !config.keepLocalBridge) {
    throw new BridgePoolConfigError([
      problem(`${VIDEOBRIDGES_KEY}.count`, `must be at least 1 when ${VIDEOBRIDGES_KEY}.keepLocalBridge is false: no bridge would carry media`, 0),
    ]);
  }
  return config;
}

/** Whether the signalling node runs its own bridge: always without a pool, otherwise as the pool setting says. */
export function signallingNodeKeepsBridge(config: VideobridgesConfig | undefined): boolean {
  return config === undefined || config.keepLocalBridge;
}

/**
 * Checks the subnet ids the pool is placed in. Only plain strings can be checked before deployment; ids that are
 * still Outputs (a VPC created in the same program) are left to AWS. Returns the problems, empty when fine.
 */
export function subnetIdProblems(subnetIds: unknown): ConfigProblem[] {
  if (pulumi.Output.isInstance(subnetIds)) return [];
  if (!Array.isArray(subnetIds) || subnetIds.length === 0) {
    return [problem("subnetIds", "must list at least one public subnet of the signalling node's VPC (bridges need public IPv4 addresses)")];
  }
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  subnetIds.forEach((id, index) => {
    if (typeof id !== "string") return; // an Output: known only at deployment
    const wrong = subnetIdProblem(id);
    if (wrong !== undefined) {
      problems.push(problem(`subnetIds[${index}]`, wrong, id));
    } else if (seen.has(id)) {
      problems.push(problem(`subnetIds[${index}]`, "is listed twice", id));
    }
    seen.add(id);
  });
  return problems;
}

/** Problems with the deployment values the pool copies into each instance's boot environment. */
function deploymentProblems(domain: unknown, jitsiVersion: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const domainWrong = typeof domain === "string" ? domainProblem(domain) : "must be a string: a domain name like meet.example.com";
  if (domainWrong !== undefined) problems.push(problem("domain", domainWrong, domain));
  const versionWrong = typeof jitsiVersion === "string" ? jitsiVersionProblem(jitsiVersion) : "must be a jitsi-meet release version like 2.0.11248-1";
  if (versionWrong !== undefined) problems.push(problem("jitsiVersion", versionWrong, jitsiVersion));
  return problems;
}

export { instanceArchitecture, type Architecture };

/** Problems with the instance settings the pool is handed; the AMI is the signalling node's, so arches must match. */
export function instanceProblems(count: unknown, type: unknown, architecture: Architecture): ConfigProblem[] {
  const parsed = z.object({ count: wholeNumber, instanceType }).safeParse({ count, instanceType: type });
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const field = String(issue.path[0]);
        return problem(`${VIDEOBRIDGES_KEY}.${field}`, issue.message, field === "count" ? count : type);
      });
  const normal = typeof type === "string" ? normalizeInstanceType(type) : undefined;
  if (normal !== undefined && instanceTypeProblem(normal, "videobridge") === undefined && instanceArchitecture(normal) !== architecture) {
    problems.push(
      problem(
        `${VIDEOBRIDGES_KEY}.instanceType`,
        `must be an ${architecture} type like the signalling node's AMI: ${normal} is ${instanceArchitecture(normal)}`,
        type,
      ),
    );
  }
  return problems;
}

/** Default and bounds of the pool's drain and disk settings. */
export const DEFAULT_DRAIN_SECONDS = 3600;
export const DEFAULT_ROOT_GIB = 10;
/** Time after the drain bound for stopping the bridge and the API call; the hook's timeout is bound + this. */
export const HOOK_MARGIN_SECONDS = 300;
/** AWS caps a lifecycle hook's heartbeat timeout at 7200 s. */
const MAX_HEARTBEAT_SECONDS = 7200;

/**
 * Checks the arguments `VideobridgePool` is handed, before it creates anything.
 *
 * @param args - the pool's arguments; values still Outputs (subnets of a VPC made in the same program) are left to AWS.
 * @throws BridgePoolConfigError naming every bad field.
 */
export function validatePoolArgs(args: VideobridgePoolArgs): void {
  const problems = [
    ...deploymentProblems(args.domain, args.jitsiVersion),
    ...instanceProblems(args.count, args.instanceType, args.architecture),
    ...subnetIdProblems(args.subnetIds),
  ];
  const drain = args.drainTimeoutSeconds ?? DEFAULT_DRAIN_SECONDS;
  if (!Number.isInteger(drain) || drain < 60 || drain + HOOK_MARGIN_SECONDS > MAX_HEARTBEAT_SECONDS) {
    problems.push({
      path: "drainTimeoutSeconds",
      message: `must be a whole number of seconds from 60 to ${MAX_HEARTBEAT_SECONDS - HOOK_MARGIN_SECONDS} (AWS caps a lifecycle hook at ${MAX_HEARTBEAT_SECONDS} s) (got ${JSON.stringify(args.drainTimeoutSeconds)})`,
    });
  }
  const disk = args.rootVolumeGiB ?? DEFAULT_ROOT_GIB;
  if (!Number.isInteger(disk) || disk < 8 || disk > 1024) {
    problems.push({ path: "rootVolumeGiB", message: `must be a whole number of GiB from 8 (the Ubuntu image) to 1024 (got ${JSON.stringify(args.rootVolumeGiB)})` });
  }
  if (problems.length > 0) throw new BridgePoolConfigError(problems);
}
