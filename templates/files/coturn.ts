/**
 * coturn's configuration (/etc/turnserver.conf): TURN over UDP and over TLS for clients whose networks block
 * the videobridge's UDP port, with time-limited credentials from a shared secret and a deny list that keeps
 * relays out of the VPC, loopback, link-local and special-purpose ranges.
 */
import type { Deployment, RenderedFile, TurnSettings } from "../deployment.ts";
import { compileTemplate } from "../handlebars.ts";
import { cidrToRange, vpcResolver } from "../ipRanges.ts";
import { PORTS, turnHostname } from "jitsi-jwt-token/shared";
import { runtimeHostPaths, runtimePorts } from "./hostRuntime.ts";

interface CoturnTemplateData {
  readonly secret: string;
  readonly realm: string;
  readonly turnHostname: string;
  readonly listeningIps: readonly string[];
  readonly udpPort: number;
  readonly tlsPort: number;
  readonly certificate: string;
  readonly certificateKey: string;
  readonly relayIp: string;
  readonly externalIp: string;
  readonly relayMin: number;
  readonly relayMax: number;
  readonly vpcCidr: string;
  readonly vpcSecondaryCidrs: readonly string[];
  readonly deniedPeers: readonly string[];
}

const template = compileTemplate<CoturnTemplateData>("coturn.conf.hbs");

/**
 * Peer ranges no relay may reach besides this VPC. IPv4 and IPv6 special-purpose blocks (IANA special-purpose
 * address registries, RFC 6890), the same set jitsi-meet's packaged coturn configuration denies
 * (doc/debian/jitsi-meet-turn/turnserver.conf), plus the EC2 metadata and DNS addresses named explicitly.
 */
export const SPECIAL_PURPOSE_PEERS: readonly string[] = [
  "0.0.0.0-0.255.255.255", // "this network"
  "10.0.0.0-10.255.255.255", // private (RFC 1918)
  "100.64.0.0-100.127.255.255", // carrier-grade NAT (RFC 6598)
  "127.0.0.0-127.255.255.255", // loopback
  "169.254.0.0-169.254.255.255", // link-local: EC2 metadata 169.254.169.254, Route 53 resolver 169.254.169.253
  "172.16.0.0-172.31.255.255", // private (RFC 1918)
  "192.0.0.0-192.0.0.255", // IETF protocol assignments
  "192.0.2.0-192.0.2.255", // TEST-NET-1
  "192.88.99.0-192.88.99.255", // 6to4 relay anycast
  "192.168.0.0-192.168.255.255", // private (RFC 1918)
  "198.18.0.0-198.19.255.255", // benchmarking
  "198.51.100.0-198.51.100.255", // TEST-NET-2
  "203.0.113.0-203.0.113.255", // TEST-NET-3
  "224.0.0.0-239.255.255.255", // multicast (also no-multicast-peers)
  "240.0.0.0-255.255.255.255", // reserved, broadcast
  "::1", // loopback
  "::ffff:0.0.0.0-::ffff:255.255.255.255", // IPv4-mapped: would reach every IPv4 range above
  "64:ff9b::-64:ff9b::ffff:ffff", // NAT64
  "100::-100::ffff:ffff:ffff:ffff", // discard-only
  "2001::-2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", // IETF protocol assignments (Teredo, ...)
  "2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", // 6to4
  "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", // unique local: the EC2 IPv6 metadata/DNS fd00:ec2::254/::253
  "fd00:ec2::254", // EC2 instance metadata over IPv6 (inside fc00::/7, named so nobody drops it unknowingly)
  "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", // link-local
  "ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", // multicast
];

/**
 * Every denied-peer-ip value for one deployment: each of its VPC's blocks (as a range; the primary's resolver
 * too), whatever range they are, then the fixed list.
 */
export function deniedPeerRanges(turn: TurnSettings): string[] {
  const secondary = (turn.vpcSecondaryCidrs ?? []).filter((cidr) => cidr !== turn.vpcCidr).map(cidrToRange);
  return [cidrToRange(turn.vpcCidr), vpcResolver(turn.vpcCidr), ...secondary, "169.254.169.254", ...SPECIAL_PURPOSE_PEERS];
}

/** coturn's configuration; nothing when TURN is off. */
export function renderCoturnConf(d: Deployment): RenderedFile[] {
  if (d.turn === undefined) return [];
  const paths = runtimeHostPaths(d);
  const ports = runtimePorts(d);
  const bindAddress = d.runtime?.bindAddress;
  const content = template({
    secret: d.turn.secret,
    realm: d.domain,
    turnHostname: turnHostname(d.domain),
    // Production: every address (UDP from clients on the private address, TLS from nginx on loopback).
    listeningIps: bindAddress === undefined ? [] : [bindAddress],
    udpPort: ports.turnUdp,
    tlsPort: ports.turnTls,
    certificate: paths.coturnCertificate,
    certificateKey: paths.coturnCertificateKey,
    relayIp: d.network.privateIp,
    externalIp: d.network.publicIp,
    relayMin: PORTS.turnRelayMin,
    relayMax: PORTS.turnRelayMax,
    vpcCidr: d.turn.vpcCidr,
    vpcSecondaryCidrs: d.turn.vpcSecondaryCidrs ?? [],
    deniedPeers: deniedPeerRanges(d.turn),
  });
  return [
    {
      path: paths.coturnConf,
      content,
      // Holds the shared secret: coturn reads it as group turnserver, nobody else may.
      mode: 0o640,
      owner: "root",
      group: "turnserver",
      effect: { service: "coturn", action: "restart" },
      secret: true,
    },
  ];
}
