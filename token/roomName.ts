/**
 * Room names as the Jitsi web client sends them to the backend. The client turns the URL's room segment into a
 * MUC node by decoding it, NFKC-normalising, lowercasing, percent-encoding and lowercasing again; Prosody compares
 * the token's `room` claim (lowercased) with that node, so a token must carry exactly this form.
 */

import { FieldError } from "./errors.ts";

/**
 * The wildcard room claim: the token is valid for every room. Only an explicit request yields it
 * (`mintToken({ allRooms: true })`, `jitsi-token mint --all-rooms`); no room name ever does.
 */
export const ANY_ROOM = "*";

/** XMPP limits a JID node to 1023 bytes; the encoded form is ASCII, so characters = bytes. */
const MAX_NODE_LENGTH = 1023;

/** Why a room name that normalises to "*" is refused. */
export const WILDCARD_NAME_MESSAGE = 'normalises to "*", the wildcard for every room; a room name never yields it (a token for every room must be asked for explicitly: allRooms / --all-rooms)';

export class RoomNameError extends FieldError {
  override readonly name = "RoomNameError";
}

/**
 * The backend-safe form of `name`. Throws RoomNameError (naming `field`) for an empty or over-long name and for
 * every name that normalises to the wildcard "*" (`*`, `%2A`, fullwidth `＊` …): the check runs on the
 * normalised value, so no encoding or compatibility form of a name opens every room.
 */
export function normalizeRoomName(name: string, field = "room"): string {
  if (typeof name !== "string") throw new RoomNameError(field, "must be a string");
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    // A bare "%" that is not an escape: the client keeps the text as it is, and so do we.
  }
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(decoded)) throw new RoomNameError(field, "contains invalid Unicode (an unpaired surrogate)");
  const safe = encodeURIComponent(decoded.normalize("NFKC").toLowerCase()).toLowerCase();
  if (safe.length === 0) throw new RoomNameError(field, "must not be empty");
  if (safe === ANY_ROOM) throw new RoomNameError(field, WILDCARD_NAME_MESSAGE);
  if (safe.length > MAX_NODE_LENGTH) {
    throw new RoomNameError(field, `is ${safe.length} characters once encoded; the limit is ${MAX_NODE_LENGTH}`);
  }
  return safe;
}
