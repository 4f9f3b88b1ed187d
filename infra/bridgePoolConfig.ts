/**
 * The stack key `videobridges` → a validated pool setting, plus the checks the pool applies to the values it is
 * handed (subnets, instance type against the AMI architecture). Pure: runs before any resource exists, and every
 * message names the field and says what is allowed.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ConfigProblemsError, type ConfigProblem } from "./configProblems.ts";

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

/** One problem with one pool field, e.g. `videobridges.count` or `subnetIds[1]`. */
export type BridgePoolProblem = ConfigProblem;

/** Thrown for an invalid pool setting. */
export class BridgePoolConfigError extends ConfigProblemsError {
  constructor(problems: readonly BridgePoolProblem[]) {
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

const EC2_INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/;
// The bridge's launcher starts Java with -Xmx3072m (jvb.sh); these sizes have 2 GiB or less and would be killed.
const TOO_SMALL = /\.(nano|micro|small)$/;

const instanceType = z
  .string({ error: "must be an EC2 instance type like c6i.xlarge" })
  .regex(EC2_INSTANCE_TYPE, "must be an EC2 instance type like c6i.xlarge or c7g.xlarge")
  .refine((t) => !TOO_SMALL.test(t), "must have at least 4 GiB of memory (the bridge's Java heap is 3 GiB); nano, micro and small sizes are too small");

const schema = z.strictObject({
  count: wholeNumber,
  instanceType,
  spot: flag.optional().default(false),
  keepLocalBridge: flag.optional().default(true),
});

/** The `<field>: <message> (got …)` form every pool message uses. */
function problem(key: string, message: string, got?: unknown): BridgePoolProblem {
  return { key, message: got === undefined ? message : `${message} (got ${JSON.stringify(got)})` };
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

const SUBNET_ID = /^subnet-[0-9a-f]{8}([0-9a-f]{9})?$/;

/**
 * Checks the subnet ids the pool is placed in. Only plain strings can be checked before deployment; ids that are
 * still Outputs (a VPC created in the same program) are left to AWS. Returns the problems, empty when fine.
 */
export function subnetIdProblems(subnetIds: unknown): BridgePoolProblem[] {
  if (pulumi.Output.isInstance(subnetIds)) return [];
  if (!Array.isArray(subnetIds) || subnetIds.length === 0) {
    return [problem("subnetIds", "must list at least one public subnet of the signalling node's VPC (bridges need public IPv4 addresses)")];
  }
  const problems: BridgePoolProblem[] = [];
  const seen = new Set<string>();
  subnetIds.forEach((id, index) => {
    if (typeof id !== "string") return; // an Output: known only at deployment
    if (!SUBNET_ID.test(id)) {
      problems.push(problem(`subnetIds[${index}]`, "must be a subnet id: subnet- followed by 8 or 17 lower-case hex digits", id));
    } else if (seen.has(id)) {
      problems.push(problem(`subnetIds[${index}]`, "is listed twice", id));
    }
    seen.add(id);
  });
  return problems;
}

const DOMAIN = /^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
// A Debian version as apt takes it after `=` (the jitsi-meet metapackage's, e.g. 2.0.11248-1).
const DEBIAN_VERSION = /^(\d+:)?\d[A-Za-z0-9.+~]*(-[A-Za-z0-9.+~]+)?$/;

/** Problems with the deployment values the pool copies into each instance's boot environment. */
export function deploymentProblems(domain: unknown, jitsiVersion: unknown): BridgePoolProblem[] {
  const problems: BridgePoolProblem[] = [];
  if (typeof domain !== "string" || !DOMAIN.test(domain)) {
    problems.push(problem("domain", "must be a lower-case fully qualified domain name like meet.example.com", domain));
  }
  if (typeof jitsiVersion !== "string" || !DEBIAN_VERSION.test(jitsiVersion)) {
    problems.push(problem("jitsiVersion", "must be a jitsi-meet package version like 2.0.11248-1", jitsiVersion));
  }
  return problems;
}

export type Architecture = "x86_64" | "arm64";

/** Graviton families carry a `g` among the letters after the generation digit (t4g, c7gn, im4gn, x2gd), plus a1. */
export function instanceArchitecture(instanceType: string): Architecture {
  const family = instanceType.split(".")[0] ?? "";
  const suffix = /^[a-z]+\d+([a-z-]*)$/.exec(family)?.[1] ?? "";
  return family === "a1" || suffix.includes("g") ? "arm64" : "x86_64";
}

/** Problems with the instance settings the pool is handed; the AMI is the signalling node's, so arches must match. */
export function instanceProblems(count: unknown, type: unknown, architecture: Architecture): BridgePoolProblem[] {
  const parsed = z.object({ count: wholeNumber, instanceType }).safeParse({ count, instanceType: type });
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const field = String(issue.path[0]);
        return problem(`${VIDEOBRIDGES_KEY}.${field}`, issue.message, field === "count" ? count : type);
      });
  if (typeof type === "string" && EC2_INSTANCE_TYPE.test(type) && instanceArchitecture(type) !== architecture) {
    problems.push(
      problem(
        `${VIDEOBRIDGES_KEY}.instanceType`,
        `must be an ${architecture} type like the signalling node's AMI: ${type} is ${instanceArchitecture(type)}`,
        type,
      ),
    );
  }
  return problems;
}
