/**
 * Runs the real Pulumi program (infra/index.ts) against `pulumi.runtime.setMocks` and records what it would
 * register: every resource's type, name and inputs (secrets still wrapped), the explicit `dependsOn` of each, and
 * the stack outputs with their secretness. Each run gets a fresh module graph so scenarios never bleed.
 *
 * The mocks only stand in for AWS/Random/TLS (no cloud or provider plugins here): they echo inputs back and add
 * the few computed fields the program reads (IPs, ids, generated passwords and keys).
 */
import { generateKeyPairSync } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import type { RenderedFile } from "../../templates/deployment.ts";

/** What the mocked providers hand out; tests scan for these values. */
export const MOCK = {
  amiId: "ami-0123456789abcdef0",
  zoneId: "Z0EXAMPLE12345",
  vpcId: "vpc-0123456789abcdef0",
  vpcCidr: "172.31.0.0/16",
  /** A secondary block of the VPC, in public address space (AWS allows it): coturn must deny it as well. */
  vpcSecondaryCidr: "44.200.0.0/16",
  subnetId: "subnet-0123456789abcdef0",
  publicIp: "198.51.100.7",
  privateIp: "10.0.1.23",
  /** RandomPassword results are derived from the resource name, so they are stable across runs. */
  password: (name: string) => `MockPw${name.replace(/[^A-Za-z0-9]/g, "")}Zq81xR4vT0pL6nW2`,
  privateKey: (name: string) =>
    `-----BEGIN OPENSSH PRIVATE KEY-----\nMOCKPRIVATEKEY${name.replace(/[^A-Za-z0-9]/g, "")}b3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n`,
  publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMockPublicKeyForTests",
  /** The certificate store secret that getSecrets finds when a scenario says one exists. */
  certificateSecretArn: "arn:aws:secretsmanager:eu-central-1:123456789012:secret:stored-Zz99Yy",
} as const;

let rsaKey: string | undefined;
/** An RSA public key in PEM (generated once per test file), as RS256 stacks configure them. */
export function rsaPublicKeyPem(): string {
  rsaKey ??= generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }).toString();
  return rsaKey;
}

/** A valid stack config; scenarios override single keys. */
export function baseConfig(): Record<string, string> {
  return {
    "aws:region": "eu-central-1",
    "jitsi:domain": "meet.example.com",
    "jitsi:hostedZone": "example.com",
    "jitsi:letsEncryptEmail": "ops@example.com",
    "jitsi:jitsiVersion": "2.0.11248-1",
    "jitsi:adminCidrs": JSON.stringify(["203.0.113.7/32", "2001:db8::/48"]),
    "jitsi:appId": "example-app",
    "jitsi:appSecret": "test-app-secret-6f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f",
  };
}

export const SECRET_SIG = pulumi.runtime.specialSecretSig;
const SIG_KEY = pulumi.runtime.specialSigKey;

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  /** Inputs as the engine would receive them; secret values are `{ [sig]: secretSig, value }` wrappers. */
  readonly inputs: Record<string, unknown>;
  /** Outputs the mocked provider returned: the inputs plus the computed fields (passwords, keys, IPs). */
  readonly state: Record<string, unknown>;
}

export interface RecordedOutput {
  readonly value: unknown;
  readonly secret: boolean;
}

export interface ProgramRun {
  readonly resources: RecordedResource[];
  /** Explicit dependsOn, by resource name. */
  readonly dependsOn: Map<string, string[]>;
  /** Lifecycle options that change how updates behave, by resource name. */
  readonly lifecycle: Map<string, { ignoreChanges?: string[]; replacementTrigger?: unknown }>;
  readonly outputs: Record<string, RecordedOutput>;
  /** Every provider function the program called (getAmi, getZone…), with its arguments. */
  readonly calls: { token: string; inputs: Record<string, unknown> }[];
}

export interface RunOptions {
  /** Stands in for a template edit: post-processes the real renderer's output. */
  readonly editRendered?: (files: RenderedFile[]) => RenderedFile[];
  /** Appended to every generated password: stands in for passwords regenerated (stack recreated, imported). */
  readonly passwordSuffix?: string;
  /**
   * The certificate store as AWS would answer at preview: absent (default: no secret yet, a first deployment), a
   * secret without the host's tags, or one with these tags.
   */
  readonly certificateStoreTags?: Record<string, string>;
  /** The preview lookup fails (e.g. the deployer may not call secretsmanager:ListSecrets). */
  readonly certificateStoreLookupFails?: boolean;
}

