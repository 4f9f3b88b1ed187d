/**
 * Instance types with too little memory for Jitsi are refused by key, whatever their family: the memory comes from
 * the name (token/shared/instanceMemory.ts), checked here against the AWS specification figures of real types.
 */
import { describe, expect, it } from "vitest";
import { instanceMemoryGib, smallestSizeWith } from "../../token/shared/instanceMemory.ts";
import { INSTANCE_MIN_MEMORY_GIB, instanceTypeProblem, normalizeInstanceType } from "../../token/shared/rules.ts";

/** GiB of memory of real instance types, from the AWS EC2 instance type specifications. */
const AWS_FIGURES: Record<string, number> = {
  "t3.nano": 0.5, "t3.micro": 1, "t3.small": 2, "t3.medium": 4, "t3.large": 8, "t3a.xlarge": 16, "t4g.small": 2, "t4g.medium": 4,
  "t4g.2xlarge": 32, "t2.medium": 4, "c6g.medium": 2, "c6gd.medium": 2, "c6gn.medium": 2, "c7g.medium": 2, "c7gd.medium": 2,
  "c7gn.medium": 2, "c8g.medium": 2, "c7g.large": 4, "c6i.large": 4, "c5.large": 4, "c7i.xlarge": 8, "c6i.32xlarge": 256,
  "a1.medium": 2, "a1.large": 4, "m6g.medium": 4, "m7g.medium": 4, "m5.large": 8, "m7i-flex.large": 8, "m6i.12xlarge": 192,
  "r6g.medium": 8, "r7g.large": 16, "x2gd.medium": 16, "z1d.large": 16, "c4.large": 3.75, "c3.large": 3.75, "m3.medium": 3.75,
  "m1.medium": 3.75, "m1.small": 1.7, "c1.medium": 1.7, "t1.micro": 0.613, "c4.xlarge": 7.5, "m3.large": 7.5, "r4.large": 15.25,
  "x1.16xlarge": 976, "x1e.xlarge": 122,
};

describe("instanceMemoryGib", () => {
  it.each(Object.entries(AWS_FIGURES))("%s has %s GiB (never more than AWS says)", (type, gib) => {
    expect(instanceMemoryGib(type)).toBe(gib);
  });

  it.each(["c5n.large", "c6gn.large"])("%s: at most the real figure (5.25 and 4 GiB)", (type) => {
    expect(instanceMemoryGib(type)).toBeLessThanOrEqual(5.25);
    expect(instanceMemoryGib(type)).toBeGreaterThanOrEqual(INSTANCE_MIN_MEMORY_GIB);
  });

  it.each(["g5g.xlarge", "inf1.xlarge", "i4g.large", "c7g.metal", "mac1.metal", "u-3tb1.56xlarge", "hpc7g.4xlarge"])(
    "%s: unknown, not guessed",
    (type) => {
      expect(instanceMemoryGib(type)).toBeUndefined();
    },
  );

  it("names the smallest size of the family that fits, and only sizes AWS sells", () => {
    expect(smallestSizeWith("c7g.medium", 4)).toBe("c7g.large");
    expect(smallestSizeWith("a1.medium", 4)).toBe("a1.large");
    expect(smallestSizeWith("t3.small", 4)).toBe("t3.medium");
    expect(smallestSizeWith("c4.large", 4)).toBe("c4.xlarge");
    expect(smallestSizeWith("m1.small", 4)).toBe("m1.large");
    expect(smallestSizeWith("c6i.large", 8)).toBe("c6i.xlarge");
  });
});

describe("instanceTypeProblem", () => {
  // Every type below 4 GiB of the table, whatever its family, is refused with the reason and what fits.
  const tooSmall = Object.entries(AWS_FIGURES).filter(([, gib]) => gib < INSTANCE_MIN_MEMORY_GIB);
  const enough = Object.entries(AWS_FIGURES).filter(([, gib]) => gib >= INSTANCE_MIN_MEMORY_GIB);

  it.each(tooSmall)("refuses %s (%s GiB) for the server and for a bridge", (type, gib) => {
    const server = instanceTypeProblem(type, "server");
    expect(server).toMatch(/^must have at least 4 GiB of memory \(the server runs Prosody, Jicofo and a videobridge.*Jitsi's handbook: 4 GB for small meetings/);
    expect(server).toContain(`${type} has ${String(gib)} GiB`);
    expect(instanceTypeProblem(type, "videobridge")).toMatch(/^must have at least 4 GiB of memory \(the bridge's Java heap is 3 GiB\)/);
  });

  it.each(enough)("allows %s (%s GiB)", (type) => {
    expect(instanceTypeProblem(type, "server")).toBeUndefined();
    expect(instanceTypeProblem(type, "videobridge")).toBeUndefined();
  });

  it.each(["t3.bogus", "c7g.01xlarge", "t3.0xlarge", "t3.1xlarge", "m6i.xlarge2", "t3", "t3.", ".large", "t3.large.x"])("refuses %s: not a size AWS sells", (type) => {
    expect(instanceTypeProblem(type, "server")).toBe("must be an EC2 instance type like t3.large or t4g.large");
    expect(instanceTypeProblem(type, "videobridge")).toBe("must be an EC2 instance type like c6i.xlarge or c7g.xlarge");
  });

  it.each(["m6i.2xlarge", "c7g.16xlarge", "m7i.48xlarge", "c6i.metal", "m7i.metal-24xl", "m7i-flex.large"])("accepts the size of %s", (type) => {
    expect(instanceTypeProblem(type, "server")).toBeUndefined();
  });

  it("is checked after normalising: white space and case do not matter", () => {
    expect(normalizeInstanceType(" T3.Large\n")).toBe("t3.large");
    expect(instanceTypeProblem(normalizeInstanceType("C7G.Medium "), "server")).toMatch(/c7g\.medium has 2 GiB/);
  });

  it("says what to use instead: the family's next size that fits and types of the same architecture", () => {
    expect(instanceTypeProblem("c7g.medium", "server")).toMatch(/c7g\.medium has 2 GiB; use c7g\.large \(4 GiB\) or larger, or another type with 4 GiB or more, such as t4g\.large or m7g\.medium$/);
    expect(instanceTypeProblem("c6g.medium", "videobridge")).toMatch(/use c6g\.large \(4 GiB\) or larger, or another type with 4 GiB or more, such as c7g\.large or c7g\.xlarge$/);
    expect(instanceTypeProblem("c4.large", "server")).toMatch(/c4\.large has 3\.75 GiB; use c4\.xlarge \(7\.5 GiB\) or larger/);
    expect(instanceTypeProblem("t3.micro", "server")).toMatch(/use t3\.medium \(4 GiB\) or larger, or another type with 4 GiB or more, such as t3\.large or m6i\.large$/);
  });
});
