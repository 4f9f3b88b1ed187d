/** What the site and the stream proxy share: `listen` addresses and how an nginx file lands. */
import { isIP } from "node:net";
import type { Deployment, RenderedFile } from "../deployment.ts";

/** `listen` arguments: both address families in production, the one test address when overridden. */
export function listenOn(d: Deployment, portNumber: number): string[] {
  const address = d.runtime?.bindAddress;
  if (address === undefined) return [String(portNumber), `[::]:${String(portNumber)}`];
  const family = isIP(address);
  if (family === 0) throw new Error(`runtime.bindAddress: ${JSON.stringify(address)} is not an IP address`);
  return [family === 6 ? `[${address}]:${String(portNumber)}` : `${address}:${String(portNumber)}`];
}

/** An nginx configuration file: world-readable (no secrets), root-owned, nginx reloads when it changes. */
export function nginxConfigFile(path: string, content: string): RenderedFile {
  return { path, content, mode: 0o644, owner: "root", group: "root", effect: { service: "nginx", action: "reload" }, secret: false };
}
