/**
 * The canonical room: from a name a user types, the one value the meeting link's path segment, the token's `room`
 * claim and `explain` all come from, so that the browser lands in exactly the room the claim names.
 *
 * The web client does not use the path segment as it is (jitsi-meet `react/features/base/util/uri.ts`): it deletes
 * the literal characters `: ? # [ ] @ ! $ & ' ( ) * + , ; = > < / "` from each segment (`_fixPathPart`), then
 * decodes once, NFKC-normalises, lowercases, percent-encodes and lowercases again (`getBackendSafeRoomName`). So a
 * name is read as if typed after the slash: those characters are dropped, one level of %XX is decoded, and the
 * result is the room's text. The link carries that text fully percent-encoded (nothing left for the client to
 * drop); the claim is the node the client derives from it. Prosody compares the claim (lowercased) with that node.
 *
 * token/clientRoom.ts models the client independently; the two are property-tested against each other and
 * against jitsi-meet's own functions (plugin e2e).
 */

import { FieldError } from "./errors.ts";

/**
 * The wildcard room claim: the token is valid for every room. Only an explicit request yields it
 * (`mintToken({ allRooms: true })`, `jitsi-token mint --all-rooms`); no room name ever does.
 */
export const ANY_ROOM = "*";

/** XMPP (RFC 7622) limits a JID localpart to 1023 bytes; the node is ASCII, so characters = bytes. */
export const MAX_NODE_BYTES = 1023;

/** Why a room name that normalises to "*" is refused. */
export const WILDCARD_NAME_MESSAGE = 'normalises to "*", the wildcard for every room; a room name never yields it (a token for every room must be asked for explicitly: allRooms / --all-rooms)';

/** The characters the web client deletes from a path segment (jitsi-meet `_ROOM_EXCLUDE_PATTERN`). */
export const CLIENT_DROPPED_CHARACTERS = ":?#[]@!$&'()*+,;=></\"";

