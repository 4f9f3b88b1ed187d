/**
 * `JitsiServer`: one self-hosted Jitsi Meet with JWT token authentication on AWS, as a reusable component.
 *
 * ```ts
 * import { JitsiServer } from "jitsi-jwt-pulumi/infra";
 * const meet = new JitsiServer("meet", {
 *   domain: "meet.example.com",
 *   hostedZone: { zoneName: "example.com" },
 *   letsEncrypt: { email: "ops@example.com" },
 *   token: { algorithm: "HS256", appId: "myapp" },
 *   adminCidrs: ["203.0.113.7/32"],
 *   jitsiVersion: "2.0.11248-1",
 * });
 * export const url = meet.meetingUrl;
 * ```
 *
 * The machine, its address and its DNS name depend only on infrastructure settings; token, guest and template
 * changes flow into the rendered files alone, so they update files and restart services but never replace the VM.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { RenderedFile } from "../templates/deployment.ts";
import { turnHostname, xmppNames } from "jitsi-jwt-token/shared";
import { renderFiles } from "../templates/render.ts";
import { DeploymentError } from "../templates/validate.ts";
import { VideobridgePool } from "./bridges.ts";
import { CertificateStore } from "./certificateStore.ts";
import { JitsiDns } from "./dns.ts";
import { JitsiHost } from "./host.ts";
import { settleJitsiServerArgs, type JitsiServerArgs } from "./jitsiServerArgs.ts";
import { JitsiMonitoring } from "./monitoring.ts";
import { JitsiNetwork } from "./network.ts";
import { ACME_DIRECTORIES, HostProvisioning } from "./provision.ts";
import { rendererInput, type RendererRuntimeValues } from "./rendererInput.ts";

export {
  DEFAULTS,
  JitsiServerArgsError,
  settleJitsiServerArgs,
  type JitsiServerArgs,
  type JitsiTokenArgs,
  type JitsiVideobridgesArgs,
  type SettledJitsiServerArgs,
} from "./jitsiServerArgs.ts";

/** Values that only exist at deployment, replaced by these when computing which files exist. */
const LAYOUT_PLACEHOLDERS = {
  secret: "layout-placeholder-secret-0123456789abcdef",
  privateIp: "10.0.0.1",
  publicIp: "192.0.2.1",
  vpcCidr: "10.0.0.0/16",
} as const;

/**
 * One self-hosted Jitsi Meet with JWT token authentication on AWS (`jitsi:index:JitsiServer`); see the module
 * comment for an example and `JitsiServerArgs` for every argument.
 */
export class JitsiServer extends pulumi.ComponentResource {
  /** `https://<domain>/` */
  readonly meetingUrl: string;
  readonly publicIp: pulumi.Output<string>;
  readonly privateIp: pulumi.Output<string>;
  readonly instanceId: pulumi.Output<string>;
  readonly xmppDomain: string;
  /** The anonymous guest domain, or undefined when guests are off. */
  readonly guestDomain: string | undefined;
  readonly appId: string;
  readonly tokenAlgorithm: "HS256" | "RS256";
  /** HS256 signing secret (secret Output); undefined for RS256. */
  readonly appSecret: pulumi.Output<string> | undefined;
  /** Generated SSH private key (secret); undefined when `sshPublicKey` was given. */
  readonly sshPrivateKey: pulumi.Output<string> | undefined;
  /** How to log in (the key comes from the `sshPrivateKey` output or your own key). */
  readonly sshCommand: pulumi.Output<string>;
  readonly securityGroupId: pulumi.Output<string>;
  readonly network: JitsiNetwork;
  readonly host: JitsiHost;
  readonly dns: JitsiDns;
  readonly provisioning: HostProvisioning;
  /** Keeps the certificate across replaced instances (a sibling of the host, so a replacement keeps it). */
  readonly certificateStore: CertificateStore;
  readonly videobridgePool: VideobridgePool | undefined;
  readonly monitoring: JitsiMonitoring;

