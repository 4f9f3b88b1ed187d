/**
 * Key material: validation (the server's and our own minimums) and caches, because importing a key costs far more
 * than signing with it (an HS256 mint is a few microseconds; re-importing the key every call dominates).
 * Error messages name the field and never echo key material.
 */
import { createPrivateKey, createPublicKey, createSecretKey, KeyObject } from "node:crypto";
import { FieldError } from "./errors.ts";

export class KeyError extends FieldError {
  override readonly name = "KeyError";
}

export const MIN_HMAC_SECRET_BYTES = 32;
export const MIN_RSA_BITS = 2048;

/** A private key as PEM text (PKCS#8 "BEGIN PRIVATE KEY" or PKCS#1 "BEGIN RSA PRIVATE KEY") or a KeyObject. */
export type PrivateKeyInput = string | KeyObject;
/** A public key as PEM (SPKI or PKCS#1), a private key (its public half is used), or a KeyObject. */
export type PublicKeyInput = string | KeyObject;

/** Rejects HS256 secrets the server would misread or that are too short to be safe. */
export function assertHmacSecret(secret: unknown, field = "secret"): asserts secret is string {
  if (typeof secret !== "string" || secret.length === 0) throw new KeyError(field, "must be a non-empty string");
  // A trailing newline from `echo` or a file is the classic cause of "Invalid signature": Prosody uses the bytes as-is.
  if (secret !== secret.trim() || /[\r\n]/.test(secret)) {
    throw new KeyError(field, "has leading/trailing whitespace or a line break; remove it (Prosody uses the bytes exactly)");
  }
  const bytes = Buffer.byteLength(secret, "utf8");
  if (bytes < MIN_HMAC_SECRET_BYTES) {
    throw new KeyError(field, `is ${bytes} bytes; HS256 needs at least ${MIN_HMAC_SECRET_BYTES}`);
  }
}

function assertRsaKey(key: KeyObject, field: string): void {
  if (key.asymmetricKeyType !== "rsa") {
    throw new KeyError(field, `must be an RSA key (got ${key.asymmetricKeyType ?? key.type}); Prosody verifies RS256 only`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) throw new KeyError(field, `is a ${bits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required`);
}

/** Small bounded cache: a process normally holds one or two keys; the bound stops unbounded growth on misuse. */
class KeyCache<K, V> {
  private readonly entries = new Map<K, V>();
  constructor(private readonly limit: number) {}
  get(key: K, make: () => V): V {
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit;
    const value = make();
    if (this.entries.size >= this.limit) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, value);
    return value;
  }
}

const hmacKeys = new KeyCache<string, KeyObject>(16);
const privateKeysByPem = new KeyCache<string, KeyObject>(16);
const privateKeysByObject = new WeakMap<KeyObject, KeyObject>();
const publicKeysByPem = new KeyCache<string, KeyObject>(16);
const publicKeysByObject = new WeakMap<KeyObject, KeyObject>();

/** Validated HS256 secret as a KeyObject (cached per secret). */
export function hmacKey(secret: string, field = "secret"): KeyObject {
  return hmacKeys.get(secret, () => {
    assertHmacSecret(secret, field);
    return createSecretKey(Buffer.from(secret, "utf8"));
  });
}

interface RsaKind {
  byPem: KeyCache<string, KeyObject>;
  byObject: WeakMap<KeyObject, KeyObject>;
  /** Turns an accepted KeyObject into the one to use, or explains why it is the wrong kind. */
  fromObject: (key: KeyObject) => KeyObject | string;
  /** createPrivateKey accepts PKCS#1 as well as PKCS#8 (jose's importPKCS8 does not); createPublicKey takes either half. */
  fromPem: (pem: string) => KeyObject;
  expected: string;
}

const PRIVATE: RsaKind = {
  byPem: privateKeysByPem,
  byObject: privateKeysByObject,
  fromObject: (key) => (key.type === "private" ? key : `must be a private key (got a ${key.type} key)`),
  fromPem: (pem) => createPrivateKey(pem),
  expected: "a PEM private key (PKCS#8 or PKCS#1) or a KeyObject",
};

const PUBLIC: RsaKind = {
  byPem: publicKeysByPem,
  byObject: publicKeysByObject,
  fromObject: (key) => (key.type === "secret" ? "must be an RSA public or private key" : key.type === "private" ? createPublicKey(key) : key),
  fromPem: (pem) => createPublicKey(pem),
  expected: "a PEM public key or a KeyObject",
};

function rsaKey(input: PrivateKeyInput, field: string, kind: RsaKind): KeyObject {
  if (input instanceof KeyObject) {
    const cached = kind.byObject.get(input);
    if (cached) return cached;
    const key = kind.fromObject(input);
    if (typeof key === "string") throw new KeyError(field, key);
    assertRsaKey(key, field);
    kind.byObject.set(input, key);
    return key;
  }
  if (typeof input !== "string" || !input.includes("-----BEGIN")) throw new KeyError(field, `must be ${kind.expected}`);
  return kind.byPem.get(input, () => {
    let key: KeyObject;
    try {
      key = kind.fromPem(input);
    } catch {
      throw new KeyError(field, `is not ${kind.expected}`);
    }
    assertRsaKey(key, field);
    return key;
  });
}

/** Validated RSA private key (PKCS#8 or PKCS#1 PEM, or a KeyObject), cached. */
export function rsaPrivateKey(input: PrivateKeyInput, field = "privateKey"): KeyObject {
  return rsaKey(input, field, PRIVATE);
}

/** Validated RSA public key; a private key yields its public half. Cached. */
export function rsaPublicKey(input: PublicKeyInput, field = "publicKey"): KeyObject {
  return rsaKey(input, field, PUBLIC);
}
