/**
 * The memory of an EC2 instance type, derived from its name without asking AWS: the family's class (the letters
 * before the generation digit) fixes the memory per "size unit", the size the number of units.
 *
 * Source: the AWS EC2 instance type specifications (docs.aws.amazon.com/ec2/latest/instancetypes/, general
 * purpose gp.html, compute optimized co.html, memory optimized mo.html; previous generation pg.html). Within each
 * class of the current generations memory is a fixed multiple of the vCPUs (sizes double from medium on):
 *
 *   | class | family examples                  | medium | large | xlarge | N·xlarge |
 *   | ----- | -------------------------------- | ------ | ----- | ------ | -------- |
 *   | c     | c5, c6i, c6g, c7g, c7gn, c8g     | 2 GiB  | 4     | 8      | 8·N      |
 *   | a     | a1 (first Graviton)              | 2 GiB  | 4     | 8      | 8·N      |
 *   | m     | m5, m6i, m6g, m7g, m7i-flex      | 4 GiB  | 8     | 16     | 16·N     |
 *   | t     | t2, t3, t3a, t4g (burstable)     | 4 GiB  | 8     | 16     | 16·N     |
 *   | r     | r5, r6i, r6g, r7g                | 8 GiB  | 16    | 32     | 32·N     |
 *   | x     | x2gd, x2iedn                     | 16 GiB | 32    | 64     | 64·N     |
 *   | z     | z1d                              | —      | 16    | 32     | 32·N     |
 *
 * (c5n/c6gn have a little more than their class; a figure here is never above the real one, so nothing that
 * fits is refused.) nano, micro and small exist only for t (0.5, 1, 2 GiB) and the previous-generation m1
 * (m1.small 1.7 GiB). Previous generations below their class's figure (c3/c4 1.875 GiB per unit, m1/m3 3.75,
 * r3/r4 7.625, x1 15.25, x1e 30.5; c1, t1) are listed by family or by name. Other classes
 * (storage i/d/h, accelerated g/p/inf/trn/dl/f/vt, hpc, mac, u-) start at sizes far above any minimum here:
 * their memory is reported unknown, and they are not refused for it.
 */

/** GiB per size unit (a medium; a large is 2 units, an xlarge 4, an N·xlarge 4·N) by family class. */
const GIB_PER_UNIT: Readonly<Record<string, number>> = { a: 2, c: 2, m: 4, t: 4, r: 8, x: 16, z: 8 };

/** Sizes below a medium, sold in the t class only (m1.small is listed with the previous generation). */
const SMALL_SIZES: Readonly<Record<string, number>> = { nano: 0.5, micro: 1, small: 2 };

/** Previous-generation families with less per unit than their class (AWS previous generation page). */
const FAMILY_GIB_PER_UNIT: Readonly<Record<string, number>> = { c3: 1.875, c4: 1.875, m1: 3.75, m3: 3.75, r3: 7.625, r4: 7.625, x1: 15.25, x1e: 30.5 };

/** Previous-generation types that fit no rule above (AWS previous generation page). */
const PREVIOUS_GENERATION: Readonly<Record<string, number>> = { "t1.micro": 0.613, "m1.small": 1.7, "c1.medium": 1.7, "c1.xlarge": 7 };

/** Size units of a size name: medium 1, large 2, xlarge 4, N·xlarge 4·N; undefined for metal and the unknown. */
function sizeUnits(size: string): number | undefined {
  if (size === "medium") return 1;
  if (size === "large") return 2;
  const xlarge = /^(\d*)xlarge$/.exec(size);
  if (xlarge === null) return undefined;
  return 4 * (xlarge[1] === "" ? 1 : Number(xlarge[1]));
}

/** The class of a family: the letters before its generation digit (c7gn → c, a1 → a, m7i-flex → m). */
function familyClass(family: string): string {
  return /^([a-z]+)\d/.exec(family)?.[1] ?? family;
}

/**
 * Memory of `instanceType` (`family.size`, e.g. c7g.medium) in GiB, or undefined when the name does not tell it
 * (an unknown class, metal, a size outside the table). Never above the real figure.
 */
export function instanceMemoryGib(instanceType: string): number | undefined {
  const known = PREVIOUS_GENERATION[instanceType];
  if (known !== undefined) return known;
  const [family = "", size = ""] = instanceType.split(".");
  const small = SMALL_SIZES[size];
  if (small !== undefined) return small;
  const perUnit = FAMILY_GIB_PER_UNIT[family] ?? GIB_PER_UNIT[familyClass(family)];
  const units = sizeUnits(size);
  return perUnit === undefined || units === undefined ? undefined : perUnit * units;
}

/**
 * The smallest size of the same family with at least `minGib`, e.g. c7g.medium → c7g.large; undefined when the
 * family's memory is unknown.
 */
export function smallestSizeWith(instanceType: string, minGib: number): string | undefined {
  const family = instanceType.split(".")[0] ?? "";
  for (const size of ["medium", "large", "xlarge", "2xlarge", "4xlarge"]) {
    const candidate = `${family}.${size}`;
    const memory = instanceMemoryGib(candidate);
    // Only some families are sold in a medium size; never suggest one AWS does not offer.
    if (memory !== undefined && memory >= minGib && (size !== "medium" || hasMediumSize(family))) return candidate;
  }
  return undefined;
}

/** Families offered in a medium size: burstable t, a1 and the Graviton families (a "g" after the generation). */
function hasMediumSize(family: string): boolean {
  return familyClass(family) === "t" || family === "a1" || /^[a-z]+\d+[a-z-]*g/.test(family);
}
