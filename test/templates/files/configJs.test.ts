/**
 * Jitsi Meet's config.js evaluated by Node's own parser (node:vm, a fresh context), as a browser would run it:
 * the global `config` and the hosts the web client will use.
 */
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { renderMeetConfigJs } from "../../../templates/files/configJs.ts";
import { validateDeployment } from "../../../templates/validate.ts";
import { expandTenantIncludes } from "../../support/ssi.ts";
import { sampleDeployment } from "../sampleDeployment.ts";

interface MeetConfig {
  hosts: { domain: string; anonymousdomain?: string; muc: string; focus: string };
  bosh: string;
  websocket: string;
  prejoinConfig: { enabled: boolean };
  p2p?: { stunServers: { urls: string }[] };
  enableInsecureRoomNameWarning: boolean;
}

/** Runs config.js as nginx serves it (tenant includes expanded; none = the root site). */
function evaluate(content: string, tenant?: string): MeetConfig {
  const context: { config?: MeetConfig } = {};
  runInNewContext(expandTenantIncludes(content, tenant), context, { filename: "config.js" });
  if (context.config === undefined) throw new Error("config.js did not define the global config");
  return context.config;
}

describe("config.js", () => {
  it("defines the hosts, endpoints and token-flow options the web client needs", () => {
    const config = evaluate(renderMeetConfigJs(validateDeployment(sampleDeployment())).content);
    expect(config.hosts).toEqual({
      domain: "meet.example.com",
      anonymousdomain: "guest.meet.example.com",
      muc: "conference.meet.example.com",
      focus: "focus.meet.example.com",
    });
    expect(config.bosh).toBe("https://meet.example.com/http-bind");
    expect(config.websocket).toBe("wss://meet.example.com/xmpp-websocket");
    expect(config.prejoinConfig.enabled).toBe(true);
    expect(config.enableInsecureRoomNameWarning).toBe(false);
  });

  it("has no anonymous domain without guests, so every visitor needs a token", () => {
    const config = evaluate(renderMeetConfigJs(validateDeployment(sampleDeployment({ guests: false }))).content);
    expect(config.hosts).not.toHaveProperty("anonymousdomain");
    expect(config.hosts.domain).toBe("meet.example.com");
  });

  it("points one-to-one calls' STUN at this host's 3478 when TURN is on, and leaves Jitsi's default otherwise", () => {
    const on = evaluate(renderMeetConfigJs(validateDeployment(sampleDeployment({ turn: { secret: "t".repeat(40), vpcCidr: "10.0.0.0/16" } }))).content);
    expect(on.p2p).toEqual({ stunServers: [{ urls: "stun:meet.example.com:3478" }] });
    expect(evaluate(renderMeetConfigJs(validateDeployment(sampleDeployment())).content).p2p).toBeUndefined();
  });

  it("puts a non-default HTTPS port into the endpoints", () => {
    const d = validateDeployment(sampleDeployment({ runtime: { httpsPort: 8443 } }));
    const config = evaluate(renderMeetConfigJs(d).content);
    expect(config.websocket).toBe("wss://meet.example.com:8443/xmpp-websocket");
    expect(config.bosh).toBe("https://meet.example.com:8443/http-bind");
  });

  it("puts the tenant (from nginx's server-side include) into the conference address and the XMPP URLs", () => {
    const config = evaluate(renderMeetConfigJs(validateDeployment(sampleDeployment())).content, "acme");
    expect(config.hosts.muc).toBe("conference.acme.meet.example.com");
    expect(config.hosts.domain).toBe("meet.example.com");
    expect(config.hosts.anonymousdomain).toBe("guest.meet.example.com");
    expect(config.bosh).toBe("https://meet.example.com/acme/http-bind");
    expect(config.websocket).toBe("wss://meet.example.com/acme/xmpp-websocket");
  });

  it("holds no server-side include directive but the three tenant echoes", () => {
    const content = renderMeetConfigJs(validateDeployment(sampleDeployment())).content;
    expect(content.match(/<!--#/g)).toHaveLength(3);
    expect(expandTenantIncludes(content)).not.toContain("<!--");
  });
});
