/**
 * Stack config validation (pure) and its agreement with Pulumi.yaml / Pulumi.dev.yaml.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { load as loadYaml } from "js-yaml";
import { describe, expect, it } from "vitest";
import { rsaPublicKeyPem } from "./harness.ts";
import {
  CONFIG_KEYS,
  CONFIG_NAMESPACE,
  DEFAULTS,
  parseStackConfig,
  StackConfigError,
  type RawStackConfig,
} from "../../infra/config.ts";

const root = new URL("../../", import.meta.url);
const readYaml = (file: string) => loadYaml(readFileSync(new URL(file, root), "utf8")) as Record<string, unknown>;

/** Short keys (`domain`) as `jitsi:domain`; `aws:region` as is. */
const full = (raw: Record<string, string>): RawStackConfig =>
  Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.includes(":") ? k : `${CONFIG_NAMESPACE}:${k}`, v]));

const valid: Record<string, string> = {
  "aws:region": "eu-central-1",
  domain: "meet.example.com",
  hostedZone: "example.com",
  letsEncryptEmail: "ops@example.com",
  jitsiVersion: "2.0.11248-1",
  adminCidrs: '["203.0.113.7/32"]',
};
const SECRET_KEYS = ["jitsi:appSecret"];
const parse = (raw: Record<string, string>) => parseStackConfig(full(raw), SECRET_KEYS).settled;

function problemsOf(raw: Record<string, string>): string[] {
  try {
    parseStackConfig(full(raw), SECRET_KEYS);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(StackConfigError);
    return (error as StackConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
}

describe("parseStackConfig", () => {
  it("applies the documented defaults", () => {
    const { region, settled } = parseStackConfig(full(valid));
    expect(region).toBe("eu-central-1");
    expect(settled).toMatchObject({
      domain: "meet.example.com",
      hostedZone: { zoneName: "example.com" },
      instanceType: DEFAULTS.instanceType,
      architecture: DEFAULTS.architecture,
      diskSizeGb: DEFAULTS.diskSizeGb,
      letsEncrypt: { email: "ops@example.com", staging: false },
      token: { algorithm: "HS256", appId: DEFAULTS.appId, appSecret: undefined },
      guests: true,
      adminCidrs: ["203.0.113.7/32"],
      videobridges: undefined,
      localVideobridge: true,
    });
  });

  it("accepts a zone id, a trailing-dot zone name, arm64 on Graviton, RS256 with keys, empty optional keys", () => {
    expect(parse({ ...valid, hostedZone: "Z0EXAMPLE12345" }).hostedZone).toEqual({ zoneId: "Z0EXAMPLE12345" });
    expect(parse({ ...valid, hostedZone: "example.com." }).hostedZone).toEqual({ zoneName: "example.com" });
    expect(parse({ ...valid, instanceType: "t4g.large", architecture: "arm64" }).architecture).toBe("arm64");
    const pem = rsaPublicKeyPem();
    const rs = parse({ ...valid, tokenAlgorithm: "RS256", tokenPublicKeys: JSON.stringify({ k1: pem }) });
    expect(rs.token).toEqual({ algorithm: "RS256", appId: DEFAULTS.appId, publicKeys: { k1: pem } });
    expect(parse({ ...valid, vpcId: "", subnetId: "", sshPublicKey: "", appSecret: "" }).subnetId).toBeUndefined();
  });

  it("reports every bad key at once, each by its full Pulumi name", () => {
    const problems = problemsOf({ ...valid, domain: "not a domain", diskSizeGb: "5", guests: "yes" });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^jitsi:domain: must be a lower-case fully qualified domain name.*\(got "not a domain"\)$/);
    expect(problems[1]).toMatch(/^jitsi:diskSizeGb: must be at least 10/);
    expect(problems[2]).toMatch(/^jitsi:guests: must be true or false/);
  });

  it("never echoes the app secret in a message", () => {
    const secret = "short'secret";
    const problems = problemsOf({ ...valid, appSecret: secret });
    expect(problems.join("\n")).toMatch(/jitsi:appSecret: must be at least 32 characters/);
    expect(problems.join("\n")).not.toContain(secret);
  });

  it("names missing required keys with what they are for", () => {
    const problems = problemsOf({});
    for (const key of ["aws:region", "jitsi:domain", "jitsi:hostedZone", "jitsi:letsEncryptEmail", "jitsi:adminCidrs", "jitsi:jitsiVersion"]) {
      expect(problems.some((p) => p.startsWith(`${key}: is required: `))).toBe(true);
    }
  });
});

describe("Pulumi.yaml", () => {
  const project = readYaml("Pulumi.yaml");
  const declared = project.config as Record<string, { type: string; default?: unknown; description: string }>;

  it("runs infra/index.ts as ESM TypeScript through tsx, not Pulumi's ts-node", () => {
    expect(project.name).toBe(CONFIG_NAMESPACE);
    expect(project.main).toBe("infra/index.ts");
    expect(project.runtime).toEqual({
      name: "nodejs",
      options: { typescript: false, nodeargs: "--import tsx --conditions=jitsi-jwt-source", packagemanager: "npm" },
    });
    const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as Record<string, unknown>;
    expect(pkg.type).toBe("module");
    expect(pkg.main).toBe(project.main);
  });

  it("those node arguments load the whole program graph in plain Node (not vitest's transformer)", () => {
    const { nodeargs } = (project.runtime as { options: { nodeargs: string } }).options;
    // No engine here: a config error is the deepest the program gets, but every module is imported by then.
    const result = spawnSync(
      process.execPath,
      [...nodeargs.split(" "), "--input-type=module", "-e", `import(${JSON.stringify(new URL(String(project.main), root).href)}).catch((e) => { console.log(e.constructor.name + ": " + e.message); })`],
      { encoding: "utf8", cwd: new URL(".", root).pathname, env: { ...process.env, PULUMI_CONFIG: JSON.stringify({ "jitsi:domain": "meet.example.com" }) }, timeout: 60_000 },
    );
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/^StackConfigError: Invalid stack configuration/);
    expect(result.stdout).toContain("aws:region: is required");
  });

  it("declares every scalar and list key with a description, and defaults equal to the program's", () => {
    const objectKeys = ["tokenPublicKeys", "videobridges"]; // Pulumi has no object type: documented in comments
    for (const key of CONFIG_KEYS) {
      if (objectKeys.includes(key)) {
        expect(readFileSync(new URL("Pulumi.yaml", root), "utf8")).toContain(`#   ${key}`);
        continue;
      }
      expect(declared[key], key).toBeDefined();
      expect(declared[key]!.description.length, key).toBeGreaterThan(20);
    }
    expect(Object.keys(declared).sort()).toEqual(CONFIG_KEYS.filter((k) => !objectKeys.includes(k)).sort());
    for (const [key, value] of Object.entries(DEFAULTS)) {
      expect(declared[key]!.default, key).toEqual(value);
    }
  });

  it("ships a Pulumi.dev.yaml example that validates", () => {
    const stack = (readYaml("Pulumi.dev.yaml").config ?? {}) as Record<string, unknown>;
    const raw: Record<string, string> = {};
    for (const [key, value] of Object.entries(stack)) raw[key] = typeof value === "string" ? value : JSON.stringify(value);
    const { settled } = parseStackConfig(raw);
    expect(settled.domain).toBe("meet.example.com");
    expect(settled.token).toEqual({ algorithm: "HS256", appId: "example-app", appSecret: undefined }); // secrets never sit in the example in plain text
  });
});
