/** /etc/jitsi/jicofo/jicofo.conf: Jicofo's XMPP login, brewery and the token-decides-moderator pattern. */
import type { Deployment, RenderedFile } from "../deployment.ts";
import { hoconInteger, hoconString, hoconStringList } from "../escape/hocon.ts";
import { ACCOUNTS, xmppNames } from "jitsi-jwt-token/shared";
import { compileTemplate } from "../handlebars.ts";
import { jitsiServiceSecretFile } from "./jitsiSystemUsers.ts";
import { runtimeHostPaths, runtimePorts } from "./hostRuntime.ts";

interface JicofoTemplateData {
  readonly breweryJid: string;
  readonly xmppHost: string;
  readonly xmppPort: string;
  readonly authDomain: string;
  readonly xmppDomain: string;
  readonly username: string;
  readonly password: string;
  readonly conferenceMuc: string;
  readonly clientProxy: string;
  readonly trustedDomains: string;
}

const template = compileTemplate<JicofoTemplateData>("jicofo.conf.hbs");

/** Jicofo talks to the Prosody on its own host. */
const JICOFO_XMPP_HOST = "localhost";

export function renderJicofoConf(d: Deployment): RenderedFile {
  const names = xmppNames(d.domain);
  const content = template({
    breweryJid: hoconString(names.brewery, "brewery JID"),
    xmppHost: hoconString(JICOFO_XMPP_HOST, "jicofo XMPP host"),
    xmppPort: hoconInteger(runtimePorts(d).xmppClient, "runtime.xmppClientPort"),
    authDomain: hoconString(names.auth, "domain"),
    xmppDomain: hoconString(names.domain, "domain"),
    username: hoconString(ACCOUNTS.focus, "focus account"),
    password: hoconString(d.accounts.focusPassword, "accounts.focusPassword"),
    conferenceMuc: hoconString(names.muc, "domain"),
    clientProxy: hoconString(names.focus, "domain"),
    trustedDomains: hoconStringList([], "trusted domains"),
  });
  return jitsiServiceSecretFile(runtimeHostPaths(d).jicofoConf, content, "jicofo", "jicofo");
}
