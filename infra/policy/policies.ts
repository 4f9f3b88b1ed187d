/**
 * This project's deployment policies as plain `@pulumi/policy` objects, so tests can call them directly and
 * `index.ts` can wrap them in a `PolicyPack` (whose constructor starts the policy server: never import that from
 * a test). Run them on any stack with `pulumi preview --policy-pack infra/policy` (docs/deploy.md).
 *
 * What they enforce (the same rules test/infra/policies.test.ts and secrets.test.ts assert on this program):
 * - public ingress is exactly 443/tcp, 80/tcp and 10000/udp; SSH (22/tcp) only from non-world CIDRs (and, when
 *   the policy's `adminCidrs` is configured, only from those); XMPP 5222/tcp only from a referenced security group
 *   (the videobridge pool); no inline or legacy ingress rules that would bypass this check;
 * - IMDSv2 required (`httpTokens: required`, hop limit 1) on instances and launch templates;
 * - every EBS volume encrypted;
 * - no secret in plain sight: the values Pulumi generated as secrets (random passwords, TLS private keys) and any
 *   PEM private key appear only in channels that stay secret (a command's stdin or SSH connection, an SSM
 *   SecureString), never in command text, environments, user data, tags, descriptions or command output;
 *   no command passes a secret-named environment variable (secrets go on stdin).
 *
 * Limits (written in docs/deploy.md too): Pulumi hands policies plain values, so a policy cannot see whether a
 * value was marked secret; a secret *you* supply through config (e.g. `jitsi:appSecret`) is unknown to the pack
 * and is covered only by the environment-name check here and by the tests' full secret scan.
 */
import type * as aws from "@pulumi/aws";
import type {
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { PORTS } from "jitsi-jwt-token/shared";
import { PUBLIC_INGRESS, TURN_INGRESS } from "../network.ts";

/** Resource type tokens the policies look at. */
export const POLICY_TYPES = {
  ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  legacyRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  instance: "aws:ec2/instance:Instance",
  launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
  volume: "aws:ebs/volume:Volume",
  command: "command:remote:Command",
  ssmParameter: "aws:ssm/parameter:Parameter",
  randomPassword: "random:index/randomPassword:RandomPassword",
  privateKey: "tls:index/privateKey:PrivateKey",
} as const;

const WORLD = new Set(["0.0.0.0/0", "::/0"]);

/** Configuration of the ingress policy (`pulumi preview --policy-pack … --policy-pack-config file.json`). */
export interface IngressPolicyConfig {
  /** When set, SSH may come only from exactly these CIDRs (the stack's `jitsi:adminCidrs`). */
  readonly adminCidrs?: readonly string[];
}

type IngressProps = Partial<aws.vpc.SecurityGroupIngressRuleArgs> & Record<string, unknown>;

function describeRule(p: IngressProps): string {
  const source = p.cidrIpv4 ?? p.cidrIpv6 ?? p.referencedSecurityGroupId ?? p.prefixListId ?? "?";
  return `${String(p.ipProtocol)} ${String(p.fromPort)}-${String(p.toPort)} from ${String(source)}`;
}

function checkIngressRule(p: IngressProps, config: IngressPolicyConfig, report: ReportViolation): void {
  const protocol = String(p.ipProtocol);
  const rule = describeRule(p);
  const world = [p.cidrIpv4, p.cidrIpv6].some((c) => typeof c === "string" && WORLD.has(c));
  // TURN (jitsi:turn): exactly its UDP port and coturn's relay range, nothing wider.
  if (world && TURN_INGRESS.some((r) => r.protocol === protocol && r.port === p.fromPort && r.toPort === p.toPort)) return;
  if (p.fromPort === undefined || p.fromPort !== p.toPort || protocol === "-1") {
    report(`ingress ${rule}: open single ports only, not ranges or all traffic`);
    return;
  }
  const port = Number(p.fromPort);
  const cidr = (p.cidrIpv4 ?? p.cidrIpv6) as string | undefined;
  if (cidr !== undefined && WORLD.has(cidr)) {
    if (!PUBLIC_INGRESS.some((r) => r.protocol === protocol && r.port === port)) {
      const allowed = PUBLIC_INGRESS.map((r) => `${r.port}/${r.protocol}`).join(", ");
      report(`ingress ${rule}: only ${allowed} may be open to the world (with TURN also ${TURN_ALLOWED})`);
    }
    return;
  }
  if (cidr !== undefined) {
    if (protocol !== "tcp" || port !== PORTS.ssh) {
      report(`ingress ${rule}: from a CIDR only SSH (${PORTS.ssh}/tcp) is allowed`);
    } else if (config.adminCidrs !== undefined && !config.adminCidrs.includes(cidr)) {
      report(`ingress ${rule}: SSH only from the configured adminCidrs (${config.adminCidrs.join(", ")})`);
    }
    return;
  }
  if (p.referencedSecurityGroupId !== undefined) {
    if (protocol !== "tcp" || port !== PORTS.xmppClient) {
      report(`ingress ${rule}: from a security group only XMPP (${PORTS.xmppClient}/tcp, the videobridge pool) is allowed`);
    }
    return;
  }
  report(`ingress ${rule}: sources must be a CIDR or a security group (prefix lists are not allowed)`);
}

const TURN_ALLOWED = TURN_INGRESS.map((r) => `${r.port === r.toPort ? String(r.port) : `${String(r.port)}-${String(r.toPort)}`}/${r.protocol}`).join(", ");

/** Ingress: exactly the public ports, SSH from admins only, XMPP from the bridge pool's group only. */
export const ingressPolicy: ResourceValidationPolicy = {
  name: "jitsi-ingress-exact-ports",
  description: `Public ingress only ${PUBLIC_INGRESS.map((r) => `${r.port}/${r.protocol}`).join(", ")} (with TURN also ${TURN_ALLOWED}); SSH only from admin CIDRs; XMPP only from the bridge pool.`,
  enforcementLevel: "mandatory",
  configSchema: {
    properties: { adminCidrs: { type: "array", items: { type: "string" } } },
  },
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    switch (args.type) {
      case POLICY_TYPES.ingressRule:
        checkIngressRule(args.props as IngressProps, args.getConfig<IngressPolicyConfig>(), report);
        return;
      case POLICY_TYPES.legacyRule:
        if (args.props.type === "ingress") report("use aws.vpc.SecurityGroupIngressRule resources, not aws.ec2.SecurityGroupRule ingress");
        return;
      case POLICY_TYPES.securityGroup: {
        const inline = args.props.ingress as unknown[] | undefined;
        if (inline !== undefined && inline.length > 0) report("no inline ingress: standalone aws.vpc.SecurityGroupIngressRule resources only");
        return;
      }
      default:
        args.notApplicable("not a security group or ingress rule");
    }
  },
};