function computedState(type: string, name: string, inputs: Record<string, unknown>, passwordSuffix = ""): Record<string, unknown> {
  switch (type) {
    case "aws:ec2/eip:Eip":
      return { ...inputs, publicIp: MOCK.publicIp, allocationId: `eipalloc-${name}` };
    case "aws:ec2/instance:Instance":
      return { ...inputs, privateIp: MOCK.privateIp, subnetId: inputs.subnetId ?? MOCK.subnetId };
    case "random:index/randomPassword:RandomPassword":
      return { ...inputs, result: MOCK.password(name) + passwordSuffix };
    case "tls:index/privateKey:PrivateKey":
      return { ...inputs, privateKeyOpenssh: MOCK.privateKey(name), publicKeyOpenssh: MOCK.publicKey };
    case "aws:ec2/keyPair:KeyPair":
      return { ...inputs, keyName: name };
    case "aws:iam/role:Role":
    case "aws:iam/instanceProfile:InstanceProfile":
      return { ...inputs, name };
    case "aws:secretsmanager/secret:Secret":
      return { ...inputs, arn: `arn:aws:secretsmanager:eu-central-1:123456789012:secret:${name}-Ab12Cd` };
    case "aws:sns/topic:Topic":
      return { ...inputs, arn: `arn:aws:sns:eu-central-1:123456789012:${name}` };
    case "aws:route53/record:Record":
      return { ...inputs, fqdn: inputs.name };
    default:
      return inputs;
  }
}

async function resolved<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}

/** Waits until no new resource has been registered for a few event-loop rounds. */
async function settle(count: () => number): Promise<void> {
  let stable = 0;
  let last = -1;
  while (stable < 5) {
    await new Promise((r) => setTimeout(r, 20));
    if (count() === last) stable++;
    else {
      stable = 0;
      last = count();
    }
  }
}

/**
 * Imports infra/index.ts under mocks with the given config. Resolves with what was registered, or rejects with
 * the program's error (then `registered()` on the error's `run` tells how many resources got through).
 */
