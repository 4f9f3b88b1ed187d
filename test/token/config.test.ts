import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadTokenConfig, mintToken, STACK_OUTPUTS, TokenConfigError, TokenOptionsError, verifyToken, type CommandRunner } from "../../token/index.ts";
import { rsaPair, SECRET } from "./fixtures.ts";

const ENV = { JITSI_APP_ID: "app", JITSI_DOMAIN: "meet.example.test", JITSI_APP_SECRET: SECRET };

async function configError(promise: Promise<unknown>): Promise<TokenConfigError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenConfigError);
  return error as TokenConfigError;
}

describe("loadTokenConfig from the environment", () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it("reads the seed guide's variables, defaulting the meeting base to https://DOMAIN", async () => {
    await expect(loadTokenConfig({ env: ENV })).resolves.toEqual({ appId: "app", domain: "meet.example.test", baseUrl: "https://meet.example.test", algorithm: "HS256", secret: SECRET, source: "env" });
    expect((await loadTokenConfig({ env: { ...ENV, JITSI_BASE_URL: "https://video.example.test/" } })).baseUrl).toBe("https://video.example.test");
  });

  it("feeds mintToken directly: mintToken({ ...config, room, user }) signs with the loaded key", async () => {
    const config = await loadTokenConfig({ env: ENV });
    const token = await mintToken({ ...config, room: "standup", user: { id: "u1", name: "Ada" } });
    const { claims } = await verifyToken(token, SECRET, { appId: "app", sub: "meet.example.test", room: "standup" });
    expect(Object.keys(claims)).not.toContain("baseUrl");
    const mismatch = mintToken({ ...config, algorithm: "RS256", room: "standup", user: { id: "u1", name: "Ada" } });
    await expect(mismatch).rejects.toBeInstanceOf(TokenOptionsError);
    await expect(mismatch).rejects.toThrow(/algorithm: is RS256/);
  });

  it("names the missing or bad variable and never echoes the secret", async () => {
    expect((await configError(loadTokenConfig({ env: { ...ENV, JITSI_APP_ID: undefined } }))).field).toBe("JITSI_APP_ID");
    for (const secret of ["too-short", `${SECRET}\n`, `${SECRET} `]) {
      const error = await configError(loadTokenConfig({ env: { ...ENV, JITSI_APP_SECRET: secret } }));
      expect(error.field).toBe("JITSI_APP_SECRET");
      expect(error.message).not.toContain(secret.trim());
    }
    expect((await configError(loadTokenConfig({ env: { ...ENV, JITSI_PRIVATE_KEY: "x" } }))).message).toMatch(/exactly one/);
  });

  it("reads an RSA key (PEM with literal \\n, or a file) and requires its kid and 2048 bits", async () => {
    const { privateKey } = rsaPair();
    const pem = privateKey.export({ type: "pkcs1", format: "pem" }) as string;
    const rsaEnv = { JITSI_APP_ID: "app", JITSI_DOMAIN: "d.test", JITSI_PRIVATE_KEY: pem.replaceAll("\n", "\\n"), JITSI_KEY_ID: "kid-1" };
    expect(await loadTokenConfig({ env: rsaEnv })).toMatchObject({ algorithm: "RS256", kid: "kid-1", privateKey: pem });
    expect((await configError(loadTokenConfig({ env: { ...rsaEnv, JITSI_KEY_ID: undefined } }))).field).toBe("JITSI_KEY_ID");
    const dir = await mkdtemp(join(tmpdir(), "token-config-"));
    dirs.push(dir);
    const file = join(dir, "key.pem");
    await writeFile(file, pem, { mode: 0o600 });
    expect(await loadTokenConfig({ env: { ...rsaEnv, JITSI_PRIVATE_KEY: undefined, JITSI_PRIVATE_KEY_FILE: file } })).toMatchObject({ algorithm: "RS256" });
    const weak = rsaPair(1024).privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    expect((await configError(loadTokenConfig({ env: { ...rsaEnv, JITSI_PRIVATE_KEY: weak } }))).message).toMatch(/2048/);
  });
});

describe("loadTokenConfig from a Pulumi stack", () => {
  const outputs = { [STACK_OUTPUTS.appId]: "app", [STACK_OUTPUTS.appSecret]: SECRET, [STACK_OUTPUTS.xmppDomain]: "meet.example.test", [STACK_OUTPUTS.meetingUrl]: "https://meet.example.test/", [STACK_OUTPUTS.tokenAlgorithm]: "HS256", [STACK_OUTPUTS.guestDomain]: "guest.meet.example.test" };
  const calls: { command: string; args: readonly string[] }[] = [];
  const runner =
    (stdout: string, code = 0, stderr = ""): CommandRunner =>
    async (command, args) => {
      calls.push({ command, args });
      return { code, stdout, stderr };
    };

  it("runs `pulumi stack output --json --show-secrets --stack NAME` with no secret on the command line", async () => {
    const cfg = await loadTokenConfig({ stack: "dev", runner: runner(JSON.stringify(outputs)) });
    expect(cfg).toEqual({ appId: "app", domain: "meet.example.test", baseUrl: "https://meet.example.test", algorithm: "HS256", secret: SECRET, guestDomain: "guest.meet.example.test", source: "stack" });
    expect(calls.at(-1)).toEqual({ command: "pulumi", args: ["stack", "output", "--json", "--show-secrets", "--stack", "dev"] });
    expect(calls.flatMap((c) => c.args).join(" ")).not.toContain(SECRET);
  });

  it("reports Pulumi failures, bad JSON, missing or weak outputs by name", async () => {
    expect((await configError(loadTokenConfig({ stack: "nope", runner: runner("", 255, "error: no stack named 'nope' found") }))).message).toMatch(/no stack named/);
    expect((await configError(loadTokenConfig({ stack: "dev", runner: runner("warning: not json") }))).message).toMatch(/JSON/);
    // Offline, the pulumi npm package says only "fetch failed": the error says what to install instead.
    const offline = await configError(loadTokenConfig({ stack: "dev", runner: runner("", 1, "Downloading pulumi v3.265.0...\npulumi: fetch failed\n") }));
    expect(offline.message).toMatch(/the Pulumi CLI is not installed and the `pulumi` npm package could not download it \(fetch failed; offline\?\)/);
    expect((await configError(loadTokenConfig({ stack: "dev", runner: runner(JSON.stringify({ ...outputs, appSecret: undefined })) }))).field).toBe("stack output appSecret");
    expect((await configError(loadTokenConfig({ stack: "dev", runner: runner(JSON.stringify({ ...outputs, appSecret: "weak" })) }))).message).toMatch(/32/);
    expect((await configError(loadTokenConfig({ stack: "dev; rm -rf /", runner: runner("{}") }))).field).toBe("--stack");
  });

  it("says so when the Pulumi CLI is not installed (real child process)", async () => {
    const error = await configError(loadTokenConfig({ stack: "dev", cwd: tmpdir() }).then((c) => c));
    expect(error.message).toMatch(/pulumi|stack/i);
  });
});
