/**
 * The SSH public key rule against keys made by the real ssh-keygen: every key EC2 imports passes (Ed25519, RSA of
 * 2048 bits and more), and each way a key line goes wrong is refused with a message naming what is wrong: cut short
 * (the tryout's `ssh-rsa AAAA`), edited, a type that does not match its data, a weak RSA key, an ECDSA key (which
 * EC2's ImportKeyPair does not take). Through the stack reader, the message names the key.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readStackConfig, StackConfigError } from "../../infra/config.ts";
import { sshPublicKeyProblem } from "../../token/shared/rules.ts";
import { baseConfig } from "../infra/harness.ts";

const run = promisify(execFile);

const KINDS = {
  ed25519: ["-t", "ed25519"],
  rsa2048: ["-t", "rsa", "-b", "2048"],
  rsa3072: ["-t", "rsa"],
  rsa4096: ["-t", "rsa", "-b", "4096"],
  rsa1024: ["-t", "rsa", "-b", "1024"],
  ecdsa256: ["-t", "ecdsa", "-b", "256"],
  ecdsa384: ["-t", "ecdsa", "-b", "384"],
  ecdsa521: ["-t", "ecdsa", "-b", "521"],
} as const;

describe("sshPublicKeyProblem with keys made by ssh-keygen", () => {
  let dir: string;
  const keys = {} as Record<keyof typeof KINDS, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ssh-keys-"));
    await Promise.all(
      Object.entries(KINDS).map(async ([name, args]) => {
        const file = join(dir, name);
        await run("ssh-keygen", ["-q", ...args, "-N", "", "-C", `ops@${name}`, "-f", file]);
        keys[name as keyof typeof KINDS] = (await readFile(`${file}.pub`, "utf8")).trimEnd();
      }),
    );
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const parts = (line: string) => {
    const [type = "", data = "", ...comment] = line.split(" ");
    return { type, data, comment: comment.join(" ") };
  };

  it.each(["ed25519", "rsa2048", "rsa3072", "rsa4096"] as const)("accepts the %s key as ssh-keygen wrote it, with and without its comment", (name) => {
    expect(sshPublicKeyProblem(keys[name])).toBeUndefined();
    const { type, data } = parts(keys[name]);
    expect(sshPublicKeyProblem(`${type} ${data}`)).toBeUndefined();
    expect(sshPublicKeyProblem(`${type} ${data} two words of comment`)).toBeUndefined();
  });

  it("refuses an RSA key under 2048 bits, naming its size", () => {
    expect(sshPublicKeyProblem(keys.rsa1024)).toMatch(/^is a 1024-bit RSA key: RSA keys must have at least 2048 bits/);
  });

  it.each(["ecdsa256", "ecdsa384", "ecdsa521"] as const)("refuses the %s key: EC2 imports RSA and ED25519 only", (name) => {
    expect(sshPublicKeyProblem(keys[name])).toMatch(/^is an ecdsa-sha2-nistp(256|384|521) key, which EC2 cannot import \(ImportKeyPair takes RSA and ED25519 keys only\)/);
  });

  it("refuses the tryout's truncated key and keys cut anywhere", () => {
    expect(sshPublicKeyProblem("ssh-rsa AAAA")).toMatch(/^is truncated/);
    for (const name of ["ed25519", "rsa3072"] as const) {
      const { type, data } = parts(keys[name]);
      // Cut at every length that is still base64 of whole bytes, and at the others.
      for (const length of [4, 8, 12, 16, 20, 24, 40, data.length - 8, data.length - 4, data.length - 1, data.length - 3]) {
        expect(sshPublicKeyProblem(`${type} ${data.slice(0, length)}`), `${name} cut to ${String(length)}`).toMatch(/^is (truncated|damaged)/);
      }
    }
  });

  it("refuses key data of another type, edited data and joined keys", () => {
    const ed = parts(keys.ed25519);
    const rsa = parts(keys.rsa2048);
    expect(sshPublicKeyProblem(`ssh-rsa ${ed.data}`)).toMatch(/^declares ssh-rsa but its key data is not an ssh-rsa key/);
    expect(sshPublicKeyProblem(`ssh-ed25519 ${rsa.data}`)).toMatch(/^declares ssh-ed25519 but its key data is not an ssh-ed25519 key/);
    // One character changed inside the type string of the data.
    const edited = `${ed.data.slice(0, 10)}${ed.data[10] === "B" ? "C" : "B"}${ed.data.slice(11)}`;
    expect(sshPublicKeyProblem(`ssh-ed25519 ${edited}`)).toMatch(/^(declares|is truncated|is damaged)/);
    const joined = Buffer.concat([Buffer.from(ed.data, "base64"), Buffer.from(ed.data, "base64")]).toString("base64");
    expect(sshPublicKeyProblem(`ssh-ed25519 ${joined}`)).toMatch(/^is damaged: its key data goes on after the key/);
    const bytes = Buffer.from(ed.data, "base64");
    const short = Buffer.concat([bytes.subarray(0, 15), Buffer.from([0, 0, 0, 31]), bytes.subarray(19, 50)]).toString("base64");
    expect(sshPublicKeyProblem(`ssh-ed25519 ${short}`)).toMatch(/^is damaged: an Ed25519 public key is 32 bytes, its key data holds 31/);
  });

  it("refuses what is not one key line", () => {
    const { type, data } = parts(keys.ed25519);
    for (const line of ["", type, `${type}  ${data}`, ` ${keys.ed25519}`, `${keys.ed25519}\n${keys.rsa2048}`, `${type} ${data}!`, "-----BEGIN RSA PRIVATE KEY-----", `ssh-dss ${data}`, `${type} ${data} comment\twith tab`]) {
      expect(sshPublicKeyProblem(line), JSON.stringify(line)).toBeDefined();
    }
    expect(sshPublicKeyProblem(`${type} ${data}!`)).toMatch(/not base64/);
    expect(sshPublicKeyProblem(`ssh-dss ${data}`)).toMatch(/the type must be ssh-ed25519 or ssh-rsa/);
  });

  it("is refused by key through the stack reader", () => {
    pulumi.runtime.setAllConfig({ ...baseConfig(), "jitsi:sshPublicKey": keys.rsa1024 }, ["jitsi:appSecret"]);
    let error: unknown;
    try {
      readStackConfig();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StackConfigError);
    const problems = (error as StackConfigError).problems;
    expect(problems.find((p) => p.path === "jitsi:sshPublicKey")?.message).toMatch(/^is a 1024-bit RSA key/);
  });
});
