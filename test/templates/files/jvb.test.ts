import { describe, expect, it } from "vitest";
import {
  BRIDGE_ENV,
  renderBridgeJvbConf,
  renderJvbConf,
  SIGNALLING_BRIDGE_NICKNAME,
} from "../../../templates/files/jvb.ts";
import { hostPaths, PORTS, xmppNames } from "jitsi-jwt-token/shared";
import { at, HoconLoadError, loadHocon } from "../../support/typesafeConfig.ts";
import { HOSTILE_VALUES, sampleDeployment } from "../sampleDeployment.ts";

const SHARD = "videobridge.apis.xmpp-client.configs.shard";

describe("renderJvbConf (signalling node)", () => {
  const d = sampleDeployment();
  const file = renderJvbConf(d);
  const names = xmppNames(d.domain);

  it("is a secret file readable by the jvb user only, restarted on change", () => {
    expect(file.path).toBe(hostPaths(d.domain).jvbConf);
    // The package's own owner (it chowns the directory to <user>:jitsi on every upgrade); 0600 because the
    // other Jitsi service shares the group.
    expect(file.mode).toBe(0o600);
    expect([file.owner, file.group]).toEqual(["jvb", "jitsi"]);
    expect(file.secret).toBe(true);
    expect(file.effect).toEqual({ service: "jitsi-videobridge2", action: "restart" });
  });

  it("resolves in Typesafe Config to a brewery login on localhost and a static NAT mapping", async () => {
    const config = await loadHocon(file.content);
    expect(at(config, SHARD)).toEqual({
      HOSTNAME: "localhost",
      PORT: PORTS.xmppClient,
      DOMAIN: names.auth,
      USERNAME: "jvb",
      PASSWORD: d.accounts.jvbPassword,
      MUC_JIDS: names.brewery,
      MUC_NICKNAME: SIGNALLING_BRIDGE_NICKNAME,
      DISABLE_CERTIFICATE_VERIFICATION: true,
    });
    expect(at(config, "videobridge.ice.udp.port")).toBe(PORTS.publicMediaUdp);
    expect(at(config, "ice4j.harvest.mapping")).toEqual({
      aws: { enabled: false },
      stun: { addresses: [] },
      "static-mappings": [{ "local-address": "10.0.1.23", "public-address": "203.0.113.45", name: "public" }],
    });
    // The health check calls the private server on loopback; nothing drains this bridge, so its REST API stays off.
    expect(at(config, "videobridge.http-servers.private")).toEqual({ host: "127.0.0.1", port: PORTS.jvbRest });
    expect(at(config, "videobridge.apis.rest")).toBeUndefined();
    expect(at(config, "videobridge.rest")).toBeUndefined();
  });

  it("carries hostile passwords and addresses through as data", async () => {
    const documents = HOSTILE_VALUES.map(
      (value) =>
        renderJvbConf(
          sampleDeployment({
            accounts: { focusPassword: "x", jvbPassword: value },
            network: { privateIp: value, publicIp: `${value}!` },
          }),
        ).content,
    );
    const config = await loadHocon(documents.map((content, index) => `v${index} { ${content} }`).join("\n"));
    HOSTILE_VALUES.forEach((value, index) => {
      expect(at(config, `v${index}.${SHARD}.PASSWORD`)).toBe(value);
      const [mapping] = at(config, `v${index}.ice4j.harvest.mapping.static-mappings`) as Record<string, unknown>[];
      expect(mapping).toEqual({ "local-address": value, "public-address": `${value}!`, name: "public" });
    });
  });
});

describe("renderBridgeJvbConf (pool bridge)", () => {
  const input = { domain: "meet.example.com", xmppHost: "10.0.0.12", xmppPort: PORTS.xmppClient };
  const content = renderBridgeJvbConf(input);
  const names = xmppNames(input.domain);
  const instanceEnv = {
    [BRIDGE_ENV.privateIp]: "10.0.7.8",
    [BRIDGE_ENV.publicIp]: "198.51.100.9",
    [BRIDGE_ENV.nickname]: "i-0123456789abcdef0",
    // An environment value is taken verbatim: nothing in it is parsed as HOCON.
    [BRIDGE_ENV.password]: 'p"a${HOME}ss\\word # not a comment',
  };

  it("holds no password, only the substitutions the pool fills in", () => {
    expect(content).toContain(`PASSWORD = \${${BRIDGE_ENV.password}}`);
    for (const name of Object.values(BRIDGE_ENV)) expect(content).toContain(`\${${name}}`);
  });

  it("resolves with the instance's environment to its own login, nickname and NAT mapping", async () => {
    const config = await loadHocon(content, { env: instanceEnv });
    expect(at(config, SHARD)).toEqual({
      HOSTNAME: "10.0.0.12",
      PORT: 5222,
      DOMAIN: names.auth,
      USERNAME: "jvb",
      PASSWORD: instanceEnv[BRIDGE_ENV.password],
      MUC_JIDS: names.brewery,
      MUC_NICKNAME: "i-0123456789abcdef0",
      DISABLE_CERTIFICATE_VERIFICATION: true,
    });
    expect(at(config, "ice4j.harvest.mapping.static-mappings")).toEqual([
      { "local-address": "10.0.7.8", "public-address": "198.51.100.9", name: "public" },
    ]);
    expect(at(config, "ice4j.harvest.mapping.aws.enabled")).toBe(false);
    expect(at(config, "ice4j.harvest.mapping.stun.addresses")).toEqual([]);
  });

  it("turns on the loopback REST shutdown that graceful_shutdown.sh calls when the pool drains the bridge", async () => {
    const config = await loadHocon(content, { env: instanceEnv });
    // The shutdown endpoint needs the COLIBRI REST API too (both are off in the bridge's defaults).
    expect(at(config, "videobridge.apis.rest.enabled")).toBe(true);
    expect(at(config, "videobridge.rest")).toEqual({ shutdown: { enabled: true } });
    // graceful_shutdown.sh's default target is http://localhost:8080: the private server, never a public address.
    expect(at(config, "videobridge.http-servers.private")).toEqual({ host: "127.0.0.1", port: PORTS.jvbRest });
    expect(PORTS.jvbRest).toBe(8080);
  });

  it("refuses to load when a variable is missing, naming it", async () => {
    const withoutPassword: Record<string, string> = { ...instanceEnv };
    delete withoutPassword[BRIDGE_ENV.password];
    const failure = loadHocon(content, { env: withoutPassword });
    await expect(failure).rejects.toBeInstanceOf(HoconLoadError);
    await expect(failure).rejects.toThrow(BRIDGE_ENV.password);
  });

  it("rejects an XMPP host or port that is not an address", () => {
    expect(() => renderBridgeJvbConf({ ...input, xmppHost: "10.0.0.1\nPASSWORD = x" })).toThrow(/xmppHost/);
    expect(() => renderBridgeJvbConf({ ...input, xmppHost: "" })).toThrow(/xmppHost/);
    expect(() => renderBridgeJvbConf({ ...input, xmppPort: 0 })).toThrow(/xmppPort/);
    expect(() => renderBridgeJvbConf({ ...input, xmppPort: 5222.5 })).toThrow(/xmppPort/);
  });

  it("carries a hostile domain through as data", async () => {
    const domain = 'evil"} include "x.${HOME}\n';
    const config = await loadHocon(renderBridgeJvbConf({ ...input, domain }), { env: instanceEnv });
    expect(at(config, `${SHARD}.DOMAIN`)).toBe(`auth.${domain}`);
    expect(at(config, `${SHARD}.MUC_JIDS`)).toBe(xmppNames(domain).brewery);
  });
});
