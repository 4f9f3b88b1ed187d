/**
 * Policies over what the VideobridgePool registers, with Pulumi's mock monitor (no engine, no AWS): network
 * exposure, secrets, IAM scope, the drain hook, and that the count moves nothing but the group's size.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";

interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

const REGION = "eu-central-1";
const ACCOUNT = "123456789012";
const PASSWORD = "Xq7-jvb-pool-pass-9d2Lr0";
let registered: Registered[] = [];

// Mocks first, then the component: @pulumi/aws reads the runtime settings when its modules load.
await pulumi.runtime.setMocks(
  {
    newResource(args) {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
      const state: Record<string, unknown> = { ...args.inputs };
      // What the provider would compute and the component reads back.
      if (args.type === "aws:ssm/parameter:Parameter") {
        state.name = `/${args.name}-generated`;
        state.arn = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/${args.name}-generated`;
      }
      if (args.type === "aws:autoscaling/group:Group") {
        state.arn = `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:0000:autoScalingGroupName/${String(args.inputs.name)}`;
      }
      if (args.type === "aws:ec2/launchTemplate:LaunchTemplate") state.latestVersion = 1;
      if (args.type === "aws:iam/role:Role") state.name = `${args.name}-generated`;
      if (args.type === "aws:iam/instanceProfile:InstanceProfile") state.arn = `arn:aws:iam::${ACCOUNT}:instance-profile/${args.name}`;
      return { id: `${args.name}-id`, state };
    },
    call(args) {
      return args.inputs;
    },
  },
  "jitsi",
  "test",
  false,
);

const { VideobridgePool } = await import("../../infra/bridges.ts");
const { DRAIN_HOOK_NAME, BRIDGE_INSTANCE_PATHS, poolBridgeJvbConf } = await import("../../infra/bridges/userData.ts");
const { BRIDGE_ENV, renderBridgeJvbConf } = await import("../../templates/files/jvb.ts");
const { BridgePoolConfigError } = await import("../../infra/bridges/config.ts");
type PoolArgs = ConstructorParameters<typeof VideobridgePool>[1];

const baseArgs: PoolArgs = {
  domain: "meet.example.com",
  vpcId: "vpc-0123456789abcdef0",
  subnetIds: ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
  signallingSecurityGroupId: "sg-signalling",
  signallingPrivateIp: "10.0.1.23",
  jvbPassword: pulumi.secret(PASSWORD),
  jitsiVersion: "2.0.11248-1",
  amiId: "ami-0123456789abcdef0",
  architecture: "x86_64",
  instanceType: "c6i.xlarge",
  count: 2,
};

/** Lets every queued registration reach the mock monitor. Internal to @pulumi/pulumi, hence the cast. */
async function settle(): Promise<void> {
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}

async function build(overrides: Partial<PoolArgs> = {}, name = "pool"): Promise<Registered[]> {
  registered = [];
  new VideobridgePool(name, { ...baseArgs, ...overrides });
  await settle();
  return registered;
}

const ofType = (resources: Registered[], type: string) => resources.filter((r) => r.type === type);
const only = (resources: Registered[], type: string): Registered => {
  const found = ofType(resources, type);
  expect(found, type).toHaveLength(1);
  return found[0]!;
};

