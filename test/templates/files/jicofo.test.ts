import { describe, expect, it } from "vitest";
import { renderJicofoConf } from "../../../templates/files/jicofo.ts";
import { hostPaths, xmppNames } from "jitsi-jwt-token/shared";
import { at, loadHocon } from "../../support/typesafeConfig.ts";
import { HOSTILE_VALUES, sampleDeployment } from "../sampleDeployment.ts";

describe("renderJicofoConf", () => {
  const d = sampleDeployment();
  const file = renderJicofoConf(d);
  const names = xmppNames(d.domain);

  it("is a secret file readable by the jicofo user only, restarted on change", () => {
    expect(file.path).toBe(hostPaths(d.domain).jicofoConf);
    // The package's own owner (it chowns the directory to <user>:jitsi on every upgrade); 0600 because the
    // other Jitsi service shares the group.
    expect(file.mode).toBe(0o600);
    expect([file.owner, file.group]).toEqual(["jicofo", "jitsi"]);
    expect(file.secret).toBe(true);
    expect(file.effect).toEqual({ service: "jicofo", action: "restart" });
  });

  it("resolves in Typesafe Config to the token-moderator pattern (no jicofo authentication, no auto-owner)", async () => {
    const config = await loadHocon(file.content);
    expect(at(config, "jicofo.authentication")).toBeUndefined();
    expect(at(config, "jicofo.conference.enable-auto-owner")).toBe(false);
    expect(at(config, "jicofo.bridge.brewery-jid")).toBe(names.brewery);
    expect(at(config, "jicofo.xmpp.trusted-domains")).toEqual([]);
    expect(at(config, "jicofo.xmpp.client")).toEqual({
      enabled: true,
      hostname: "localhost",
      port: 5222,
      domain: names.auth,
      "xmpp-domain": d.domain,
      username: "focus",
      password: d.accounts.focusPassword,
      "conference-muc-jid": names.muc,
      "client-proxy": names.focus,
      "disable-certificate-verification": true,
    });
  });

  it("honours the XMPP port override", async () => {
    const config = await loadHocon(renderJicofoConf(sampleDeployment({ runtime: { xmppClientPort: 15222 } })).content);
    expect(at(config, "jicofo.xmpp.client.port")).toBe(15222);
  });

  it("carries every hostile password through as data", async () => {
    // One file per value would take a JVM start each; the values go in one by one into a single document.
    const documents = HOSTILE_VALUES.map((focusPassword) =>
      renderJicofoConf(sampleDeployment({ accounts: { focusPassword, jvbPassword: "x" } })).content,
    );
    for (const [index, content] of documents.entries()) {
      expect(content.split("\n").filter((line) => line.includes("password =")).length, `value ${index}`).toBe(1);
    }
    const config = await loadHocon(documents.map((content, index) => `v${index} { ${content} }`).join("\n"));
    HOSTILE_VALUES.forEach((value, index) => {
      expect(at(config, `v${index}.jicofo.xmpp.client.password`)).toBe(value);
      expect(at(config, `v${index}.jicofo.conference.enable-auto-owner`)).toBe(false);
    });
  });
});
