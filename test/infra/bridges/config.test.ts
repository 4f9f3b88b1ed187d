import { describe, expect, it } from "vitest";
import {
  BridgePoolConfigError,
  instanceArchitecture,
  instanceProblems,
  MAX_BRIDGES,
  parseVideobridgesConfig,
  signallingNodeKeepsBridge,
  subnetIdProblems,
} from "../../../infra/bridges/config.ts";

/** The problems a bad value raises, as `key: message` lines. */
function problemsOf(raw: unknown): string[] {
  try {
    parseVideobridgesConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(BridgePoolConfigError);
    return (error as BridgePoolConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be rejected`);
}

describe("parseVideobridgesConfig", () => {
  it("means no pool when the key is absent", () => {
    expect(parseVideobridgesConfig(undefined)).toBeUndefined();
    expect(signallingNodeKeepsBridge(undefined)).toBe(true);
  });

  it("accepts an object or its JSON text and fills the defaults", () => {
    const fromObject = parseVideobridgesConfig({ count: 2, instanceType: "c6i.xlarge" });
    expect(fromObject).toEqual({ count: 2, instanceType: "c6i.xlarge", spot: false, keepLocalBridge: true });
    const fromText = parseVideobridgesConfig('{"count":"3","instanceType":"c7g.2xlarge","spot":true,"keepLocalBridge":false}');
    expect(fromText).toEqual({ count: 3, instanceType: "c7g.2xlarge", spot: true, keepLocalBridge: false });
    expect(signallingNodeKeepsBridge(fromText)).toBe(false);
    // Normalised before it is checked, as the server's instanceType is.
    expect(parseVideobridgesConfig({ count: 1, instanceType: " C6I.XLarge " })?.instanceType).toBe("c6i.xlarge");
    expect(instanceProblems(1, " C6I.XLarge ", "x86_64")).toEqual([]);
    expect(instanceProblems(1, "C7G.XLarge", "x86_64").map((p) => p.message)[0]).toContain("c7g.xlarge is arm64");
  });

  it.each([
    [{ count: -1, instanceType: "c6i.xlarge" }, /^videobridges\.count: must be a whole number from 0 to 50 \(got -1\)$/],
    [{ count: 2.5, instanceType: "c6i.xlarge" }, /^videobridges\.count: must be a whole number/],
    [{ count: "two", instanceType: "c6i.xlarge" }, /^videobridges\.count: must be a whole number.*\(got "two"\)/],
    [{ count: MAX_BRIDGES + 1, instanceType: "c6i.xlarge" }, /^videobridges\.count: must be at most 50/],
    [{ instanceType: "c6i.xlarge" }, /^videobridges\.count: is required$/],
    [{ count: 1, instanceType: "huge" }, /^videobridges\.instanceType: must be an EC2 instance type like c6i\.xlarge.*\(got "huge"\)/],
    [{ count: 1, instanceType: "t3.micro" }, /^videobridges\.instanceType: must have at least 4 GiB of memory/],
    [{ count: 1 }, /^videobridges\.instanceType: is required$/],
    [{ count: 1, instanceType: "c6i.large", spot: "yes" }, /^videobridges\.spot: must be true or false \(got "yes"\)/],
    [{ count: 1, instanceType: "c6i.large", keeplocal: true }, /^videobridges: has unknown field\(s\) keeplocal; allowed: count, instanceType, spot, keepLocalBridge$/],
    [{ count: 0, instanceType: "c6i.large", keepLocalBridge: false }, /^videobridges\.count: must be at least 1 when videobridges\.keepLocalBridge is false/],
    ["[1,2]", /^videobridges: must be an object like/],
    ["{not json", /^videobridges: must be an object like/],
  ])("rejects %j with a message naming the field", (raw, expected) => {
    const problems = problemsOf(raw);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(expected);
  });

  it("reports every bad field at once, without a stack trace in the message", () => {
    const error = (() => {
      try {
        parseVideobridgesConfig({ count: -3, instanceType: "x" });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error?.message).toContain("videobridges.count");
    expect(error?.message).toContain("videobridges.instanceType");
    expect(error?.message).not.toMatch(/\bat .*\.ts:\d+/);
  });
});

describe("subnet and instance checks", () => {
  it("accepts short and long subnet ids and leaves unknown ones to AWS", () => {
    expect(subnetIdProblems(["subnet-0123abcd", "subnet-0123456789abcdef0"])).toEqual([]);
  });

  it.each([
    [[], /^subnetIds: must list at least one public subnet/],
    [["subnet-XYZ"], /^subnetIds\[0\]: must be a subnet id.*\(got "subnet-XYZ"\)/],
    [["subnet-0123abcd", "sg-0123abcd"], /^subnetIds\[1\]: must be a subnet id/],
    [["subnet-0123abcd", "subnet-0123abcd"], /^subnetIds\[1\]: is listed twice/],
  ])("rejects subnets %j", (ids, expected) => {
    const problems = subnetIdProblems(ids).map((p) => `${p.path}: ${p.message}`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(expected);
  });

  it.each([
    ["c7g.xlarge", "arm64"],
    ["c7gn.large", "arm64"],
    ["t4g.medium", "arm64"],
    ["im4gn.large", "arm64"],
    ["a1.large", "arm64"],
    ["c6i.xlarge", "x86_64"],
    ["c5n.2xlarge", "x86_64"],
    ["m7i-flex.large", "x86_64"],
    ["g5.xlarge", "x86_64"],
    ["t3.large", "x86_64"],
  ] as const)("knows %s is %s", (type, arch) => {
    expect(instanceArchitecture(type)).toBe(arch);
  });

  it("rejects an instance type that does not match the AMI's architecture", () => {
    const problems = instanceProblems(2, "c7g.xlarge", "x86_64").map((p) => `${p.path}: ${p.message}`);
    expect(problems).toEqual([
      'videobridges.instanceType: must be an x86_64 type like the signalling node\'s AMI: c7g.xlarge is arm64 (got "c7g.xlarge")',
    ]);
    expect(instanceProblems(2, "c6i.xlarge", "x86_64")).toEqual([]);
  });
});
