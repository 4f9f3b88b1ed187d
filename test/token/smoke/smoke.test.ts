/**
 * The smoke test against a real stock Debian Prosody (the project's rendered host config), the real nginx site
 * with a test certificate, and the stand-in Jicofo component. Stock Prosody has no JWT auth: its main host runs
 * a stand-in that only insists a token is present, so here the wrong-key, expired and other-room cases MUST be
 * reported as failures (the run proves the report catches a server that lets them in). Jitsi's real plugins
 * judge those in test/e2e/smoke.test.ts.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOKEN_ENV } from "../../../token/config.ts";
import { mintToken } from "../../../token/mint.ts";
import { canonicalRoom, normalizeRoomName } from "../../../token/roomName.ts";
import { runSmokeCli, SMOKE_EXIT } from "../../../token/smoke/cli.ts";
import { runSmokeTest, type SmokeReport, type StepResult } from "../../../token/smoke/index.ts";
import { freePort } from "../../support/ports.ts";
import { startSmokeStack, type SmokeStack } from "./stack.ts";

const run = promisify(execFile);

/** Established TCP connections to `port` on this machine, counted by the kernel (iproute2's ss). */
async function establishedTo(port: number): Promise<number> {
  const { stdout } = await run("ss", ["-Htn", "state", "established", `( dport = :${port} )`]);
  return stdout.split("\n").filter((line) => line.trim() !== "").length;
}

