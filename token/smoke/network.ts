/**
 * How the smoke test reaches the host: extra trust anchors (a staging or test CA, added to Node's bundled roots
 * rather than replacing them) and curl-style `--resolve HOST:ADDRESS` pins for hosts DNS does not know yet.
 * Both the HTTPS fetch and the WebSocket use the same settings, so they always talk to the same machine.
 */
import { lookup as dnsLookup } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import { rootCertificates } from "node:tls";

export interface NetworkOptions {
  /** Extra CA certificates (PEM) to trust besides Node's bundled roots. */
  ca?: string | string[];
  /** Host name → IP address, used instead of DNS (like curl --resolve). */
  resolve?: Readonly<Record<string, string>>;
}

export function trustAnchors(ca: NetworkOptions["ca"]): string[] | undefined {
  if (ca === undefined) return undefined;
  return [...rootCertificates, ...(Array.isArray(ca) ? ca : [ca])];
}

/** A dns.lookup replacement that answers pinned names from the map and everything else from DNS. */
export function pinnedLookup(pins: NetworkOptions["resolve"]): LookupFunction | undefined {
  if (pins === undefined || Object.keys(pins).length === 0) return undefined;
  const table = new Map(Object.entries(pins).map(([host, address]) => [host.toLowerCase(), address]));
  return (hostname, options, callback) => {
    const address = table.get(hostname.toLowerCase());
    if (address === undefined) {
      dnsLookup(hostname, options, callback);
      return;
    }
    const family = isIP(address);
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

/** Validates `HOST:ADDRESS` pins from the command line. */
export function parseResolvePins(values: readonly string[]): Record<string, string> {
  const pins: Record<string, string> = {};
  for (const value of values) {
    const at = value.indexOf(":");
    const host = value.slice(0, at);
    const address = value.slice(at + 1).replace(/^\[(.*)\]$/, "$1");
    if (at <= 0 || isIP(address) === 0) throw new Error(`--resolve ${JSON.stringify(value)}: expected HOST:IP-ADDRESS, e.g. meet.example.com:203.0.113.7`);
    pins[host] = address;
  }
  return pins;
}
