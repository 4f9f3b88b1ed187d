/**
 * The certbot deploy hook: after each renewal, reload what presents the certificate; with TURN, also refresh
 * coturn's own copy of it and restart coturn (jitsi-meet's resources/coturn-le-update.sh does the same job for
 * its packaged coturn).
 */
import { dirname } from "node:path";
import type { Deployment, RenderedFile } from "../deployment.ts";
import { shellQuote } from "../escape/shell.ts";
import type { ServiceName } from "jitsi-jwt-token/shared";
import { compileTemplate } from "../handlebars.ts";
import { runtimeHostPaths } from "./hostRuntime.ts";

/**
 * Services that present the Let's Encrypt certificate. Only nginx terminates TLS for browsers; Prosody is
 * reached through nginx and uses its own certificates for the internal auth domain.
 */
export const CERTIFICATE_CONSUMERS: readonly ServiceName[] = ["nginx"];

interface RenewalHookTemplateData {
  readonly lineage: string;
  readonly contact: string;
  readonly storeClient: string;
  readonly reloads: readonly string[];
  readonly reloadedNames: string;
  readonly coturn: { readonly certificate: string; readonly key: string } | false;
}

const template = compileTemplate<RenewalHookTemplateData>("renewal-hook.sh.hbs");

export function renderRenewalHook(d: Deployment): RenderedFile {
  const paths = runtimeHostPaths(d);
  const content = template({
    lineage: shellQuote(dirname(paths.certificate), "domain"),
    contact: shellQuote(d.letsEncryptEmail ?? "", "letsEncryptEmail"),
    storeClient: shellQuote(paths.certificateStoreClient, "certificate store client"),
    reloads: CERTIFICATE_CONSUMERS.map((service) => shellQuote(service, "service")),
    // Service names are fixed identifiers (names.ts), safe inside the double-quoted message.
    reloadedNames: CERTIFICATE_CONSUMERS.join(" "),
    // With TURN, coturn presents the same certificate (it covers turn.<domain>) from its own copy.
    coturn:
      d.turn === undefined
        ? false
        : { certificate: shellQuote(paths.coturnCertificate, "coturn certificate"), key: shellQuote(paths.coturnCertificateKey, "coturn key") },
  });
  return {
    path: paths.renewalHook,
    content,
    mode: 0o755,
    owner: "root",
    group: "root",
    effect: null,
    secret: false,
  };
}
