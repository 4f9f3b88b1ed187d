/**
 * Prosody's host configuration (/etc/prosody/conf.avail/<domain>.cfg.lua): the token VirtualHost, the guest
 * VirtualHost, the service-account host, and the MUC and feature components Jitsi Meet needs. What each block
 * does and why is in the template's comments; this module only assembles the data it is filled with.
 */
import type { Deployment, RenderedFile } from "../deployment.ts";
import { compileTemplate } from "../handlebars.ts";
import { PROJECT_PROSODY_MODULES, turnHostname, URL_PATHS, xmppNames, type XmppNames } from "jitsi-jwt-token/shared";
import { runtimeHostPaths, runtimePorts } from "./hostRuntime.ts";

interface ProsodyTemplateData {
  readonly names: XmppNames;
  readonly guests: boolean;
  readonly pluginPaths: readonly string[];
  readonly modules: typeof PROJECT_PROSODY_MODULES;
  /** mod_log_token_redaction's file, which the config runs (RunScript) before Prosody opens its log sinks. */
  readonly logRedactionScript: string;
  readonly ports: { readonly http: number; readonly c2s: number };
  readonly httpInterface: string;
  readonly c2sInterfaces: readonly string[];
  readonly token: { readonly appId: string; readonly appSecret: string | false; readonly asapKeyServer: string | false };
  readonly tokenVerificationAllowlist: readonly string[];
  readonly turn:
    | { readonly secret: string; readonly host: string; readonly udpPort: number; readonly tlsHost: string; readonly tlsPort: number }
    | false;
}

const template = compileTemplate<ProsodyTemplateData>("prosody-host.cfg.lua.hbs");

/** Prosody's HTTP server only ever hears nginx on the same host. */
const PROSODY_HTTP_INTERFACE = "127.0.0.1";
/** Prosody's default: every IPv4 and IPv6 address (videobridges in the VPC connect to c2s). */
const ALL_INTERFACES = ["*", "::"] as const;

/**
 * Base URL Prosody fetches RS256 public keys from: `<base>/<sha256hex(kid)>.pem`. Prosody joins with "/", so
 * the base has no trailing slash. This host's nginx serves hostPaths().asapKeysDir there on 127.0.0.1, plain
 * HTTP (PORTS.asapKeysLocal): Prosody 0.12's HTTP client verifies the peer's certificate (net/http.lua), which a
 * Let's Encrypt staging certificate fails; the public https `/asap-keys/` stays for other verifiers.
 */
export function asapKeyServerUrl(d: Deployment): string {
  return `http://127.0.0.1:${String(runtimePorts(d).asapKeysLocal)}${URL_PATHS.asapKeys.replace(/\/+$/, "")}`;
}

export function renderProsodyHostConfig(d: Deployment): RenderedFile {
  const names = xmppNames(d.domain);
  const ports = runtimePorts(d);
  const bindAddress = d.runtime?.bindAddress;
  const content = template({
    names,
    guests: d.guests,
    // Jitsi's plugins first, then this project's own modules (templates/files/prosodyModules.ts).
    pluginPaths: [d.runtime?.prosodyPluginsDir ?? runtimeHostPaths(d).prosodyPlugins, runtimeHostPaths(d).projectProsodyPlugins],
    modules: PROJECT_PROSODY_MODULES,
    logRedactionScript: `${runtimeHostPaths(d).projectProsodyPlugins}mod_${PROJECT_PROSODY_MODULES.logTokenRedaction}.lua`,
    ports: { http: ports.prosodyHttp, c2s: ports.xmppClient },
    httpInterface: bindAddress ?? PROSODY_HTTP_INTERFACE,
    c2sInterfaces: bindAddress === undefined ? ALL_INTERFACES : [bindAddress],
    token: {
      appId: d.auth.appId,
      appSecret: d.auth.algorithm === "HS256" ? d.auth.appSecret : false,
      asapKeyServer: d.auth.algorithm === "RS256" ? asapKeyServerUrl(d) : false,
    },
    tokenVerificationAllowlist: d.guests ? [names.guest] : [],
    // TURN over UDP at the public name; over TLS at turn.<domain> on the HTTPS port (nginx routes it by SNI).
    turn:
      d.turn === undefined
        ? false
        : { secret: d.turn.secret, host: d.domain, udpPort: ports.turnUdp, tlsHost: turnHostname(d.domain), tlsPort: ports.https },
  });
  return {
    path: runtimeHostPaths(d).prosodyHostConfig,
    content,
    // Holds the app secret (HS256) and the TURN secret; Prosody reads it as group prosody, nobody else may.
    mode: 0o640,
    owner: "root",
    group: "prosody",
    effect: { service: "prosody", action: "restart" },
    secret: d.auth.algorithm === "HS256" || d.turn !== undefined,
  };
}

