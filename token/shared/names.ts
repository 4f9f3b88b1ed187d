/**
 * The one place where every name the pieces share is spelled: XMPP addresses, ports, file paths on the host,
 * service names. The renderer, the provisioning steps, the smoke test and the tests import these; nothing else
 * spells them again.
 */

/** The XMPP addresses one Jitsi deployment uses, all derived from its public domain. */
export interface XmppNames {
  /** Main VirtualHost: token users log in here (also the public hostname). */
  readonly domain: string;
  /** Anonymous VirtualHost for guests. Internal name only: no DNS record, no certificate. */
  readonly guest: string;
  /** Service accounts (focus@, jvb@). */
  readonly auth: string;
  /** Conference MUC; must be `<label>.<domain>` for token_verification to find its host. */
  readonly muc: string;
  /** Internal MUC holding the videobridge brewery. */
  readonly internalMuc: string;
  /** Lobby MUC; muc_wait_for_host hard-codes `lobby.<domain>`. */
  readonly lobby: string;
  readonly breakout: string;
  /** client_proxy component that forwards to Jicofo's user JID. */
  readonly focus: string;
  readonly speakerstats: string;
  readonly endconference: string;
  readonly avmoderation: string;
  readonly metadata: string;
  readonly polls: string;
  /** Jicofo's account. */
  readonly focusUser: string;
  /** The videobridges' shared account. */
  readonly jvbUser: string;
  /** MUC where bridges announce themselves and Jicofo finds them. */
  readonly brewery: string;
}

export function xmppNames(domain: string): XmppNames {
  const auth = `auth.${domain}`;
  const internalMuc = `internal.${auth}`;
  return {
    domain,
    guest: `guest.${domain}`,
    auth,
    muc: `conference.${domain}`,
    internalMuc,
    lobby: `lobby.${domain}`,
    breakout: `breakout.${domain}`,
    focus: `focus.${domain}`,
    speakerstats: `speakerstats.${domain}`,
    endconference: `endconference.${domain}`,
    avmoderation: `avmoderation.${domain}`,
    metadata: `metadata.${domain}`,
    polls: `polls.${domain}`,
    focusUser: `focus@${auth}`,
    jvbUser: `jvb@${auth}`,
    brewery: `jvbbrewery@${internalMuc}`,
  };
}

/** Account names (the local part) of the service users. */
export const ACCOUNTS = { focus: "focus", jvb: "jvb" } as const;

/** This project's own Prosody modules: the name Prosody loads each by (the file is `mod_<name>.lua`). */
export const PROJECT_PROSODY_MODULES = {
  /** Keeps JSON Web Tokens and configured secrets out of every log sink (run by the host config, RunScript; acts process-wide). */
  logTokenRedaction: "log_token_redaction",
  /** Gives context.user.lobby_bypass / security_bypass their effect (loaded on the conference MUC). */
  tokenRoomBypass: "token_room_bypass",
} as const;

/** Ports. `public*` are opened in the security group; the rest stay on the host or the VPC. */
export const PORTS = {
  publicHttps: 443,
  publicHttp: 80,
  publicMediaUdp: 10000,
  ssh: 22,
  /** Prosody client-to-server; opened only to the videobridge pool. */
  xmppClient: 5222,
  /** Prosody's HTTP (BOSH, WebSocket); only nginx on the same host talks to it. */
  prosodyHttp: 5280,
  jicofoRest: 8888,
  jvbRest: 8080,
  /** TURN and STUN over UDP (coturn's listening-port); opened to everyone when TURN is on. */
  turnUdp: 3478,
  /** coturn's TLS listener; nginx's stream proxy on 443 forwards `turn.<domain>` here over loopback. */
  turnTls: 5349,
  /** The site's HTTPS behind the 443 stream proxy when TURN is on (loopback only, PROXY protocol). */
  siteBehindStream: 8443,
  /**
   * nginx serves the RS256 public keys to Prosody here: 127.0.0.1 only, plain HTTP. Prosody 0.12's HTTP client
   * verifies the peer (net/http.lua), so an https asap_key_server on this host would fail with a staging or expired
   * certificate; on loopback there is nothing to verify.
   */
  asapKeysLocal: 5290,
  /** coturn's relay ports (min-port..max-port): one per allocation, opened to everyone when TURN is on. */
  turnRelayMin: 49152,
  turnRelayMax: 50175,
} as const;

/** Public name clients reach TURN over TLS by (SNI on 443); covered by the site's certificate. */
export function turnHostname(domain: string): string {
  return `turn.${domain}`;
}

