/**
 * Validates the renderer's input. Every field is checked against what the target files and the Debian packages
 * can carry; a value that could not be written safely is rejected here, with an error that names the field and
 * says what is allowed, before any template sees it. The fields a user sets (domain, app id and secret, key ids and
 * keys, e-mail) use the shared field rules (jitsi-jwt-token/shared), the same the stack reader, `JitsiServer` and the
 * token config loader apply.
 */
import { createHash, createPublicKey } from "node:crypto";
import { isIPv4 } from "node:net";
import { appIdProblem, appSecretProblem, domainProblem, emailProblem, keyIdProblem, ProblemError, rsaPublicKeyProblem, type Problem, type Rule } from "jitsi-jwt-token/shared";
import { z } from "zod";
import type { Deployment } from "./deployment.ts";
import { parseIpv4Cidr } from "./ipRanges.ts";

/** A plain absolute path: no spaces, quotes, `$` or controls, so it is safe in every file format and shell. */
const PLAIN_PATH = /^\/[A-Za-z0-9._/+-]*$/;

/** A string checked by one of the shared field rules (jitsi-jwt-token/shared), so every reader agrees. */
const ruled = (rule: Rule) =>
  z.string({ error: "must be a string" }).superRefine((value, ctx) => {
    const problem = rule(value);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  });

const hostname = ruled(domainProblem);
const appId = ruled(appIdProblem);
const appSecret = ruled(appSecretProblem);
const keyId = ruled(keyIdProblem);

/** An RSA public key in PEM (SPKI); re-exported in canonical form so the rendered key file is stable. */
const rsaPublicKeyPem = z.string({ error: "must be a PEM string" }).transform((value, ctx) => {
  const problem = rsaPublicKeyProblem(value);
  if (problem !== undefined) {
    ctx.addIssue({ code: "custom", message: problem });
    return z.NEVER;
  }
  return createPublicKey({ key: value, format: "pem" }).export({ type: "spki", format: "pem" }).toString();
});

const auth = z.discriminatedUnion(
  "algorithm",
  [
    z.strictObject({ algorithm: z.literal("HS256"), appId, appSecret }),
    z.strictObject({
      algorithm: z.literal("RS256"),
      appId,
      publicKeys: z
        .record(keyId, rsaPublicKeyPem)
        .refine((keys) => Object.keys(keys).length > 0, "must hold at least one key (kid → PEM)"),
    }),
  ],
  { error: 'must be an object with algorithm "HS256" (appId, appSecret) or "RS256" (appId, publicKeys)' },
);

const ipv4 = z.string({ error: "must be a string" }).refine(isIPv4, "must be an IPv4 address such as 10.0.1.23");

const password = z
  .string({ error: "must be a string" })
  .min(16, "must be at least 16 characters")
  .max(256, "must be at most 256 characters")
  .regex(
    /^[A-Za-z0-9._~+=@%^*!,:-]+$/,
    "must use only A-Z a-z 0-9 and . _ ~ + = @ % ^ * ! , : - (it is passed to prosodyctl and debconf on the host)",
  );

const port = z
  .number({ error: "must be a number" })
  .int("must be an integer")
  .min(1, "must be from 1 to 65535")
  .max(65535, "must be from 1 to 65535");

const plainPath = z
  .string({ error: "must be a string" })
  .regex(PLAIN_PATH, "must be an absolute path of A-Z a-z 0-9 . _ / + - (no spaces, quotes or $)")
  .refine((value) => !value.split("/").includes(".."), "must not contain '..'");

const runtime = z.strictObject({
  rootDir: plainPath.optional(),
  prosodyHttpPort: port.optional(),
  xmppClientPort: port.optional(),
  httpsPort: port.optional(),
  httpPort: port.optional(),
  bindAddress: z
    .string({ error: "must be a string" })
    .refine((value) => isIPv4(value) || value === "::1", "must be an IPv4 address or ::1")
    .optional(),
  prosodyPluginsDir: plainPath.optional(),
  turnUdpPort: port.optional(),
  turnTlsPort: port.optional(),
  siteBehindStreamPort: port.optional(),
  asapKeysLocalPort: port.optional(),
});

