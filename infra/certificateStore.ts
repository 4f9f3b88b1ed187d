/**
 * The certificate store: one AWS Secrets Manager secret per deployment that keeps the host's certbot lineage
 * (certificate, key, ACME account, renewal settings) across replaced instances, so a new instance restores the
 * certificate instead of asking Let's Encrypt again. Let's Encrypt issues at most 5 certificates per exact set of
 * names per 7 days ("Duplicate Certificate" limit, letsencrypt.org/docs/rate-limits); a few replacements in a week
 * would otherwise lock the domain out.
 *
 * Pulumi creates the secret with no value (no SecretVersion resource), so it never overwrites what the host
 * wrote; the host (infra/scripts/certificate-store.py, under the instance role) reads it when it has no lineage
 * and writes it after every issuance or renewal, and tags the secret with the certificate's names, expiry and ACME
 * server. At preview the program reads those tags (never the value) and says when a fresh instance would need a
 * new certificate. Cost: $0.40 per secret per month plus $0.05 per 10,000 API calls (AWS Secrets Manager pricing).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/**
 * Tags on the secret. `store` is set by Pulumi (finds the secret at preview); the others are written by the host
 * client after each store and must match certificate-store.py's TAG_* constants (a test runs the client).
 */
export const STORE_TAGS = {
  store: "jitsi:certificate-store",
  names: "jitsi:certificate-names",
  notAfter: "jitsi:certificate-not-after",
  acmeServer: "jitsi:certificate-acme-server",
} as const;

/** certbot's default renewal window (`renew_before_expiry`, 30 days): a stored certificate this close is renewed. */
export const RENEW_BEFORE_DAYS = 30;

/** What the host last stored, as the secret's tags say. */
export interface StoredCertificate {
  /** DNS names on the certificate, in any order. */
  readonly names: readonly string[];
  /** The certificate's notAfter, ISO 8601. */
  readonly notAfter: string;
  /** ACME directory URL that issued it. */
  readonly acmeServer: string;
}

/** What the deployment asks for. */
export interface WantedCertificate {
  readonly names: readonly string[];
  readonly acmeServer: string;
}

export interface IssuanceNotice {
  /** Always `warn`: every notice means a new issuance, which counts against Let's Encrypt's limit. */
  readonly level: "warn";
  readonly message: string;
}

const LIMIT = "Let's Encrypt issues at most 5 certificates per exact set of names per 7 days";

/**
 * Whether a fresh instance would need a new certificate, and why (pure; the program logs the result).
 *
 * @param stored - the tags the host wrote, or undefined when nothing is stored (or the secret does not exist yet).
 * @param wanted - the configured names and ACME server.
 * @param now - the current time.
 * @returns a warning (nothing stored, or a stored certificate that would not be used), or undefined when a
 *   replaced instance would restore the stored certificate.
 */
export function issuanceNotice(stored: StoredCertificate | undefined, wanted: WantedCertificate, now: Date): IssuanceNotice | undefined {
  const wantedNames = [...wanted.names].sort().join(" ");
  if (stored === undefined) {
    // Also a destroyed and re-created stack (a new, empty secret): then the issuance is not the first this week.
    return {
      level: "warn",
      message: `No certificate for ${wantedNames} is in the certificate store: the instance will ask Let's Encrypt for a new one and store it. Expected on a first deployment; after a destroyed and re-created stack (a new, empty store) it is another issuance: ${LIMIT}.`,
    };
  }
  const storedNames = [...stored.names].sort().join(" ");
  const notAfter = new Date(stored.notAfter);
  const reason =
    storedNames !== wantedNames
      ? `the stored certificate is for ${storedNames || "no names"}, the configuration asks for ${wantedNames}`
      : stored.acmeServer !== wanted.acmeServer
        ? `the stored certificate comes from ${stored.acmeServer}, the configuration asks for ${wanted.acmeServer} (letsEncryptStaging changed)`
        : Number.isNaN(notAfter.getTime())
          ? `the stored certificate's expiry is unreadable (${stored.notAfter})`
          : notAfter.getTime() - now.getTime() < RENEW_BEFORE_DAYS * 86_400_000
            ? `the stored certificate expires ${stored.notAfter}, within certbot's ${String(RENEW_BEFORE_DAYS)}-day renewal window`
            : undefined;
  if (reason === undefined) return undefined;
  return {
    level: "warn",
    message: `A new or replaced instance would ask Let's Encrypt for a new certificate: ${reason}. ${LIMIT}; avoid replacing the instance repeatedly until the new certificate is stored.`,
  };
}

/** An invoke's error in one line (under the engine its message may be empty; then its string form). */
function describeError(error: unknown): string {
  const text = error instanceof Error && error.message !== "" ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}

