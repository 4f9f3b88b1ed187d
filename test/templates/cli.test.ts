/**
 * The render command: --input for real (files on disk with their modes, the same bytes as renderFiles), and
 * --stack with an injected stand-in for the Pulumi CLI (not installable here) printing what `pulumi config
 * --json` and `pulumi stack output --json` print.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main, type CliIo } from "../../templates/cli.ts";
import { hostPaths } from "../../templates/names.ts";
import { renderFiles } from "../../templates/render.ts";
import { PLACEHOLDERS, type CommandRunner } from "../../templates/stackDeployment.ts";
import { sampleDeployment } from "./sampleDeployment.ts";

const paths = hostPaths("meet.example.com");

let dir: string;
let out: string[];
let err: string[];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "render-cli-"));
  out = [];
  err = [];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function io(run: CommandRunner = () => Promise.reject(new Error("no pulumi in --input tests"))): CliIo {
  return { run, cwd: dir, out: (line) => out.push(line), err: (line) => err.push(line) };
}

async function listFiles(root: string, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(join(root, prefix), { withFileTypes: true })) {
    const path = `${prefix}/${entry.name}`;
    if (entry.isDirectory()) found.push(...(await listFiles(root, path)));
    else found.push(path);
  }
  return found.sort();
}

describe("render --input", () => {
  it("writes every rendered file at its host path under --out, with its mode, and lists them", async () => {
    await writeFile(join(dir, "deployment.json"), JSON.stringify(sampleDeployment()));
    expect(await main(["--input", "deployment.json", "--out", "out"], io())).toBe(0);
    const expected = renderFiles(sampleDeployment());
    expect(await listFiles(join(dir, "out"))).toEqual(expected.map((f) => f.path).sort());
    for (const file of expected) {
      const target = join(dir, "out", file.path);
      expect(await readFile(target, "utf8")).toBe(file.content);
      expect((await stat(target)).mode & 0o777).toBe(file.mode);
    }
    expect(out[0]).toBe(`rendered ${String(expected.length)} files under ${join(dir, "out")}:`);
    expect(out).toContain(`  0640 root:prosody   ${paths.prosodyHostConfig}  [secret]  (restart prosody)`);
    expect(err).toEqual([]);
  });

  it("rejects an invalid deployment naming the field, writing nothing", async () => {
    await writeFile(join(dir, "bad.json"), JSON.stringify({ ...sampleDeployment(), guests: "maybe" }));
    expect(await main(["--input", "bad.json", "--out", "out"], io())).toBe(1);
    expect(err.join("\n")).toContain("guests: must be true or false");
    await expect(stat(join(dir, "out"))).rejects.toThrow();
  });

  it("says what is wrong with unreadable or non-JSON input", async () => {
    expect(await main(["--input", "missing.json", "--out", "out"], io())).toBe(1);
    await writeFile(join(dir, "broken.json"), "{ nope");
    expect(await main(["--input", "broken.json", "--out", "out"], io())).toBe(1);
    expect(err).toEqual(["render: --input: cannot read missing.json", "render: --input: broken.json is not valid JSON"]);
  });

  it("explains its usage on wrong arguments (exit 2)", async () => {
    expect(await main(["--out", "x"], io())).toBe(2);
    expect(await main(["--input", "a", "--stack", "b", "--out", "x"], io())).toBe(2);
    expect(await main(["--input", "a"], io())).toBe(2);
    expect(await main(["--bogus"], io())).toBe(2);
    expect(err.every((line) => line.includes("usage: npm run render"))).toBe(true);
  });
});

describe("render --stack (injected pulumi CLI)", () => {
  const stackConfig = {
    "aws:region": { value: "eu-central-1", secret: false },
    "jitsi:domain": { value: "meet.example.com", secret: false },
    "jitsi:hostedZone": { value: "example.com", secret: false },
    "jitsi:letsEncryptEmail": { value: "ops@example.com", secret: false },
    "jitsi:adminCidrs": { value: '["203.0.113.7/32"]', objectValue: ["203.0.113.7/32"], secret: false },
    "jitsi:jitsiVersion": { value: "2.0.10184-1", secret: false },
    "jitsi:guests": { value: "false", secret: false },
    "jitsi:appSecret": { secret: true },
  };

  function pulumi(config: unknown, outputs: { code: number; stdout: string }): { run: CommandRunner; calls: string[][] } {
    const calls: string[][] = [];
    const run: CommandRunner = async (command, args) => {
      calls.push([command, ...args]);
      if (args[0] === "config") return { code: 0, stdout: JSON.stringify(config), stderr: "" };
      return { ...outputs, stderr: "" };
    };
    return { run, calls };
  }

  it("renders from the stack's config with placeholders for deployment-time values and secrets", async () => {
    const { run, calls } = pulumi(stackConfig, { code: 0, stdout: JSON.stringify({ publicIp: "198.51.100.9" }) });
    expect(await main(["--stack", "dev", "--out", "out"], io(run))).toBe(0);
    expect(calls).toEqual([
      ["pulumi", "config", "--stack", "dev", "--json"],
      ["pulumi", "stack", "output", "--stack", "dev", "--json"],
    ]);
    const prosody = await readFile(join(dir, "out", paths.prosodyHostConfig), "utf8");
    expect(prosody).toContain(`app_secret = "${PLACEHOLDERS.appSecret}"`);
    expect(prosody).not.toContain("guest.meet.example.com\"\n    authentication");
    const configJs = await readFile(join(dir, "out", paths.meetConfigJs), "utf8");
    expect(configJs).not.toContain("anonymousdomain");
    const jvb = await readFile(join(dir, "out", paths.jvbConf), "utf8");
    expect(jvb).toContain("198.51.100.9");
    expect(jvb).toContain(PLACEHOLDERS.privateIp);
    expect(out.at(-1)).toContain("PLACEHOLDER");
  });

  it("uses a placeholder public IP when the stack is not deployed yet", async () => {
    const { run } = pulumi(stackConfig, { code: 255, stdout: "" });
    expect(await main(["--stack", "dev", "--out", "out"], io(run))).toBe(0);
    expect(await readFile(join(dir, "out", paths.jvbConf), "utf8")).toContain(PLACEHOLDERS.publicIp);
  });

  it("reports invalid stack config by its Pulumi key", async () => {
    const { run } = pulumi({ ...stackConfig, "jitsi:domain": { value: "Not_A_Domain", secret: false } }, { code: 255, stdout: "" });
    expect(await main(["--stack", "dev", "--out", "out"], io(run))).toBe(1);
    expect(err.join("\n")).toMatch(/jitsi:domain: must be a lower-case/);
  });

  it("says what to install when the pulumi npm package cannot download the CLI (offline), instead of only 'fetch failed'", async () => {
    // Exactly what node_modules/.bin/pulumi (the `pulumi` npm package) prints on a machine without internet access.
    const run: CommandRunner = async () => ({ code: 1, stdout: "", stderr: "Downloading pulumi v3.265.0...\npulumi: fetch failed\n" });
    expect(await main(["--stack", "dev", "--out", "out"], io(run))).toBe(1);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^render: pulumi config --stack dev failed \(exit 1\): the Pulumi CLI is not installed and the `pulumi` npm package could not download it \(fetch failed; offline\?\)/);
    expect(err[0]).toContain("~/.pulumi/versions/3.265.0/bin");
    expect(err[0]).toContain("--input");
  });

  it("reports a failing pulumi CLI with its own message", async () => {
    const run: CommandRunner = async () => ({ code: 255, stdout: "", stderr: "error: no stack named 'nope' found" });
    expect(await main(["--stack", "nope", "--out", "out"], io(run))).toBe(1);
    expect(err).toEqual(["render: pulumi config --stack nope failed (exit 255): error: no stack named 'nope' found"]);
  });
});
