/**
 * nginx configuration literals. A double-quoted nginx string undoes `\"` and `\\`, so those two are escaped;
 * what nginx cannot quote at all is rejected: `$` starts a variable in most directives and has no escape, and
 * control characters (line breaks included) have no place in a path or a name.
 */

const LONE_SURROGATE = /\p{Cs}/u;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;

/** `value` as a double-quoted nginx string, read back unchanged by nginx; rejects what cannot be quoted. */
export function nginxString(value: string, field: string): string {
  if (value.length === 0) throw new Error(`${field}: must not be empty`);
  if (value.includes("$")) {
    throw new Error(`${field}: "$" cannot be written in nginx configuration (it starts a variable and has no escape)`);
  }
  if (CONTROL.test(value)) throw new Error(`${field}: control characters and line breaks are not allowed`);
  if (LONE_SURROGATE.test(value)) throw new Error(`${field}: holds an unpaired UTF-16 surrogate`);
  return `"${value.replace(/[\\"]/g, (char) => `\\${char}`)}"`;
}

/** Upper bounds from RFC 1035: 63 octets a label, 253 for the name. */
const HOSTNAME_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A DNS hostname for `server_name` and redirect targets. Quoting is not enough there: nginx reads a leading `~`
 * as a regular expression and `*` as a wildcard even inside quotes, so only letters, digits, hyphens and dots
 * pass, lower-cased as nginx compares them.
 */
export function nginxHostname(value: string, field: string): string {
  const host = value.toLowerCase();
  const labels = host.split(".");
  if (host.length > 253 || labels.length < 2 || !labels.every((label) => HOSTNAME_LABEL.test(label))) {
    throw new Error(
      `${field}: ${JSON.stringify(value)} is not a DNS hostname (dot-separated labels of a-z, 0-9 and inner hyphens)`,
    );
  }
  return host;
}
