import { describe, expect, it } from "vitest";
import { renderMeetConfigJs } from "../../templates/files/configJs.ts";
import { parseConfigJs } from "../../token/smoke/configJs.ts";
import { PROSODY_TEST_DEPLOYMENT } from "../support/prosody.ts";
import { expandTenantIncludes } from "../support/ssi.ts";

// The shape of a stock Debian config.js: nginx SSI placeholders with a JS fallback, values built by
// concatenation, commented-out keys that must not count. (Written for this test, not copied.)
const SSI_STYLE = `
var subdir = '<!--# echo var="subdir" default="" -->';
var subdomain = "<!--# echo var="subdomain" default="" -->";
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
});
