/**
 * config.js as nginx serves it: the rendered file carries nginx server-side include directives for the tenant
 * (`<!--# echo var='jitsi_subdomain' default='' -->`, `jitsi_subdir`). Tests that evaluate config.js without a
 * running nginx expand them here; test/templates/nginx.test.ts checks that the real nginx serves byte-for-byte
 * what this function returns, for the root site and for a tenant.
 */
const ECHO = /<!--# echo var='(jitsi_subdomain|jitsi_subdir)' default='' -->/g;

/** `content` with the tenant's echo directives expanded; no tenant = the root site (both empty). */
export function expandTenantIncludes(content: string, tenant?: string): string {
  return content.replace(ECHO, (_directive, name: string) => {
    if (tenant === undefined) return "";
    return name === "jitsi_subdomain" ? `${tenant}.` : `${tenant}/`;
  });
}
