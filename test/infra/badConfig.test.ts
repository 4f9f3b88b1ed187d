/**
 * Every bad-config case stops the program with a message that names the key and what is allowed, before a
 * single resource is registered or provider function called.
 */
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { baseConfig, runProgram, rsaPublicKeyPem } from "./harness.ts";

const PEM = rsaPublicKeyPem();

/** [case, config changes (undefined deletes the key), expected message fragment]. */
const CASES: [string, Record<string, string | undefined>, RegExp][] = [
  ["missing domain", { "jitsi:domain": undefined }, /jitsi:domain: is required/],
  ["domain with a scheme", { "jitsi:domain": "https://meet.example.com" }, /jitsi:domain: must be a bare domain name, without a scheme or path: write meet\.example\.com/],
  ["single-label domain", { "jitsi:domain": "localhost" }, /jitsi:domain: must be .*at least two labels/],
  ["upper-case domain", { "jitsi:domain": "Meet.Example.com" }, /jitsi:domain: must be lower case: write meet\.example\.com/],
  ["missing zone", { "jitsi:hostedZone": undefined }, /jitsi:hostedZone: is required/],
  ["zone not containing the domain", { "jitsi:hostedZone": "example.org" }, /jitsi:hostedZone: must be the zone that contains meet\.example\.com/],
  ["garbage zone", { "jitsi:hostedZone": "not a zone" }, /jitsi:hostedZone: must be a Route53 hosted zone id .* or a public zone name/],
  ["missing region", { "aws:region": undefined }, /aws:region: is required/],
  ["bad region", { "aws:region": "Europe" }, /aws:region: must be an AWS region name like eu-central-1/],
  ["bad instance type", { "jitsi:instanceType": "large" }, /jitsi:instanceType: must be an EC2 instance type/],
  ["unknown architecture", { "jitsi:architecture": "aarch64" }, /jitsi:architecture: must be "x86_64" or "arm64"/],
  ["Graviton type with x86_64", { "jitsi:instanceType": "t4g.large" }, /jitsi:architecture: must match jitsi:instanceType: t4g\.large is arm64/],
  ["arm64 with an Intel type", { "jitsi:architecture": "arm64" }, /jitsi:architecture: must match jitsi:instanceType: t3\.large is x86_64/],
  ["disk too small", { "jitsi:diskSizeGb": "4" }, /jitsi:diskSizeGb: must be at least 10/],
  ["disk not a number", { "jitsi:diskSizeGb": "twenty" }, /jitsi:diskSizeGb: must be a whole number of GiB/],
  ["missing e-mail", { "jitsi:letsEncryptEmail": undefined }, /jitsi:letsEncryptEmail: is required/],
  ["bad e-mail", { "jitsi:letsEncryptEmail": "ops-at-example" }, /jitsi:letsEncryptEmail: must be a plain e-mail address/],
  ["bad alarm e-mail", { "jitsi:alarmEmail": "ops at example.com" }, /jitsi:alarmEmail: must be a plain e-mail address/],
  ["staging not boolean", { "jitsi:letsEncryptStaging": "maybe" }, /jitsi:letsEncryptStaging: must be true or false/],
  ["app id with a quote", { "jitsi:appId": 'my"app' }, /jitsi:appId: must be 1-64 letters, digits/],
  ["short app secret", { "jitsi:appSecret": "too-short" }, /jitsi:appSecret: must be at least 32 characters/],
  ["app secret with a quote", { "jitsi:appSecret": "abcdefghijklmnopqrstuvwxyz0123456789'" }, /jitsi:appSecret: must not contain/],
  ["unknown algorithm", { "jitsi:tokenAlgorithm": "ES256" }, /jitsi:tokenAlgorithm: must be "HS256" or "RS256"/],
  ["RS256 without keys", { "jitsi:tokenAlgorithm": "RS256", "jitsi:appSecret": undefined }, /jitsi:tokenPublicKeys: is required when jitsi:tokenAlgorithm is RS256/],
  ["RS256 with an app secret", { "jitsi:tokenAlgorithm": "RS256", "jitsi:tokenPublicKeys": JSON.stringify({ k: PEM }) }, /jitsi:appSecret: must not be set when jitsi:tokenAlgorithm is RS256/],
  ["RS256 with a non-PEM key", { "jitsi:tokenAlgorithm": "RS256", "jitsi:appSecret": undefined, "jitsi:tokenPublicKeys": JSON.stringify({ k: "AAAA" }) }, /jitsi:tokenPublicKeys\.k: must be a PEM-encoded RSA public key/],
  ["RS256 with an Ed25519 key", { "jitsi:tokenAlgorithm": "RS256", "jitsi:appSecret": undefined, "jitsi:tokenPublicKeys": JSON.stringify({ k: generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString() }) }, /jitsi:tokenPublicKeys\.k: must be an RSA public key \(RS256 verifies with RSA only\), got ed25519/],
  ["public keys with HS256", { "jitsi:tokenPublicKeys": JSON.stringify({ k: PEM }) }, /jitsi:tokenPublicKeys: is only used with jitsi:tokenAlgorithm RS256/],
  ["guests not boolean", { "jitsi:guests": "on" }, /jitsi:guests: must be true or false/],
  ["turn not boolean", { "jitsi:turn": "udp" }, /jitsi:turn: must be true or false/],
  ["missing admin CIDRs", { "jitsi:adminCidrs": undefined }, /jitsi:adminCidrs: is required/],
  ["admin CIDRs not a list", { "jitsi:adminCidrs": "203.0.113.7/32" }, /jitsi:adminCidrs: must be a list of CIDR blocks/],
  ["empty admin CIDRs", { "jitsi:adminCidrs": "[]" }, /jitsi:adminCidrs: must list at least one CIDR/],
  ["admin CIDR without prefix", { "jitsi:adminCidrs": '["203.0.113.7"]' }, /jitsi:adminCidrs\[0\]: must be a CIDR block/],
  ["SSH open to the world", { "jitsi:adminCidrs": '["0.0.0.0/0"]' }, /jitsi:adminCidrs\[0\]: must not open SSH to the whole internet/],
  ["missing Jitsi version", { "jitsi:jitsiVersion": undefined }, /jitsi:jitsiVersion: is required/],
  ["Jitsi version with shell characters", { "jitsi:jitsiVersion": "2.0; rm -rf /" }, /jitsi:jitsiVersion: must be a jitsi-meet release version like 2\.0\.11248-1/],
  ["Jitsi release without per-token moderators", { "jitsi:jitsiVersion": "2.0.10184-1" }, /jitsi:jitsiVersion: must be 2\.0\.11031-1 or newer \(the first stable release after mod_token_affiliation .* got "2\.0\.10184-1"/],
  ["Jitsi version not a release", { "jitsi:jitsiVersion": "1:2.0.11248~rc1" }, /jitsi:jitsiVersion: must be a jitsi-meet release version like 2\.0\.11248-1/],
  ["bad VPC id", { "jitsi:vpcId": "default", "jitsi:subnetId": "subnet-0123456789abcdef0" }, /jitsi:vpcId: must be a VPC id/],
  ["VPC without subnet", { "jitsi:vpcId": "vpc-0123456789abcdef0" }, /jitsi:subnetId: is required when jitsi:vpcId is set/],
  ["bad subnet id", { "jitsi:subnetId": "subnet-xyz" }, /jitsi:subnetId: must be a subnet id/],
  ["bad SSH public key", { "jitsi:sshPublicKey": "-----BEGIN RSA PRIVATE KEY-----" }, /jitsi:sshPublicKey: must be one OpenSSH public key line/],
  ["bridge pool without instance type", { "jitsi:videobridges": JSON.stringify({ count: 2 }) }, /jitsi:videobridges\.instanceType: is required/],
];

describe("bad stack config", () => {
  it.each(CASES)("%s → names the key, registers nothing", async (_case, changes, expected) => {
    const config = baseConfig();
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined) delete config[key];
      else config[key] = value;
    }
    const error = (await runProgram(config).then(
      () => undefined,
      (e: unknown) => e,
    )) as (Error & { registered: number; calls: number }) | undefined;
    expect(error, "the program must refuse this config").toBeDefined();
    expect(error!.constructor.name).toBe("StackConfigError");
    expect(error!.message).toMatch(expected);
    expect(error!.message).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(error!.registered).toBe(0);
    expect(error!.calls).toBe(0);
    // The secret never shows up in the message, whatever else is wrong.
    expect(error!.message).not.toContain(config["jitsi:appSecret"] ?? "\u0000");
  });
});
