/**
 * A model of how the Jitsi web client turns the page URL into the MUC node it joins — kept independent of the
 * normaliser in roomName.ts so that each checks the other (test/token/roomModel.test.ts), and checked itself
 * against jitsi-meet's own code in the plugin e2e.
 *
 * The steps, written from the behaviour of jitsi-meet `react/features/base/util/uri.ts` (not copied):
 * 1. the browser parses the link (WHATWG URL) and the app reads `location.href`;
 * 2. `parseURIString`: `_fixURIStringScheme` keeps the last of any leading schemes (non-http(s) becomes https:),
 *    `parseStandardURIString` strips every whitespace character (JS `\s`) from the whole string, then splits
 *    scheme, authority, path (up to the first `?` or `#`), query and fragment;
 * 3. `_fixPathPart` removes the literal characters `: ? # [ ] @ ! $ & ' ( ) * + , ; = > < / "` from each path
 *    segment (their %XX forms stay);
 * 4. the room is the last segment (none when it is empty), the tenant everything between the first `/` and it;
 * 5. `getBackendSafeRoomName`: decode once (the text stays as it is when decoding fails), NFKC, lowercase,
 *    encodeURIComponent, lowercase again.
 */

/** What the client derives from a meeting link. */
export interface ClientRoom {
  /** The room segment after the client's clean-up (step 4), undefined when the link names no room. */
  segment: string | undefined;
  /** The tenant path (without slashes at either end), if any. */
  tenant: string | undefined;
  /** The MUC node the client joins (step 5); undefined when there is no room or the client cannot encode it. */
  node: string | undefined;
}

const WHITESPACE = /\s/g;
/** Characters the client deletes from every path segment (the class `_ROOM_EXCLUDE_PATTERN` describes). */
const DROPPED_FROM_SEGMENTS = new Set([...":?#[]@!$&'()*+,;=></\""]);
const SCHEMES = /^(?:[a-z][a-z0-9.+-]*:)+/i;

function withWellKnownScheme(uri: string): string {
  const match = SCHEMES.exec(uri);
  if (!match) return uri;
  const schemes = match[0].split(":");
  const last = `${(schemes[schemes.length - 2] ?? "").toLowerCase()}:`;
  const rest = uri.slice(match[0].length);
  return rest.startsWith("//") ? `${last === "http:" || last === "https:" ? last : "https:"}${rest}` : rest;
}

function pathOf(uri: string): string {
  let rest = uri.replace(WHITESPACE, "");
  const scheme = /^[a-z][a-z0-9.+-]*:/i.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  const authority = /^\/\/[^/?#]+/.exec(rest);
  if (authority) rest = rest.slice(authority[0].length);
  const end = rest.search(/[?#]/);
  const path = end < 0 ? rest : rest.slice(0, end);
  if (path === "") return "/";
  return path.startsWith("/") ? path : `/${path}`;
}

function dropExcluded(segment: string): string {
  let kept = "";
  for (const ch of segment) if (!DROPPED_FROM_SEGMENTS.has(ch)) kept += ch;
  return kept;
}

/**
 * The node the client joins for a room segment (step 5). Returns undefined for an empty result or when the
 * client's encodeURIComponent would throw (an unpaired surrogate).
 */
export function clientNodeOfSegment(segment: string): string | undefined {
  let text = segment;
  try {
    text = decodeURIComponent(segment);
  } catch {
    // not a valid escape sequence: the client goes on with the text as it is
  }
  const lowered = text.normalize("NFKC").toLowerCase();
  if (lowered === "") return undefined;
  try {
    return encodeURIComponent(lowered).toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * The room, tenant and MUC node the web client derives from `link` (an absolute http(s) URL as a user opens it).
 * @throws TypeError when `link` is not an absolute URL.
 */
export function clientRoomOfLink(link: string): ClientRoom {
  const href = new URL(link).href; // what the browser puts in location.href
  const segments = pathOf(withWellKnownScheme(href)).split("/").map(dropExcluded);
  const path = segments.join("/");
  const cut = path.lastIndexOf("/");
  const segment = path.slice(cut + 1) || undefined;
  const tenant = cut > 1 ? path.slice(1, cut) : undefined;
  return { segment, tenant, node: segment === undefined ? undefined : clientNodeOfSegment(segment) };
}
