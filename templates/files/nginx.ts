/**
 * The nginx site: ACME challenges and a redirect on plain HTTP; on HTTPS the Jitsi Meet web app with its
 * config.js, XMPP (WebSocket, BOSH) proxied to Prosody with the query string untouched, the ASAP key directory
 * for RS256, and access and error logs with tokens redacted.
 */
import type { Deployment, RenderedFile } from "../deployment.ts";
import { nginxHostname, nginxString } from "../escape/nginx.ts";
import { HTTP_REQUEST_LIMITS, STATIC_DIRECTORIES, TENANT_PATTERN, turnHostname, URL_PATHS } from "jitsi-jwt-token/shared";
import { compileTemplate } from "../handlebars.ts";
import { runtimeHostPaths, runtimePorts, underRoot } from "./hostRuntime.ts";
import { listenOn, nginxConfigFile } from "./nginxListen.ts";
import { siteBehindStream, STREAM_LOOPBACK } from "./nginxStream.ts";

/** Access log of the site (Debian's logrotate already rotates /var/log/nginx/*.log). */
export const NGINX_ACCESS_LOG = "/var/log/nginx/jitsi-access.log";
/** Debian's nginx.conf sends errors here (error_log /var/log/nginx/error.log); the site logs its failures here too. */
export const NGINX_ERROR_LOG = "/var/log/nginx/error.log";
/** Prosody's HTTP server, reached over loopback only. */
const PROSODY_HTTP_HOST = "127.0.0.1";

interface NginxTemplateData {
  readonly httpListen: readonly string[];
  readonly httpsListen: readonly string[];
  readonly behindStream: { readonly proxy: string } | false;
  readonly turnName: string | false;
  readonly serverName: string;
  readonly accessLog: string;
  readonly errorLog: string;
  readonly acmeChallengePath: string;
  readonly acmeWebroot: string;
  readonly httpsBase: string;
  readonly certificate: string;
  readonly certificateKey: string;
  readonly webRoot: string;
  readonly configJsPath: string;
  readonly configJs: string;
  readonly externalApiJs: string;
  readonly tenantPattern: string;
  readonly staticDirectories: string;
  readonly tenantConfigJsRegex: string;
  readonly headerBuffers: { readonly count: number; readonly size: string };
  readonly xmppLocations: readonly XmppLocation[];
  readonly asapKeys: { readonly path: string; readonly dir: string; readonly localPort: number } | false;
}

/** One location proxying XMPP (WebSocket or BOSH) to Prosody, at the root or under a tenant. */
interface XmppLocation {
  /** The location's modifier and match, e.g. `= /xmpp-websocket`. */
  readonly match: string;
  readonly proxyPass: string;
  readonly websocket: boolean;
  readonly tenant: boolean;
}

/** A URL path as a PCRE fragment (the fixed paths hold only letters, "-", "." and "/"). */
function pathRegex(path: string): string {
  if (!/^\/[A-Za-z0-9./-]+$/.test(path)) throw new Error(`URL path ${path}: unexpected characters`);
  return path.replace(/\./g, "\\.");
}

/** Root and tenant locations for the WebSocket and BOSH paths (jitsi-meet.example's /<tenant>/xmpp-websocket…). */
function xmppLocations(prosodyUrl: string): XmppLocation[] {
  return [
    { path: URL_PATHS.websocket, websocket: true },
    { path: URL_PATHS.bosh, websocket: false },
  ].flatMap(({ path, websocket }) => [
    { match: `= ${path}`, proxyPass: prosodyUrl, websocket, tenant: false },
    {
      match: `~ "^/${TENANT_PATTERN}${pathRegex(path)}$"`,
      proxyPass: `${prosodyUrl}${path}?prefix=$jitsi_tenant&$args`,
      websocket,
      tenant: true,
    },
  ]);
}

const template = compileTemplate<NginxTemplateData>("nginx-site.conf.hbs");

function port(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${field}: must be an integer from 1 to 65535, got ${String(value)}`);
  }
  return value;
}

/** nginx's alias keeps the location's trailing slash semantics: a directory alias must end in one. */
function withTrailingSlash(path: string): string {
  return path.endsWith("/") ? path : `${path}/`;
}

export function renderNginxSite(d: Deployment): RenderedFile {
  const paths = runtimeHostPaths(d);
  const ports = runtimePorts(d);
  const httpsPort = port(ports.https, "runtime.httpsPort");
  const host = nginxHostname(d.domain, "domain");
  const content = template({
    httpListen: listenOn(d, port(ports.http, "runtime.httpPort")),
    // With TURN, nginx's stream proxy owns the HTTPS port (nginxStream.ts) and hands the site every non-TURN
    // connection on loopback with the PROXY protocol.
    httpsListen:
      d.turn === undefined
        ? listenOn(d, httpsPort).map((address) => `${address} ssl http2`)
        : [`${siteBehindStream(d)} ssl http2 proxy_protocol`],
    behindStream: d.turn === undefined ? false : { proxy: STREAM_LOOPBACK },
    // turn.<domain> is on the certificate: its HTTP-01 challenge comes to port 80 with that Host.
    turnName: d.turn === undefined ? false : nginxHostname(turnHostname(d.domain), "domain"),
    serverName: host,
    accessLog: nginxString(underRoot(d, NGINX_ACCESS_LOG), "access log path"),
    errorLog: nginxString(underRoot(d, NGINX_ERROR_LOG), "error log path"),
    acmeChallengePath: URL_PATHS.acmeChallenge,
    acmeWebroot: nginxString(paths.acmeWebroot, "ACME webroot"),
    // Bare word: a validated hostname and a port hold nothing nginx would interpret.
    httpsBase: httpsPort === 443 ? `https://${host}` : `https://${host}:${String(httpsPort)}`,
    certificate: nginxString(paths.certificate, "certificate path"),
    certificateKey: nginxString(paths.certificateKey, "certificate key path"),
    webRoot: nginxString(paths.jitsiMeetWebRoot, "web root"),
    configJsPath: URL_PATHS.configJs,
    configJs: nginxString(paths.meetConfigJs, "config.js path"),
    externalApiJs: nginxString(`${paths.jitsiMeetWebRoot}/libs/external_api.min.js`, "web root"),
    tenantPattern: TENANT_PATTERN,
    staticDirectories: STATIC_DIRECTORIES.join("|"),
    tenantConfigJsRegex: `^/${TENANT_PATTERN}${pathRegex(URL_PATHS.configJs)}$`,
    headerBuffers: {
      count: HTTP_REQUEST_LIMITS.nginxLargeHeaderBuffers.count,
      size: `${String(HTTP_REQUEST_LIMITS.nginxLargeHeaderBuffers.sizeBytes / 1024)}k`,
    },
    xmppLocations: xmppLocations(`http://${PROSODY_HTTP_HOST}:${String(port(ports.prosodyHttp, "runtime.prosodyHttpPort"))}`),
    asapKeys:
      d.auth.algorithm === "RS256"
        ? {
            path: URL_PATHS.asapKeys,
            dir: nginxString(withTrailingSlash(paths.asapKeysDir), "ASAP key directory"),
            localPort: port(ports.asapKeysLocal, "runtime.asapKeysLocalPort"),
          }
        : false,
  });
  return nginxConfigFile(paths.nginxSite, content);
}
