import { describe, expect, it } from "vitest";
import { renderMeetConfigJs } from "../../../templates/files/configJs.ts";
import { parseConfigJs } from "../../../token/smoke/configJs.ts";
import { PROSODY_TEST_DEPLOYMENT } from "../../support/prosody.ts";
import { expandTenantIncludes } from "../../support/ssi.ts";

// The shape of a stock Debian config.js: nginx SSI placeholders with a JS fallback, values built by
// concatenation, commented-out keys that must not count. (Written for this test, not copied.)
const SSI_STYLE = `
var subdir = '<!--# echo var="subdir" default="" -->';
var subdomain = '<!--# echo var="subdomain" default="" -->';
if (subdomain) { subdomain = subdomain.slice(0, -1).split('.').join('_') + '.'; }
if (subdir.startsWith('<!--')) { subdir = ''; }
var config = {
    hosts: {
        domain: 'meet.example.com',
        // anonymousdomain: 'guest.commented-out.example.com',
        /* focus: 'focus.commented-out.example.com', */
        muc: 'conference.' + subdomain + 'meet.example.com',
    },
    bosh: 'https://meet.example.com/' + subdir + 'http-bind',
    websocket: 'wss://meet.example.com/' + subdir + 'xmpp-websocket',
    p2p: { enabled: true, stunServers: [ { urls: 'stun:meet-jit-si-turnrelay.jitsi.net:443' } ] },
    toolbarButtons: [ 'microphone', 'camera' ],
};
`;

describe("parseConfigJs (reads config.js without running it)", () => {
  it("evaluates SSI fallbacks and concatenations and ignores commented-out keys", () => {
    expect(parseConfigJs(SSI_STYLE)).toEqual({
      domain: "meet.example.com",
      muc: "conference.meet.example.com",
      bosh: "https://meet.example.com/http-bind",
      websocket: "wss://meet.example.com/xmpp-websocket",
    });
  });

  it("reads docker-style assignments after the object, later ones winning", () => {
    const source = `var config = { hosts: { domain: "old.example" } };
config.hosts.domain = "meet.jitsi";
config.hosts.muc = 'muc.meet.jitsi';
config.hosts.anonymousdomain = 'guest.meet.jitsi';
config.websocket = 'wss://localhost:8443/' + 'xmpp-websocket';`;
    expect(parseConfigJs(source)).toEqual({
      domain: "meet.jitsi",
      muc: "muc.meet.jitsi",
      anonymousdomain: "guest.meet.jitsi",
      websocket: "wss://localhost:8443/xmpp-websocket",
    });
  });

  it("never executes the file and skips values that are not constant strings", () => {
    const source = `var config = { hosts: { domain: (function () { throw new Error("ran") })(), muc: \`conference.\${x}\` }, websocket: location.host };`;
    expect(parseConfigJs(source)).toEqual({});
  });

  it("reads the project's own rendered config.js, guests on and off", () => {
    const on = parseConfigJs(expandTenantIncludes(renderMeetConfigJs({ ...PROSODY_TEST_DEPLOYMENT, guests: true }).content));
    expect(on).toEqual({
      domain: "meet.example.test",
      anonymousdomain: "guest.meet.example.test",
      muc: "conference.meet.example.test",
      focus: "focus.meet.example.test",
      bosh: "https://meet.example.test/http-bind",
      websocket: "wss://meet.example.test/xmpp-websocket",
    });
    const off = parseConfigJs(expandTenantIncludes(renderMeetConfigJs({ ...PROSODY_TEST_DEPLOYMENT, guests: false }).content));
    expect(off.anonymousdomain).toBeUndefined();
    expect(off.domain).toBe("meet.example.test");
  });

  it("keeps escaped quotes inside strings", () => {
    expect(parseConfigJs(`var config = { hosts: { domain: 'it\\'s.example' } };`).domain).toBe("it's.example");
  });

  it("reads what a real parser reads: escapes, shorthand properties, regex literals, template literals", () => {
    // Written with the escapes as they stand in the file: \u002e and \x6d are what the browser decodes.
    const source = [
      "var re = /['\"]\\/*/g; // a regex literal with quotes and a comment opener must not derail anything",
      "var domain = 'meet\\u002eexample.com';",
      "var muc = `conference.\\x6deet.example.com`;",
      "var config = {",
      "    hosts: { domain, muc, focus: \"focus.\" + domain },",
      "    websocket: 'wss://' + domain + '/xmpp-websocket', // trailing comment",
      "    bosh: 'https://' + domain + '/' + 'http-bind',",
      "    p2p: { enabled: true, iceTransportPolicy: /all/.source },",
      "};",
    ].join("\n");
    expect(source).toContain("meet\\u002eexample.com");
    expect(parseConfigJs(source)).toEqual({
      domain: "meet.example.com",
      muc: "conference.meet.example.com",
      focus: "focus.meet.example.com",
      websocket: "wss://meet.example.com/xmpp-websocket",
      bosh: "https://meet.example.com/http-bind",
    });
  });

  it("reads upstream's own config.js (jitsi-meet's template with SSI placeholders) when the checkout is here", async () => {
    const { execFileSync } = await import("node:child_process");
    let upstream: string;
    try {
      upstream = execFileSync("git", ["--git-dir=/work/.mirror/Pie-D+jitsi-meet/repo", "show", "HEAD:config.js"], { encoding: "utf8", maxBuffer: 8 * 1024 * 1024 });
    } catch {
      console.log("jitsi-meet checkout not present: upstream config.js case not run");
      return;
    }
    expect(parseConfigJs(upstream)).toEqual({
      domain: "jitsi-meet.example.com",
      muc: "conference.jitsi-meet.example.com",
      bosh: "https://jitsi-meet.example.com/http-bind",
      websocket: "wss://jitsi-meet.example.com/xmpp-websocket",
    });
  });

  it("a later non-constant assignment makes the value unknown; code inside conditions is not followed", () => {
    const source = `var config = { hosts: { domain: 'a.example', muc: 'conference.a.example' } };
config.hosts.domain = window.location.hostname;
if (true) { config.hosts.muc = 'other.example'; }`;
    expect(parseConfigJs(source)).toEqual({ muc: "conference.a.example" });
  });

  it("says so when the file is not JavaScript", () => {
    expect(() => parseConfigJs("var config = { hosts: ")).toThrow(/^config\.js is not valid JavaScript: Unexpected token \(1:/);
  });
});
