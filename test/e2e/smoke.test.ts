/**
 * Opt-in: the full smoke matrix against the project's rendered Prosody config with Jitsi's real plugins
 * (JITSI_PLUGINS_DIR = jitsi-meet's resources/prosody-plugins): mod_auth_token judges the tokens,
 * token_verification the rooms, token_affiliation the roles, muc_wait_for_host the guests, client_proxy
 * carries the conference request to the stand-in Jicofo logged in as focus@auth. Served through the real nginx site.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSmokeTest, type SmokeReport, type StepResult } from "../../token/smoke/index.ts";
import { startSmokeStack, type SmokeStack } from "../smoke/stack.ts";

function pluginsDir(): string {
  const dir = process.env.JITSI_PLUGINS_DIR;
  if (!dir) throw new Error("set JITSI_PLUGINS_DIR to jitsi-meet's resources/prosody-plugins to run the e2e tests");
  if (!existsSync(join(dir, "mod_auth_token.lua"))) throw new Error(`JITSI_PLUGINS_DIR=${dir} does not hold Jitsi's prosody plugins (no mod_auth_token.lua)`);
  return dir;
}

const step = (report: SmokeReport, id: StepResult["id"]) => report.steps.find((s) => s.id === id) as StepResult;

describe("smoke matrix with Jitsi's real Prosody plugins", () => {
  let stack: SmokeStack;
  let report: SmokeReport;

  beforeAll(async () => {
    stack = await startSmokeStack({ jitsiPlugins: pluginsDir(), jicofo: { openRoomsFor: "anyone", autoOwner: "none" } });
    report = await runSmokeTest({ ...stack.reach, signing: stack.signing, timeoutMs: 30_000 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("every step passes, within the 5 s target for the whole matrix", () => {
    expect(report.steps.filter((s) => s.status !== "passed")).toEqual([]);
    expect(report.steps).toHaveLength(8);
    expect(report.ok).toBe(true);
    expect(report.durationMs).toBeLessThan(5000);
  });

  it("moderator: token_affiliation grants owner on the first self-presence", () => {
    expect(step(report, "moderator").detail).toContain("role moderator, affiliation owner on the first self-presence");
  });

  it("participant: a non-moderator token gets member/participant", () => {
    expect(step(report, "participant").detail).toContain("with role participant, affiliation member");
  });

  it("guest: held by muc_wait_for_host when alone, participant once the host is in", () => {
    const s = step(report, "guest");
    expect(s.serverReason).toBe("registration-required (waiting-for-host)");
    expect(s.detail).toMatch(/@guest\.meet\.example\.test\/.*with role participant, affiliation none/);
  });

  it("rejections carry mod_auth_token's and token_verification's own texts", () => {
    expect(step(report, "reject-wrong-secret")).toMatchObject({ detail: "refused at sasl", serverReason: "not-allowed: Invalid signature" });
    expect(step(report, "reject-expired").detail).toBe("refused at sasl");
    expect(step(report, "reject-expired").serverReason).toMatch(/^not-allowed: Not acceptable by exp \(\d+(\.0)? sec since expired, valid for:60(\.0)? sec\)$/);
    expect(step(report, "reject-other-room")).toMatchObject({ detail: "refused at join", serverReason: "not-allowed: Room and token mismatched" });
    expect(step(report, "reject-no-token")).toMatchObject({ detail: "refused at sasl", serverReason: "not-allowed: token required" });
  });

  it("the conference requests reached the stand-in Jicofo through client_proxy, NAT-ed sender intact", () => {
    expect(stack.jicofo.requests[0]).toMatchObject({ room: `${report.room}@conference.meet.example.test`, answer: "ready" });
    expect(stack.jicofo.requests[0]?.from).toMatch(/^[0-9a-f-]+@meet\.example\.test\//);
  });
});

describe("smoke test in a tenant (real plugins, real nginx routes /<tenant>/…)", () => {
  let stack: SmokeStack;
  let report: SmokeReport;
  beforeAll(async () => {
    stack = await startSmokeStack({ jitsiPlugins: pluginsDir(), jicofo: { openRoomsFor: "anyone", autoOwner: "none" } });
    report = await runSmokeTest({ ...stack.reach, signing: stack.signing, tenant: "acme", timeoutMs: 30_000 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("passes every step, the other-tenant case included", () => {
    expect(report.steps.filter((s) => s.status !== "passed"), JSON.stringify(report.steps, null, 1)).toEqual([]);
    expect(report.steps.map((s) => s.id)).toContain("reject-other-tenant");
    expect(report.tenant).toBe("acme");
  });

  it("discovers the tenant's conference address and WebSocket from /acme/config.js (nginx SSI)", () => {
    expect(report.host?.muc).toBe("conference.acme.meet.example.test");
    expect(report.host?.websocketUrl).toMatch(/^wss:\/\/meet\.example\.test:\d+\/acme\/xmpp-websocket$/);
  });

  it("muc_domain_mapper puts the room at [acme]<room> and domain verification refuses another tenant's token", () => {
    // The client addresses the tenant's virtual MUC; token_verification admits a token with sub "acme" only when
    // the joined address is [acme]<room>@conference.<domain> (util.lib.lua verify_room), i.e. after the mapping.
    expect(stack.jicofo.requests[0]).toMatchObject({ room: `${report.room}@conference.acme.meet.example.test`, answer: "ready" });
    expect(step(report, "moderator").detail).toContain("role moderator, affiliation owner");
    expect(step(report, "reject-other-tenant")).toMatchObject({ detail: "refused at join", serverReason: "not-allowed: Room and token mismatched" });
  });

  it("a root-site run on the same host still passes next to the tenant", async () => {
    const root = await runSmokeTest({ ...stack.reach, signing: stack.signing, room: report.room, timeoutMs: 30_000 });
    expect(root.steps.filter((s) => s.status !== "passed"), JSON.stringify(root.steps, null, 1)).toEqual([]);
    expect(root.host?.muc).toBe("conference.meet.example.test");
  });
});

describe("smoke test with guests disabled (real plugins)", () => {
  let stack: SmokeStack;
  beforeAll(async () => {
    stack = await startSmokeStack({ jitsiPlugins: pluginsDir(), guests: false, jicofo: { openRoomsFor: "anyone", autoOwner: "none" } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("skips the guest step (config.js has no anonymousdomain) and still passes", async () => {
    const report = await runSmokeTest({ ...stack.reach, signing: stack.signing, timeoutMs: 30_000 });
    expect(step(report, "guest")).toMatchObject({ status: "skipped", detail: expect.stringContaining("no hosts.anonymousdomain") });
    expect(report.ok, JSON.stringify(report.steps, null, 1)).toBe(true);
  });
});
