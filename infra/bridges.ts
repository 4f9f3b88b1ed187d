/**
 * A pool of bridge-only instances that scale media out of the signalling node: an Auto Scaling Group whose
 * instances install the pinned jitsi-videobridge2, log in to the signalling node's Prosody over its private
 * address (TCP 5222, open only to this pool) and join the brewery MUC, where Jicofo finds them. Scale-in waits for
 * each bridge to finish its conferences (lifecycle hook + Jitsi's graceful shutdown, bounded).
 *
 * No secret reaches user data: the XMPP password lives in an SSM SecureString that only this pool's role can read,
 * and each instance fetches it at bridge start.
 *
 * Split like pulumi-eks's nodes/: this file is the component; bridges/config.ts the stack key and argument
 * checks, bridges/userData.ts what an instance receives, bridges/iam.ts its role's policy documents.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PORTS } from "jitsi-jwt-token/shared";
import { DEFAULT_DRAIN_SECONDS, DEFAULT_ROOT_GIB, HOOK_MARGIN_SECONDS, validatePoolArgs, type Architecture } from "./bridges/config.ts";
import { completeLifecyclePolicy, readPasswordPolicy } from "./bridges/iam.ts";
import { bridgeUserData, DRAIN_HOOK_NAME, LAUNCH_HOOK_NAME, LAUNCH_HOOK_SECONDS, poolBridgeJvbConf } from "./bridges/userData.ts";

export interface VideobridgePoolArgs {
  /** Public FQDN of the deployment; the bridges log in to `auth.<domain>` and join its brewery. */
  readonly domain: string;
  /** VPC of the signalling node. */
  readonly vpcId: pulumi.Input<string>;
  /**
   * Public subnets of that VPC (bridges get public IPv4 addresses; media goes straight to them). Several subnets in
   * different zones let the group survive a zone outage. Plain ids are checked before anything is created.
   */
  readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Security group of the signalling node; the pool adds the one rule that lets its bridges reach TCP 5222. */
  readonly signallingSecurityGroupId: pulumi.Input<string>;
  /** Private IPv4 of the signalling node: the bridges' XMPP server address (traffic stays inside the VPC). */
  readonly signallingPrivateIp: pulumi.Input<string>;
  /** Password of the shared `jvb@auth.<domain>` account (secret). Stored only in the pool's SSM parameter. */
  readonly jvbPassword: pulumi.Input<string>;
  /** Version of the `jitsi-meet` package on the signalling node; bridges install the jitsi-videobridge2 it pins. */
  readonly jitsiVersion: string;
  /** Ubuntu LTS AMI (the signalling node's). */
  readonly amiId: pulumi.Input<string>;
  /** Architecture of that AMI; the instance type must match it. */
  readonly architecture: Architecture;
  readonly instanceType: string;
  /** Bridges kept running (min = max = desired). Changing it changes nothing but the group's size. */
  readonly count: number;
  /** Run on Spot capacity. Default false. */
  readonly spot?: boolean;
  /** Longest wait for a bridge's conferences to end on scale-in, in seconds (60–6900). Default 3600. */
  readonly drainTimeoutSeconds?: number;
  /** Root volume size in GiB. Default 10 (Ubuntu + Java + the bridge need about 4). */
  readonly rootVolumeGiB?: number;
  readonly tags?: Record<string, string>;
}

/**
 * A pool of bridge-only instances (`jitsi:index:VideobridgePool`): an Auto Scaling Group (min = max = `count`), its
 * security group, launch template, instance role, the SSM SecureString with the XMPP password, and the drain
 * lifecycle hook. Arguments are checked before anything is created (`validatePoolArgs`, BridgePoolConfigError).
 */
export class VideobridgePool extends pulumi.ComponentResource {
  /** Security group of the bridges. */
  readonly securityGroupId: pulumi.Output<string>;
  readonly autoScalingGroupName: pulumi.Output<string>;
  /** Name of the SSM SecureString holding the XMPP password (the value itself is never an output). */
  readonly passwordParameterName: pulumi.Output<string>;