/** Reads the host's tags into a StoredCertificate; undefined when the host has not stored anything yet. */
export function storedFromTags(tags: Readonly<Record<string, string>> | undefined): StoredCertificate | undefined {
  const names = tags?.[STORE_TAGS.names];
  const notAfter = tags?.[STORE_TAGS.notAfter];
  const acmeServer = tags?.[STORE_TAGS.acmeServer];
  if (names === undefined || notAfter === undefined || acmeServer === undefined) return undefined;
  return { names: names.split(" ").filter((n) => n !== ""), notAfter, acmeServer };
}

/**
 * The IAM policy document that lets the instance role use exactly one secret: read and write its value, and set
 * only the store's own metadata tags. Nothing else (no list, describe, delete, or other secrets).
 *
 * @param secretArn - the store secret's ARN.
 * @returns the policy as JSON.
 */
export function instanceStorePolicy(secretArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"], Resource: secretArn },
      {
        // aws:TagKeys confines TagResource to the three metadata keys (IAM condition keys for Secrets Manager).
        Effect: "Allow",
        Action: "secretsmanager:TagResource",
        Resource: secretArn,
        Condition: { "ForAllValues:StringEquals": { "aws:TagKeys": [STORE_TAGS.names, STORE_TAGS.notAfter, STORE_TAGS.acmeServer] } },
      },
    ],
  });
}

export interface CertificateStoreArgs {
  /** The instance's role: gets the policy above. */
  readonly role: aws.iam.Role;
  readonly wanted: WantedCertificate;
  readonly tags?: Record<string, string>;
}

/**
 * The store secret, the instance role's access to it, and the preview notice (`jitsi:index:CertificateStore`).
 * A sibling of the host, not its child: replacing the instance keeps it. Children: `secret`, `policy`.
 */
export class CertificateStore extends pulumi.ComponentResource {
  readonly secret: aws.secretsmanager.Secret;
  /** The role policy; the certificate step waits for it. */
  readonly policy: aws.iam.RolePolicy;
  /** What was logged at this run about a new issuance (undefined: a replaced instance would restore). */
  readonly notice: pulumi.Output<IssuanceNotice | undefined>;

  constructor(name: string, args: CertificateStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jitsi:index:CertificateStore", name, {}, opts);
    const storeId = `${pulumi.getProject()}/${pulumi.getStack()}/${name}`;
    const hostTags = [STORE_TAGS.names, STORE_TAGS.notAfter, STORE_TAGS.acmeServer];

    this.secret = new aws.secretsmanager.Secret(
      `${name}-certificate-store`,
      {
        description: `certbot lineage of ${args.wanted.names[0] ?? name}, kept across replaced instances (written by the instance)`,
        // The default AWS-managed key (aws/secretsmanager). 7 days, the shortest window: a destroyed stack's
        // secret is recoverable for a week; the name is generated, so a recreated stack does not collide with it.
        recoveryWindowInDays: 7,
        tags: { ...args.tags, [STORE_TAGS.store]: storeId },
      },
      // The host writes these tags; a refresh must not make Pulumi remove them.
      { parent: this, ignoreChanges: hostTags.flatMap((key) => [`tags["${key}"]`, `tagsAll["${key}"]`]) },
    );

    this.policy = new aws.iam.RolePolicy(
      `${name}-certificate-store-access`,
      { role: args.role.id, policy: this.secret.arn.apply(instanceStorePolicy) },
      { parent: this },
    );

    // At preview (and up): what the host stored, read from the tags (never the value), which says nothing about
    // whether the value itself is usable. Nothing stored is a warning too; a failed lookup is reported, never fatal. Registered as an output so the run waits for it.
    this.notice = pulumi.output(this.readNotice(storeId, args.wanted));
    this.registerOutputs({ secretArn: this.secret.arn, notice: this.notice.apply((n) => n?.message ?? "") });
  }

  /** Looks the secret up by its store tag (an empty list when it does not exist yet), logs the notice and returns it. */
  private async readNotice(storeId: string, wanted: WantedCertificate): Promise<IssuanceNotice | undefined> {
    let notice: IssuanceNotice | undefined;
    try {
      const found = await aws.secretsmanager.getSecrets(
        { filters: [{ name: "tag-key", values: [STORE_TAGS.store] }, { name: "tag-value", values: [storeId] }] },
        { parent: this },
      );
      const arn = found.arns[0];
      const tags = arn === undefined ? undefined : (await aws.secretsmanager.getSecret({ arn }, { parent: this })).tags;
      notice = issuanceNotice(storedFromTags(tags), wanted, new Date());
    } catch (error) {
      notice = { level: "warn", message: `Could not read what the certificate store holds (${describeError(error)}); a replaced instance may need a new certificate from Let's Encrypt.` };
    }
    if (notice !== undefined) pulumi.log[notice.level](notice.message, this);
    return notice;
  }
}
