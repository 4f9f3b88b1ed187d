/**
 * One rule set: each bad value is refused by the stack reader (through the Pulumi runtime's config, as `pulumi up`
 * and the render command feed it), by `new JitsiServer(...)` called directly, and — for the values the renderer
 * takes — by the renderer, each naming the field in its own terms, with zero resources registered.
 */
import { generateKeyPairSync } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { beforeEach, describe, expect, it } from "vitest";
import { readStackConfig, StackConfigError } from "../../infra/config.ts";
import { JitsiServer, JitsiServerArgsError, settleJitsiServerArgs, type JitsiServerArgs } from "../../infra/jitsiServer.ts";
import type { Deployment } from "../../templates/deployment.ts";
import { renderFiles } from "../../templates/render.ts";
import { DeploymentError } from "../../templates/validate.ts";
import { sampleDeployment } from "../templates/sampleDeployment.ts";
import { baseConfig, MOCK, rsaPublicKeyPem } from "./harness.ts";

const SECRET = "test-app-secret-6f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f";
const PEM = rsaPublicKeyPem();

const BASE_ARGS: JitsiServerArgs = {
  domain: "meet.example.com",
  hostedZone: { zoneName: "example.com" },
  letsEncrypt: { email: "ops@example.com" },
  token: { algorithm: "HS256", appId: "example-app", appSecret: SECRET },
  adminCidrs: ["203.0.113.7/32"],
  jitsiVersion: "2.0.11248-1",
};

interface Case {
  /** Stack config changes (undefined deletes) and the key the reader must name; omitted: not a stack value. */
  readonly stack?: { readonly config: Record<string, string | undefined>; readonly key: string; readonly secretKeys?: string[] };
  /** The same value given to the component directly, and the argument path it must name. */
  readonly args?: { readonly change: (a: JitsiServerArgs) => JitsiServerArgs; readonly path: string };
  /** The same value in the renderer's input, and the field it must name; omitted where the renderer has no such field. */
  readonly renderer?: { readonly change: (d: Deployment) => unknown; readonly path: string };
  readonly message: RegExp;
}

const domain = (value: string, message: RegExp): Case => ({
  stack: { config: { "jitsi:domain": value, "jitsi:hostedZone": "Z0EXAMPLE12345" }, key: "jitsi:domain" },
  args: { change: (a) => ({ ...a, domain: value, hostedZone: { zoneId: "Z0EXAMPLE12345" } }), path: "domain" },
  renderer: { change: (d) => ({ ...d, domain: value }), path: "domain" },
  message,
});
const cidr = (value: string, message: RegExp): Case => ({
  stack: { config: { "jitsi:adminCidrs": JSON.stringify(["203.0.113.7/32", value]) }, key: "jitsi:adminCidrs[1]" },
  args: { change: (a) => ({ ...a, adminCidrs: ["203.0.113.7/32", value] }), path: "adminCidrs[1]" },
  message,
});
const appSecret = (value: string, message: RegExp): Case => ({
  stack: { config: { "jitsi:appSecret": value }, key: "jitsi:appSecret" },
  args: { change: (a) => ({ ...a, token: { algorithm: "HS256", appId: "example-app", appSecret: value } }), path: "token.appSecret" },
  renderer: { change: (d) => ({ ...d, auth: { algorithm: "HS256", appId: "example-app", appSecret: value } }), path: "auth.appSecret" },
  message,
});

