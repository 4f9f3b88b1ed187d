/**
 * Room names as the Jitsi web client sends them to the backend. The client turns the URL's room segment into a
 * MUC node by decoding it, NFKC-normalising, lowercasing, percent-encoding and lowercasing again; Prosody compares
 * the token's `room` claim (lowercased) with that node, so a token must carry exactly this form.
 */

import { FieldError } from "./errors.ts";

/** The wildcard room claim: the token is valid for every room. */
export const ANY_ROOM = "*";

/** XMPP limits a JID node to 1023 bytes; the encoded form is ASCII, so characters = bytes. */
const MAX_NODE_LENGTH = 1023;

export class RoomNameError extends FieldError {
  override readonly name = "RoomNameError";
}

/** The backend-safe form of `name` ("*" stays "*"). Throws RoomNameError for an empty or over-long name. */
export function normalizeRoomName(name: string, field = "room"): string {
  if (typeof name !== "string") throw new RoomNameError(field, "must be a string");
  if (name === ANY_ROOM) return ANY_ROOM;
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    // A bare "%" that is not an escape: the client keeps the text as it is, and so do we.
  }
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(decoded)) throw new RoomNameError(field, "contains invalid Unicode (an unpaired surrogate)");
  const safe = encodeURIComponent(decoded.normalize("NFKC").toLowerCase()).toLowerCase();
  if (safe.length === 0) throw new RoomNameError(field, "must not be empty");
  if (safe.length > MAX_NODE_LENGTH) {
    throw new RoomNameError(field, `is ${safe.length} characters once encoded; the limit is ${MAX_NODE_LENGTH}`);
  }
  return safe;
}
