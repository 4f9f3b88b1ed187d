/**
 * The rendered Prosody host config in the real programs: Debian's prosody 0.12 (Lua 5.4) starts with it,
 * `prosodyctl check config` passes, luac parses it, and a real XMPP client logs in as a guest over WebSocket.
 * Jitsi's own plugins are not installed here; test/e2e/prosody-plugins.test.ts loads them.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anonymousLogin, startProsody, type RunningProsody } from "../../support/prosody.ts";

const run = promisify(execFile);

/** Every module the rendered config enables that stock Prosody lacks: Jitsi's plugins, nothing else. */
const JITSI_ONLY_MODULES = [
  "auth_token",
  "av_moderation_component",
  "client_proxy",
  "conference_duration",
  "end_conference",
  "features_identity",
  "limits_exception",
  "muc_breakout_rooms",
  "muc_domain_mapper",
  "muc_filter_access",
  "muc_hide_all",
  "muc_lobby_rooms",
  "muc_meeting_id",
  "muc_password_whitelist",
  "muc_rate_limit",
  "muc_wait_for_host",
  "persistent_lobby",
  "polls_component",
  "room_metadata_component",
  "speakerstats_component",
  "token_affiliation",
  "token_verification",
];

/** Log lines at warn/error level, the "Unable to load module" ones reduced to the module name. */
function problems(log: string): { missingModules: string[]; other: string[] } {
  const missing = new Set<string>();
  const other: string[] = [];
  for (const line of log.split("\n")) {
    if (!/\t(warn|error)\t/.test(line)) continue;
    const module = /Unable to load module '([^']+)'/.exec(line)?.[1];
    if (module !== undefined) missing.add(module);
    else other.push(line);
  }
  return { missingModules: [...missing].sort(), other };
}

describe("Prosody host config in real Prosody (stock modules)", () => {
  let prosody: RunningProsody;

  beforeAll(async () => {
    prosody = await startProsody();
  });
  afterAll(async () => {
    await prosody?.stop();
  });

  it("passes prosodyctl check config with no warnings", async () => {
    const check = await prosody.prosodyctl(["check", "config"]);
    expect(check.output).toContain(prosody.paths.hostConfig);
    expect(check.output).toContain("All checks passed");
    expect(check.output).not.toMatch(/obsolete|deprecated|unknown|Problems found/i);
    expect(check.code).toBe(0);
  });

  it("starts with only Jitsi's own plugin modules missing, and no other warning or error", async () => {
    const { missingModules, other } = problems(await prosody.logs());
    expect(missingModules).toEqual(JITSI_ONLY_MODULES);
    expect(other).toEqual([]);
  });

  it("listens on exactly its HTTP and c2s ports, on 127.0.0.1 only, and nothing for s2s or HTTPS", async () => {
    const { stdout } = await run("ss", ["-ltnpH"]);
    const ours = stdout
      .split("\n")
      .filter((line) => line.includes(`pid=${String(prosody.pid)},`))
      .map((line) => line.split(/\s+/)[3])
      .sort();
    expect(ours).toEqual([`127.0.0.1:${String(prosody.ports.http)}`, `127.0.0.1:${String(prosody.ports.c2s)}`].sort());
  });

  it("is valid Lua for luac5.4", async () => {
    await expect(run("luac5.4", ["-p", prosody.paths.hostConfig])).resolves.toBeDefined();
  });

  it("lets a guest log in anonymously on guest.<domain> over the main domain's WebSocket", async () => {
    const jid = await anonymousLogin(prosody, prosody.names.guest);
    expect(jid).toMatch(new RegExp(`^[^@]+@${prosody.names.guest.replace(/\./g, "\\.")}/.+$`));
  });

  it("offers no anonymous login on the token domain (its token auth is a Jitsi plugin, absent here)", async () => {
    await expect(anonymousLogin(prosody, prosody.names.domain)).rejects.toThrow(/No stream features/);
  });
});

describe("Prosody host config without guests", () => {
  let prosody: RunningProsody;

  beforeAll(async () => {
    prosody = await startProsody({ deployment: { guests: false } });
  });
  afterAll(async () => {
    await prosody?.stop();
  });

  it("has no guest VirtualHost: an anonymous login there finds no host", async () => {
    await expect(anonymousLogin(prosody, prosody.names.guest)).rejects.toMatchObject({ condition: "host-unknown" });
    const check = await prosody.prosodyctl(["check", "config"]);
    expect(check.code).toBe(0);
  });

  it("loads neither the wait-for-host lobby nor its persistent lobby", async () => {
    const { missingModules } = problems(await prosody.logs());
    expect(missingModules).not.toContain("muc_wait_for_host");
    expect(missingModules).not.toContain("persistent_lobby");
    expect(missingModules).toContain("token_affiliation");
  });
});
