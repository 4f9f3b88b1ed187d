/**
 * Jitsi Meet's config.js (/etc/jitsi/meet/<domain>-config.js): which XMPP domains, MUC and endpoints the
 * browser client uses. lib-jitsi-meet logs in on `anonymousdomain` unless the page carries a token, then on
 * `domain`; so `anonymousdomain` is set exactly when the guest VirtualHost exists.
 */
import type { Deployment, RenderedFile } from "../deployment.ts";
import { jsString } from "../escape/js.ts";
import { compileTemplate } from "../handlebars.ts";
import { URL_PATHS, xmppNames } from "jitsi-jwt-token/shared";
import { runtimeHostPaths, runtimePorts } from "./hostRuntime.ts";

interface ConfigJsTemplateData {
  readonly hosts: { readonly domain: string; readonly anonymousdomain: string | false; readonly mucLiteral: string; readonly focus: string };
  readonly boshLiteral: string;
  readonly websocketLiteral: string;
  readonly stunServer: string | false;
}

/**
 * nginx's server-side include of a tenant variable the site sets ($jitsi_subdomain = "<tenant>.", $jitsi_subdir =
 * "<tenant>/", both empty at the root), as jitsi-meet's own config.js echoes `subdomain` and `subdir`. Single
 * quotes, so the directive never ends the surrounding double-quoted JavaScript string; the value nginx puts in its
 * place holds only letters, digits, hyphens and the "." or "/" (token/shared/names.ts TENANT_PATTERN).
 */
const SSI_TENANT = {
  subdomain: "<!--# echo var='jitsi_subdomain' default='' -->",
  subdir: "<!--# echo var='jitsi_subdir' default='' -->",
} as const;

/** A JavaScript string literal of `before + <SSI directive> + after`; both parts escaped as jsString does. */
function withTenant(before: string, directive: string, after: string): string {
  return `${jsString(before).slice(0, -1)}${directive}${jsString(after).slice(1)}`;
}

const template = compileTemplate<ConfigJsTemplateData>("config.js.hbs");

export function renderMeetConfigJs(d: Deployment): RenderedFile {
  const names = xmppNames(d.domain);
  const httpsPort = runtimePorts(d).https;
  const authority = httpsPort === 443 ? d.domain : `${d.domain}:${String(httpsPort)}`;
  const content = template({
    hosts: {
      domain: names.domain,
      anonymousdomain: d.guests ? names.guest : false,
      mucLiteral: withTenant(names.muc.slice(0, -names.domain.length), SSI_TENANT.subdomain, names.domain),
      focus: names.focus,
    },
    boshLiteral: withTenant(`https://${authority}/`, SSI_TENANT.subdir, URL_PATHS.bosh.slice(1)),
    websocketLiteral: withTenant(`wss://${authority}/`, SSI_TENANT.subdir, URL_PATHS.websocket.slice(1)),
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
