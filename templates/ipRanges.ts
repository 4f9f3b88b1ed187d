/**
 * IPv4 CIDR arithmetic for coturn's `denied-peer-ip`, which in coturn 4.6 takes an address or an `A-B` range
 * but no CIDR (turnserver.conf: "denied-peer-ip=<ip>[-<ip>]"; a "/16" would not be read as a prefix).
 */
import { isIPv4 } from "node:net";

/** A parsed IPv4 CIDR: its first and last address as unsigned 32-bit integers. */
export interface Ipv4Range {
  readonly first: number;
  readonly last: number;
}

function toInt(address: string): number {
  return address.split(".").reduce((sum, octet) => sum * 256 + Number(octet), 0);
}

/** Dotted quad of an unsigned 32-bit integer. */
export function ipv4FromInt(value: number): string {
  return [24, 16, 8, 0].map((shift) => String(Math.floor(value / 2 ** shift) % 256)).join(".");
}

/**
 * `a.b.c.d/n` with n from 8 to 28 (what an AWS VPC may be) and zero host bits → its range; undefined otherwise.
 * Rejecting set host bits catches a mistyped network instead of silently widening or moving it.
 */
export function parseIpv4Cidr(cidr: string): Ipv4Range | undefined {
  const match = /^([0-9.]+)\/([0-9]{1,2})$/.exec(cidr);
  if (match === null || !isIPv4(match[1]!)) return undefined;
  const prefix = Number(match[2]);
  if (prefix < 8 || prefix > 28) return undefined;
  const first = toInt(match[1]!);
  const size = 2 ** (32 - prefix);
  if (first % size !== 0) return undefined;
  return { first, last: first + size - 1 };
}

/** The `A-B` form coturn reads, e.g. 10.0.0.0/16 → "10.0.0.0-10.0.255.255"; throws on a bad CIDR. */
export function cidrToRange(cidr: string): string {
  const range = parseIpv4Cidr(cidr);
  if (range === undefined) throw new Error(`${JSON.stringify(cidr)} is not an IPv4 CIDR with zero host bits (/8 to /28)`);
  return `${ipv4FromInt(range.first)}-${ipv4FromInt(range.last)}`;
}

/**
 * The Amazon-provided DNS resolver of a VPC: the network address plus two ("Amazon DNS server", AWS VPC user
 * guide, "DNS attributes for your VPC").
 */
export function vpcResolver(cidr: string): string {
  const range = parseIpv4Cidr(cidr);
  if (range === undefined) throw new Error(`${JSON.stringify(cidr)} is not an IPv4 CIDR with zero host bits (/8 to /28)`);
  return ipv4FromInt(range.first + 2);
}
