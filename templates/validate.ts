/**
 * Validates the renderer's input. Every field is checked against what the target files and the Debian packages
 * can carry; a value that could not be written safely is rejected here, with an error that names the field and
 * says what is allowed, before any template sees it.
 */
import { createHash, createPublicKey } from "node:crypto";
import { isIPv4 } from "node:net";
import { z } from "zod";
import type { Deployment } from "./deployment.ts";
import { parseIpv4Cidr } from "./ipRanges.ts";

/** Longest sub-domain prefix the renderer adds (`internal.auth.`), so every derived name stays within 253. */
const LONGEST_PREFIX = "internal.auth.".length;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
/** C0/C1 controls, DEL and the Unicode line/paragraph separators: line breaks in disguise. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
const LONE_SURROGATE = /\p{Cs}/u;
/** Characters the jitsi-meet-tokens postinst refuses in a secret (it greps for them and exits 1). */
const DEBCONF_FORBIDDEN = /[/\\"'`]/;
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;
/** A plain absolute path: no spaces, quotes, `$` or controls, so it is safe in every file format and shell. */
const PLAIN_PATH = /^\/[A-Za-z0-9._/+-]*$/;

const hostname = z
  .string({ error: "must be a string: a DNS hostname such as meet.example.com" })
  .refine((value) => value.length <= 253 - LONGEST_PREFIX, `must be at most ${253 - LONGEST_PREFIX} characters`)
  .refine(
    (value) => {
      const labels = value.split(".");
      return labels.length >= 2 && labels.every((label) => LABEL.test(label)) && !/^[0-9]+$/.test(labels.at(-1) ?? "");
    },
    "must be a lower-case DNS hostname: two or more dot-separated labels of a-z, 0-9 and inner hyphens (no '_', which Prosody 13 rejects), e.g. meet.example.com",
  );

const appId = z
  .string({ error: "must be a string" })
  .min(1, "must not be empty (Prosody refuses to load token auth without app_id)")
  .max(128, "must be at most 128 characters")
  .refine((value) => !CONTROL.test(value) && !LONE_SURROGATE.test(value), "must not contain line breaks or control characters");

const appSecret = z
  .string({ error: "must be a string" })
  .min(32, "must be at least 32 characters (an HS256 key needs 256 bits; e.g. `openssl rand -hex 32`)")
  .max(1024, "must be at most 1024 characters")
  .refine((value) => PRINTABLE_ASCII.test(value), "must be printable ASCII without spaces")
  .refine(
    (value) => !DEBCONF_FORBIDDEN.test(value),
    "must not contain / \\ \" ' or ` (the jitsi-meet-tokens package refuses a secret containing them)",
  );

const keyId = z
  .string()
  .regex(/^[A-Za-z0-9._~:-]{1,128}$/, "key ids (kid) must be 1-128 characters of A-Z a-z 0-9 . _ ~ : -");

/** An RSA public key in PEM (SPKI); re-exported in canonical form so the rendered key file is stable. */
const rsaPublicKeyPem = z.string({ error: "must be a PEM string" }).transform((value, ctx) => {
  try {
    const key = createPublicKey({ key: value, format: "pem" });
    if (key.asymmetricKeyType !== "rsa") {
      ctx.addIssue({ code: "custom", message: `must be an RSA public key (RS256), got ${String(key.asymmetricKeyType)}` });
      return z.NEVER;
    }
    return key.export({ type: "spki", format: "pem" }).toString();
  } catch {
    ctx.addIssue({ code: "custom", message: "must be a PEM-encoded RSA public key (-----BEGIN PUBLIC KEY-----)" });
    return z.NEVER;
  }
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
});

const email = z
  .string({ error: "must be a string" })
  .regex(
    /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/,
    "must be a plain e-mail address such as ops@example.com (letters, digits and . _ % + - before the @)",
  );

export const deploymentSchema = z.strictObject({
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

/** The input was not a valid Deployment; `issues` are the human-readable lines, one per bad field. */
export class DeploymentError extends Error {
  constructor(readonly issues: readonly string[]) {
    super(`invalid deployment:\n${issues.map((issue) => `  - ${issue}`).join("\n")}`);
    this.name = "DeploymentError";
  }
}

function fieldName(path: readonly PropertyKey[]): string {
  return path.length === 0 ? "(input)" : path.map((key) => String(key)).join(".");
}

/** One line per problem; an unknown key is named itself, so a typo points at the line to fix. */
function describe(issue: z.core.$ZodIssue): string[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `${fieldName([...issue.path, key])}: is not a known field (check the spelling)`);
  }
  // A bad record key (a kid) carries the key schema's own message one level down.
  if (issue.code === "invalid_key") return issue.issues.map((inner) => `${fieldName(issue.path)}: ${inner.message}`);
  return [`${fieldName(issue.path)}: ${issue.message}`];
}

/** Checks `input` and returns it as a Deployment (PEM keys canonicalised); throws DeploymentError otherwise. */
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