  /**
   * Validates `args` and settles their defaults before anything is registered (not even this component), then
   * creates the network, host, DNS record, provisioning and the optional bridge pool.
   *
   * @param name - the component's name; children are named after it.
   * @param args - see `JitsiServerArgs`.
   * @param opts - Pulumi resource options for the component.
   * @throws JitsiServerArgsError (a `pulumi.RunError`) naming every bad argument, with zero resources registered.
   */
  constructor(name: string, args: JitsiServerArgs, opts?: pulumi.ComponentResourceOptions) {
    const settled = settleJitsiServerArgs(args);
    super("jitsi:index:JitsiServer", name, {}, opts);
    const tags = { "jitsi:deployment": name, ...settled.tags };
    const architecture = settled.architecture;
    const guests = settled.guests;
    const turn = settled.turn;
    const names = xmppNames(settled.domain);

    // Where the server goes: the given subnet (its VPC) or the default VPC.
    const vpcId =
      settled.subnetId !== undefined
        ? aws.ec2.getSubnetOutput({ id: settled.subnetId }, { parent: this }).apply((subnet) => {
            if (settled.vpcId !== undefined && subnet.vpcId !== settled.vpcId) {
              throw new pulumi.RunError(`jitsi:subnetId ${settled.subnetId} is in ${subnet.vpcId}, not in jitsi:vpcId ${settled.vpcId}`);
            }
            return subnet.vpcId;
          })
        : aws.ec2.getVpcOutput({ default: true }, { parent: this }).id;

    this.network = new JitsiNetwork(name, { vpcId, adminCidrs: settled.adminCidrs, turn, tags }, { parent: this });
    this.host = new JitsiHost(
      name,
      {
        domain: settled.domain,
        instanceType: settled.instanceType,
        architecture,
        diskSizeGb: settled.diskSizeGb,
        subnetId: settled.subnetId,
        securityGroupId: this.network.securityGroup.id,
        elasticIp: this.network.elasticIp,
        sshPublicKey: settled.sshPublicKey,
        tags,
      },
      { parent: this },
    );
    this.dns = new JitsiDns(
      name,
      { domain: settled.domain, hostedZone: settled.hostedZone, publicIp: this.network.elasticIp.publicIp, turn },
      { parent: this },
    );

    // Secrets: given or generated, always wrapped so they stay secret in state, outputs and previews.
    // Alphanumeric: safe in Lua, HOCON and debconf without quoting; 40+ characters is well over 200 bits.
    const password = (purpose: string, length: number) =>
      pulumi.secret(new random.RandomPassword(`${name}-${purpose}`, { length, special: false }, { parent: this }).result);
    const focusPassword = password("focus-password", 40);
    const jvbPassword = password("jvb-password", 40);
    this.tokenAlgorithm = settled.token.algorithm;
    this.appId = settled.token.appId;
    this.appSecret =
      settled.token.algorithm === "HS256"
        ? settled.token.appSecret !== undefined
          ? pulumi.secret(settled.token.appSecret)
          : password("app-secret", 64)
        : undefined;

    // coturn's shared secret (Prosody derives the credentials it hands out from it) and the VPC ranges its
    // relays must never reach: the primary block and every secondary one (AWS allows public ranges there).
    const vpc = turn ? aws.ec2.getVpcOutput({ id: vpcId }, { parent: this }) : undefined;
    const turnValues =
      turn && vpc
        ? pulumi.all([password("turn-secret", 64), vpc.cidrBlock, vpc.cidrBlockAssociations.apply((blocks) => (blocks ?? []).map((block) => block.cidrBlock))])
        : undefined;

    const keepLocalBridge = settled.localVideobridge;
    const deployment = (values: RendererRuntimeValues) => rendererInput(settled, values);

    // Which files exist depends only on plain settings, so it is known now and every file gets its own command.
    let layout: RenderedFile[];
    try {
      layout = renderFiles(
        deployment({
          appSecret: LAYOUT_PLACEHOLDERS.secret,
          focusPassword: LAYOUT_PLACEHOLDERS.secret,
          jvbPassword: LAYOUT_PLACEHOLDERS.secret,
          privateIp: LAYOUT_PLACEHOLDERS.privateIp,
          publicIp: LAYOUT_PLACEHOLDERS.publicIp,
          turn: { secret: LAYOUT_PLACEHOLDERS.secret.replace(/[^A-Za-z0-9]/g, ""), vpcCidr: LAYOUT_PLACEHOLDERS.vpcCidr },
        }),
      );
    } catch (error) {
      // Only plain settings reach the renderer here, so its field messages are safe to show, without a stack.
      if (error instanceof DeploymentError) throw new pulumi.RunError(`JitsiServer ${name}: settings rejected by the renderer: ${error.message}`);
      throw error;
    }
    const files: pulumi.Output<readonly RenderedFile[]> = pulumi
      .all([this.appSecret, focusPassword, jvbPassword, this.host.instance.privateIp, this.network.elasticIp.publicIp, turnValues])
      .apply(([appSecret, focus, jvb, privateIp, publicIp, turnPair]) => {
        const turnInput = turnPair === undefined ? undefined : { secret: turnPair[0], vpcCidr: turnPair[1], vpcSecondaryCidrs: turnPair[2].filter((cidr) => cidr !== turnPair[1]) };
        const rendered = renderFiles(deployment({ appSecret, focusPassword: focus, jvbPassword: jvb, privateIp, publicIp, turn: turnInput }));
        const expected = layout.map((f) => f.path).join("\n");
        if (rendered.map((f) => f.path).join("\n") !== expected) {
          throw new Error("the renderer's file list depends on a deployment-time value; it must depend on plain settings only");
        }
        return rendered;
      });

    // The certificate the host holds, kept across replaced instances; warns at preview when a new one is due.
    this.certificateStore = new CertificateStore(
      name,
      {
        role: this.host.role,
        wanted: {
          names: [settled.domain, ...(turn ? [turnHostname(settled.domain)] : [])],
          acmeServer: settled.letsEncrypt.staging ? ACME_DIRECTORIES.staging : ACME_DIRECTORIES.production,
        },
        tags,
      },
      { parent: this },
    );

    const connection = {
      host: this.network.elasticIp.publicIp,
      user: this.host.user,
      // Generated key (secret) or, with a supplied public key, the operator's ssh-agent.
      ...(this.host.privateKey !== undefined ? { privateKey: this.host.privateKey } : {}),
      // The first connection waits for the VM to boot: allow a few minutes of refused dials.
      dialErrorLimit: 40,
      perDialTimeout: 15,
    };

    this.provisioning = new HostProvisioning(
      name,
      {
        connection,
        domain: settled.domain,
        jitsiVersion: settled.jitsiVersion,
        diskSizeGb: settled.diskSizeGb,
        letsEncryptEmail: settled.letsEncrypt.email,
        letsEncryptStaging: settled.letsEncrypt.staging,
        publicIp: this.network.elasticIp.publicIp,
        focusPassword,
        jvbPassword,
        layout,
        files,
        instanceId: this.host.instance.id,
        hostReady: [this.host.association],
        dnsRecord: this.dns.record,
        extraCertificateNames:
          this.dns.turnRecord === undefined ? [] : [{ name: turnHostname(args.domain), record: this.dns.turnRecord }],
        localVideobridge: keepLocalBridge,
        turn,
        certificateStore: { secretArn: this.certificateStore.secret.arn, ready: this.certificateStore.policy },
      },
      { parent: this },
    );

    this.videobridgePool =
      settled.videobridges === undefined || settled.videobridges.count === 0
        ? undefined
        : new VideobridgePool(
            `${name}-bridges`,
            {
              domain: settled.domain,
              vpcId,
              subnetIds: [this.host.instance.subnetId],
              signallingSecurityGroupId: this.network.securityGroup.id,
              signallingPrivateIp: this.host.instance.privateIp,
              jvbPassword,
              jitsiVersion: settled.jitsiVersion,
              amiId: this.host.amiId,
              architecture,
              instanceType: settled.videobridges.instanceType,
              count: settled.videobridges.count,
              spot: settled.videobridges.spot,
              tags,
            },
            // Bridges log in to Prosody; the accounts exist once Jitsi is installed on this server.
            { parent: this, dependsOn: [this.provisioning.install] },
          );

    this.monitoring = new JitsiMonitoring(
      name,
      { instanceId: this.host.instance.id, alarmEmail: settled.alarmEmail, diskMetricPublisher: this.provisioning.diskMetric, tags },
      { parent: this },
    );

    this.meetingUrl = `https://${settled.domain}/`;
    this.publicIp = this.network.elasticIp.publicIp;
    this.privateIp = this.host.instance.privateIp;
    this.instanceId = this.host.instance.id;
    this.xmppDomain = names.domain;
    this.guestDomain = guests ? names.guest : undefined;
    this.sshPrivateKey = this.host.privateKey;
    this.securityGroupId = this.network.securityGroup.id;
    const keyHint = this.host.privateKey !== undefined ? `-i ${name}-ssh-key.pem ` : "";
    this.sshCommand = pulumi.interpolate`ssh ${keyHint}${this.host.user}@${this.publicIp}`;

    this.registerOutputs({
      meetingUrl: this.meetingUrl,
      publicIp: this.publicIp,
      instanceId: this.instanceId,
      xmppDomain: this.xmppDomain,
      guestDomain: this.guestDomain,
      appId: this.appId,
      tokenAlgorithm: this.tokenAlgorithm,
      appSecret: this.appSecret,
      sshCommand: this.sshCommand,
    });
  }
}
