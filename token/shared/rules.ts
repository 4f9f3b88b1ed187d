/**
 * Field rules: the one definition of what each setting may hold, used by the stack reader (infra/config.ts), the
 * `JitsiServer` component (infra/jitsiServerArgs.ts), the renderer's validation (templates/validate.ts) and the token
 * package's config loader (token/config.ts), so a value is refused by all of them or by none.
 *
 * Each rule takes the value as given and returns `undefined` when it is allowed, otherwise the problem: what is
 * wrong and what is allowed, as a message to put after the field's name. A rule never repeats a value that could
 * be a secret. Dependency-free (only Node built-ins and the WHATWG URL parser).
 */
import { createPublicKey } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import { instanceMemoryGib, smallestSizeWith } from "./instanceMemory.ts";

/** A rule: `undefined` when `value` is allowed, else the problem (what is wrong, what is allowed). */
export type Rule<T = string> = (value: T) => string | undefined;

// ---- names ------------------------------------------------------------------------------------------------------

/** Longest sub-domain prefix the deployment derives from its domain (`internal.auth.`); every name stays ≤ 253. */
const LONGEST_DERIVED_PREFIX = "internal.auth.".length;
/** Longest public domain whose derived XMPP names all fit DNS's 253 characters. */
export const DOMAIN_MAX_LENGTH = 253 - LONGEST_DERIVED_PREFIX;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const DOMAIN_SHAPE =
  "must be a lower-case fully qualified domain name with at least two labels, like meet.example.com (labels of a-z, 0-9 and inner hyphens; no '_', which Prosody 13 rejects)";

