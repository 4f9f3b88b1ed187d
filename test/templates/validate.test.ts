/**
 * Input validation: a valid deployment passes unchanged; every bad field is reported by name with what is
 * allowed, all at once, and without echoing secret values.
 */
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DeploymentError, asapKeyFileName, validateDeployment } from "../../templates/validate.ts";
import { sampleDeployment } from "./sampleDeployment.ts";

function issues(input: unknown): readonly string[] {
  try {
    validateDeployment(input);
  } catch (error) {
    if (error instanceof DeploymentError) return error.issues;
    throw error;
  }
  return [];
}

describe("validateDeployment", () => {
  it("accepts a valid deployment and returns it unchanged", () => {
    expect(validateDeployment(sampleDeployment())).toEqual(sampleDeployment());
  });

  it("names each bad field with what is allowed, all in one error", () => {
    const bad = {
      ...sampleDeployment(),
      domain: "Meet_Example.com",
      guests: "yes",
      network: { privateIp: "10.0.0", publicIp: "203.0.113.45" },
      accounts: { focusPassword: "short", jvbPassword: "jvb-pass-0123456789" },
      runtime: { rootDir: "relative/dir", httpsPort: 70000, bindAddress: "localhost" },
    };
    expect(issues(bad)).toEqual([
      expect.stringMatching(/^domain: must be a lower-case fully qualified domain name/),
      "guests: must be true or false",
      expect.stringMatching(/^network\.privateIp: must be an IPv4 address/),
      "accounts.focusPassword: must be at least 16 characters",
      expect.stringMatching(/^runtime\.rootDir: must be an absolute path/),
      "runtime.httpsPort: must be from 1 to 65535",
      "runtime.bindAddress: must be an IPv4 address or ::1",
    ]);
  });

  it("reports missing and unknown fields by name", () => {
    const withoutNetwork: Record<string, unknown> = { ...sampleDeployment(), domian: "x" };
    delete withoutNetwork.network;
    expect(issues(withoutNetwork)).toEqual(["network: is required", "domian: is not a known field (check the spelling)"]);
  });

  it("says which algorithms exist", () => {
    expect(issues({ ...sampleDeployment(), auth: { algorithm: "ES256", appId: "a" } })).toEqual([
      'auth.algorithm: must be an object with algorithm "HS256" (appId, appSecret) or "RS256" (appId, publicKeys)',
    ]);
  });

  it("refuses a weak or package-hostile app secret without echoing it", () => {
    const secret = "a'b".padEnd(40, "x");
    const found = issues({ ...sampleDeployment(), auth: { algorithm: "HS256", appId: "app", appSecret: secret } });
    expect(found).toEqual([expect.stringMatching(/^auth\.appSecret: must not contain .*jitsi-meet-tokens/)]);
    expect(found.join("\n")).not.toContain(secret);
    expect(issues({ ...sampleDeployment(), auth: { algorithm: "HS256", appId: "app", appSecret: "tooShort" } })).toEqual([
      expect.stringMatching(/^auth\.appSecret: must be at least 32 characters/),
    ]);
  });

  it("RS256: needs RSA public keys under plain key ids, and canonicalises the PEM", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }).toString();
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
    const auth = (publicKeys: Record<string, string>) => ({ ...sampleDeployment(), auth: { algorithm: "RS256", appId: "app", publicKeys } });
    expect(validateDeployment(auth({ k1: `\n${rsa}` })).auth).toEqual({ algorithm: "RS256", appId: "app", publicKeys: { k1: rsa } });
    expect(issues(auth({ k1: ec }))).toEqual(["auth.publicKeys.k1: must be an RSA public key (RS256 verifies with RSA only), got ec"]);
    expect(issues(auth({ k1: "not a key" }))).toEqual([expect.stringMatching(/^auth\.publicKeys\.k1: must be a PEM-encoded RSA public key/)]);
    expect(issues(auth({ "bad kid": rsa }))).toEqual([expect.stringMatching(/^auth\.publicKeys\.bad kid: key ids \(kid\) must be/)]);
    expect(issues(auth({}))).toEqual(["auth.publicKeys: must hold at least one key (kid → PEM)"]);
  });

  it("names ASAP key files the way Prosody asks for them: hex(sha256(kid)).pem", () => {
    expect(asapKeyFileName("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.pem");
  });

  it("keeps derived names within DNS limits", () => {
    const long = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(50)}`;
    expect(issues({ ...sampleDeployment(), domain: long })).toEqual([expect.stringMatching(/^domain: must be at most 239 characters/)]);
  });
});