/** An IPv4 CIDR with its host bits zero (what an AWS VPC's CidrBlock is), prefix 8 to 28 as AWS allows. */
const vpcCidr = z
  .string({ error: "must be a string" })
  .refine((value) => parseIpv4Cidr(value) !== undefined, "must be an IPv4 CIDR with host bits zero and a /8 to /28 prefix, e.g. 10.0.0.0/16");

const turn = z.strictObject({
  secret: z
    .string({ error: "must be a string" })
    .regex(/^[A-Za-z0-9]{32,256}$/, "must be 32 to 256 letters and digits (a random secret; it is written into coturn's and Prosody's files)"),
  vpcCidr,
  // AWS allows up to 50 IPv4 blocks per VPC (VPC quotas, "IPv4 CIDR blocks per VPC").
  vpcSecondaryCidrs: z.array(vpcCidr).max(50, "must list at most 50 blocks (AWS's limit per VPC)").optional(),
});

const email = ruled(emailProblem);

const deploymentSchema = z.strictObject({
  domain: hostname,
  auth,
  guests: z.boolean({ error: "must be true or false" }),
  network: z.strictObject({ privateIp: ipv4, publicIp: ipv4 }),
  accounts: z.strictObject({ focusPassword: password, jvbPassword: password }),
  localVideobridge: z.boolean({ error: "must be true or false" }),
  turn: turn.optional(),
  letsEncryptEmail: email.optional(),
  runtime: runtime.optional(),
}, { error: "must be a JSON object describing the deployment" });

/**
 * The input was not a valid Deployment: one problem per bad field (`path` is the dotted field, e.g.
 * `auth.appSecret`). `issues` are the same problems as `path: message` lines.
 */
export class DeploymentError extends ProblemError {
  override readonly name: string = "DeploymentError";
  constructor(problems: readonly Problem[]) {
    super("invalid-deployment", problems, "invalid deployment:");
  }

  get issues(): readonly string[] {
    return this.problems.map((p) => `${p.path}: ${p.message}`);
  }
}

function fieldName(path: readonly PropertyKey[]): string {
  return path.length === 0 ? "(input)" : path.map((key) => String(key)).join(".");
}

/** One problem per issue; an unknown key is named itself, so a typo points at the line to fix. */
function describe(issue: z.core.$ZodIssue): Problem[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({ path: fieldName([...issue.path, key]), message: "is not a known field (check the spelling)" }));
  }
  // A bad record key (a kid) carries the key schema's own message one level down.
  if (issue.code === "invalid_key") return issue.issues.map((inner) => ({ path: fieldName(issue.path), message: inner.message }));
  return [{ path: fieldName(issue.path), message: issue.message }];
}

/**
 * Checks `input` against what the target files and Debian packages can carry.
 *
 * @param input - any value (e.g. parsed JSON).
 * @returns the input as a `Deployment`, RS256 PEM keys in canonical SPKI form.
 * @throws DeploymentError with one `{path, message}` problem per bad field (an unknown field is named itself).
 */
export function validateDeployment(input: unknown): Deployment {
  // Field messages above win; this only words the generic "missing" case.
  const result = deploymentSchema.safeParse(input, {
    error: (issue) => (issue.code === "invalid_type" && issue.input === undefined ? "is required" : undefined),
  });
  if (!result.success) throw new DeploymentError(result.error.issues.flatMap(describe));
  return result.data;
}

/** ASAP key file name Prosody asks for: hex(sha256(kid)) + ".pem" (jitsi token/util.lib.lua get_public_key). */
export function asapKeyFileName(kid: string): string {
  return `${createHash("sha256").update(kid, "utf8").digest("hex")}.pem`;
}