interface MetadataOptions {
  readonly httpTokens?: string;
  readonly httpPutResponseHopLimit?: number;
}

/** IMDSv2: session tokens required, hop limit 1 (no container on the host may reach the instance's role). */
export const imdsV2Policy: ResourceValidationPolicy = {
  name: "jitsi-imdsv2-required",
  description: "Instances and launch templates require IMDSv2 session tokens with a hop limit of 1.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== POLICY_TYPES.instance && args.type !== POLICY_TYPES.launchTemplate) {
      args.notApplicable("not an instance or launch template");
    }
    const options = args.props.metadataOptions as MetadataOptions | undefined;
    if (options?.httpTokens !== "required") report(`metadataOptions.httpTokens must be "required" (got ${JSON.stringify(options?.httpTokens)})`);
    if (options?.httpPutResponseHopLimit !== undefined && options.httpPutResponseHopLimit > 1) {
      report(`metadataOptions.httpPutResponseHopLimit must be 1 (got ${options.httpPutResponseHopLimit})`);
    }
  },
};

const encryptedFlag = (value: unknown) => value === true || value === "true";

/** Every EBS volume encrypted: root and extra devices of instances, launch template mappings, standalone volumes. */
export const encryptedVolumesPolicy: ResourceValidationPolicy = {
  name: "jitsi-encrypted-volumes",
  description: "Every EBS volume (instance root and extra devices, launch template mappings, volumes) is encrypted.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    const p = args.props;
    switch (args.type) {
      case POLICY_TYPES.instance: {
        const root = p.rootBlockDevice as { encrypted?: unknown } | undefined;
        if (!encryptedFlag(root?.encrypted)) report("rootBlockDevice.encrypted must be true");
        ((p.ebsBlockDevices ?? []) as { deviceName?: string; encrypted?: unknown }[]).forEach((d, i) => {
          if (!encryptedFlag(d.encrypted)) report(`ebsBlockDevices[${i}] (${String(d.deviceName)}) must be encrypted`);
        });
        return;
      }
      case POLICY_TYPES.launchTemplate: {
        const mappings = (p.blockDeviceMappings ?? []) as { deviceName?: string; ebs?: { encrypted?: unknown } }[];
        if (mappings.length === 0) report("blockDeviceMappings must set the root volume (encrypted), not inherit the AMI's");
        mappings.forEach((m, i) => {
          if (m.ebs !== undefined && !encryptedFlag(m.ebs.encrypted)) report(`blockDeviceMappings[${i}] (${String(m.deviceName)}) must be encrypted`);
        });
        return;
      }
      case POLICY_TYPES.volume:
        if (!encryptedFlag(p.encrypted)) report("encrypted must be true");
        return;
      default:
        args.notApplicable("not an instance, launch template or volume");
    }
  },
};