/** How the mock monitor hands over a secret value: wrapped with Pulumi's wire signature. */
const isSecretValue = (v: unknown): v is { value: unknown } =>
  typeof v === "object" && v !== null && (v as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;

/** Every string in a resource's inputs with its path, looking inside secret-wrapped values too. */
function strings(value: unknown, path: string, out: [string, string][] = []): [string, string][] {
  if (isSecretValue(value)) return strings(value.value, path, out);
  if (typeof value === "string") out.push([path, value]);
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${path}[${i}]`, out));
  else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) strings(v, `${path}.${k}`, out);
  }
  return out;
}

const userDataOf = (resources: Registered[]) =>
  Buffer.from(String(only(resources, "aws:ec2/launchTemplate:LaunchTemplate").inputs.userData), "base64").toString("utf8");

describe("VideobridgePool", () => {
  let resources: Registered[];
  beforeAll(async () => {
    resources = await build();
  });

  it("registers exactly these resources", () => {
    expect(resources.map((r) => `${r.type} ${r.name}`).sort()).toEqual([
      "aws:autoscaling/group:Group pool-asg",
      "aws:autoscaling/lifecycleHook:LifecycleHook pool-drain",
      "aws:ec2/launchTemplate:LaunchTemplate pool-lt",
      "aws:ec2/securityGroup:SecurityGroup pool-sg",
      "aws:iam/instanceProfile:InstanceProfile pool-profile",
      "aws:iam/role:Role pool-role",
      "aws:iam/rolePolicy:RolePolicy pool-complete-drain",
      "aws:iam/rolePolicy:RolePolicy pool-read-password",
      "aws:ssm/parameter:Parameter pool-xmpp-password",
      "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule pool-egress",
      "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule pool-media-udp",
      "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule pool-xmpp-from-bridges",
      "jitsi:index:VideobridgePool pool",
    ]);
  });

  it("opens UDP 10000 to the world on the bridges and TCP 5222 on the signalling node to the bridges only — nothing else", () => {
    const poolSg = only(resources, "aws:ec2/securityGroup:SecurityGroup");
    expect(poolSg.inputs.ingress ?? []).toEqual([]);
    const poolSgId = `${poolSg.name}-id`;
    const ingress = ofType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => r.inputs);
    const pick = ({ securityGroupId, ipProtocol, fromPort, toPort, cidrIpv4, cidrIpv6, referencedSecurityGroupId, prefixListId }: Record<string, unknown>) =>
      ({ securityGroupId, ipProtocol, fromPort, toPort, cidrIpv4, cidrIpv6, referencedSecurityGroupId, prefixListId });
    expect(ingress.map(pick)).toEqual(
      expect.arrayContaining([
        { securityGroupId: poolSgId, ipProtocol: "udp", fromPort: 10000, toPort: 10000, cidrIpv4: "0.0.0.0/0", cidrIpv6: undefined, referencedSecurityGroupId: undefined, prefixListId: undefined },
        { securityGroupId: "sg-signalling", ipProtocol: "tcp", fromPort: 5222, toPort: 5222, cidrIpv4: undefined, cidrIpv6: undefined, referencedSecurityGroupId: poolSgId, prefixListId: undefined },
      ]),
    );
    expect(ingress).toHaveLength(2);
    // The one egress rule is on the pool's own group.
    const egress = ofType(resources, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").map((r) => r.inputs);
    expect(egress.map((e) => e.securityGroupId)).toEqual([poolSgId]);
  });

  it("keeps the XMPP password out of user data and every other input; only the SSM parameter holds it, as a secret", () => {
    const parameter = only(resources, "aws:ssm/parameter:Parameter");
    expect(parameter.inputs.type).toBe("SecureString");
    expect(isSecretValue(parameter.inputs.value)).toBe(true);
    expect((parameter.inputs.value as { value: unknown }).value).toBe(PASSWORD);

    // Secret or not, the password belongs in one place: an AWS tag or description is readable by anyone with
    // Describe* rights, whatever Pulumi's state does with it.
    const holders = resources.flatMap((r) =>
      strings(r.inputs, `${r.type}:${r.name}`).filter(([, text]) => text.includes(PASSWORD)),
    );
    expect(holders.map(([path]) => path)).toEqual(["aws:ssm/parameter:Parameter:pool-xmpp-password.value"]);
    const userData = userDataOf(resources);
    expect(userData.length).toBeGreaterThan(1000); // decoded: the scan above saw only base64
    expect(userData).not.toContain(PASSWORD);
  });

  it("lets the instances read exactly one parameter and complete lifecycle actions of their own group, nothing else", () => {
    const parameterArn = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/pool-xmpp-password-generated`;
    const group = only(resources, "aws:autoscaling/group:Group");
    const groupArn = `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:0000:autoScalingGroupName/${String(group.inputs.name)}`;
    const statements = ofType(resources, "aws:iam/rolePolicy:RolePolicy").flatMap(
      (p) => (JSON.parse(String(p.inputs.policy)) as { Statement: unknown[] }).Statement,
    );
    expect(statements).toEqual([
      { Effect: "Allow", Action: "ssm:GetParameter", Resource: parameterArn },
      { Effect: "Allow", Action: "autoscaling:CompleteLifecycleAction", Resource: groupArn },
    ]);
    // No managed policies attached, and the role is for EC2 only.
    expect(ofType(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")).toEqual([]);
    const role = only(resources, "aws:iam/role:Role");
    expect(role.inputs.managedPolicyArns ?? []).toEqual([]);
    expect(JSON.parse(String(role.inputs.assumeRolePolicy))).toEqual({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
  });

  it("drains on scale-in: a termination hook with a bounded timeout that lets termination go on", () => {
    const hook = only(resources, "aws:autoscaling/lifecycleHook:LifecycleHook").inputs;
    const group = only(resources, "aws:autoscaling/group:Group").inputs;
    expect(hook).toMatchObject({
      name: DRAIN_HOOK_NAME,
      autoscalingGroupName: group.name,
      lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
      defaultResult: "CONTINUE",
      heartbeatTimeout: 3600 + 300,
    });
    // The instance learns the group and hook names from its pool env; they must be the registered ones.
    const userData = userDataOf(resources);
    expect(userData).toContain(`ASG_NAME='${String(group.name)}'`);
    expect(userData).toContain(`LIFECYCLE_HOOK='${DRAIN_HOOK_NAME}'`);
    expect(userData).toContain("DRAIN_TIMEOUT_SECONDS='3600'");
  });

  it("launches bridge-only instances: IMDSv2, encrypted gp3, public IPv4, the pool's group, the pinned version", () => {
    const template = only(resources, "aws:ec2/launchTemplate:LaunchTemplate").inputs;
    expect(template.metadataOptions).toMatchObject({ httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 });
    expect(template.blockDeviceMappings).toEqual([
      { deviceName: "/dev/sda1", ebs: { volumeSize: 10, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } },
    ]);
    expect(template.networkInterfaces).toEqual([
      { deviceIndex: 0, associatePublicIpAddress: "true", securityGroups: ["pool-sg-id"], deleteOnTermination: "true" },
    ]);
    expect(template.imageId).toBe(baseArgs.amiId);
    expect(template.iamInstanceProfile).toEqual({ arn: `arn:aws:iam::${ACCOUNT}:instance-profile/pool-profile` });
    const userData = userDataOf(resources);
    expect(userData.startsWith("#cloud-config\n")).toBe(true);
    expect(Buffer.byteLength(userData)).toBeLessThan(16 * 1024);
    expect(userData).toContain("JITSI_VERSION='2.0.11248-1'");

    const group = only(resources, "aws:autoscaling/group:Group").inputs;
    expect(group).toMatchObject({ minSize: 2, maxSize: 2, desiredCapacity: 2, vpcZoneIdentifiers: baseArgs.subnetIds });
    expect(group.launchTemplate).toEqual({ id: "pool-lt-id", version: "1" });
    expect(group.mixedInstancesPolicy).toBeUndefined();
  });
});

describe("VideobridgePool user data", () => {
  it("carries the renderer's bridge jvb.conf for the signalling node's private address, and the renderer's variable names", async () => {
    const userData = userDataOf(await build());
    const files = (JSON.parse(userData.slice("#cloud-config\n".length)) as { write_files: { path: string; content: string; permissions: string }[] })
      .write_files;
    const jvbConf = files.find((f) => f.path === BRIDGE_INSTANCE_PATHS.stagedJvbConf);
    expect(jvbConf?.content).toBe(poolBridgeJvbConf("meet.example.com", "10.0.1.23"));
    // Exactly the renderer's file: the drain API is the renderer's, nothing is appended to it here.
    expect(jvbConf?.content).toBe(renderBridgeJvbConf({ domain: "meet.example.com", xmppHost: "10.0.1.23", xmppPort: 5222 }));
    expect(jvbConf?.permissions).toBe("0644"); // holds no secret; the bridge runs as user jvb
    const poolEnv = files.find((f) => f.path === BRIDGE_INSTANCE_PATHS.poolEnv)?.content ?? "";
    for (const [key, name] of [
      ["ENV_PRIVATE_IP", BRIDGE_ENV.privateIp],
      ["ENV_PUBLIC_IP", BRIDGE_ENV.publicIp],
      ["ENV_NICKNAME", BRIDGE_ENV.nickname],
      ["ENV_PASSWORD", BRIDGE_ENV.password],
    ]) {
      expect(poolEnv).toContain(`${key}='${name}'\n`);
    }
    expect(poolEnv).toContain("PASSWORD_PARAMETER='/pool-xmpp-password-generated'\n");
  });
});

describe("VideobridgePool changes", () => {
  const byName = (resources: Registered[]) => new Map(resources.map((r) => [`${r.type}::${r.name}`, r.inputs]));

  it("changing the count changes only the group's min, max and desired size", async () => {
    const two = byName(await build({ count: 2 }));
    const five = byName(await build({ count: 5 }));
    expect([...five.keys()].sort()).toEqual([...two.keys()].sort());
    const changed: string[] = [];
    for (const [key, inputs] of two) {
      const other = five.get(key)!;
      for (const field of new Set([...Object.keys(inputs), ...Object.keys(other)])) {
        if (JSON.stringify(inputs[field]) !== JSON.stringify(other[field])) changed.push(`${key}.${field}`);
      }
    }
    expect(changed.sort()).toEqual([
      "aws:autoscaling/group:Group::pool-asg.desiredCapacity",
      "aws:autoscaling/group:Group::pool-asg.maxSize",
      "aws:autoscaling/group:Group::pool-asg.minSize",
    ]);
    expect(five.get("aws:autoscaling/group:Group::pool-asg")).toMatchObject({ minSize: 5, maxSize: 5, desiredCapacity: 5 });
  });

  it("accepts subnets that are only known at deployment (the signalling instance's subnet)", async () => {
    const group = only(await build({ subnetIds: [pulumi.output("subnet-0aaaabbbbccccdddd")] }), "aws:autoscaling/group:Group").inputs;
    expect(group.vpcZoneIdentifiers).toEqual(["subnet-0aaaabbbbccccdddd"]);
  });

  it("spot runs through the group's mixed-instances policy with capacity rebalancing", async () => {
    const group = only(await build({ spot: true }), "aws:autoscaling/group:Group").inputs;
    expect(group.launchTemplate).toBeUndefined();
    expect(group.capacityRebalance).toBe(true);
    expect(group.mixedInstancesPolicy).toEqual({
      launchTemplate: { launchTemplateSpecification: { launchTemplateId: "pool-lt-id", version: "1" } },
      instancesDistribution: { onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 0, spotAllocationStrategy: "price-capacity-optimized" },
    });
  });
});

describe("VideobridgePool rejects bad values before registering anything", () => {
  beforeEach(() => {
    registered = [];
  });

  it.each([
    [{ count: -1 }, /videobridges\.count: must be a whole number from 0 to 50 \(got -1\)/],
    [{ count: 1.5 }, /videobridges\.count: must be a whole number/],
    [{ instanceType: "c6i" }, /videobridges\.instanceType: must be an EC2 instance type/],
    [{ instanceType: "t3.small" }, /videobridges\.instanceType: must have at least 4 GiB/],
    [{ instanceType: "c7g.xlarge" }, /videobridges\.instanceType: must be an x86_64 type like the signalling node's AMI/],
    [{ subnetIds: ["subnet-0123456789abcdef0", "subnet-nothex"] }, /subnetIds\[1\]: must be a subnet id/],
    [{ subnetIds: [] }, /subnetIds: must list at least one public subnet/],
    [{ drainTimeoutSeconds: 7000 }, /drainTimeoutSeconds: must be a whole number of seconds from 60 to 6900/],
    [{ rootVolumeGiB: 4 }, /rootVolumeGiB: must be a whole number of GiB from 8/],
    [{ jitsiVersion: "latest; reboot" }, /jitsiVersion: must be a jitsi-meet release version like 2\.0\.11248-1/],
    [{ domain: "Meet.Example.com\n" }, /domain: must be a lower-case fully qualified domain name/],
  ] as [Partial<PoolArgs>, RegExp][])("%j", async (overrides, expected) => {
    let error: unknown;
    try {
      new VideobridgePool("bad", { ...baseArgs, ...overrides });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BridgePoolConfigError);
    expect((error as Error).message).toMatch(expected);
    await settle();
    expect(registered).toEqual([]);
  });
});
