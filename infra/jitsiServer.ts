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
 *   jitsiVersion: "2.0.10184-1",
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
import { turnHostname, xmppNames } from "../templates/names.ts";
import { renderFiles } from "../templates/render.ts";
import { DeploymentError } from "../templates/validate.ts";
import type { VideobridgesConfig } from "./bridgePoolConfig.ts";
import { VideobridgePool } from "./bridges.ts";
import { DEFAULTS, type Architecture, type HostedZoneRef } from "./config.ts";
import { JitsiDns } from "./dns.ts";
import { JitsiHost } from "./host.ts";
import { JitsiMonitoring } from "./monitoring.ts";
import { JitsiNetwork } from "./network.ts";
import { HostProvisioning } from "./provision.ts";
import { rendererInput, type RendererRuntimeValues, type RendererSettings } from "./rendererInput.ts";

/** Token settings: a shared secret (HS256) or public keys served from the host (RS256, Prosody's key server). */
export type JitsiTokenArgs =
  | {
      readonly algorithm: "HS256";
      /** JWT `iss` and Prosody's `app_id`. */
      readonly appId: string;
      /** Shared signing secret (≥ 32 characters). Omitted: a 64-character one is generated and kept secret. */
      readonly appSecret?: pulumi.Input<string>;
    }
  | {
      readonly algorithm: "RS256";
      readonly appId: string;
      /** PEM public keys by key id (`kid`); Prosody fetches them from this host. */
      readonly publicKeys: Readonly<Record<string, string>>;
    };

/** A pool of extra bridge-only instances (see infra/bridges.ts); `spot` defaults to false, `keepLocalBridge` to true. */
export type JitsiVideobridgesArgs = Pick<VideobridgesConfig, "count" | "instanceType"> &
  Partial<Pick<VideobridgesConfig, "spot" | "keepLocalBridge">>;

export interface JitsiServerArgs {
  /** Public FQDN of the meeting server, also the main XMPP domain, e.g. `meet.example.com`. */
  readonly domain: string;
  /** Route53 public hosted zone that holds `domain`. */
  readonly hostedZone: HostedZoneRef;
  /** EC2 instance type. Default `t3.large` (2 vCPU, 8 GiB: Prosody, Jicofo, the bridge and nginx together). */
  readonly instanceType?: string;
  /** CPU architecture; must match the instance type. Default `x86_64`. */
  readonly architecture?: Architecture;
  /** Root volume (encrypted gp3) size in GiB. Default 20. */
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
  /** CIDRs allowed to SSH in. Provisioning runs over SSH from the machine running Pulumi, so include it. */
  readonly adminCidrs: readonly string[];
  /** `jitsi-meet` package version to install and hold, e.g. `2.0.10184-1`. */
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

/** Values that only exist at deployment, replaced by these when computing which files exist. */
const LAYOUT_PLACEHOLDERS = {
  secret: "layout-placeholder-secret-0123456789abcdef",
  privateIp: "10.0.0.1",
  publicIp: "192.0.2.1",
  vpcCidr: "10.0.0.0/16",
} as const;

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
  readonly videobridgePool: VideobridgePool | undefined;
  readonly monitoring: JitsiMonitoring;