const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
const SECRET_NAME = /secret|password|passwd|private[_-]?key|api[_-]?key|token/i;
/** Where a secret value may legitimately travel: Pulumi keeps these secret end to end. */
function secretChannel(resource: PolicyResource, path: string): boolean {
  switch (resource.type) {
    case POLICY_TYPES.command:
      return path === "stdin" || path === "connection.privateKey" || path === "connection.password";
    case POLICY_TYPES.ssmParameter:
      return path === "value" && resource.props.type === "SecureString";
    case POLICY_TYPES.randomPassword:
    case POLICY_TYPES.privateKey:
      return true; // the generators themselves (their outputs are secret by the provider's schema)
    default:
      return false;
  }
}

/**
 * This program's components (`jitsi:…`) and the stack re-export their children's values; Pulumi keeps the
 * secretness there, but a policy cannot see it, so they are not scanned (the tests check the outputs' secretness).
 */
const scanned = (r: PolicyResource) => !r.type.startsWith("jitsi:") && r.type !== "pulumi:pulumi:Stack";

function strings(value: unknown, path = ""): { path: string; text: string }[] {
  if (typeof value === "string") return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${path}[${i}]`));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => strings(v, path === "" ? k : `${path}.${k}`));
  }
  return [];
}

/** Launch templates carry user data base64-encoded; scan the text. */
function decodedUserData(resource: PolicyResource): string | undefined {
  const data = resource.props.userData;
  if (typeof data !== "string") return undefined;
  if (resource.type !== POLICY_TYPES.launchTemplate) return data;
  const text = Buffer.from(data, "base64").toString("utf8");
  return Buffer.from(text, "utf8").toString("base64") === data ? text : data;
}

function knownSecrets(resources: readonly PolicyResource[]): string[] {
  const found: string[] = [];
  for (const r of resources) {
    if (r.type === POLICY_TYPES.randomPassword && typeof r.props.result === "string") found.push(r.props.result);
    if (r.type === POLICY_TYPES.privateKey) {
      for (const key of ["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"]) {
        if (typeof r.props[key] === "string") found.push(r.props[key] as string);
      }
    }
  }
  // A whole PEM rarely leaks verbatim (re-wrapped, trimmed); its long body lines are matched too.
  return found.flatMap((s) => [s, ...s.split("\n").filter((line) => line.length >= 16 && !line.startsWith("-----"))]).filter((s) => s.length >= 8);
}

/** No secret in plain sight, in any resource's inputs or outputs (command output included). */
export const noPlainSecretsPolicy: StackValidationPolicy = {
  name: "jitsi-no-plain-secrets",
  description:
    "Generated secrets and private keys travel only in secret channels (command stdin or connection, SSM SecureString); no secret-named command environment variable.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    const secrets = knownSecrets(args.resources);
    for (const resource of args.resources.filter(scanned)) {
      const userData = decodedUserData(resource);
      const texts = strings(resource.props).map((s) => (s.path === "userData" && userData !== undefined ? { ...s, text: userData } : s));
      for (const { path, text } of texts) {
        if (secretChannel(resource, path)) continue;
        if (secrets.some((s) => text.includes(s))) report(`${resource.type} ${resource.name}: ${path} holds a generated secret in plain text`, resource.urn);
        else if (PEM_PRIVATE_KEY.test(text)) report(`${resource.type} ${resource.name}: ${path} holds a private key in plain text`, resource.urn);
      }
      if (resource.type === POLICY_TYPES.command) {
        const env = (resource.props.environment ?? {}) as Record<string, unknown>;
        for (const name of Object.keys(env).filter((n) => SECRET_NAME.test(n))) {
          report(`${resource.type} ${resource.name}: environment variable ${name} looks secret; pass secrets on stdin`, resource.urn);
        }
      }
    }
  },
};

/** The pack's policies, in the order `pulumi preview` reports them. */
export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [ingressPolicy, imdsV2Policy, encryptedVolumesPolicy, noPlainSecretsPolicy];