/** Waits up to 2 s for the count to fall back to `baseline`; returns the last count. */
async function settledConnections(port: number, baseline: number): Promise<number> {
  for (let i = 0; i < 40; i++) {
    if ((await establishedTo(port)) <= baseline) return baseline;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return establishedTo(port);
}

const decodeClaims = (token: string) => JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as { room: string };

const step = (report: SmokeReport, id: StepResult["id"]) => report.steps.find((s) => s.id === id) as StepResult;

describe("smoke test against stock Prosody + nginx + stand-in Jicofo", () => {
  let stack: SmokeStack;
  let report: SmokeReport;
  // Connections the harnesses themselves hold (readiness probes) are not the smoke test's.
  const baseline = { https: 0, http: 0 };

  beforeAll(async () => {
    stack = await startSmokeStack({ jicofo: { openRoomsFor: "main-domain", autoOwner: "first-main-domain" } });
    baseline.https = await establishedTo(stack.nginx.httpsPort);
    baseline.http = await establishedTo(stack.prosody.ports.http);
    report = await runSmokeTest({ ...stack.reach, signing: stack.signing, timeoutMs: 20_000, promotionWaitMs: 3000 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("discovery: verified TLS to nginx (test CA, DNS pin), config.js parsed, certificate expiring within 14 days warned", () => {
    const s = step(report, "discovery");
    expect(s.status).toBe("passed");
    expect(report.host).toMatchObject({
      domain: "meet.example.test",
      muc: "conference.meet.example.test",
      focus: "focus.meet.example.test",
      guestDomain: "guest.meet.example.test",
      websocketUrl: `wss://meet.example.test:${stack.nginx.httpsPort}/xmpp-websocket`,
    });
    // The harness's certificate is valid for two days.
    expect(s.warnings.join("\n")).toMatch(/the certificate expires in [01] day\(s\)/);
  });

  it("moderator: WebSocket through nginx with ?room=&token=, SASL ANONYMOUS, bind, focus request, MUC join, later self-presence promotion to moderator", () => {
    const s = step(report, "moderator");
    expect(s.status, s.detail).toBe("passed");
    expect(s.detail).toMatch(/logged in as [^@]+@meet\.example\.test\//);
    expect(s.detail).toContain("role moderator, affiliation owner by a later self-presence (promotion)");
    const first = stack.jicofo.requests[0];
    expect(first).toMatchObject({ room: `${report.room}@conference.meet.example.test`, answer: "ready" });
    expect(first?.from).toMatch(/@meet\.example\.test\//);
  });

  it("participant: a second token user joins the same room and stays participant", () => {
    const s = step(report, "participant");
    expect(s.status, s.detail).toBe("passed");
    expect(s.detail).toContain(`joined ${report.room}@conference.meet.example.test with role participant`);
  });

  it("guest: logs in on the guest domain, cannot open a room alone (refusal reason shown), joins the host's room as participant", () => {
    const s = step(report, "guest");
    expect(s.status, s.detail).toBe("passed");
    expect(s.detail).toMatch(/logged in as [^@]+@guest\.meet\.example\.test\//);
    expect(s.serverReason).toBe("not-authorized");
    expect(stack.jicofo.requests).toContainEqual(expect.objectContaining({ room: `${report.room}-alone@conference.meet.example.test`, answer: "not-authorized" }));
  });

  it("no token: real Prosody SASL failure, its text shown verbatim ('token required')", () => {
    const s = step(report, "reject-no-token");
    expect(s.status).toBe("passed");
    expect(s.detail).toBe("refused at sasl");
    expect(s.serverReason).toBe("not-allowed: token required");
  });

  it("wrong key, expired, other room: a server that lets them in is reported FAILED, and the run is not ok", () => {
    for (const id of ["reject-wrong-secret", "reject-expired", "reject-other-room"] as const) {
      const s = step(report, id);
      expect(s.status, id).toBe("failed");
      expect(s.detail).toMatch(/^the server let it in: logged in as .*, joined .* with role participant/);
    }
    expect(report.ok).toBe(false);
    expect(report.steps.map((s) => s.id)).toEqual(["discovery", "moderator", "participant", "guest", "reject-wrong-secret", "reject-expired", "reject-other-room", "reject-no-token"]);
  });

  it("leaves no connection open: the kernel shows no more connections to nginx's TLS port or Prosody's HTTP port than before the run", async () => {
    expect(await settledConnections(stack.nginx.httpsPort, baseline.https)).toBe(baseline.https);
    expect(await settledConnections(stack.prosody.ports.http, baseline.http)).toBe(baseline.http);
  });

  it("CLI: --json to stdout, --junit file, exit code 1, secrets only from the environment", async () => {
    const dir = await mkdtemp(join(tmpdir(), "smoke-cli-"));
    try {
      const out: string[] = [];
      const err: string[] = [];
      const junit = join(dir, "smoke.xml");
      const env = { [TOKEN_ENV.appId]: stack.signing.appId, [TOKEN_ENV.domain]: stack.signing.domain, [TOKEN_ENV.secret]: stack.signing.secret };
      const caFile = join(dir, "ca.pem");
      await writeFile(caFile, stack.nginx.certificatePem);
      const code = await runSmokeCli(
        ["--url", stack.url, "--ca", caFile, "--resolve", `meet.example.test:127.0.0.1`, "--json", "--junit", junit, "--promotion-wait", "3"],
        { out: (t) => out.push(t), err: (t) => err.push(t), env },
      );
      expect(code).toBe(SMOKE_EXIT.failed);
      const printed = JSON.parse(out.join("\n")) as SmokeReport;
      expect(printed.steps.filter((s) => s.status === "failed").map((s) => s.id)).toEqual(["reject-wrong-secret", "reject-expired", "reject-other-room"]);
      const xml = await readFile(junit, "utf8");
      expect(xml).toMatch(/<testsuites name="jitsi-smoke" tests="8" failures="3" skipped="0"/);
      expect(xml).toContain(`name="reject-no-token"`);
      expect(`${out.join("\n")}${err.join("\n")}${xml}`).not.toContain(stack.signing.secret as string);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("CLI: usage and configuration errors exit 2 and name the problem", async () => {
    const err: string[] = [];
    const io = { out: () => {}, err: (t: string) => err.push(t), env: {} };
    expect(await runSmokeCli(["--url", stack.url], io)).toBe(SMOKE_EXIT.usage);
    expect(err.at(-1)).toMatch(/JITSI_APP_ID: is not set/);
    const env = { [TOKEN_ENV.appId]: "a", [TOKEN_ENV.domain]: "meet.example.test", [TOKEN_ENV.secret]: stack.signing.secret };
    expect(await runSmokeCli(["--url", "http://meet.example.test"], { ...io, env })).toBe(SMOKE_EXIT.usage);
    expect(err.at(-1)).toMatch(/--url must be https:\/\//);
    expect(await runSmokeCli(["--url", stack.url, "--resolve", "nonsense"], { ...io, env })).toBe(SMOKE_EXIT.usage);
    expect(err.at(-1)).toMatch(/--resolve "nonsense": expected HOST:IP-ADDRESS/);
    for (const tenant of ["a.b", "under_score", "-x", "libs", "x".repeat(64), "%61cme"]) {
      expect(await runSmokeCli(["--url", stack.url, `--tenant=${tenant}`], { ...io, env }), tenant).toBe(SMOKE_EXIT.usage);
      expect(err.at(-1)).toMatch(/--tenant must be letters, digits and inner hyphens/);
    }
    await expect(runSmokeTest({ ...stack.reach, signing: stack.signing, tenant: "a.b" })).rejects.toMatchObject({ field: "tenant" });
  });

  it("discovery refuses a certificate that is not for the host, and one nobody vouches for", async () => {
    const wrongHost = await runSmokeTest({
      url: `https://other.example.test:${stack.nginx.httpsPort}`,
      ca: stack.nginx.certificatePem,
      resolve: { "other.example.test": "127.0.0.1" },
      signing: stack.signing,
      timeoutMs: 5000,
    });
    expect(wrongHost.ok).toBe(false);
    expect(step(wrongHost, "discovery").detail).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
    expect(step(wrongHost, "moderator").status).toBe("skipped");
    const untrusted = await runSmokeTest({ url: stack.url, resolve: stack.reach.resolve, signing: stack.signing, timeoutMs: 5000 });
    expect(step(untrusted, "discovery").status).toBe("failed");
    expect(step(untrusted, "discovery").detail).toMatch(/self[- ]signed/i);
  });

  it("a given room name is used as its MUC node: the join, the focus request, the tokens' room and the report agree", async () => {
    const named = await runSmokeTest({ ...stack.reach, signing: stack.signing, room: "Team Room ", timeoutMs: 20_000, promotionWaitMs: 3000, rejections: [] });
    // "Team Room " made an invalid MUC address before (a space in the node); the web client joins team%20room%20.
    const node = canonicalRoom("Team Room ").node;
    expect(node).toBe("team%20room%20");
    expect(named.room).toBe(node);
    expect(step(named, "moderator").status, step(named, "moderator").detail).toBe("passed");
    expect(stack.jicofo.requests).toContainEqual(expect.objectContaining({ room: `${node}@conference.meet.example.test`, answer: "ready" }));
    expect(step(named, "participant").detail).toContain(`joined ${node}@conference.meet.example.test with role participant`);
    // The steps mint with the node; mintToken's own normalisation leaves it unchanged, so the tokens' room is the node.
    expect(normalizeRoomName(node)).toBe(node);
    expect(decodeClaims(await mintToken({ ...stack.signing, room: named.room, user: { id: "u", name: "n" } })).room).toBe(node);
  });

  it("a room name the web client could not open is refused by field before any request", async () => {
    const requests = stack.jicofo.requests.length;
    for (const room of ["*", "..", "?#", "\u0000"]) {
      await expect(runSmokeTest({ ...stack.reach, signing: stack.signing, room, timeoutMs: 5000 })).rejects.toMatchObject({ name: "RoomNameError", field: "room" });
    }
    expect(stack.jicofo.requests.length).toBe(requests);
  });
});

describe("smoke test total timeout", () => {
  let silent: Server;
  const accepted: Socket[] = [];
  const closed = new Set<Socket>();
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    // Accepts TCP and never says a word: neither TLS nor HTTP ever completes.
    silent = createServer((socket) => {
      accepted.push(socket);
      socket.on("close", () => closed.add(socket));
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(port, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it("a host that never answers fails within the budget, and the connection is closed", async () => {
    const started = Date.now();
    const report = await runSmokeTest({
      url: `https://meet.example.test:${port}`,
      resolve: { "meet.example.test": "127.0.0.1" },
      signing: { appId: "a", domain: "meet.example.test", secret: "0123456789abcdef0123456789abcdef" },
      timeoutMs: 1500,
    });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(4000);
    expect(report.ok).toBe(false);
    expect(report.steps[0]).toMatchObject({ id: "discovery", status: "failed" });
    expect(report.steps[0]?.detail).toMatch(/timed out/);
    expect(accepted.length).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closed.size).toBe(accepted.length);
  });
});

describe("smoke test total timeout inside the XMPP steps", () => {
  let stack: SmokeStack;
  beforeAll(async () => {
    // No auto-owner: the moderator never gets promoted on stock Prosody, so the step waits for a promotion.
    stack = await startSmokeStack({ jicofo: { openRoomsFor: "main-domain", autoOwner: "none" } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("a promotion that never comes ends at the total timeout, the rest is skipped, and the host connection is closed", async () => {
    const before = await establishedTo(stack.nginx.httpsPort);
    const started = Date.now();
    const report = await runSmokeTest({ ...stack.reach, signing: stack.signing, timeoutMs: 2000, promotionWaitMs: 60_000 });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(5000);
    expect(step(report, "moderator")).toMatchObject({ status: "failed", detail: expect.stringMatching(/stayed role participant, affiliation none|not finished when the total timeout \(2000 ms\) ran out/) });
    expect(report.steps.filter((s) => s.status === "skipped")).toHaveLength(6);
    expect(await settledConnections(stack.nginx.httpsPort, before)).toBe(before);
  });

  it("a moderator step that fails (never promoted) skips the steps that need a host but still judges the login-time rejections", async () => {
    const report = await runSmokeTest({ ...stack.reach, signing: stack.signing, timeoutMs: 20_000, promotionWaitMs: 500 });
    expect(step(report, "moderator")).toMatchObject({ status: "failed", detail: expect.stringContaining("stayed role participant, affiliation none for 500 ms; expected role moderator") });
    for (const id of ["participant", "guest", "reject-other-room"] as const) {
      expect(step(report, id)).toMatchObject({ status: "skipped", detail: "no host in the room: the moderator step failed" });
    }
    expect(step(report, "reject-no-token")).toMatchObject({ status: "passed", serverReason: "not-allowed: token required" });
    expect(step(report, "reject-expired").status).toBe("failed");
  });
});

describe("smoke test when the WebSocket endpoint is missing", () => {
  let stack: SmokeStack;
  beforeAll(async () => {
    stack = await startSmokeStack({ editConfigJs: (text) => text.replace('xmpp-websocket"', 'no-such-websocket"') });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("fails at connect with the HTTP status nginx gave, and a connection failure never passes as a refusal", async () => {
    const report = await runSmokeTest({ ...stack.reach, signing: stack.signing, timeoutMs: 10_000 });
    expect(step(report, "discovery").status).toBe("passed");
    const refusedHttp = /^could not connect: .*Unexpected server response: [45]\d\d$/;
    expect(step(report, "moderator")).toMatchObject({ status: "failed", detail: expect.stringMatching(refusedHttp) });
    for (const id of ["reject-wrong-secret", "reject-expired", "reject-no-token"] as const) {
      expect(step(report, id)).toMatchObject({ status: "failed", detail: expect.stringMatching(refusedHttp) });
      expect(step(report, id).serverReason).toBeUndefined();
    }
    expect(report.ok).toBe(false);
  });
});