const CASES: Record<string, Case> = {
  "domain with a trailing dot": domain("meet.example.com.", /must not end with a dot: write meet\.example\.com/),
  "upper-case domain": domain("Meet.Example.com", /must be lower case: write meet\.example\.com/),
  "non-ASCII domain": domain("bücher.example", /punycode form\): write xn--bcher-kva\.example/),
  "domain given as a URL": domain("https://meet.example.com/", /must be a bare domain name, without a scheme or path: write meet\.example\.com/),
  "domain with '_'": domain("meet_x.example.com", /no '_', which Prosody 13 rejects/),
  "e-mail with '!'": {
    stack: { config: { "jitsi:letsEncryptEmail": "ops!team@example.com" }, key: "jitsi:letsEncryptEmail" },
    args: { change: (a) => ({ ...a, letsEncrypt: { email: "ops!team@example.com" } }), path: "letsEncrypt.email" },
    renderer: { change: (d) => ({ ...d, letsEncryptEmail: "ops!team@example.com" }), path: "letsEncryptEmail" },
    message: /must be a plain e-mail address such as ops@example\.com/,
  },
  "IPv6 world as 0::/0": cidr("0::/0", /must not open SSH to the whole internet/),
  "IPv6 world as ::0/0": cidr("::0/0", /must not open SSH to the whole internet/),
  "IPv4 world with host bits, 1.2.3.4/0": cidr("1.2.3.4/0", /must not open SSH to the whole internet/),
  "half the internet, 0.0.0.0/1 (two such blocks are all of it)": cidr("0.0.0.0/1", /must be a \/8 or narrower IPv4 block/),
  "a quarter of IPv6, 4000::/2": cidr("4000::/2", /must be a \/32 or narrower IPv6 block/),
  "no address, :/64": cidr(":/64", /must be a CIDR block like 203\.0\.113\.7\/32/),
  "host bits set, 203.0.113.7/24": cidr("203.0.113.7/24", /has host bits set .*write 203\.0\.113\.7\/32 for that one host or 203\.0\.113\.0\/24 for its network/),
  "t3.nano server": {
    stack: { config: { "jitsi:instanceType": "t3.nano" }, key: "jitsi:instanceType" },
    args: { change: (a) => ({ ...a, instanceType: "t3.nano" }), path: "instanceType" },
    message: /must have at least 4 GiB of memory \(the server runs Prosody, Jicofo and a videobridge/,
  },
  "t3.small bridge": {
    stack: { config: { "jitsi:videobridges": JSON.stringify({ count: 2, instanceType: "t3.small" }) }, key: "jitsi:videobridges.instanceType" },
    args: { change: (a) => ({ ...a, videobridges: { count: 2, instanceType: "t3.small" } }), path: "videobridges.instanceType" },
    message: /must have at least 4 GiB of memory \(the bridge's Java heap is 3 GiB\)/,
  },
  "c7g.medium server (2 GiB: a Graviton medium of the compute class)": {
    stack: { config: { "jitsi:instanceType": "c7g.medium", "jitsi:architecture": "arm64" }, key: "jitsi:instanceType" },
    args: { change: (a) => ({ ...a, instanceType: "c7g.medium", architecture: "arm64" }), path: "instanceType" },
    message: /must have at least 4 GiB of memory .*c7g\.medium has 2 GiB; use c7g\.large \(4 GiB\) or larger/,
  },
  "c6g.medium bridge": {
    stack: { config: { "jitsi:instanceType": "t4g.large", "jitsi:architecture": "arm64", "jitsi:videobridges": JSON.stringify({ count: 2, instanceType: "c6g.medium" }) }, key: "jitsi:videobridges.instanceType" },
    args: { change: (a) => ({ ...a, instanceType: "t4g.large", architecture: "arm64", videobridges: { count: 2, instanceType: "c6g.medium" } }), path: "videobridges.instanceType" },
    message: /must have at least 4 GiB of memory \(the bridge's Java heap is 3 GiB\): c6g\.medium has 2 GiB; use c6g\.large/,
  },
  "subnet id": {
    stack: { config: { "jitsi:subnetId": "subnet-xyz" }, key: "jitsi:subnetId" },
    args: { change: (a) => ({ ...a, subnetId: "subnet-xyz" }), path: "subnetId" },
    message: /must be a subnet id: subnet- followed by 8 or 17 lower-case hex digits/,
  },
  "VPC id": {
    stack: { config: { "jitsi:vpcId": "vpc-12", "jitsi:subnetId": "subnet-0123456789abcdef0" }, key: "jitsi:vpcId" },
    args: { change: (a) => ({ ...a, vpcId: "vpc-12", subnetId: "subnet-0123456789abcdef0" }), path: "vpcId" },
    message: /must be a VPC id: vpc- followed by 8 or 17 lower-case hex digits/,
  },
  "disk size": {
    stack: { config: { "jitsi:diskSizeGb": "5" }, key: "jitsi:diskSizeGb" },
    args: { change: (a) => ({ ...a, diskSizeGb: 5 }), path: "diskSizeGb" },
    message: /must be at least 10 \(GiB\)/,
  },
  "Jitsi version": {
    stack: { config: { "jitsi:jitsiVersion": "2.0; rm -rf /" }, key: "jitsi:jitsiVersion" },
    args: { change: (a) => ({ ...a, jitsiVersion: "2.0; rm -rf /" }), path: "jitsiVersion" },
    message: /must be a jitsi-meet release version like 2\.0\.11248-1/,
  },
  "app id with quotes": {
    stack: { config: { "jitsi:appId": 'my"app' }, key: "jitsi:appId" },
    args: { change: (a) => ({ ...a, token: { algorithm: "HS256", appId: 'my"app', appSecret: SECRET } }), path: "token.appId" },
    renderer: { change: (d) => ({ ...d, auth: { algorithm: "HS256", appId: 'my"app', appSecret: SECRET } }), path: "auth.appId" },
    message: /must be 1-64 letters, digits, '\.', '_' or '-'/,
  },
  "short app secret": appSecret("too-short-secret", /must be at least 32 characters/),
  "app secret over the one maximum (512)": appSecret("x".repeat(513), /must be at most 512 characters/),
  "app secret with a quote": appSecret(`${"a".repeat(40)}'`, /must not contain \/ \\ " ' or `/),
  "RS256 key id with a space": {
    stack: { config: { "jitsi:tokenAlgorithm": "RS256", "jitsi:appSecret": undefined, "jitsi:tokenPublicKeys": JSON.stringify({ "bad kid": PEM }) }, key: "jitsi:tokenPublicKeys.bad kid" },
    args: { change: (a) => ({ ...a, token: { algorithm: "RS256", appId: "example-app", publicKeys: { "bad kid": PEM } } }), path: "token.publicKeys.bad kid" },
    renderer: { change: (d) => ({ ...d, auth: { algorithm: "RS256", appId: "example-app", publicKeys: { "bad kid": PEM } } }), path: "auth.publicKeys.bad kid" },
    message: /key ids \(kid\) must be 1-128 characters/,
  },
  "misspelled key": {
    stack: { config: { "jitsi:instancetype": "t3.xlarge" }, key: "jitsi:instancetype" },
    message: /is not a key of this program \(did you mean jitsi:instanceType\?\); known keys: domain, hostedZone, instanceType/,
  },
  "app secret in plain text": {
    stack: { config: {}, key: "jitsi:appSecret", secretKeys: [] },
    message: /is stored in plain text: set it with `pulumi config set --secret appSecret …`/,
  },
};

/** Every string of a problem list, for the "never echo the secret" check. */
const texts = (error: unknown) => JSON.stringify({ message: (error as Error).message, problems: (error as { problems?: unknown }).problems });

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected the value to be refused");
}

let registered: string[];
beforeEach(async () => {
  registered = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push(args.type);
        // The few computed fields the component reads (addresses, generated passwords), so the baseline renders.
        const computed = { privateIp: "10.0.1.23", publicIp: "198.51.100.7", result: "MockGeneratedPassword0123456789abcdef", subnetId: "subnet-0123456789abcdef0" };
        return { id: `${args.name}-id`, state: { ...computed, ...args.inputs } };
      },
      call: (args) => {
        registered.push(`call ${args.token}`);
        return { id: "mock-id", imageId: "ami-0123456789abcdef0", architecture: "x86_64", zoneId: "Z0EXAMPLE12345", vpcId: "vpc-0123456789abcdef0", cidrBlock: MOCK.vpcCidr };
      },
    },
    "jitsi",
    "dev",
    false,
  );
});

