/**
 * The policy pack (infra/policy/policies.ts) run the way the Pulumi engine runs it — each policy's
 * validateResource on every resource's inputs, validateStack on every resource's outputs, secrets unwrapped to
 * plain values as @pulumi/policy hands them over — against what the real program registers under mocks. The whole
 * program passes; each rule fails when one recorded resource is changed to break it. `--policy-pack` itself needs
 * the Pulumi CLI and is documented, not run here.
 */
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { beforeAll, describe, expect, it } from "vitest";
import {
  encryptedVolumesPolicy,
  imdsV2Policy,
  ingressPolicy,
  noPlainSecretsPolicy,
  policies,
  POLICY_TYPES,
  type IngressPolicyConfig,
} from "../../infra/policy/policies.ts";
import { baseConfig, isSecretWrapper, MOCK, runProgram, type ProgramRun, type RecordedResource } from "./harness.ts";
import { PORTS } from "jitsi-jwt-token/shared";

class NotApplicable extends Error {}

/** Secret wrappers removed at every depth, as @pulumi/policy deserialises properties for validation. */
function plain(value: unknown): unknown {
  if (isSecretWrapper(value)) return plain(value.value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

const urn = (r: { type: string; name: string }) => `urn:pulumi:dev::jitsi::${r.type}::${r.name}`;
const OPTS = { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] };

/** Violations one resource policy reports for one resource, or "n/a" when the policy does not apply to it. */
function validateResource(policy: ResourceValidationPolicy, r: { type: string; name: string; inputs: Record<string, unknown> }, config: object = {}): string[] | "n/a" {
  const props = plain(r.inputs) as Record<string, unknown>;
  const args: ResourceValidationArgs = {
    type: r.type,
    props,
    urn: urn(r),
    name: r.name,
    opts: OPTS,
    stackTags: new Map(),
    isType: (cls) => (cls as unknown as { __pulumiType?: string }).__pulumiType === r.type,
    asType: (cls) => ((cls as unknown as { __pulumiType?: string }).__pulumiType === r.type ? (props as never) : undefined),
    getConfig: <T extends object>() => config as T,
    notApplicable: (reason?: string) => {
      throw new NotApplicable(reason);
    },
  };
  const violations: string[] = [];
  const validations = [policy.validateResource ?? []].flat();
  try {
    for (const v of validations) void v(args, (message) => violations.push(message));
  } catch (error) {
    if (error instanceof NotApplicable) return "n/a";
    throw error;
  }
  return violations;
}

/** Violations of the stack policy over the resources' outputs. */
function validateStack(policy: StackValidationPolicy, resources: readonly RecordedResource[]): string[] {
  const policyResources: PolicyResource[] = resources.map((r) => ({
    type: r.type,
    props: plain(r.state) as Record<string, unknown>,
    urn: urn(r),
    name: r.name,
    opts: OPTS,
    dependencies: [],
    propertyDependencies: {},
    isType: (cls) => (cls as unknown as { __pulumiType?: string }).__pulumiType === r.type,
    asType: () => undefined,
  }));
  const args: StackValidationArgs = {
    resources: policyResources,
    stackTags: new Map(),
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: (reason?: string) => {
      throw new NotApplicable(reason);
    },
  };
  const violations: string[] = [];
  void policy.validateStack(args, (message) => violations.push(message));
  return violations;
}

/** A plain copy of one resource with its inputs (and the matching outputs) changed. */
function changed(r: RecordedResource, change: (props: Record<string, unknown>) => void): RecordedResource {
  const inputs = structuredClone(plain(r.inputs)) as Record<string, unknown>;
  const state = structuredClone(plain(r.state)) as Record<string, unknown>;
  change(inputs);
  change(state);
  return { ...r, inputs, state };
}

/** The first resource `pick` selects, changed. */
function mutated(run: ProgramRun, pick: (r: RecordedResource) => boolean, change: (props: Record<string, unknown>) => void): RecordedResource {
  const found = run.resources.find(pick);
  expect(found, "the resource to change exists").toBeDefined();
  return changed(found!, change);
}

/** The whole run with the first resource `pick` selects changed. */
function mutate(run: ProgramRun, pick: (r: RecordedResource) => boolean, change: (props: Record<string, unknown>) => void): RecordedResource[] {
  const target = mutated(run, pick, change);
  return run.resources.map((r) => (r.name === target.name && r.type === target.type ? target : r));
}

const resourcePolicies = policies.filter((p): p is ResourceValidationPolicy => "validateResource" in p);
const ADMIN_CIDRS = JSON.parse(baseConfig()["jitsi:adminCidrs"]!) as string[];

let single: ProgramRun;
let pooled: ProgramRun;
beforeAll(async () => {
  single = await runProgram(baseConfig());
  pooled = await runProgram({ ...baseConfig(), "jitsi:videobridges": JSON.stringify({ count: 2, instanceType: "c6i.xlarge" }) });
});

const ofType = (type: string, suffix = "") => (r: RecordedResource) => r.type === type && r.name.endsWith(suffix);
const ingress = (port: number, suffix = "") => (r: RecordedResource) => ofType(POLICY_TYPES.ingressRule, suffix)(r) && r.inputs.fromPort === port;

describe("the pack", () => {
  it("is a plain array of named, described, mandatory policies with unique names", () => {
    expect(policies.map((p) => p.name)).toEqual(["jitsi-ingress-exact-ports", "jitsi-imdsv2-required", "jitsi-encrypted-volumes", "jitsi-no-plain-secrets"]);
    for (const p of policies) {
      expect(p.description.length).toBeGreaterThan(20);
      expect(p.enforcementLevel).toBe("mandatory");
    }
  });

  it.each([
    ["one host", () => single],
    ["one host and a videobridge pool", () => pooled],
  ])("passes on everything the program registers (%s), and every policy applies to something", (_label, run) => {
    for (const policy of resourcePolicies) {
      let applied = 0;
      for (const r of run().resources) {
        const result = validateResource(policy, r, { adminCidrs: ADMIN_CIDRS } satisfies IngressPolicyConfig);
        if (result !== "n/a") {
          applied++;
          expect(result, `${policy.name} on ${r.name}`).toEqual([]);
        }
      }
      expect(applied, policy.name).toBeGreaterThan(0);
    }
    expect(validateStack(noPlainSecretsPolicy, run().resources)).toEqual([]);
  });

  it("the pool run covers launch templates and the bridges' XMPP rule", () => {
    expect(pooled.resources.some(ofType(POLICY_TYPES.launchTemplate))).toBe(true);
    expect(pooled.resources.some((r) => ofType(POLICY_TYPES.ingressRule)(r) && r.inputs.referencedSecurityGroupId !== undefined)).toBe(true);
  });
});

describe(ingressPolicy.name, () => {
  const check = (r: RecordedResource, config: IngressPolicyConfig = {}) => validateResource(ingressPolicy, r, config);

  it("refuses a world-open port other than 443/tcp, 80/tcp, 10000/udp", () => {
    const r = mutated(single, ingress(443), (p) => Object.assign(p, { fromPort: 8443, toPort: 8443 }));
    expect(check(r)).toEqual([expect.stringMatching(/tcp 8443-8443 from 0\.0\.0\.0\/0: only 443\/tcp, 80\/tcp, 10000\/udp may be open to the world/)]);
    const udp = mutated(single, ingress(10000), (p) => Object.assign(p, { ipProtocol: "tcp" }));
    expect(check(udp)).toHaveLength(1);
  });

  it("refuses SSH from the world (IPv4 or IPv6), and from a CIDR outside the configured adminCidrs", () => {
    const v4 = mutated(single, ofType(POLICY_TYPES.ingressRule, "-ssh-0"), (p) => Object.assign(p, { cidrIpv4: "0.0.0.0/0" }));
    expect(check(v4)).toEqual([expect.stringMatching(/tcp 22-22 from 0\.0\.0\.0\/0: only .* may be open to the world/)]);
    const v6 = mutated(single, ofType(POLICY_TYPES.ingressRule, "-ssh-1"), (p) => Object.assign(p, { cidrIpv6: "::/0" }));
    expect(check(v6)).toHaveLength(1);
    const other = mutated(single, ofType(POLICY_TYPES.ingressRule, "-ssh-0"), (p) => Object.assign(p, { cidrIpv4: "198.51.100.0/24" }));
    expect(check(other, { adminCidrs: ADMIN_CIDRS })).toEqual([expect.stringMatching(/SSH only from the configured adminCidrs \(203\.0\.113\.7\/32, 2001:db8::\/48\)/)]);
    expect(check(other), "without configured adminCidrs any non-world CIDR may reach SSH").toEqual([]);
  });

  it("allows TURN's 3478/udp and exactly coturn's relay range to the world, nothing wider", () => {
    const relay = ofType(POLICY_TYPES.ingressRule, `-udp-${String(PORTS.turnRelayMin)}-${String(PORTS.turnRelayMax)}`);
    expect(single.resources.filter(relay)).toHaveLength(1);
    expect(check(mutated(single, relay, (p) => Object.assign(p, { toPort: 65535 })))).toEqual([expect.stringMatching(/single ports only/)]);
    expect(check(mutated(single, relay, (p) => Object.assign(p, { ipProtocol: "tcp" })))).toEqual([expect.stringMatching(/single ports only/)]);
  });

  it("refuses port ranges, all-traffic rules, another port from a CIDR, prefix lists", () => {
    expect(check(mutated(single, ingress(10000), (p) => Object.assign(p, { toPort: 20000 })))).toEqual([expect.stringMatching(/single ports only/)]);
    expect(check(mutated(single, ingress(443), (p) => Object.assign(p, { ipProtocol: "-1" })))).toEqual([expect.stringMatching(/single ports only/)]);
    expect(check(mutated(single, ofType(POLICY_TYPES.ingressRule, "-ssh-0"), (p) => Object.assign(p, { fromPort: 3306, toPort: 3306 })))).toEqual([
      expect.stringMatching(/from a CIDR only SSH \(22\/tcp\)/),
    ]);
    const prefix = mutated(single, ofType(POLICY_TYPES.ingressRule, "-ssh-0"), (p) => {
      delete p.cidrIpv4;
      p.prefixListId = "pl-0123";
    });
    expect(check(prefix)).toEqual([expect.stringMatching(/prefix lists are not allowed/)]);
  });

  it("allows only XMPP 5222/tcp from a security group", () => {
    const fromPool = (r: RecordedResource) => ofType(POLICY_TYPES.ingressRule)(r) && r.inputs.referencedSecurityGroupId !== undefined;
    expect(check(pooled.resources.find(fromPool)!)).toEqual([]);
    expect(check(mutated(pooled, fromPool, (p) => Object.assign(p, { fromPort: 22, toPort: 22 })))).toEqual([expect.stringMatching(/only XMPP \(5222\/tcp/)]);
  });

  it("refuses inline ingress on a security group and legacy ingress rules", () => {
    const sg = mutated(single, ofType(POLICY_TYPES.securityGroup), (p) => {
      p.ingress = [{ protocol: "tcp", fromPort: 3389, toPort: 3389, cidrBlocks: ["0.0.0.0/0"] }];
    });
    expect(check(sg)).toEqual([expect.stringMatching(/no inline ingress/)]);
    const legacy = { type: POLICY_TYPES.legacyRule, name: "extra", inputs: { type: "ingress", fromPort: 22, toPort: 22, protocol: "tcp" } };
    expect(validateResource(ingressPolicy, legacy)).toEqual([expect.stringMatching(/not aws\.ec2\.SecurityGroupRule/)]);
    expect(validateResource(ingressPolicy, { ...legacy, inputs: { ...legacy.inputs, type: "egress" } })).toEqual([]);
  });
});

describe(imdsV2Policy.name, () => {
  it("refuses an instance or a launch template without required session tokens, or with a hop limit above 1", () => {
    const optional = mutated(single, ofType(POLICY_TYPES.instance), (p) => Object.assign(p.metadataOptions as object, { httpTokens: "optional" }));
    expect(validateResource(imdsV2Policy, optional)).toEqual([`metadataOptions.httpTokens must be "required" (got "optional")`]);
    const none = mutated(single, ofType(POLICY_TYPES.instance), (p) => delete p.metadataOptions);
    expect(validateResource(imdsV2Policy, none)).toEqual([`metadataOptions.httpTokens must be "required" (got undefined)`]);
    const hops = mutated(pooled, ofType(POLICY_TYPES.launchTemplate), (p) => Object.assign(p.metadataOptions as object, { httpPutResponseHopLimit: 2 }));
    expect(validateResource(imdsV2Policy, hops)).toEqual(["metadataOptions.httpPutResponseHopLimit must be 1 (got 2)"]);
    expect(validateResource(imdsV2Policy, single.resources.find(ofType(POLICY_TYPES.securityGroup))!)).toBe("n/a");
  });
});

describe(encryptedVolumesPolicy.name, () => {
  it("refuses an unencrypted root volume, extra device, launch template mapping or volume", () => {
    const root = mutated(single, ofType(POLICY_TYPES.instance), (p) => Object.assign(p.rootBlockDevice as object, { encrypted: false }));
    expect(validateResource(encryptedVolumesPolicy, root)).toEqual(["rootBlockDevice.encrypted must be true"]);
    const extra = mutated(single, ofType(POLICY_TYPES.instance), (p) => {
      p.ebsBlockDevices = [{ deviceName: "/dev/sdf", volumeSize: 50 }];
    });
    expect(validateResource(encryptedVolumesPolicy, extra)).toEqual(["ebsBlockDevices[0] (/dev/sdf) must be encrypted"]);
    const template = mutated(pooled, ofType(POLICY_TYPES.launchTemplate), (p) => {
      const [mapping] = p.blockDeviceMappings as { ebs: Record<string, unknown> }[];
      mapping!.ebs.encrypted = "false";
    });
    expect(validateResource(encryptedVolumesPolicy, template)).toEqual([expect.stringMatching(/^blockDeviceMappings\[0\] \(.+\) must be encrypted$/)]);
    const inherited = mutated(pooled, ofType(POLICY_TYPES.launchTemplate), (p) => delete p.blockDeviceMappings);
    expect(validateResource(encryptedVolumesPolicy, inherited)).toEqual([expect.stringMatching(/must set the root volume/)]);
    expect(validateResource(encryptedVolumesPolicy, { type: POLICY_TYPES.volume, name: "data", inputs: { size: 10 } })).toEqual(["encrypted must be true"]);
    expect(validateResource(encryptedVolumesPolicy, { type: POLICY_TYPES.volume, name: "data", inputs: { size: 10, encrypted: true } })).toEqual([]);
  });
});

describe(noPlainSecretsPolicy.name, () => {
  const jvbPassword = MOCK.password("dev-jvb-password");
  const sshKey = MOCK.privateKey("dev-ssh");
  const firstCommand = ofType(POLICY_TYPES.command, "-install");
  const violations = (resources: RecordedResource[]) => validateStack(noPlainSecretsPolicy, resources);

  it("finds a generated password or private key outside stdin/connection, naming resource and field but not the value", () => {
    const inEnv = mutate(single, firstCommand, (p) => {
      p.environment = { ...(p.environment as object), JITSI_NOTE: `pw ${jvbPassword}` };
    });
    const found = violations(inEnv);
    expect(found).toEqual([expect.stringMatching(/^command:remote:Command .*-install: environment\.JITSI_NOTE holds a generated secret in plain text$/)]);
    expect(found.join("\n")).not.toContain(jvbPassword);

    expect(violations(mutate(single, ofType(POLICY_TYPES.instance), (p) => Object.assign(p, { tags: { key: sshKey } })))).toEqual([
      expect.stringMatching(/aws:ec2\/instance:Instance .*: tags\.key holds a generated secret/),
    ]);
    expect(violations(mutate(single, firstCommand, (p) => Object.assign(p, { create: `echo ${jvbPassword} | debconf-set-selections` })))).toHaveLength(1);
  });

  it("counts command output as plain (a script that echoes its stdin leaks it)", () => {
    expect(violations(mutate(single, firstCommand, (p) => Object.assign(p, { stdout: `set ${jvbPassword}` })))).toEqual([expect.stringMatching(/: stdout holds a generated secret/)]);
  });

  it("finds any PEM private key outside a secret channel, even one Pulumi did not generate", () => {
    const pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n";
    expect(violations(mutate(single, ofType(POLICY_TYPES.instance), (p) => Object.assign(p, { tags: { key: pem } })))).toEqual([expect.stringMatching(/tags\.key holds a private key/)]);
  });

  it("refuses secret-named command variables; finds a secret in user data (launch templates decoded from base64)", () => {
    const named = mutate(single, firstCommand, (p) => {
      p.environment = { ...(p.environment as object), APP_SECRET: "from-config" };
    });
    expect(violations(named)).toEqual([expect.stringMatching(/environment variable APP_SECRET looks secret; pass secrets on stdin/)]);
    // A generated secret pasted into a launch template's (base64) user data is found in the decoded text.
    const userData = mutate(pooled, ofType(POLICY_TYPES.launchTemplate), (p) => {
      const text = Buffer.from(p.userData as string, "base64").toString("utf8");
      p.userData = Buffer.from(`${text}\nJVB_PASSWORD=${jvbPassword}\n`).toString("base64");
    });
    expect(violations(userData)).toEqual([expect.stringMatching(/dev-bridges-lt: userData holds a generated secret/)]);
  });

  it("accepts the SSM SecureString holding the bridges' password, refuses it as a plain String", () => {
    const parameter = ofType(POLICY_TYPES.ssmParameter);
    expect(pooled.resources.find(parameter)?.inputs.type).toBe("SecureString");
    expect(violations(mutate(pooled, parameter, (p) => Object.assign(p, { type: "String" })))).toEqual([expect.stringMatching(/aws:ssm\/parameter:Parameter .*: value holds a generated secret/)]);
  });
});