const DROPPED = /[:?#[\]@!$&'()*+,;=></"]/g;
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** What XMPP nodeprep (RFC 3920 appendix A) leaves unchanged among encodeURIComponent's lower-cased output. */
const NODEPREP_STABLE = /^[a-z0-9%\-_.!~*()]+$/;

/** Whether XMPP nodeprep leaves `node` (a lower-cased encodeURIComponent output) unchanged and accepts it. */
export function isNodeprepStable(node: string): boolean {
  return NODEPREP_STABLE.test(node);
}

/**
 * Link segments the deployed web server answers with something other than the meeting: the rendered nginx site's
 * exact locations (config.js, external_api.js, the XMPP WebSocket and BOSH) and the files jitsi-meet-web installs
 * in the web root, which the room location's `try_files $uri` serves (jitsi-meet `debian/jitsi-meet-web.install`).
 * nginx compares case-sensitively, as does the file system.
 */
export const SITE_PATH_SEGMENTS: ReadonlySet<string> = new Set([
  "config.js",
  "external_api.js",
  "xmpp-websocket",
  "http-bind",
  "interface_config.js",
  "pwa-worker.js",
  "manifest.json",
  "robots.txt",
  "index.html",
  "base.html",
  "body.html",
  "fonts.html",
  "head.html",
  "plugin.head.html",
  "title.html",
]);

export class RoomNameError extends FieldError {
  override readonly name = "RoomNameError";
}

/** One room, in each of the forms it takes. */
export interface CanonicalRoom {
  /** The room's text after the client's clean-up and one decode (what a participant sees, before lower-casing). */
  text: string;
  /** The link's path segment: `text` fully percent-encoded, so the client drops nothing from it. */
  linkSegment: string;
  /** The MUC node the client joins from that link: the token's `room` claim. */
  node: string;
}

/** encodeURIComponent, plus the five characters it leaves that the client would delete (`! ' ( ) *`). */
function encodeSegment(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The canonical room for a user-typed `name`.
 * @throws RoomNameError naming `field` when the name leaves no room once the client's dropped characters are
 * removed, normalises to the wildcard "*", contains an unpaired surrogate, a NUL or (once decoded) a "/" the web
 * server would split on, is a dot segment the browser would resolve away, is a path the web server serves a file
 * at (SITE_PATH_SEGMENTS), encodes to more than 1023 bytes, or
 * yields a node XMPP nodeprep would change or refuse (a `'` from `%27` or from NFKC of U+FF07).
 */
export function canonicalRoom(name: string, field = "room"): CanonicalRoom {
  if (typeof name !== "string") throw new RoomNameError(field, "must be a string");
  // A request's room is canonicalised up to three times in a row (the endpoint's check, the claim, the link).
  if (last !== undefined && last.name === name) return { ...last.room };
  const room = canonical(name, field);
  last = { name, room };
  return { ...room };
}

/** The last name canonicalRoom accepted and its forms (a pure function of the name: any caller may reuse it). */
let last: { name: string; room: CanonicalRoom } | undefined;

function canonical(name: string, field: string): CanonicalRoom {
  // A plain name (letters, digits, "-", "_", ".", "~") is its own text and link segment, and its node is it
  // lower-cased: the client drops, decodes, normalises and encodes nothing in it. The checks below still all run.
  const plain = PLAIN.test(name);
  const text = plain ? name : clientText(name, field);
  if (text === "." || text === "..") refuse(field, "is a dot segment; the browser resolves it away and opens no room");
  const node = plain ? name.toLowerCase() : encodeURIComponent(text.normalize("NFKC").toLowerCase()).toLowerCase();
  if (node.length === 0) refuse(field, "is empty once normalised (NFKC)");
  if (node === ANY_ROOM) refuse(field, WILDCARD_NAME_MESSAGE);
  if (node.length > MAX_NODE_BYTES) refuse(field, `is ${node.length} bytes once encoded; an XMPP node holds at most ${MAX_NODE_BYTES}`);
  if (!isNodeprepStable(node)) refuse(field, "contains \"'\" once decoded and normalised (from %27, or a compatibility form such as U+FF07 ＇); XMPP forbids it in a room's node");
  const linkSegment = plain ? name : encodeSegment(text);
  if (SITE_PATH_SEGMENTS.has(linkSegment)) refuse(field, `is /${linkSegment}, which the web server answers with a file, not the meeting; choose another name`);
  return { text, linkSegment, node };
}

/** Characters the client keeps, decodes to themselves, and neither normalisation nor encoding changes. */
const PLAIN = /^[A-Za-z0-9_.~-]+$/;

function refuse(field: string, why: string): never {
  throw new RoomNameError(field, why);
}

/** What the client keeps of `name` and decodes once: the room's text, or a refusal naming `field`. */
function clientText(name: string, field: string): string {
  const kept = name.replace(DROPPED, "");
  if (name.length === 0) refuse(field, "must not be empty");
  if (name.trim() === ANY_ROOM) refuse(field, WILDCARD_NAME_MESSAGE);
  if (kept.length === 0) refuse(field, `has nothing the web client keeps in a room name (it deletes ${CLIENT_DROPPED_CHARACTERS})`);
  let text = kept;
  try {
    text = decodeURIComponent(kept);
  } catch {
    // "100%" is not an escape: the client keeps such text as it is, and so do we.
  }
  if (UNPAIRED_SURROGATE.test(text)) refuse(field, "contains invalid Unicode (an unpaired surrogate)");
  if (text.includes("\0")) refuse(field, "contains NUL (%00), which the web server refuses in a path");
  if (text.includes("/")) refuse(field, 'contains "/" once decoded (%2F); proxies and servers that decode the path before routing split it there');
  return text;
}

/**
 * The token's `room` claim for a user-typed name: `canonicalRoom(name).node`, e.g. "Bob's Room" → "bobs%20room",
 * "Weekly%20Sync" → "weekly%20sync".
 * @throws RoomNameError naming `field` (see canonicalRoom).
 */
export function normalizeRoomName(name: string, field = "room"): string {
  return canonicalRoom(name, field).node;
}
