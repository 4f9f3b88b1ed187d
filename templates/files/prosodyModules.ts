/**
 * This project's own Prosody modules (templates/prosody-modules/mod_*.lua), installed into their own plugin
 * directory (hostPaths().projectProsodyPlugins) that the Prosody host config lists after Jitsi's:
 *  - mod_log_token_redaction: no JSON Web Token nor configured secret in any log sink (Jitsi's token_verification
 *    logs the whole token at error level when it refuses a join, and the app secret at debug level as it loads);
 *    the host config also runs it with RunScript, so it acts before the first line is logged;
 *  - mod_token_room_bypass: the token claims context.user.lobby_bypass / security_bypass take effect.
 * The Lua sources are data: read as they are, never filled in, so nothing in them depends on the deployment.
 */
import { readFileSync } from "node:fs";
import type { Deployment, RenderedFile } from "../deployment.ts";
import { PROJECT_PROSODY_MODULES } from "jitsi-jwt-token/shared";
import { runtimeHostPaths } from "./hostRuntime.ts";

const SOURCES = Object.values(PROJECT_PROSODY_MODULES).map((name) => {
  const fileName = `mod_${name}.lua`;
  return { fileName, content: readFileSync(new URL(`../prosody-modules/${fileName}`, import.meta.url), "utf8") };
});

/** One public, root-owned file per module; Prosody loads modules at start, so a change restarts it. */
export function renderProsodyModules(d: Deployment): RenderedFile[] {
  const dir = runtimeHostPaths(d).projectProsodyPlugins;
  return SOURCES.map(({ fileName, content }) => ({
    path: `${dir}${fileName}`,
    content,
    mode: 0o644,
    owner: "root",
    group: "root",
    effect: { service: "prosody", action: "restart" },
    secret: false,
  }));
}
