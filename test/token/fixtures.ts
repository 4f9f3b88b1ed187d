/** Shared test inputs for the token tests: a deployment, keys, and a decoder that trusts nothing. */
import { generateKeyPairSync } from "node:crypto";
import type { HostProfile } from "../../token/index.ts";

export const SECRET = "test-secret-0123456789-abcdefghijklmnop";
export const APP_ID = "jitsi-app";
export const DOMAIN = "meet.example.test";

export const SIGNING = { appId: APP_ID, secret: SECRET, domain: DOMAIN } as const;
export const USER = { id: "user-1", name: "Ada Lovelace" } as const;

export const HS_PROFILE: HostProfile = { appId: APP_ID, xmppDomain: DOMAIN, secret: SECRET };

/** RSA keys are slow to generate; one pair per test file is enough. */
export function rsaPair(bits = 2048) {
  return generateKeyPairSync("rsa", { modulusLength: bits });
}

export function decodePart(token: string, index: 0 | 1): Record<string, unknown> {
  const part = token.split(".")[index];
  if (part === undefined) throw new Error("not a JWT");
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}

/** Rebuilds a token with a different header/payload, signed with the given HS256 secret (or unsigned junk). */
export async function forge(header: unknown, payload: unknown, secret = SECRET): Promise<string> {
  const { createHmac } = await import("node:crypto");
  const enc = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
  const input = `${enc(header)}.${enc(payload)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}
