/**
 * Host paths and ports as one Deployment sees them: the production values from names.ts, with the test-only
 * RuntimeOverrides applied (paths moved under `rootDir`, ports and bind address replaced).
 */
import type { Deployment } from "../deployment.ts";
import { hostPaths, PORTS } from "jitsi-jwt-token/shared";

export type HostPaths = ReturnType<typeof hostPaths>;

/** `path` under the deployment's rootDir (unchanged in production). */
export function underRoot(d: Deployment, path: string): string {
  const root = d.runtime?.rootDir;
  if (root === undefined || root === "") return path;
  return `${root.replace(/\/+$/, "")}${path}`;
}

/** hostPaths(domain) with every path moved under the deployment's rootDir. */
export function runtimeHostPaths(d: Deployment): HostPaths {
  const paths = hostPaths(d.domain);
  const moved = Object.fromEntries(Object.entries(paths).map(([key, path]) => [key, underRoot(d, path)]));
  return moved as HostPaths;
}

/** The ports the programs on the host listen on or connect to, with overrides applied. */
export function runtimePorts(d: Deployment) {
  const runtime = d.runtime ?? {};
  return {
    https: runtime.httpsPort ?? PORTS.publicHttps,
    http: runtime.httpPort ?? PORTS.publicHttp,
    prosodyHttp: runtime.prosodyHttpPort ?? PORTS.prosodyHttp,
    xmppClient: runtime.xmppClientPort ?? PORTS.xmppClient,
    turnUdp: runtime.turnUdpPort ?? PORTS.turnUdp,
    turnTls: runtime.turnTlsPort ?? PORTS.turnTls,
    siteBehindStream: runtime.siteBehindStreamPort ?? PORTS.siteBehindStream,
    asapKeysLocal: runtime.asapKeysLocalPort ?? PORTS.asapKeysLocal,
  } as const;
}
