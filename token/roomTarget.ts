/**
 * The room a check is about (`explain --room`, `verify --room`): the MUC node the web client joins, derived by the
 * client model (clientRoom.ts) from the link — the one given, or the canonical link for a room name.
 */
import { clientRoomOfLink } from "./clientRoom.ts";
import { canonicalRoom, RoomNameError } from "./roomName.ts";

/** The node the client joins and the tenant it joins it under. */
export interface RoomTarget {
  node: string;
  tenant?: string;
}

/** A host the link is built on when only a name is given; the client's derivation does not depend on it. */
const ANY_HOST = "https://meet.invalid";

/**
 * The room `roomOrLink` names: an absolute http(s) meeting link is read as the client reads it (its tenant
 * included); anything else is a room name, turned into its canonical link under `tenant` first.
 * @throws RoomNameError naming `field` for a name canonicalRoom refuses or a link in which the client finds no room;
 * naming "tenant" when a link and a separate tenant are both given.
 */
export function roomTarget(roomOrLink: string, tenant?: string, field = "room"): RoomTarget {
  let link: string;
  if (/^https?:\/\//i.test(roomOrLink)) {
    if (tenant !== undefined) throw new RoomNameError("tenant", "give the tenant in the link or separately, not both");
    link = roomOrLink;
  } else {
    link = `${ANY_HOST}/${tenant === undefined ? "" : `${encodeURIComponent(tenant)}/`}${canonicalRoom(roomOrLink, field).linkSegment}`;
  }
  let derived: ReturnType<typeof clientRoomOfLink>;
  try {
    derived = clientRoomOfLink(link);
  } catch {
    throw new RoomNameError(field, "is not a meeting link the browser can open");
  }
  if (derived.node === undefined) throw new RoomNameError(field, "names no room the web client would join (nothing left after its clean-up)");
  return derived.tenant === undefined ? { node: derived.node } : { node: derived.node, tenant: derived.tenant };
}
