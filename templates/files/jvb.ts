/**
 * jvb.conf for the videobridge on the signalling node (renderJvbConf) and for the bridges of the auto-scaling
 * pool (renderBridgeJvbConf). Both come from one template; the pool's file leaves what only the instance knows
 * (its addresses, its nickname) and the password to environment variables resolved by Typesafe Config at start.
 */
import { isIP } from "node:net";
import type { Deployment, RenderedFile } from "../deployment.ts";
import { hoconEnvSubstitution, hoconInteger, hoconString } from "../escape/hocon.ts";
import { ACCOUNTS, PORTS, xmppNames } from "jitsi-jwt-token/shared";
import { compileTemplate } from "../handlebars.ts";
import { jitsiServiceSecretFile } from "./jitsiSystemUsers.ts";
import { runtimeHostPaths, runtimePorts } from "./hostRuntime.ts";

interface JvbTemplateData {
  readonly xmppHost: string;
  readonly xmppPort: string;
  readonly authDomain: string;
  readonly username: string;
  readonly password: string;
  readonly breweryJid: string;
  readonly nickname: string;
  readonly mediaPort: string;
  readonly privateIp: string;
  readonly publicIp: string;
  /** Turn on the COLIBRI REST API and its shutdown endpoint (pool bridges only). */
  readonly drainApi: boolean;
  readonly privateHttpHost: string;
  readonly privateHttpPort: string;
}

const template = compileTemplate<JvbTemplateData>("jvb.conf.hbs");

/** MUC nickname of the signalling node's own bridge; pool bridges use their instance id. */
export const SIGNALLING_BRIDGE_NICKNAME = "signalling-node";

/**
 * The pool contract: environment variables the bridge process must have when it starts (systemd
 * EnvironmentFile). Each is a required substitution — a missing one stops the bridge with the variable's name.
 */
export const BRIDGE_ENV = {
  /** Instance private IPv4 (EC2 metadata `local-ipv4`): the local side of the NAT mapping. */
  privateIp: "JVB_PRIVATE_IP",
  /** Instance public IPv4 (`public-ipv4`): the address clients send media to. */
  publicIp: "JVB_PUBLIC_IP",
  /** Brewery nickname, unique per bridge (the instance id). */
  nickname: "JVB_NICKNAME",
  /** Password of jvb@auth.<domain>. Kept in a root-only environment file, never in jvb.conf or user data. */
  password: "JVB_XMPP_PASSWORD",
} as const;

/** Loopback only: the private server answers the health check and, on pool bridges, the shutdown call. */
const PRIVATE_HTTP_HOST = "127.0.0.1";

function sharedFields(domain: string) {
  const names = xmppNames(domain);
  return {
    authDomain: hoconString(names.auth, "domain"),
    username: hoconString(ACCOUNTS.jvb, "jvb account"),
    breweryJid: hoconString(names.brewery, "domain"),
    mediaPort: hoconInteger(PORTS.publicMediaUdp, "media port"),
    privateHttpHost: hoconString(PRIVATE_HTTP_HOST, "private HTTP host"),
    privateHttpPort: hoconInteger(PORTS.jvbRest, "jvb REST port"),
  };
}

/**
 * /etc/jitsi/videobridge/jvb.conf on the signalling node: Prosody on localhost, static NAT to the Elastic IP.
 * No COLIBRI/shutdown REST API: nothing ever drains this bridge (it stops with its host), so it stays off.
 */
export function renderJvbConf(d: Deployment): RenderedFile {
  const content = template({
    ...sharedFields(d.domain),
    xmppHost: hoconString("localhost", "jvb XMPP host"),
    xmppPort: hoconInteger(runtimePorts(d).xmppClient, "runtime.xmppClientPort"),
    password: hoconString(d.accounts.jvbPassword, "accounts.jvbPassword"),
    nickname: hoconString(SIGNALLING_BRIDGE_NICKNAME, "jvb nickname"),
    privateIp: hoconString(d.network.privateIp, "network.privateIp"),
    publicIp: hoconString(d.network.publicIp, "network.publicIp"),
    drainApi: false,
  });
  return jitsiServiceSecretFile(runtimeHostPaths(d).jvbConf, content, "jvb", "jitsi-videobridge2");
}

export interface BridgeJvbInput {
  /** Public FQDN of the deployment (its XMPP domain). */
  readonly domain: string;
  /** The signalling node's private IP address, where its Prosody accepts the bridges (TCP 5222). */
  readonly xmppHost: string;
  /** Prosody's client port there (PORTS.xmppClient). */
  readonly xmppPort: number;
}

/**
 * jvb.conf for a pool bridge. Holds no secret (the password is `${JVB_XMPP_PASSWORD}`), so it may travel in user
 * data and be world-readable (0644): the bridge runs as user jvb and must be able to read it. Turns on the local
 * REST shutdown endpoint that Jitsi's graceful_shutdown.sh calls when the pool drains the bridge on scale-in.
 */
export function renderBridgeJvbConf(input: BridgeJvbInput): string {
  if (isIP(input.xmppHost) === 0) {
    throw new Error(`xmppHost: ${JSON.stringify(input.xmppHost)} is not an IP address (the signalling node's private IP)`);
  }
  if (!Number.isInteger(input.xmppPort) || input.xmppPort < 1 || input.xmppPort > 65535) {
    throw new Error(`xmppPort: must be an integer from 1 to 65535, got ${String(input.xmppPort)}`);
  }
  return template({
    ...sharedFields(input.domain),
    xmppHost: hoconString(input.xmppHost, "xmppHost"),
    xmppPort: hoconInteger(input.xmppPort, "xmppPort"),
    password: hoconEnvSubstitution(BRIDGE_ENV.password),
    nickname: hoconEnvSubstitution(BRIDGE_ENV.nickname),
    privateIp: hoconEnvSubstitution(BRIDGE_ENV.privateIp),
    publicIp: hoconEnvSubstitution(BRIDGE_ENV.publicIp),
    drainApi: true,
  });
}
