/**
 * The renderer: a deployment's settings in, every configuration file of the Jitsi host out. Pure — no I/O, no
 * clock, no randomness — so the same input always yields byte-identical files, in the same order.
 */
import type { Deployment, RenderedFile } from "./deployment.ts";
import { renderAsapPublicKeys } from "./files/asapKeys.ts";
import { renderMeetConfigJs } from "./files/configJs.ts";
import { renderCoturnConf } from "./files/coturn.ts";
import { renderJicofoConf } from "./files/jicofo.ts";
import { renderJvbConf } from "./files/jvb.ts";
import { renderNginxSite } from "./files/nginx.ts";
import { renderNginxStream } from "./files/nginxStream.ts";
import { renderProsodyHostConfig } from "./files/prosody.ts";
import { renderProsodyModules } from "./files/prosodyModules.ts";
import { renderRenewalHook } from "./files/renewalHook.ts";
import { validateDeployment } from "./validate.ts";

/**
 * Validates `input` and renders every file, ordered as the services restart: Prosody first, then Jicofo, the
 * videobridge, and the web side.
 *
 * @param input - a `Deployment` (or anything: it is validated first, e.g. parsed JSON).
 * @returns every file of the host: path, content, mode (octal bits), owner, group, restart effect, secretness.
 * @throws DeploymentError (a ProblemError) naming each bad field and what is allowed; never a secret's value.
 */
export function renderFiles(input: unknown): RenderedFile[] {
  const d = validateDeployment(input);
  return [
    renderProsodyHostConfig(d),
    ...renderProsodyModules(d),
    ...renderAsapPublicKeys(d),
    renderJicofoConf(d),
    renderJvbConf(d),
    ...renderCoturnConf(d),
    renderMeetConfigJs(d),
    renderNginxSite(d),
    ...renderNginxStream(d),
    renderRenewalHook(d),
  ];
}

export type { Deployment, RenderedFile };