  constructor(name: string, args: VideobridgePoolArgs, opts?: pulumi.ComponentResourceOptions) {
    // A bad value must stop the program before anything, the component included, is registered.
    validatePoolArgs(args);
    super("jitsi:index:VideobridgePool", name, {}, opts);

    const tags = { ...args.tags, "jitsi:role": "videobridge" };
    const drainSeconds = args.drainTimeoutSeconds ?? DEFAULT_DRAIN_SECONDS;
    // Fixed, not auto-named: the instances need the group's name to complete its hook, and user data cannot
    // refer to the group it launches from. Project and stack keep it unique in the account.
    const asgName = `${pulumi.getProject()}-${pulumi.getStack()}-${name}`.replace(/[^A-Za-z0-9-]/g, "-").slice(0, 255);

    const password = new aws.ssm.Parameter(
      `${name}-xmpp-password`,
      {
        type: "SecureString",
        value: pulumi.secret(args.jvbPassword),
        description: `XMPP password of jvb@auth.${args.domain}, read by the videobridge pool at bridge start`,
        tags,
      },
      { parent: this },
    );

    const securityGroup = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      { vpcId: args.vpcId, description: "Jitsi videobridge pool: media UDP from anywhere, nothing else in", tags },
      { parent: this },
    );
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-media-udp`,
      {
        securityGroupId: securityGroup.id,
        ipProtocol: "udp",
        fromPort: PORTS.publicMediaUdp,
        toPort: PORTS.publicMediaUdp,
        cidrIpv4: "0.0.0.0/0",
        description: "Media (ICE/UDP) from participants",
        tags,
      },
      { parent: this },
    );
    // Out: apt and the snap store at boot, SSM and Auto Scaling APIs, XMPP to the signalling node, media.
    new aws.vpc.SecurityGroupEgressRule(
      `${name}-egress`,
      { securityGroupId: securityGroup.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "All outbound", tags },
      { parent: this },
    );
    // The only way in to the signalling node's Prosody c2s port: from this pool's group.
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-xmpp-from-bridges`,
      {
        securityGroupId: args.signallingSecurityGroupId,
        ipProtocol: "tcp",
        fromPort: PORTS.xmppClient,
        toPort: PORTS.xmppClient,
        referencedSecurityGroupId: securityGroup.id,
        description: "XMPP client logins from the videobridge pool",
        tags,
      },
      { parent: this },
    );

    const role = new aws.iam.Role(
      `${name}-role`,
      {
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
        }),
        description: "Videobridge pool instances: read the XMPP password, complete their own drain",
        tags,
      },
      { parent: this },
    );
    const readPassword = new aws.iam.RolePolicy(
      `${name}-read-password`,
      { role: role.name, policy: password.arn.apply(readPasswordPolicy) },
      { parent: this },
    );
    const profile = new aws.iam.InstanceProfile(`${name}-profile`, { role: role.name, tags }, { parent: this });

    const jvbConf = pulumi
      .output(args.signallingPrivateIp)
      .apply((xmppHost) => poolBridgeJvbConf(args.domain, xmppHost));
    const userData = pulumi.all([jvbConf, password.name]).apply(([conf, parameterName]) =>
      Buffer.from(
        bridgeUserData({
          domain: args.domain,
          jitsiVersion: args.jitsiVersion,
          jvbConf: conf,
          passwordParameter: parameterName,
          asgName,
          drainTimeoutSeconds: drainSeconds,
        }),
      ).toString("base64"),
    );

    const launchTemplate = new aws.ec2.LaunchTemplate(
      `${name}-lt`,
      {
        description: "Jitsi videobridge (bridge only)",
        imageId: args.amiId,
        instanceType: args.instanceType,
        iamInstanceProfile: { arn: profile.arn },
        // IMDSv2 only, and one hop: nothing but the host itself reads the metadata.
        metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
        blockDeviceMappings: [
          {
            // Root device of Canonical's Ubuntu AMIs.
            deviceName: "/dev/sda1",
            ebs: { volumeSize: args.rootVolumeGiB ?? DEFAULT_ROOT_GIB, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
          },
        ],
        // A public IPv4 per bridge: participants send media straight to it.
        networkInterfaces: [
          { deviceIndex: 0, associatePublicIpAddress: "true", securityGroups: [securityGroup.id], deleteOnTermination: "true" },
        ],
        userData,
        updateDefaultVersion: true,
        tagSpecifications: [
          { resourceType: "instance", tags: { ...tags, Name: `${name}-videobridge` } },
          { resourceType: "volume", tags },
        ],
        tags,
      },
      { parent: this },
    );

    const template = { id: launchTemplate.id, version: launchTemplate.latestVersion.apply(String) };
    const group = new aws.autoscaling.Group(
      `${name}-asg`,
      {
        name: asgName,
        minSize: args.count,
        maxSize: args.count,
        desiredCapacity: args.count,
        vpcZoneIdentifiers: args.subnetIds,
        healthCheckType: "EC2",
        healthCheckGracePeriod: 300,
        // On the group itself, so even the first instances wait for it (a separate hook resource comes later).
        initialLifecycleHooks: [
          {
            name: LAUNCH_HOOK_NAME,
            lifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
            heartbeatTimeout: LAUNCH_HOOK_SECONDS,
            defaultResult: "ABANDON",
          },
        ],
        ...(args.spot
          ? {
              // Spot through the group, not the template: the group replaces interrupted capacity, and capacity
              // rebalancing swaps at-risk instances early — through the termination hook, so they drain.
              capacityRebalance: true,
              mixedInstancesPolicy: {
                launchTemplate: { launchTemplateSpecification: { launchTemplateId: template.id, version: template.version } },
                instancesDistribution: {
                  onDemandBaseCapacity: 0,
                  onDemandPercentageAboveBaseCapacity: 0,
                  spotAllocationStrategy: "price-capacity-optimized",
                },
              },
            }
          : { launchTemplate: template }),
        tags: Object.entries(tags).map(([key, value]) => ({ key, value, propagateAtLaunch: false })),
      },
      // The first bridges read the password as they boot.
      { parent: this, dependsOn: [readPassword] },
    );

    new aws.autoscaling.LifecycleHook(
      `${name}-drain`,
      {
        name: DRAIN_HOOK_NAME,
        autoscalingGroupName: group.name,
        lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
        // Bounded: if the drain script never answers, termination goes on after this long.
        heartbeatTimeout: drainSeconds + HOOK_MARGIN_SECONDS,
        defaultResult: "CONTINUE",
      },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-complete-drain`,
      { role: role.name, policy: group.arn.apply(completeLifecyclePolicy) },
      { parent: this },
    );

    this.securityGroupId = securityGroup.id;
    this.autoScalingGroupName = group.name;
    this.passwordParameterName = password.name;
    this.registerOutputs({
      securityGroupId: this.securityGroupId,
      autoScalingGroupName: this.autoScalingGroupName,
      passwordParameterName: this.passwordParameterName,
    });
  }
}