/** systemd units, in the order they must restart: Jicofo and the bridge are XMPP clients of Prosody. */
/** coturn restarts before nginx, whose stream proxy forwards TURN over TLS to it. */
export const SERVICES = ["prosody", "jicofo", "jitsi-videobridge2", "coturn", "nginx"] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Where each file lands on the host. */
export function hostPaths(domain: string) {
  return {
    prosodyHostConfig: `/etc/prosody/conf.avail/${domain}.cfg.lua`,
    prosodyHostConfigLink: `/etc/prosody/conf.d/${domain}.cfg.lua`,
    meetConfigJs: `/etc/jitsi/meet/${domain}-config.js`,
    jicofoConf: "/etc/jitsi/jicofo/jicofo.conf",
    jvbConf: "/etc/jitsi/videobridge/jvb.conf",
    nginxSite: `/etc/nginx/sites-available/${domain}.conf`,
    nginxSiteLink: `/etc/nginx/sites-enabled/${domain}.conf`,
    /** certbot's deploy hooks run after every successful renewal. */
    renewalHook: "/etc/letsencrypt/renewal-hooks/deploy/jitsi-reload.sh",
    certificate: `/etc/letsencrypt/live/${domain}/fullchain.pem`,
    certificateKey: `/etc/letsencrypt/live/${domain}/privkey.pem`,
    /** The certificate store client (infra/scripts/certificate-store.py), installed by the certificate step. */
    certificateStoreClient: "/usr/local/sbin/jitsi-certificate-store",
    /** HTTP-01 challenges are served from here on port 80. */
    acmeWebroot: "/var/www/acme",
    /** Public keys for Prosody's ASAP key server (RS256), served by nginx. */
    asapKeysDir: "/usr/share/jitsi-meet/asap-keys",
    jitsiMeetWebRoot: "/usr/share/jitsi-meet",
    prosodyPlugins: "/usr/share/jitsi-meet/prosody-plugins/",
    /** This project's own Prosody modules (templates/prosody-modules/), a second entry in plugin_paths. */
    projectProsodyPlugins: "/usr/local/share/jitsi-jwt-pulumi/prosody-plugins/",
    /** Debian's coturn unit runs `turnserver -c /etc/turnserver.conf` as user turnserver. */
    coturnConf: "/etc/turnserver.conf",
    /** coturn's own copy of the certificate and key (owner turnserver, 0400), refreshed by the renewal hook. */
    coturnCertificate: "/etc/coturn/certs/fullchain.pem",
    coturnCertificateKey: "/etc/coturn/certs/privkey.pem",
    /**
     * nginx's `stream {}` for TURN on 443. Debian's nginx.conf includes modules-enabled/*.conf at its top level
     * (where stream must be), after the 50-mod-stream.conf that loads the module.
     */
    nginxStream: "/etc/nginx/modules-enabled/90-jitsi-turn-stream.conf",
  } as const;
}

/**
 * A tenant: the first path segment of `https://<domain>/<tenant>/<room>`. It becomes a DNS label of the conference
 * address (`<room>@conference.<tenant>.<domain>`, which Jitsi's muc_domain_mapper turns into
 * `[<tenant>]<room>@conference.<domain>`), so it is one label: letters, digits and inner hyphens, at most 63
 * characters, no dot (util.lib.lua's `target_subdomain_pattern` reads the label up to the first dot). Compared
 * lower-cased everywhere (the XMPP domain is case-insensitive; the token's `sub` is lower-cased). nginx, the
 * renderer and the token module all use this one pattern.
 */
export const TENANT_PATTERN = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";

/**
 * The web app's static directories (jitsi-meet.example's static location lists them): a path under one of them is
 * a file or a 404, never a tenant's page, so these names cannot be tenants.
 */
export const STATIC_DIRECTORIES = ["libs", "css", "static", "images", "fonts", "lang", "sounds"] as const;

/** True when `value` is a tenant as TENANT_PATTERN defines it and not a static directory's name (any case). */
export function isTenant(value: string): boolean {
  return (
    new RegExp(`^${TENANT_PATTERN}$`).test(value) &&
    !(STATIC_DIRECTORIES as readonly string[]).includes(value.toLowerCase())
  );
}

/** Public URL paths nginx serves. */
export const URL_PATHS = {
  websocket: "/xmpp-websocket",
  bosh: "/http-bind",
  configJs: "/config.js",
  acmeChallenge: "/.well-known/acme-challenge/",
  asapKeys: "/asap-keys/",
} as const;

/**
 * The limits a request carrying a token (`?token=` on the WebSocket/BOSH URL) must fit through on its way to
 * Prosody. token/connectionLimit.ts computes the longest token from these; the nginx renderer writes
 * `large_client_header_buffers` from them.
 */
export const HTTP_REQUEST_LIMITS = {
  /**
   * nginx `large_client_header_buffers` (rendered explicitly; nginx's own default is the same 4 × 8k). A
   * request line must fit in one buffer or nginx answers 414 (ngx_http_core_module docs).
   */
  nginxLargeHeaderBuffers: { count: 4, sizeBytes: 8192 },
  /**
   * Prosody 0.12 looks for the end of a request head ("\r\n\r\n") only in the first 10 KiB it has buffered
   * (net/http/parser.lua: `headlimit = ... or 10*1024`, `buffer:sub(1, headlimit):find("\r\n\r\n")`); a longer
   * head is never parsed and the client gets no answer at all. mod_http does not expose the option.
   */
  prosodyHeadBytes: 10 * 1024,
} as const;
