/**
 * The server's network edge: one security group with exactly the public ports Jitsi needs, and an Elastic IP so
 * the address (and the DNS record pointing at it) survives instance replacement.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PORTS } from "jitsi-jwt-token/shared";

export interface JitsiNetworkArgs {
  /** VPC the security group lives in (the instance's subnet must be in it). */
  readonly vpcId: pulumi.Input<string>;
  /** Sources allowed to reach SSH (22/tcp). Provisioning runs over SSH, so include the machine running Pulumi. */
  readonly adminCidrs: readonly string[];
  /** Open TURN's ports (3478/udp and coturn's relay range). Default false. */
  readonly turn?: boolean;
  readonly tags?: Record<string, string>;
}

/** Public rules: HTTPS (web, BOSH, XMPP WebSocket), HTTP (ACME HTTP-01 and redirect), media over UDP. */
export const PUBLIC_INGRESS = [
  { protocol: "tcp", port: PORTS.publicHttps, description: "HTTPS: web app, BOSH and XMPP WebSocket" },
  { protocol: "tcp", port: PORTS.publicHttp, description: "HTTP: ACME HTTP-01 challenges and redirect to HTTPS" },
  { protocol: "udp", port: PORTS.publicMediaUdp, description: "Media to the videobridge" },
] as const;

/**
 * TURN rules (jitsi:turn). TURN over TLS shares 443. The relay range is open to everyone because the peers of a
 * relay are other participants' addresses (one-to-one calls) and bridges, which may be anywhere; coturn lets
 * through only peers a credentialed client has asked for (CreatePermission).
 */
export const TURN_INGRESS = [
  { protocol: "udp", port: PORTS.turnUdp, toPort: PORTS.turnUdp, description: "TURN and STUN over UDP (coturn)" },
  { protocol: "udp", port: PORTS.turnRelayMin, toPort: PORTS.turnRelayMax, description: "TURN relayed media (coturn's relay ports)" },
] as const;

const ANYWHERE_V4 = "0.0.0.0/0";
const ANYWHERE_V6 = "::/0";

/**
 * The server's network edge (`jitsi:index:JitsiNetwork`): a security group with `PUBLIC_INGRESS` (443/tcp, 80/tcp,
 * 10000/udp) from anywhere, SSH (22/tcp) from `adminCidrs` only (IPv4 and IPv6), and an Elastic IP. Rules are
 * separate resources so other components (the bridge pool) can add theirs to `securityGroup`.
 */
export class JitsiNetwork extends pulumi.ComponentResource {
  /** Attach further rules to this group (the videobridge pool opens XMPP to its own group). */
  readonly securityGroup: aws.ec2.SecurityGroup;
  readonly elasticIp: aws.ec2.Eip;

  constructor(name: string, args: JitsiNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jitsi:index:JitsiNetwork", name, {}, opts);

    // Rules are separate resources, not inline lists: the videobridge pool adds its own 5222 rule to this group,
    // and inline lists would fight with it on every update.
    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        vpcId: args.vpcId,
        description: "Jitsi Meet server: HTTPS, HTTP, media UDP from anywhere; SSH from admins only",
        tags: args.tags,
      },
      { parent: this },
    );

    // The provider strips AWS's default allow-all egress from new groups; apt, Let's Encrypt and STUN need it back.
    for (const [family, cidr] of [["v4", ANYWHERE_V4], ["v6", ANYWHERE_V6]] as const) {
      new aws.vpc.SecurityGroupEgressRule(
        `${name}-egress-${family}`,
        {
          securityGroupId: this.securityGroup.id,
          ipProtocol: "-1",
          ...(family === "v6" ? { cidrIpv6: cidr } : { cidrIpv4: cidr }),
          description: "All outbound",
          tags: args.tags,
        },
        { parent: this },
      );
    }

    for (const rule of PUBLIC_INGRESS) {
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-${rule.protocol}-${rule.port}`,
        {
          securityGroupId: this.securityGroup.id,
          ipProtocol: rule.protocol,
          fromPort: rule.port,
          toPort: rule.port,
          cidrIpv4: ANYWHERE_V4,
          description: rule.description,
          tags: args.tags,
        },
        { parent: this },
      );
    }

    for (const rule of args.turn === true ? TURN_INGRESS : []) {
      const ports = rule.port === rule.toPort ? String(rule.port) : `${String(rule.port)}-${String(rule.toPort)}`;
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-${rule.protocol}-${ports}`,
        {
          securityGroupId: this.securityGroup.id,
          ipProtocol: rule.protocol,
          fromPort: rule.port,
          toPort: rule.toPort,
          cidrIpv4: ANYWHERE_V4,
          description: rule.description,
          tags: args.tags,
        },
        { parent: this },
      );
    }

    args.adminCidrs.forEach((cidr, index) => {
      const v6 = cidr.includes(":");
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-ssh-${index}`,
        {
          securityGroupId: this.securityGroup.id,
          ipProtocol: "tcp",
          fromPort: PORTS.ssh,
          toPort: PORTS.ssh,
          ...(v6 ? { cidrIpv6: cidr } : { cidrIpv4: cidr }),
          description: "SSH from an admin network (provisioning)",
          tags: args.tags,
        },
        { parent: this },
      );
    });

    // The EIP is independent of the instance: replacing the VM keeps the address, the DNS record and the
    // certificate's name resolution intact.
    this.elasticIp = new aws.ec2.Eip(`${name}-eip`, { domain: "vpc", tags: args.tags }, { parent: this });

    this.registerOutputs({ securityGroupId: this.securityGroup.id, publicIp: this.elasticIp.publicIp });
  }
}
