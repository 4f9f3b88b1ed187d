/**
 * Jitsi Meet's config.js (/etc/jitsi/meet/<domain>-config.js): which XMPP domains, MUC and endpoints the
 * browser client uses. lib-jitsi-meet logs in on `anonymousdomain` unless the page carries a token, then on
 * `domain`; so `anonymousdomain` is set exactly when the guest VirtualHost exists.
 */
import type { Deployment, RenderedFile } from "../deployment.ts";
import { compileTemplate } from "../handlebars.ts";
import { URL_PATHS, xmppNames } from "../names.ts";
import { runtimeHostPaths, runtimePorts } from "./hostRuntime.ts";

interface ConfigJsTemplateData {
  readonly hosts: { readonly domain: string; readonly anonymousdomain: string | false; readonly muc: string; readonly focus: string };
  readonly bosh: string;
  readonly websocket: string;
  readonly stunServer: string | false;
}

const template = compileTemplate<ConfigJsTemplateData>("config.js.hbs");

export function renderMeetConfigJs(d: Deployment): RenderedFile {
  const names = xmppNames(d.domain);
  const httpsPort = runtimePorts(d).https;
  const authority = httpsPort === 443 ? d.domain : `${d.domain}:${String(httpsPort)}`;
  const content = template({
    hosts: { domain: names.domain, anonymousdomain: d.guests ? names.guest : false, muc: names.muc, focus: names.focus },
    bosh: `https://${authority}${URL_PATHS.bosh}`,
    websocket: `wss://${authority}${URL_PATHS.websocket}`,
    stunServer: d.turn === undefined ? false : `stun:${d.domain}:${String(runtimePorts(d).turnUdp)}`,
  });
  return {
    path: runtimeHostPaths(d).meetConfigJs,
    content,
    mode: 0o644,
    owner: "root",
    group: "root",
    // nginx reads it on every request: nothing to restart.
    effect: null,
    secret: false,
  };
}
