import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import jwt from "jsonwebtoken";
import { describe, expect, it } from "vitest";
import { verifyToken } from "../../token/index.ts";
import { APP_ID, DOMAIN, forge, SECRET } from "./fixtures.ts";

const BIN = fileURLToPath(new URL("../../token/bin/jitsi-token.js", import.meta.url));
const ENV = { JITSI_APP_ID: APP_ID, JITSI_DOMAIN: DOMAIN, JITSI_APP_SECRET: SECRET };

function run(args: string[], env: Record<string, string> = ENV, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("JITSI_")));
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...clean, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}

const MINT = ["--room", "Team Room", "--user-id", "u1", "--user-name", "Ada"];

describe("jitsi-token CLI (spawned)", () => {
  it("mints a token the library verifies; --json adds the claims; no secret in any output", async () => {
    const plain = await run(["mint", ...MINT, "--moderator", "--feature", "recording"]);
    expect(plain.code).toBe(0);
    const token = plain.stdout.trim();
    const { claims } = await verifyToken(token, SECRET, { appId: APP_ID, sub: DOMAIN, room: "team room" });
    expect(claims.context).toMatchObject({ user: { affiliation: "owner" }, features: { recording: "true" } });
    expect(jwt.verify(token, SECRET, { algorithms: ["HS256"], issuer: APP_ID, subject: DOMAIN })).toMatchObject({ room: "team%20room" });
    const json = await run(["mint", ...MINT, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ claims: { room: "team%20room", iss: APP_ID } });
    for (const out of [plain, json]) expect(out.stdout + out.stderr).not.toContain(SECRET);
  });

  it("verify and explain: exit 0 when accepted, 1 when rejected, token from stdin with -", async () => {
    const token = (await run(["mint", ...MINT])).stdout.trim();
    expect((await run(["verify", token, "--room", "team room"])).code).toBe(0);
    const wrongRoom = await run(["verify", "-", "--room", "other", "--json"], ENV, token);
    expect(wrongRoom.code).toBe(1);
    expect(JSON.parse(wrongRoom.stdout)).toMatchObject({ valid: false, check: "room" });
    const explained = await run(["explain", token, "--room", "other", "--json"]);
    expect(explained.code).toBe(1);
    expect(JSON.parse(explained.stdout)).toMatchObject({ ok: false, login: { ok: true }, join: { ok: false, serverText: "Room and token mismatched" } });
    const ok = await run(["explain", token, "--room", "Team Room"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/login: accepted/);
  });

  it("url prints a link the web client parses", async () => {
    const res = await run(["url", ...MINT, "--token-in", "both", "--config", 'prejoinConfig={"enabled":false}']);
    expect(res.code).toBe(0);
    const url = new URL(res.stdout.trim());
    expect(url.pathname).toBe("/Team%20Room");
    expect(url.searchParams.get("jwt")).toMatch(/^ey/);
    expect(url.hash).toMatch(/^#jwt=%22ey[^&]+%22&config\.prejoinConfig=%7B%22enabled%22%3Afalse%7D$/);
  });

  it("exit 2 for usage errors, refuses secrets as flags without echoing them, --help on each command", async () => {
    const secretFlag = await run(["mint", ...MINT, "--secret=hunter2-hunter2-hunter2-hunter2-hunter2"]);
    expect(secretFlag.code).toBe(2);
    expect(secretFlag.stdout + secretFlag.stderr).not.toContain("hunter2");
    expect((await run(["mint", "--room", "r"])).code).toBe(2);
    expect((await run(["frobnicate"])).code).toBe(2);
    expect((await run([])).code).toBe(2);
    const smoke = await run(["smoke", "--help"]);
    expect(smoke.code).toBe(0); // dispatched to token/smoke/cli.ts runSmokeCli
    expect(smoke.stdout).toContain("jitsi-token smoke");
    for (const command of ["mint", "url", "verify", "explain"]) {
      const help = await run([command, "--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`jitsi-token ${command}`);
    }
  });

  it("exit 2 with the variable's name when configuration is missing or invalid, from every command alike", async () => {
    const missing = await run(["mint", ...MINT], { JITSI_APP_ID: APP_ID, JITSI_DOMAIN: DOMAIN });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/JITSI_APP_SECRET/);
    const weak = await run(["mint", ...MINT], { ...ENV, JITSI_APP_SECRET: "weak-secret" });
    expect(weak.code).toBe(2);
    expect(weak.stderr).not.toContain("weak-secret");
    expect((await run(["mint", ...MINT, "--ttl", "0"])).code).toBe(2);
    // Decimal seconds only ("0x10" would have been 16 s), and an unknown feature name is never echoed back.
    const hex = await run(["mint", ...MINT, "--ttl", "0x10"]);
    expect(hex.code).toBe(2);
    expect(hex.stderr).toContain("--ttl must be a whole number of seconds");
    const pasted = await run(["mint", ...MINT, "--feature", `${SECRET}=true`]);
    expect(pasted.code).toBe(2);
    expect(pasted.stderr).toContain("--feature: not a known Jitsi feature name");
    expect(pasted.stderr + pasted.stdout).not.toContain(SECRET);
    // A missing JITSI_APP_ID: the same exit code and message from mint and smoke (smoke stops before any network).
    const noAppId = { JITSI_DOMAIN: DOMAIN, JITSI_APP_SECRET: SECRET };
    const mint = await run(["mint", ...MINT], noAppId);
    const smoke = await run(["smoke", "--url", "https://meet.example.test"], noAppId);
    expect([mint.code, smoke.code]).toEqual([2, 2]);
    expect(mint.stderr).toContain("JITSI_APP_ID: is not set");
    expect(smoke.stderr).toContain("JITSI_APP_ID: is not set");
  });

  it("the same field rules as the stack config: a URL, upper case or a quoted app id are refused by name (exit 2)", async () => {
    const url = await run(["mint", ...MINT], { ...ENV, JITSI_DOMAIN: "https://meet.example.test" });
    expect([url.code, url.stderr.trim()]).toEqual([2, "jitsi-token mint: JITSI_DOMAIN: must be a bare domain name, without a scheme or path: write meet.example.test"]);
    const upper = await run(["mint", ...MINT], { ...ENV, JITSI_DOMAIN: "Meet.Example.test" });
    expect([upper.code, upper.stderr.trim()]).toEqual([2, "jitsi-token mint: JITSI_DOMAIN: must be lower case: write meet.example.test"]);
    const quoted = await run(["mint", ...MINT], { ...ENV, JITSI_APP_ID: '"jitsi-app"' });
    expect(quoted.code).toBe(2);
    expect(quoted.stderr).toMatch(/^jitsi-token mint: JITSI_APP_ID: must be 1-64 letters, digits/);
  });

  it("never repeats a positional argument or an unknown command: either may be a pasted secret", async () => {
    const pasted = "hunter2-hunter2-hunter2-hunter2-pasted";
    for (const args of [["mint", pasted, ...MINT], ["url", ...MINT, pasted], ["verify", "a.b.c", pasted], [pasted, "mint"], ["smoke", pasted]]) {
      const res = await run(args);
      expect({ args, code: res.code }).toEqual({ args, code: 2 });
      expect(res.stdout + res.stderr).not.toContain(pasted);
      expect(res.stderr).toMatch(/not repeated/);
    }
  });

  it("verify in text mode does not crash on a correctly signed token with a huge exp: text and --json agree", async () => {
    const now = Math.floor(Date.now() / 1000);
    // exp beyond what a Date can hold (> 8.64e12 s): formatting it as a date threw a RangeError in text mode.
    const token = await forge(
      { alg: "HS256", typ: "JWT" },
      { iss: APP_ID, aud: "jitsi", sub: DOMAIN, room: "*", iat: now, nbf: now - 10, exp: 1e16, context: { user: { id: "u", name: "n" } } },
    );
    const json = await run(["verify", token, "--json"]);
    const text = await run(["verify", token]);
    expect({ stderr: text.stderr, code: text.code }).toEqual({ stderr: "", code: json.code });
    const verdict = JSON.parse(json.stdout) as { valid: boolean };
    expect(text.stdout).toMatch(verdict.valid ? /^valid: .*expires at 10000000000000000 s after 1970/ : /^invalid: /);
  });

  it("a bad JITSI_PRIVATE_KEY_FILE is reported under that name, with the reason", async () => {
    const rsa = { JITSI_APP_ID: APP_ID, JITSI_DOMAIN: DOMAIN, JITSI_KEY_ID: "k1" };
    const missing = await run(["mint", ...MINT], { ...rsa, JITSI_PRIVATE_KEY_FILE: "/nonexistent/key.pem" });
    expect([missing.code, missing.stderr.trim()]).toEqual([2, 'jitsi-token mint: JITSI_PRIVATE_KEY_FILE: cannot be read: "/nonexistent/key.pem": no such file']);
    const notAKey = await run(["mint", ...MINT], { ...rsa, JITSI_PRIVATE_KEY_FILE: fileURLToPath(import.meta.url) });
    expect(notAKey.code).toBe(2);
    expect(notAKey.stderr).toMatch(/^jitsi-token mint: JITSI_PRIVATE_KEY_FILE: ".*cli\.test\.ts": \S/);
  });
});
