/**
 * The virtual machine: Ubuntu LTS AMI (looked up per region and architecture), SSH key pair, EC2 instance with
 * IMDSv2 and an encrypted gp3 root volume, bound to the Elastic IP.
 *
 * Nothing here depends on the Jitsi configuration or on any secret, so changing the app secret, the guest switch
 * or a template can never replace the machine. There is no user data: everything the host needs arrives later
 * over SSH, where secrets travel on stdin.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { METRIC_NAMESPACE } from "./diskMetric.ts";
import type { Architecture } from "./jitsiServerArgs.ts";

/** Canonical's AWS account, the publisher of the official Ubuntu images. */
export const CANONICAL_OWNER_ID = "099720109477";

/**
 * The Ubuntu LTS series the provisioning scripts are written and checked against (Jitsi's packages, the
 * Lua-library fix, OpenJDK 17). The AMI within the series is looked up, so every new deployment gets the latest
 * patched image; moving to the next LTS is a deliberate change because it replaces the VM.
 */
export const UBUNTU_LTS = { version: "24.04", codename: "noble" } as const;

/** Login user of Canonical's images. */
export const UBUNTU_USER = "ubuntu";

const AMI_ARCH: Record<Architecture, string> = { x86_64: "amd64", arm64: "arm64" };

/** Name filter for the newest Ubuntu LTS server image of one architecture (gp3-backed, HVM). */
export function ubuntuAmiNameFilter(architecture: Architecture, lts: { version: string; codename: string } = UBUNTU_LTS): string {
  return `ubuntu/images/hvm-ssd-gp3/ubuntu-${lts.codename}-${lts.version}-${AMI_ARCH[architecture]}-server-*`;
}

export interface JitsiHostArgs {
  /**
   * The public domain. Changing it replaces the VM: Jitsi's packages bake the domain into XMPP accounts,
   * certificates and their own config at install time, so a fresh host is the only clean rename.
   */
  readonly domain: string;
  readonly instanceType: string;
  readonly architecture: Architecture;
  readonly diskSizeGb: number;
  /** Subnet to launch into; undefined: the region's default VPC picks one of its default subnets. */
  readonly subnetId?: pulumi.Input<string>;
  readonly securityGroupId: pulumi.Input<string>;
  readonly elasticIp: aws.ec2.Eip;
  /** OpenSSH public key to install; undefined: a key pair is generated and its private key kept as a secret. */
  readonly sshPublicKey?: string;
  readonly tags?: Record<string, string>;
}

/**
 * The EC2 instance of one deployment (`jitsi:index:JitsiHost`): Ubuntu LTS AMI looked up per region and
 * architecture, IMDSv2 required, encrypted gp3 root volume, a generated or given SSH key, bound to the Elastic IP.
 * No user data. Children: `instance`, `association`, `role` (+ its instance profile); `amiId`, `privateKey`
 * (secret, generated key only).
 */
export class JitsiHost extends pulumi.ComponentResource {
  readonly instance: aws.ec2.Instance;
  readonly amiId: pulumi.Output<string>;
  readonly association: aws.ec2.EipAssociation;
  /**
   * The instance's role: here it may only put metrics into the project's own CloudWatch namespace (the disk-use
   * publisher, infra/diskMetric.ts). The certificate store (infra/certificateStore.ts) adds read/write of its one
   * secret. Nothing else: no S3, no SSM, no describe calls.
   */
  readonly role: aws.iam.Role;
  /** Generated private key (OpenSSH format, secret); undefined when the caller supplied a public key (use ssh-agent). */
  readonly privateKey: pulumi.Output<string> | undefined;
  readonly user = UBUNTU_USER;

  constructor(name: string, args: JitsiHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jitsi:index:JitsiHost", name, {}, opts);

    const ami = aws.ec2.getAmiOutput(
      {
        owners: [CANONICAL_OWNER_ID],
        mostRecent: true,
        filters: [
          { name: "name", values: [ubuntuAmiNameFilter(args.architecture)] },
          { name: "architecture", values: [args.architecture] },
          { name: "virtualization-type", values: ["hvm"] },
          { name: "root-device-type", values: ["ebs"] },
        ],
      },
      { parent: this },
    );
    this.amiId = ami.id;

    let publicKey: pulumi.Input<string>;
    if (args.sshPublicKey !== undefined) {
      publicKey = args.sshPublicKey;
    } else {
      const key = new tls.PrivateKey(`${name}-ssh`, { algorithm: "ED25519" }, { parent: this });
      publicKey = key.publicKeyOpenssh;
      // The provider marks it secret too; wrapping it here keeps that true whatever the provider schema says.
      this.privateKey = pulumi.secret(key.privateKeyOpenssh);
    }
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
        }),
        tags: args.tags,
      },
      { parent: this },
    );
    // PutMetricData has no resource ARN ("*" is the only form); the cloudwatch:namespace condition key confines
    // it to our namespace (IAM service authorization reference, "Actions, resources, and condition keys for
    // Amazon CloudWatch").
    new aws.iam.RolePolicy(
      `${name}-put-metrics`,
      {
        role: this.role.id,
        policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Action: "cloudwatch:PutMetricData",
              Resource: "*",
              Condition: { StringEquals: { "cloudwatch:namespace": METRIC_NAMESPACE } },
            },
          ],
        }),
      },
      { parent: this },
    );
    const profile = new aws.iam.InstanceProfile(`${name}-profile`, { role: this.role.name, tags: args.tags }, { parent: this });

    const keyPair = new aws.ec2.KeyPair(`${name}-key`, { publicKey, tags: args.tags }, { parent: this });

    this.instance = new aws.ec2.Instance(
      `${name}-vm`,
      {
        ami: ami.id,
        instanceType: args.instanceType,
        subnetId: args.subnetId,
        vpcSecurityGroupIds: [args.securityGroupId],
        keyName: keyPair.keyName,
        // Updated in place on a running instance (the provider replaces the profile association; hashicorp/terraform
        // PR #11862), so adding the role to an existing deployment keeps its VM.
        iamInstanceProfile: profile.name,
        // IMDSv2 only: a session token is required, and a hop limit of 1 keeps the credentials endpoint out of
        // reach of anything forwarded through the host.
        metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
        rootBlockDevice: {
          volumeType: "gp3",
          volumeSize: args.diskSizeGb,
          encrypted: true,
          deleteOnTermination: true,
        },
        tags: { ...args.tags, Name: name },
      },
      {
        parent: this,
        // A newer Ubuntu image is published every few weeks; picking it up must not replace a running server
        // (unattended-upgrades patches it in place). Replace deliberately with `pulumi up --replace`.
        ignoreChanges: ["ami"],
        replacementTrigger: args.domain,
      },
    );

    this.association = new aws.ec2.EipAssociation(
      `${name}-eip-association`,
      { instanceId: this.instance.id, allocationId: args.elasticIp.allocationId },
      { parent: this },
    );

    this.registerOutputs({ instanceId: this.instance.id, amiId: this.amiId, privateIp: this.instance.privateIp });
  }
}
