/**
 * Step 1: the public HTTPS side. The certificate must verify for the host (Node's normal verification, plus
 * any extra CA), `/config.js` must be served, and it must name the XMPP domain, the MUC and the WebSocket URL.
 */
import { request } from "node:https";
import type { PeerCertificate, TLSSocket } from "node:tls";
import { URL_PATHS } from "../shared/names.ts";
import { parseConfigJs } from "./configJs.ts";
import { pinnedLookup, trustAnchors, type NetworkOptions } from "./network.ts";
import type { DiscoveredHost } from "./types.ts";

export const CERTIFICATE_WARNING_DAYS = 14;
const MAX_CONFIG_JS_BYTES = 2 * 1024 * 1024;
const DAY_MS = 86_400_000;

export class DiscoveryError extends Error {
  override readonly name = "DiscoveryError";
}

export interface Discovery {
  host: DiscoveredHost;
  warnings: string[];
}

/** Days left and the warning (if any) for a certificate's notAfter. */
export function certificateExpiry(validTo: string, now: Date, warnDays = CERTIFICATE_WARNING_DAYS): { daysLeft: number; warning?: string } {
  const notAfter = Date.parse(validTo);
  if (Number.isNaN(notAfter)) return { daysLeft: 0, warning: `the certificate's expiry date ${JSON.stringify(validTo)} is unreadable` };
  const daysLeft = Math.floor((notAfter - now.getTime()) / DAY_MS);
  return daysLeft < warnDays
    ? { daysLeft, warning: `the certificate expires in ${daysLeft} day(s) (${validTo}); renewal should have happened by now` }
    : { daysLeft };
}

function get(url: URL, network: NetworkOptions, signal: AbortSignal): Promise<{ status: number; body: string; certificate: PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const ca = trustAnchors(network.ca);
    const lookup = pinnedLookup(network.resolve);
    // agent: false — a pooled keep-alive socket would outlive the run (Node 20's global agent keeps them).
    const req = request(url, { method: "GET", signal, agent: false, ...(ca ? { ca } : {}), ...(lookup ? { lookup } : {}), headers: { accept: "application/javascript, */*" } }, (res) => {
      const certificate = (res.socket as TLSSocket).getPeerCertificate();
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_CONFIG_JS_BYTES) {
          req.destroy(new DiscoveryError(`${url.pathname} is larger than ${MAX_CONFIG_JS_BYTES} bytes; is this a Jitsi host?`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), certificate }));
      res.on("error", reject);
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (error instanceof DiscoveryError) reject(error);
      else if (error.name === "AbortError") reject(new DiscoveryError(`timed out fetching ${url.href}`));
      // TLS verification failures carry a code such as ERR_TLS_CERT_ALTNAME_INVALID or CERT_HAS_EXPIRED.
      else reject(new DiscoveryError(`${url.host}: ${error.code ? `${error.code}: ` : ""}${error.message}`));
    });
    req.end();
  });
}

/** The deployment's base URL, normalised: https only, no query, no trailing slash. */
export function baseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DiscoveryError(`--url ${JSON.stringify(text)} is not an absolute URL; expected e.g. https://meet.example.com`);
  }
  if (url.protocol !== "https:") throw new DiscoveryError(`--url must be https:// (got ${url.protocol}); the point is to check the public certificate`);
  url.pathname = url.pathname.replace(/\/+$/, "");
  url.search = "";
  url.hash = "";
  return url;
}

export async function discover(base: URL, network: NetworkOptions, signal: AbortSignal, now: Date): Promise<Discovery> {
  const prefix = base.pathname.replace(/\/+$/, "");
  const configUrl = new URL(`${base.origin}${prefix}${URL_PATHS.configJs}`);
  const { status, body, certificate } = await get(configUrl, network, signal);
  if (status !== 200) throw new DiscoveryError(`GET ${configUrl.href} answered HTTP ${status}; expected 200 with Jitsi's config.js`);
  const hosts = parseConfigJs(body);
  if (!hosts.domain) throw new DiscoveryError(`${configUrl.pathname} has no constant hosts.domain; is this a Jitsi config.js?`);
  const warnings: string[] = [];
  if (!hosts.muc) throw new DiscoveryError(`${configUrl.pathname} has no constant hosts.muc`);
  let websocketUrl = hosts.websocket;
  if (!websocketUrl) {
    websocketUrl = `wss://${base.host}${prefix}${URL_PATHS.websocket}`;
    warnings.push(`config.js sets no websocket URL (BOSH only?); trying ${websocketUrl}`);
  }
  if (!/^wss?:\/\//.test(websocketUrl)) throw new DiscoveryError(`config.js websocket ${JSON.stringify(websocketUrl)} is not a ws:// or wss:// URL`);
  if (websocketUrl.startsWith("ws://")) warnings.push(`config.js websocket ${websocketUrl} is not TLS (wss://); browsers on https pages refuse it`);
  const host: DiscoveredHost = { domain: hosts.domain, muc: hosts.muc, focus: hosts.focus || `focus.${hosts.domain}`, websocketUrl };
  if (hosts.anonymousdomain) host.guestDomain = hosts.anonymousdomain;
  if (certificate.valid_to) {
    const expiry = certificateExpiry(certificate.valid_to, now);
    host.certificate = { subject: String(certificate.subject?.CN ?? ""), validTo: certificate.valid_to, daysLeft: expiry.daysLeft };
    if (expiry.warning) warnings.push(expiry.warning);
  }
  return { host, warnings };
}
