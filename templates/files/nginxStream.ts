/**
 * nginx's stream proxy for TURN over TLS on the HTTPS port (routing by SNI with ssl_preread): `turn.<domain>` to
 * coturn's TLS listener, everything else to the site, which then listens on loopback only and takes the client
 * address from the PROXY protocol. Rendered only when TURN is on.
 */
import type { Deployment, RenderedFile } from "../deployment.ts";
import { nginxHostname } from "../escape/nginx.ts";
import { compileTemplate } from "../handlebars.ts";
import { turnHostname } from "jitsi-jwt-token/shared";
import { runtimeHostPaths, runtimePorts, underRoot } from "./hostRuntime.ts";
import { listenOn, nginxConfigFile } from "./nginxListen.ts";

/** Loopback address of the site and coturn's TLS listener behind the stream proxy. */
export const STREAM_LOOPBACK = "127.0.0.1";
/** The hop that strips the PROXY header before coturn: a Unix socket nothing outside nginx can reach. */
export const TURN_HOP_SOCKET = "/run/nginx-jitsi-turn.sock";

interface StreamTemplateData {
  readonly httpsPort: number;
  readonly turnHostname: string;
  readonly listen: readonly string[];
  readonly site: string;
  readonly turnHop: string;
  readonly turnTls: string;
}

const template = compileTemplate<StreamTemplateData>("nginx-stream.conf.hbs");

/** Where the site listens when TURN shares the HTTPS port: loopback, PROXY protocol. */
export function siteBehindStream(d: Deployment): string {
  return `${STREAM_LOOPBACK}:${String(runtimePorts(d).siteBehindStream)}`;
}

export function renderNginxStream(d: Deployment): RenderedFile[] {
  if (d.turn === undefined) return [];
  const ports = runtimePorts(d);
  const content = template({
    httpsPort: ports.https,
    turnHostname: nginxHostname(turnHostname(d.domain), "domain"),
    listen: listenOn(d, ports.https),
    site: siteBehindStream(d),
    // Bare word: rootDir is a validated plain path (A-Z a-z 0-9 . _ / + -), nothing nginx would interpret.
    turnHop: `unix:${underRoot(d, TURN_HOP_SOCKET)}`,
    turnTls: `${STREAM_LOOPBACK}:${String(ports.turnTls)}`,
  });
  return [nginxConfigFile(runtimeHostPaths(d).nginxStream, content)];
}