  constructor(name: string, args: JitsiServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jitsi:index:JitsiServer", name, {}, opts);
    const tags = { "jitsi:deployment": name, ...args.tags };
    const architecture = args.architecture ?? DEFAULTS.architecture;
    const guests = args.guests ?? DEFAULTS.guests;
    const turn = args.turn ?? DEFAULTS.turn;
    const names = xmppNames(args.domain);

    // Where the server goes: the given subnet (its VPC) or the default VPC.
    const vpcId =
      args.subnetId !== undefined
        ? aws.ec2.getSubnetOutput({ id: args.subnetId }, { parent: this }).apply((subnet) => {
            if (args.vpcId !== undefined && subnet.vpcId !== args.vpcId) {
              throw new pulumi.RunError(`jitsi:subnetId ${args.subnetId} is in ${subnet.vpcId}, not in jitsi:vpcId ${args.vpcId}`);
            }
            return subnet.vpcId;
          })
        : aws.ec2.getVpcOutput({ default: true }, { parent: this }).id;

    this.network = new JitsiNetwork(name, { vpcId, adminCidrs: args.adminCidrs, turn, tags }, { parent: this });
    this.host = new JitsiHost(
      name,
      {
        domain: args.domain,
        instanceType: args.instanceType ?? DEFAULTS.instanceType,
        architecture,
        diskSizeGb: args.diskSizeGb ?? DEFAULTS.diskSizeGb,
        subnetId: args.subnetId,
        securityGroupId: this.network.securityGroup.id,
        elasticIp: this.network.elasticIp,
        sshPublicKey: args.sshPublicKey,
        tags,
      },
      { parent: this },
    );
    this.dns = new JitsiDns(
      name,
      { domain: args.domain, hostedZone: args.hostedZone, publicIp: this.network.elasticIp.publicIp, turn },
      { parent: this },
    );

    // Secrets: given or generated, always wrapped so they stay secret in state, outputs and previews.
    // Alphanumeric: safe in Lua, HOCON and debconf without quoting; 40+ characters is well over 200 bits.
    const password = (purpose: string, length: number) =>
      pulumi.secret(new random.RandomPassword(`${name}-${purpose}`, { length, special: false }, { parent: this }).result);
    const focusPassword = password("focus-password", 40);
    const jvbPassword = password("jvb-password", 40);
    this.tokenAlgorithm = args.token.algorithm;
    this.appId = args.token.appId;
    this.appSecret =
      args.token.algorithm === "HS256"
        ? args.token.appSecret !== undefined
          ? pulumi.secret(args.token.appSecret)
          : password("app-secret", 64)
        : undefined;

    // coturn's shared secret (Prosody derives the credentials it hands out from it) and the VPC range its
    // relays must never reach.
    const turnValues = turn
      ? pulumi.all([password("turn-secret", 64), aws.ec2.getVpcOutput({ id: vpcId }, { parent: this }).cidrBlock])
      : undefined;

    const keepLocalBridge = args.videobridges === undefined || args.videobridges.keepLocalBridge !== false;
    const settings: RendererSettings = {
      domain: args.domain,
      token: args.token,
      guests,
      localVideobridge: keepLocalBridge,
      turn,
      letsEncryptEmail: args.letsEncrypt.email,
    };
    const deployment = (values: RendererRuntimeValues) => rendererInput(settings, values);

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
        const turnInput = turnPair === undefined ? undefined : { secret: turnPair[0], vpcCidr: turnPair[1] };
        const rendered = renderFiles(deployment({ appSecret, focusPassword: focus, jvbPassword: jvb, privateIp, publicIp, turn: turnInput }));
        const expected = layout.map((f) => f.path).join("\n");
        if (rendered.map((f) => f.path).join("\n") !== expected) {
          throw new Error("the renderer's file list depends on a deployment-time value; it must depend on plain settings only");
        }
        return rendered;
      });

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
        domain: args.domain,
        jitsiVersion: args.jitsiVersion,
        letsEncryptEmail: args.letsEncrypt.email,
        letsEncryptStaging: args.letsEncrypt.staging ?? DEFAULTS.letsEncryptStaging,
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
      },
      { parent: this },
    );

    this.videobridgePool =
      args.videobridges === undefined || args.videobridges.count === 0
        ? undefined
        : new VideobridgePool(
            `${name}-bridges`,
            {
              domain: args.domain,
              vpcId,
              subnetIds: [this.host.instance.subnetId],
              signallingSecurityGroupId: this.network.securityGroup.id,
              signallingPrivateIp: this.host.instance.privateIp,
              jvbPassword,
              jitsiVersion: args.jitsiVersion,
              amiId: this.host.amiId,
              architecture,
              instanceType: args.videobridges.instanceType,
              count: args.videobridges.count,
              spot: args.videobridges.spot ?? false,
              tags,
            },
            // Bridges log in to Prosody; the accounts exist once Jitsi is installed on this server.
            { parent: this, dependsOn: [this.provisioning.install] },
          );

    this.monitoring = new JitsiMonitoring(name, { instanceId: this.host.instance.id, alarmEmail: args.alarmEmail, tags }, { parent: this });

    this.meetingUrl = `https://${args.domain}/`;
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
