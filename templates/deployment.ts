/**
 * The renderer's input: everything the configuration files of one Jitsi host depend on, as plain data.
 * Pulumi builds it from the stack config (infra/), tests build it directly. No Pulumi types here.
 */
import type { ServiceName } from "jitsi-jwt-token/shared";

/** HS256 with a shared secret (Prosody's `app_secret`). */
export interface HmacTokenAuth {
  readonly algorithm: "HS256";
  readonly appId: string;
  readonly appSecret: string;
}

/** RS256 (ASAP): Prosody fetches `<keyServerUrl>/<sha256hex(kid)>.pem`. */
export interface AsapTokenAuth {
  readonly algorithm: "RS256";
  readonly appId: string;
  /** PEM public keys by `kid`; rendered into the key-server directory nginx serves. */
  readonly publicKeys: Readonly<Record<string, string>>;
}

export type TokenAuth = HmacTokenAuth | AsapTokenAuth;

/** Where the programs listen and read from. Production uses the defaults; tests point them at a temp dir. */
export interface RuntimeOverrides {
  /** Prefix under which every absolute host path is rewritten (tests only). */
  readonly rootDir?: string;
  readonly prosodyHttpPort?: number;
  readonly xmppClientPort?: number;
  readonly httpsPort?: number;
  readonly httpPort?: number;
  /** Address nginx and Prosody bind to (tests: 127.0.0.1). */
  readonly bindAddress?: string;
  /** Prosody plugin directory (tests: an extracted copy of jitsi-meet's prosody-plugins). */
  readonly prosodyPluginsDir?: string;
  /** coturn's UDP listening-port (production PORTS.turnUdp). */
  readonly turnUdpPort?: number;
  /** coturn's tls-listening-port (production PORTS.turnTls). */
  readonly turnTlsPort?: number;
  /** Loopback port the site listens on behind the 443 stream proxy (production PORTS.siteBehindStream). */
  readonly siteBehindStreamPort?: number;
  /** Loopback port nginx serves the ASAP public keys to Prosody on (production PORTS.asapKeysLocal). */
  readonly asapKeysLocalPort?: number;
}

/** coturn on this host (TURN over UDP 3478 and over TLS on 443 by SNI); absent: no TURN anywhere. */
export interface TurnSettings {
  /** coturn's static-auth-secret, also Prosody's external_service_secret (credentials per RFC draft-uberti-behave-turn-rest). */
  readonly secret: string;
  /** The VPC's IPv4 CIDR (e.g. 10.0.0.0/16): coturn refuses to relay into it, and to its resolver (base + 2). */
  readonly vpcCidr: string;
  /**
   * The VPC's other IPv4 blocks (secondary CIDRs), denied too. AWS lets a VPC's blocks be any range, public ones
   * included, which the fixed special-purpose list would not cover. Default: none.
   */
  readonly vpcSecondaryCidrs?: readonly string[];
}

export interface Deployment {
  /** Public FQDN; also the main XMPP domain. */
  readonly domain: string;
  readonly auth: TokenAuth;
  /** Anonymous guest domain `guest.<domain>`: guests wait for a token holder to open the room. */
  readonly guests: boolean;
  /** Addresses for the videobridge's static NAT mapping (private → public). */
  readonly network: { readonly privateIp: string; readonly publicIp: string };
  /** Internal account passwords (Jicofo's focus@auth, the bridges' jvb@auth). */
  readonly accounts: { readonly focusPassword: string; readonly jvbPassword: string };
  /** Whether this host runs its own videobridge (off when a bridge pool carries all media). */
  readonly localVideobridge: boolean;
  /** TURN relay for clients behind UDP-blocking firewalls; absent when the stack turns it off. */
  readonly turn?: TurnSettings;
  /** Contact for the ACME account; used by the renewal hook only for logging. */
  readonly letsEncryptEmail?: string;
  readonly runtime?: RuntimeOverrides;
}

/** What the host does with a file after it changes. */
export type FileEffect = { readonly service: ServiceName; readonly action: "restart" | "reload" } | null;

/** One file as it lands on the host. */
export interface RenderedFile {
  readonly path: string;
  readonly content: string;
  /** Octal permission bits, e.g. 0o640. Files holding secrets are never world-readable. */
  readonly mode: number;
  readonly owner: string;
  readonly group: string;
  /** Service to restart or reload when this file changes; null when nothing needs to (config.js). */
  readonly effect: FileEffect;
  /** True when the content holds a secret (app secret, account password). */
  readonly secret: boolean;
}
