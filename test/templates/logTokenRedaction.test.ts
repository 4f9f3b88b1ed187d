/**
 * mod_log_token_redaction (JWTs and configured secrets) in the real Prosody 0.12, with the `log` option of Debian's prosody.cfg.lua (info to a
 * file, errors to a second file and to syslog, captured through a private /dev/log): a probe module logs lines
 * holding JSON Web Tokens (as an argument, inside a URL, inside the format string itself) and lines that merely
 * look technical; every sink must show the first kind redacted and the second unchanged. The refused join of
 * Jitsi's token_verification itself is in test/e2e/prosody-plugins.test.ts.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { luaString } from "../../templates/escape/lua.ts";
import { PROSODY_TEST_DEPLOYMENT, startProsody, type RunningProsody } from "../support/prosody.ts";

const PROBE = "log_probe";
const TURN = { secret: "probeTurnSecret0123456789abcdefghijklmnop", vpcCidr: "10.0.0.0/16" } as const;
const PLAIN = [
  "plain conference.meet.example.test focus@auth.meet.example.test 100% done",
  "plain [acme]weekly-sync@conference.meet.example.test/abcd1234 v1.2.3",
];

describe("mod_log_token_redaction with Debian's log settings", () => {
  let prosody: RunningProsody;
  let dir: string;
  let jwt: string;
  const sinks: Record<string, string> = {};

  beforeAll(async () => {
    jwt = await new SignJWT({ room: "weekly-sync", context: { user: { name: "A" } } })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(new TextEncoder().encode("a-test-secret-of-some-length-000"));
    dir = await mkdtemp(join(tmpdir(), "log-probe-"));
    // Logs once the server runs (after every host's modules, the redaction module included, have loaded).
    await writeFile(
      join(dir, `mod_${PROBE}.lua`),
      `local jwt = ${luaString(jwt)};
-- While it loads (hosts and their modules load in no fixed order; the sinks redact from the first line on).
module:log("error", "probe load secret %s", module:context(${luaString(PROSODY_TEST_DEPLOYMENT.domain)}):get_option_string("app_secret"));
module:log("error", "probe load turn " .. ${luaString(TURN.secret)});
module:hook_global("server-started", function ()
    module:log("error", "probe token %s not allowed to join", jwt);
    module:log("info", "probe url /xmpp-websocket?room=weekly-sync&token=%s&previd=x", jwt);
    module:log("error", "probe inline " .. jwt:gsub("%%", "%%%%") .. " end");
    -- Other spellings Jitsi's parser accepts: parts split at a backslash, and either separator percent-encoded.
    module:log("error", "probe backslash %s end", (jwt:gsub("%.", "\\\\")));
    module:log("error", "probe doubled %s end", (jwt:gsub("%.", "..")));
    module:log("error", "probe encoded /http-bind?token=%s end", (jwt:gsub("%.", "%%5C", 1):gsub("%.", "%%2E")));
    module:log("warn", "probe %s", ${luaString(PLAIN[0] ?? "")});
    module:log("error", "probe %s", ${luaString(PLAIN[1] ?? "")});
    module:log("error", "probe done");
end);
`,
    );
    prosody = await startProsody({
      logging: "debian",
      deployment: { turn: TURN },
      extraConfig: `installer_plugin_path = ${luaString(dir)}\nComponent "probe.meet.example.test" ${luaString(PROBE)}`,
    });
    const { logFile, errorLogFile, syslogFile } = prosody.paths;
    if (errorLogFile === undefined || syslogFile === undefined) throw new Error("the harness did not set up Debian's logging");
    for (let i = 0; i < 100; i++) {
      for (const [name, path] of Object.entries({ logFile, errorLogFile, syslogFile })) sinks[name] = await readFile(path, "utf8");
      if (Object.values(sinks).every((text) => text.includes("probe done"))) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  afterAll(async () => {
    await prosody?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("writes every probe line to the file, the error file and syslog, tokens replaced", () => {
    const [, payload, signature] = jwt.split(".");
    for (const [name, text] of Object.entries(sinks)) {
      expect(text, name).toContain("probe done");
      expect(text, name).not.toContain(jwt);
      expect(text, name).not.toContain(String(payload));
      expect(text, name).not.toContain(String(signature));
      expect(text, name).toContain("probe token [JWT redacted] not allowed to join");
      expect(text, name).toContain("probe inline [JWT redacted] end");
      expect(text, name).toContain("probe backslash [JWT redacted] end");
      expect(text, name).toContain("probe doubled [JWT redacted] end");
      expect(text, name).toContain("probe encoded /http-bind?token=[JWT redacted] end");
      expect(text, name).toContain(`probe ${PLAIN[1] ?? ""}`);
    }
    expect(sinks.logFile).toContain("probe url /xmpp-websocket?room=weekly-sync&token=[JWT redacted]&previd=x");
    expect(sinks.logFile).toContain(`probe ${PLAIN[0] ?? ""}`);
    expect(sinks.syslogFile).not.toContain("probe url");
  });

  it("replaces every configured secret in every sink, from the first line on", () => {
    const auth = PROSODY_TEST_DEPLOYMENT.auth;
    const appSecret = auth.algorithm === "HS256" ? auth.appSecret : "";
    expect(appSecret.length).toBeGreaterThan(8);
    for (const [name, text] of Object.entries(sinks)) {
      expect(text, name).toContain("probe load secret [secret redacted]");
      expect(text, name).toContain("probe load turn [secret redacted]");
      expect(text, name).not.toContain(appSecret);
      expect(text, name).not.toContain(TURN.secret);
    }
  });

  it("says so when it loads", () => {
    expect(sinks.logFile).toContain("log sinks now redact JSON Web Tokens");
  });
});
