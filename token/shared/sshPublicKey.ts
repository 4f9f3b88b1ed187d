/**
 * The OpenSSH public key line an operator gives instead of the generated key pair (`ssh-ed25519 AAAA… you@host`),
 * read as OpenSSH and EC2 read it, so a truncated, damaged or unusable key is refused before anything is created.
 *
 * Format: `<type> <base64 key blob> [comment]` (sshd(8) AUTHORIZED_KEYS FILE FORMAT). The blob is RFC 4253
 * §6.6 wire format: a length-prefixed string naming the type again, then for ssh-rsa the mpints e and n
 * (RFC 4253 §6.6), for ssh-ed25519 one 32-byte string (RFC 8709 §4). EC2's ImportKeyPair takes RSA and ED25519
 * keys only (EC2 API reference, ImportKeyPair: "Imports the public key from an RSA or ED25519 key pair"), so an
 * ECDSA key, valid for OpenSSH, would fail at `pulumi up`; it is refused here with that reason.
 */

/** Least RSA modulus: NIST SP 800-131A (112-bit security); OpenSSH 9 refuses under 1024 and ssh-keygen makes 3072. */
export const SSH_RSA_MIN_BITS = 2048;
const ED25519_KEY_BYTES = 32;
const ECDSA_TYPES = ["ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"];
const SUPPORTED_TYPES = ["ssh-ed25519", "ssh-rsa"];
const SHAPE = "must be one OpenSSH public key line like `ssh-ed25519 AAAA… you@host` (the contents of your id_ed25519.pub)";

/** Reads RFC 4253 length-prefixed strings off a buffer; undefined once the data runs out. */
class WireReader {
  private offset = 0;
  constructor(private readonly data: Buffer) {}

  string(): Buffer | undefined {
    if (this.offset + 4 > this.data.length) return undefined;
    const length = this.data.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (start + length > this.data.length) return undefined;
    this.offset = start + length;
    return this.data.subarray(start, start + length);
  }

  get remaining(): number {
    return this.data.length - this.offset;
  }
}

/** Bits of an unsigned big-endian integer (an RFC 4253 mpint with its sign byte dropped). */
function bitLength(mpint: Buffer): number {
  let i = 0;
  while (i < mpint.length && mpint[i] === 0) i++;
  if (i === mpint.length) return 0;
  return (mpint.length - i - 1) * 8 + (mpint[i] ?? 0).toString(2).length;
}

/** The blob of an ssh-rsa key: e and n, n of at least SSH_RSA_MIN_BITS; the problem otherwise. */
function rsaProblem(reader: WireReader): string | undefined {
  const e = reader.string();
  const n = reader.string();
  if (e === undefined || n === undefined) return "is truncated: its key data ends inside the RSA key (copy the whole line of the .pub file)";
  // mpints are positive here: a set top bit would make them negative (RFC 4251 §5).
  if ((e[0] ?? 0) & 0x80 || (n[0] ?? 0) & 0x80 || (e[e.length - 1] ?? 0) % 2 === 0) return "is damaged: its key data does not hold a valid RSA public key";
  const bits = bitLength(n);
  if (bits < SSH_RSA_MIN_BITS) return `is a ${String(bits)}-bit RSA key: RSA keys must have at least ${String(SSH_RSA_MIN_BITS)} bits (make one with ssh-keygen -t ed25519, or -t rsa -b 4096)`;
  return undefined;
}

/**
 * The problem with an OpenSSH public key line, or undefined when EC2 can import it and sshd will accept it:
 * type ssh-ed25519 or ssh-rsa; key data in canonical base64 whose wire-format type equals the declared type; an
 * RSA modulus of at least SSH_RSA_MIN_BITS, an Ed25519 key of 32 bytes; nothing after the key in the data; an
 * optional comment of printable characters.
 */
export function sshPublicKeyProblem(value: string): string | undefined {
  const match = /^(\S+) (\S+)(?: [^\x00-\x1f\x7f]*)?$/.exec(value);
  if (match === null) return SHAPE;
  const [, type = "", data = ""] = match;
  if (ECDSA_TYPES.includes(type)) {
    return `is an ${type} key, which EC2 cannot import (ImportKeyPair takes RSA and ED25519 keys only): give an ssh-ed25519 key (ssh-keygen -t ed25519) or an ssh-rsa key`;
  }
  if (!SUPPORTED_TYPES.includes(type)) return `${SHAPE}; the type must be ssh-ed25519 or ssh-rsa (the key types EC2 imports)`;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) return "has key data that is not base64 (copy the whole line of the .pub file)";
  const blob = Buffer.from(data, "base64");
  // Canonical base64 only: anything else is a key cut short or edited (Buffer.from skips what it cannot read).
  if (blob.toString("base64") !== data) return "is truncated or damaged: its key data is not complete base64 (copy the whole line of the .pub file)";
  const reader = new WireReader(blob);
  const inner = reader.string();
  if (inner === undefined) return "is truncated: its key data ends before the key (copy the whole line of the .pub file)";
  if (inner.toString("latin1") !== type) return `declares ${type} but its key data is not an ${type} key (the line was edited, or two keys were mixed)`;
  if (type === "ssh-rsa") {
    const problem = rsaProblem(reader);
    if (problem !== undefined) return problem;
  } else {
    const key = reader.string();
    if (key === undefined) return "is truncated: its key data ends inside the Ed25519 key (copy the whole line of the .pub file)";
    if (key.length !== ED25519_KEY_BYTES) return `is damaged: an Ed25519 public key is ${String(ED25519_KEY_BYTES)} bytes, its key data holds ${String(key.length)}`;
  }
  if (reader.remaining !== 0) return "is damaged: its key data goes on after the key (the line was edited, or two keys were joined)";
  return undefined;
}