export async function runProgram(config: Record<string, string>, options: RunOptions = {}): Promise<ProgramRun> {
  vi.resetModules();
  const resources: RecordedResource[] = [];
  const calls: ProgramRun["calls"] = [];
  const dependsOn = new Map<string, string[]>();
  const lifecycle: ProgramRun["lifecycle"] = new Map();
  // Resources constructed by the JitsiServer, itself included (its transformation sees each one); registration
  // to the mocks is asynchronous.
  let constructed = 0;
  const pendingDeps: Promise<void>[] = [];

  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const state = computedState(args.type, args.name, args.inputs as Record<string, unknown>, options.passwordSuffix);
        resources.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown>, state });
        return { id: `${args.name}-id`, state };
      },
      call(args) {
        calls.push({ token: args.token, inputs: args.inputs as Record<string, unknown> });
        switch (args.token) {
          case "aws:ec2/getAmi:getAmi":
            return { id: MOCK.amiId, imageId: MOCK.amiId, architecture: "x86_64", name: "ubuntu/images/mock" };
          case "aws:route53/getZone:getZone":
            return { id: MOCK.zoneId, zoneId: MOCK.zoneId, name: args.inputs.name ?? "example.com" };
          case "aws:ec2/getVpc:getVpc":
            return {
              id: MOCK.vpcId,
              cidrBlock: MOCK.vpcCidr,
              cidrBlockAssociations: [MOCK.vpcCidr, MOCK.vpcSecondaryCidr].map((cidrBlock, i) => ({ associationId: `vpc-cidr-assoc-${String(i)}`, cidrBlock, state: "associated" })),
            };
          case "aws:index/getRegion:getRegion":
            return { id: "eu-central-1", region: "eu-central-1", name: "eu-central-1" };
          case "aws:index/getPartition:getPartition":
            return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com" };
          case "aws:secretsmanager/getSecrets:getSecrets":
            if (options.certificateStoreLookupFails === true) throw new Error("AccessDeniedException: not authorized to perform: secretsmanager:ListSecrets");
            return options.certificateStoreTags === undefined
              ? { id: "eu-central-1", arns: [], names: [] }
              : { id: "eu-central-1", arns: [MOCK.certificateSecretArn], names: ["stored"] };
          case "aws:secretsmanager/getSecret:getSecret":
            return { id: args.inputs.arn, arn: args.inputs.arn, name: "stored", tags: options.certificateStoreTags ?? {} };
          case "aws:ec2/getSubnet:getSubnet":
            return { id: args.inputs.id, vpcId: MOCK.vpcId };
          default:
            throw new Error(`unmocked provider function ${args.token}`);
        }
      },
    },
    "jitsi",
    "dev",
    false,
  );
  const secretKeys = Object.keys(config).filter((k) => k === "jitsi:appSecret");
  pulumi.runtime.setAllConfig(config, secretKeys);

  if (options.editRendered !== undefined) {
    const edit = options.editRendered;
    vi.doMock("../../templates/render.ts", async (importOriginal) => {
      const real = await importOriginal<typeof import("../../templates/render.ts")>();
      return { ...real, renderFiles: (d: Parameters<typeof real.renderFiles>[0]) => edit(real.renderFiles(d)) };
    });
  } else {
    vi.doUnmock("../../templates/render.ts");
  }

  // Records each resource's explicit dependsOn through the component's transformations (applied SDK-side).
  vi.doMock("../../infra/jitsiServer.ts", async (importOriginal) => {
    const real = await importOriginal<typeof import("../../infra/jitsiServer.ts")>();
    const record: pulumi.ResourceTransformation = (args) => {
      constructed++;
      const opts = args.opts as pulumi.CustomResourceOptions;
      if (opts.ignoreChanges !== undefined || opts.replacementTrigger !== undefined) {
        lifecycle.set(args.name, { ignoreChanges: opts.ignoreChanges, replacementTrigger: opts.replacementTrigger });
      }
      const deps = args.opts.dependsOn;
      // This program passes plain Resource lists; an Input-wrapped list would show up here as an Output.
      const list = (deps === undefined ? [] : Array.isArray(deps) ? deps : [deps]) as pulumi.Resource[];
      pendingDeps.push(
        Promise.all(list.map((d) => resolved(d.urn))).then((urns) => {
          dependsOn.set(args.name, urns.map((u) => u.split("::").pop() ?? u));
        }),
      );
      return undefined;
    };
    class RecordedJitsiServer extends real.JitsiServer {
      constructor(name: string, args: ConstructorParameters<typeof real.JitsiServer>[1], opts?: pulumi.ComponentResourceOptions) {
        super(name, args, { ...opts, transformations: [...(opts?.transformations ?? []), record] });
      }
    }
    return { ...real, JitsiServer: RecordedJitsiServer };
  });

  let program: Record<string, unknown>;
  try {
    program = await import("../../infra/index.ts");
  } catch (error) {
    await settle(() => resources.length + calls.length);
    throw Object.assign(error as Error, { registered: resources.length, calls: calls.length });
  }

  const outputs: Record<string, RecordedOutput> = {};
  for (const [key, value] of Object.entries(program)) {
    if (pulumi.Output.isInstance(value)) {
      outputs[key] = { value: await resolved(value), secret: await pulumi.isSecret(value) };
    } else if (value !== undefined && typeof value !== "function") {
      outputs[key] = { value, secret: false };
    }
  }
  // Every resource the component constructed must have reached the mocks.
  const deadline = Date.now() + 20_000;
  while (resources.length < constructed) {
    if (Date.now() > deadline) throw new Error(`only ${resources.length} of ${constructed} resources registered`);
    await new Promise((r) => setTimeout(r, 10));
  }
  await settle(() => resources.length);
  await Promise.all(pendingDeps);
  return { resources, dependsOn, lifecycle, outputs, calls };
}

/** True for a `{ [sig]: secretSig, value }` wrapper. */
export function isSecretWrapper(value: unknown): value is { value: unknown } {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Every plain (not secret-wrapped) string inside a value, with its path. */
export function plainStrings(value: unknown, path = ""): { path: string; text: string }[] {
  if (typeof value === "string") return [{ path, text: value }];
  if (isSecretWrapper(value)) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => plainStrings(v, `${path}[${i}]`));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => plainStrings(v, path === "" ? k : `${path}.${k}`));
  }
  return [];
}

/** Every string inside a value, including secret-wrapped ones. */
export function allStrings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (isSecretWrapper(value)) return allStrings(value.value);
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (typeof value === "object" && value !== null) return Object.values(value).flatMap(allStrings);
  return [];
}

export const byType = (run: ProgramRun, type: string) => run.resources.filter((r) => r.type === type);

export function only(run: ProgramRun, type: string): RecordedResource {
  const found = byType(run, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0]!;
}

/** Unwraps a possibly secret-wrapped value. */
export function reveal(value: unknown): unknown {
  return isSecretWrapper(value) ? reveal(value.value) : value;
}

/** Type tokens of the resources the tests look at. */
export const TYPES = {
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  instance: "aws:ec2/instance:Instance",
  eip: "aws:ec2/eip:Eip",
  eipAssociation: "aws:ec2/eipAssociation:EipAssociation",
  record: "aws:route53/record:Record",
  keyPair: "aws:ec2/keyPair:KeyPair",
  randomPassword: "random:index/randomPassword:RandomPassword",
} as const;

export const COMMAND = "command:remote:Command";
