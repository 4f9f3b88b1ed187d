/**
 * The RS256 public keys Prosody fetches from its ASAP key server (this host's nginx serves the directory):
 * one `<sha256hex(kid)>.pem` per key id, the name Prosody asks for.
 */
import type { Deployment, RenderedFile } from "../deployment.ts";
import { asapKeyFileName } from "../validate.ts";
import { runtimeHostPaths } from "./hostRuntime.ts";

export function renderAsapPublicKeys(d: Deployment): RenderedFile[] {
  if (d.auth.algorithm !== "RS256") return [];
  const dir = runtimeHostPaths(d).asapKeysDir;
  return Object.entries(d.auth.publicKeys)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([kid, pem]) => ({
      path: `${dir}/${asapKeyFileName(kid)}`,
      content: pem,
      // Public by nature: served to anyone over HTTPS.
      mode: 0o644,
      owner: "root",
      group: "root",
      // Prosody caches a fetched key for good; a replaced key under the same kid is only re-read after a restart.
      effect: { service: "prosody", action: "restart" },
      secret: false,
    }));
}