/** The ASCII (punycode) form of an internationalised name as browsers and DNS use it, or undefined if none. */
function punycode(name: string): string | undefined {
  try {
    return new URL(`http://${name}/`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * The public domain of a deployment (also its XMPP domain and the token's `sub`), e.g. `meet.example.com`.
 * Says what is wrong for the common slips: a URL instead of a name, a trailing dot, upper case, non-ASCII.
 */
export const domainProblem: Rule = (value) => {
  if (value.length === 0) return "must not be empty: the public name of the meeting server, like meet.example.com";
  // The common slips, each with the corrected value when that one is valid (otherwise what is wrong with it).
  const suggest = (slip: string, fixed: string) => domainProblem(fixed) ?? `${slip}: write ${fixed}`;
  const url = /^[a-z][a-z0-9+.-]*:\/\/([^/:?#]*)/i.exec(value);
  if (url !== null) return suggest("must be a bare domain name, without a scheme or path", (url[1] || "meet.example.com").toLowerCase());
  if (value.endsWith(".")) return suggest("must not end with a dot", value.replace(/\.+$/, ""));
  if (/[^\x00-\x7f]/.test(value)) {
    const ascii = punycode(value);
    return ascii === undefined ? "must be ASCII: write an internationalised name in its punycode form (xn--…)" : suggest("must be ASCII (an internationalised name in its punycode form)", ascii);
  }
  if (/[A-Z]/.test(value)) return suggest("must be lower case", value.toLowerCase());
  if (value.length > DOMAIN_MAX_LENGTH) return `must be at most ${DOMAIN_MAX_LENGTH} characters (the derived XMPP names add up to ${LONGEST_DERIVED_PREFIX})`;
  const labels = value.split(".");
  if (labels.length < 2 || !labels.every((label) => LABEL.test(label))) return DOMAIN_SHAPE;
  if (/^[0-9]+$/.test(labels.at(-1) ?? "")) return "must be a domain name, not an IP address, like meet.example.com";
  return undefined;
};

/** A Route53 hosted zone: its id (`Z0123…`) or its name (`example.com`, a trailing dot allowed as Route53 prints it). */
export type HostedZoneRef = { readonly zoneId: string } | { readonly zoneName: string };

/** Reads a hosted zone reference, or returns the problem. */
export function parseHostedZone(value: string): HostedZoneRef | string {
  if (/^Z[A-Z0-9]{1,32}$/.test(value)) return { zoneId: value };
  const name = value.replace(/\.$/, "");
  if (domainProblem(name) === undefined) return { zoneName: name };
  return "must be a Route53 hosted zone id (Z followed by capital letters and digits) or a public zone name like example.com";
}

/** E-mail address of the Let's Encrypt account; ends up in certbot's command line and the renewal hook. */
export const emailProblem: Rule = (value) => {
  const at = value.lastIndexOf("@");
  const local = value.slice(0, at);
  const domain = value.slice(at + 1).toLowerCase();
  if (at < 0 || !/^[A-Za-z0-9._%+-]{1,64}$/.test(local) || domainProblem(domain) !== undefined) {
    return "must be a plain e-mail address such as ops@example.com (letters, digits and . _ % + - before the @, a domain name after it)";
  }
  return undefined;
};

// ---- addresses --------------------------------------------------------------------------------------------------

/** An IPv6 address as 128 bits; the URL parser canonicalises it first (embedded IPv4, `::`). */
function ipv6Bits(text: string): bigint {
  const host = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const [head = "", tail] = host.split("::");
  const front = head === "" ? [] : head.split(":");
  const back = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? front : [...front, ...Array<string>(8 - front.length - back.length).fill("0"), ...back];
  return groups.reduce((bits, group) => (bits << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

function ipv4Bits(text: string): bigint {
  return text.split(".").reduce((bits, octet) => (bits << 8n) | BigInt(Number(octet)), 0n);
}

function formatBits(bits: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((bits >> shift) & 255n)).join(".");
  const groups = Array.from({ length: 8 }, (_, i) => ((bits >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  return new URL(`http://[${groups.join(":")}]/`).hostname.slice(1, -1);
}

/** A parsed CIDR block. */
export interface Cidr {
  readonly family: 4 | 6;
  /** The network address in canonical form. */
  readonly network: string;
  readonly prefix: number;
}

/**
 * Parses an IPv4 or IPv6 CIDR block (`203.0.113.7/32`, `2001:db8::/48`); returns the problem otherwise. A block
 * with host bits set (`203.0.113.7/24`) is refused with both readings offered: such a value is usually a typo for
 * `/32`, and AWS would silently widen it to the network.
 */
export function parseCidr(value: string): Cidr | string {
  const shape = "must be a CIDR block like 203.0.113.7/32 or 2001:db8::/48";
  const match = /^([^/\s%]+)\/(0|[1-9][0-9]{0,2})$/.exec(value);
  if (match === null) return shape;
  const [, address = "", prefixText = ""] = match;
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : undefined;
  if (family === undefined) return shape;
  const width = family === 4 ? 32 : 128;
  const prefix = Number(prefixText);
  if (prefix > width) return `must have a prefix length from 0 to ${width} for an IPv${family} address`;
  const bits = family === 4 ? ipv4Bits(address) : ipv6Bits(address);
  const hostMask = (1n << BigInt(width - prefix)) - 1n;
  const network = bits & ~hostMask;
  // A /0 is every address whatever its host bits say; adminCidrProblem words that case.
  if (prefix > 0 && (bits & hostMask) !== 0n) {
    return `has host bits set (${value} is not a network address): write ${formatBits(bits, family)}/${width} for that one host or ${formatBits(network, family)}/${prefix} for its network`;
  }
  return { family, network: formatBits(network, family), prefix };
}

/** One entry of the SSH allow-list: a CIDR block that is not the whole internet (any `/0`, however written). */
/** The widest block adminCidrs may name: an ISP or corporate range at most (a /8 is 16.7 million addresses). */
export const ADMIN_CIDR_MIN_PREFIX = { v4: 8, v6: 32 } as const;

export const adminCidrProblem: Rule = (value) => {
  const cidr = parseCidr(value);
  if (typeof cidr === "string") return cidr;
  if (cidr.prefix === 0) return "must not open SSH to the whole internet (a /0 block matches every address): use your own address/32";
  // A few short blocks cover the internet just as well (0.0.0.0/1 + 128.0.0.0/1): SSH is for admins' networks.
  const widest = cidr.family === 4 ? ADMIN_CIDR_MIN_PREFIX.v4 : ADMIN_CIDR_MIN_PREFIX.v6;
  if (cidr.prefix < widest) return `must be a /${widest} or narrower ${cidr.family === 4 ? "IPv4" : "IPv6"} block: SSH is opened to admins' own networks, not to large parts of the internet`;
  return undefined;
};

// ---- AWS ids and sizes ----------------------------------------------------------------------------------------------

/** AWS resource ids: a prefix and 8 (older) or 17 lower-case hex digits. */
function awsIdRule(prefix: string, what: string): Rule {
  const pattern = new RegExp(`^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`);
  return (value) => (pattern.test(value) ? undefined : `must be ${what} id: ${prefix}- followed by 8 or 17 lower-case hex digits, like ${prefix}-0123456789abcdef0`);
}

export const vpcIdProblem: Rule = awsIdRule("vpc", "a VPC");
export const subnetIdProblem: Rule = awsIdRule("subnet", "a subnet");

export const regionProblem: Rule = (value) =>
  /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/.test(value) ? undefined : "must be an AWS region name like eu-central-1";

/** The machine's role decides the message; both run Java processes with heaps of up to 3 GiB. */
export type InstanceRole = "server" | "videobridge";

/** `family.size`; the size one AWS sells (nano … 48xlarge, metal, metal-24xl): t3.bogus or c7g.01xlarge are typos. */
const EC2_INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.(?:nano|micro|small|medium|large|(?:[2-9]|[1-9]\d+)?xlarge|metal(?:-[1-9]\d*xl)?)$/;

/**
 * An instance type as AWS spells it: surrounding white space dropped, lower case (`T3.Large ` → `t3.large`).
 * Applied before instanceTypeProblem, by the stack config and the component alike.
 */
export function normalizeInstanceType(value: string): string {
  return value.trim().toLowerCase();
}

/**
 * Least memory of the server and of a pool bridge, in GiB. Jitsi's handbook (jitsi/handbook,
 * docs/devops-guide/requirements.md): "it's usually suggested to get 8 GB. For small meetings you can get away
 * with 4 GB", 2 GB only "for test servers or very small meetings"; and the videobridge's launcher starts Java
 * with -Xmx3072m (jitsi-videobridge's jvb.sh), Jicofo's with up to 3 GiB.
 */
export const INSTANCE_MIN_MEMORY_GIB = 4;

/** Types that fit, of the role's usual families, for the message (the architecture of the refused type). */
const FITTING_EXAMPLES: Readonly<Record<InstanceRole, Readonly<Record<"x86_64" | "arm64", string>>>> = {
  server: { x86_64: "t3.large or m6i.large", arm64: "t4g.large or m7g.medium" },
  videobridge: { x86_64: "c6i.large or c6i.xlarge", arm64: "c7g.large or c7g.xlarge" },
};

/**
 * An EC2 instance type for the signalling server or a pool bridge. Types with less than
 * INSTANCE_MIN_MEMORY_GIB are refused, their memory derived from the name (token/shared/instanceMemory.ts:
 * c7g.medium 2 GiB, t3.small 2 GiB, c4.large 3.75 GiB); the message names a size of the same family that fits.
 */
export function instanceTypeProblem(value: string, role: InstanceRole): string | undefined {
  if (!EC2_INSTANCE_TYPE.test(value)) {
    return role === "server" ? "must be an EC2 instance type like t3.large or t4g.large" : "must be an EC2 instance type like c6i.xlarge or c7g.xlarge";
  }
  const memory = instanceMemoryGib(value);
  if (memory === undefined || memory >= INSTANCE_MIN_MEMORY_GIB) return undefined;
  const why =
    role === "server"
      ? "the server runs Prosody, Jicofo and a videobridge, Java heaps of up to 3 GiB each; Jitsi's handbook: 4 GB for small meetings, 8 GB suggested"
      : "the bridge's Java heap is 3 GiB";
  const bigger = smallestSizeWith(value, INSTANCE_MIN_MEMORY_GIB);
  const examples = FITTING_EXAMPLES[role][instanceArchitecture(value)];
  return `must have at least ${String(INSTANCE_MIN_MEMORY_GIB)} GiB of memory (${why}): ${value} has ${String(memory)} GiB; use ${bigger === undefined ? "" : `${bigger} (${String(instanceMemoryGib(bigger))} GiB) or larger, or `}another type with ${String(INSTANCE_MIN_MEMORY_GIB)} GiB or more, such as ${examples}`;
}

export type Architecture = "x86_64" | "arm64";

/** The CPU architecture of an instance type: Graviton families carry a `g` after the generation (t4g, c7gn), plus a1. */
export function instanceArchitecture(instanceType: string): Architecture {
  const family = instanceType.split(".")[0] ?? "";
  const suffix = /^[a-z]+\d+([a-z-]*)$/.exec(family)?.[1] ?? "";
  return family === "a1" || suffix.includes("g") ? "arm64" : "x86_64";
}

export const DISK_SIZE_GB = { min: 10, max: 1024 } as const;

export const diskSizeProblem: Rule<number> = (value) => {
  if (!Number.isInteger(value)) return `must be a whole number of GiB from ${DISK_SIZE_GB.min} to ${DISK_SIZE_GB.max}`;
  if (value < DISK_SIZE_GB.min) return `must be at least ${DISK_SIZE_GB.min} (GiB): Ubuntu plus Jitsi needs about 6`;
  if (value > DISK_SIZE_GB.max) return `must be at most ${DISK_SIZE_GB.max} (GiB)`;
  return undefined;
};

/** An OpenSSH public key line EC2 can import: parsed, type checked, key size checked (token/shared/sshPublicKey.ts). */
export { SSH_RSA_MIN_BITS, sshPublicKeyProblem } from "./sshPublicKey.ts";

/** A public key line as a `.pub` file holds it, without the surrounding white space (its final newline). */
export function normalizeSshPublicKey(value: string): string {
  return value.trim();
}

// ---- tokens ---------------------------------------------------------------------------------------------------------

/** The token's `iss` and Prosody's `app_id`: written into Lua, debconf and JWT checks, so a small safe alphabet. */
export const appIdProblem: Rule = (value) =>
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(value) ? undefined : "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit";

export const APP_SECRET_LENGTH = { min: 32, max: 512 } as const;

/**
 * The HS256 signing secret (Prosody's `app_secret`). At least 32 characters: a key shorter than the hash output
 * weakens HMAC (RFC 7518 §3.2). The jitsi-meet-tokens postinst refuses `/ \ " ' `` ` in it. Never echoed.
 */
export const appSecretProblem: Rule = (value) => {
  if (value.length < APP_SECRET_LENGTH.min) return `must be at least ${APP_SECRET_LENGTH.min} characters (an HS256 key needs 256 bits; e.g. \`openssl rand -hex 32\`)`;
  if (value.length > APP_SECRET_LENGTH.max) return `must be at most ${APP_SECRET_LENGTH.max} characters`;
  if (!/^[\x21-\x7e]+$/.test(value)) return "must be printable ASCII without spaces";
  if (/[/\\"'`]/.test(value)) return "must not contain / \\ \" ' or ` (the jitsi-meet-tokens package refuses a secret containing them)";
  return undefined;
};

/** A key id (`kid`) of an RS256 key; Prosody fetches `<sha256hex(kid)>.pem` from the key server. */
export const keyIdProblem: Rule = (value) =>
  /^[A-Za-z0-9._~:-]{1,128}$/.test(value) ? undefined : "key ids (kid) must be 1-128 characters of A-Z a-z 0-9 . _ ~ : -";

/** An RSA public key in PEM (SPKI): RS256 verifies with RSA only; an EC or Ed25519 key would never match. */
export const rsaPublicKeyProblem: Rule = (value) => {
  let type: string | undefined;
  try {
    type = createPublicKey({ key: value, format: "pem" }).asymmetricKeyType;
  } catch {
    return "must be a PEM-encoded RSA public key (-----BEGIN PUBLIC KEY-----)";
  }
  return type === "rsa" ? undefined : `must be an RSA public key (RS256 verifies with RSA only), got ${String(type)}`;
};