/** Lets asynchronous registrations reach the mocks. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe("one rule set: stack reader, JitsiServer and renderer refuse the same values", () => {
  it.each(Object.entries(CASES))("%s", async (_name, c) => {
    if (c.stack !== undefined) {
      const config: Record<string, string> = baseConfig();
      for (const [key, value] of Object.entries(c.stack.config)) {
        if (value === undefined) delete config[key];
        else config[key] = value;
      }
      pulumi.runtime.setAllConfig(config, c.stack.secretKeys ?? ["jitsi:appSecret"]);
      const error = thrown(() => readStackConfig());
      expect(error).toBeInstanceOf(StackConfigError);
      expect(error).toBeInstanceOf(pulumi.RunError); // printed by the CLI without a stack trace
      const problems = (error as StackConfigError).problems;
      expect(problems.find((p) => p.path === c.stack!.key)?.message, JSON.stringify(problems)).toMatch(c.message);
      expect(texts(error)).not.toContain(config["jitsi:appSecret"] ?? "\u0000");
    }
    if (c.args !== undefined) {
      const args = c.args.change(BASE_ARGS);
      const error = thrown(() => new JitsiServer("bad", args));
      expect(error).toBeInstanceOf(JitsiServerArgsError);
      expect(error).toBeInstanceOf(pulumi.RunError);
      const problems = (error as JitsiServerArgsError).problems;
      expect(problems.find((p) => p.path === c.args!.path)?.message, JSON.stringify(problems)).toMatch(c.message);
      // The same function, without the component: what the stack reader and the render command call.
      expect(() => settleJitsiServerArgs(args)).toThrow(JitsiServerArgsError);
      if (args.token.algorithm === "HS256" && typeof args.token.appSecret === "string") expect(texts(error)).not.toContain(args.token.appSecret);
      await settle();
      expect(registered).toEqual([]);
    }
    if (c.renderer !== undefined) {
      const error = thrown(() => renderFiles(c.renderer!.change(sampleDeployment())));
      expect(error).toBeInstanceOf(DeploymentError);
      const problems = (error as DeploymentError).problems;
      expect(problems.find((p) => p.path === c.renderer!.path)?.message, JSON.stringify(problems)).toMatch(c.message);
    }
  });

  it("normalises before it checks: instance types in any case with white space, a key line with its newline", () => {
    // An Ed25519 public key in OpenSSH form (RFC 8709: string "ssh-ed25519", string key) as a .pub file holds it.
    const raw = Buffer.from(generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }).x ?? "", "base64url");
    const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
    const line = `ssh-ed25519 ${Buffer.concat([field(Buffer.from("ssh-ed25519")), field(raw)]).toString("base64")} ops@laptop`;
    const settled = settleJitsiServerArgs({ ...BASE_ARGS, instanceType: " T3.Large ", sshPublicKey: `${line}\n` });
    expect(settled.instanceType).toBe("t3.large");
    expect(settled.sshPublicKey).toBe(line);
    const error = thrown(() => settleJitsiServerArgs({ ...BASE_ARGS, instanceType: "C7G.Medium", architecture: "arm64" }));
    expect((error as JitsiServerArgsError).message).toMatch(/instanceType: must have at least 4 GiB.*c7g\.medium has 2 GiB/);
  });

  // Last: its asynchronous registrations must not reach another case's mocks.
  it("the valid baseline passes all three and registers resources (the zero counts below mean something)", async () => {
    const config = baseConfig();
    pulumi.runtime.setAllConfig(config, ["jitsi:appSecret"]);
    expect(readStackConfig().settled.domain).toBe("meet.example.com");
    expect(renderFiles(sampleDeployment()).length).toBeGreaterThan(5);
    new JitsiServer("ok", BASE_ARGS);
    await settle();
    await settle();
    expect(registered.length).toBeGreaterThan(5);
  });
});
