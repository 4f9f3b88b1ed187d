/**
 * The MUC-join check of Jitsi's Prosody token auth (mod_token_verification → token/util.lib.lua verify_room):
 * does the logged-in token open room ROOM (optionally under TENANT)? Evaluated like the server, assuming the room
 * exists (jicofo creates it before participants join) and the user is neither an admin nor allow-listed.
 */
import type { Finding, HostProfile, Verdict } from "./explainTypes.ts";
import { luaMatch, LuaPatternError } from "./luaPattern.ts";
import { luaIndex, luaLower, luaTruthy, type ParsedToken } from "./prosodyLogin.ts";

/** The text mod_token_verification sends when verify_room fails without a specific reason. */
export const ROOM_MISMATCH_TEXT = "Room and token mismatched";

/** The room joined: the MUC node the web client derived (roomTarget) and its tenant, if any. */
export interface JoinTarget {
  node: string;
  tenant?: string;
}

export function evaluateJoin(parsed: ParsedToken | null, hasToken: boolean, target: JoinTarget, profile: HostProfile): { findings: Finding[]; verdict: Verdict } {
  const findings: Finding[] = [];
  const node = target.node;
  const tenant = target.tenant?.toLowerCase();
  const mucNode = tenant ? `[${tenant}]${node}` : node;
  const where = tenant ? `room ${node} in tenant ${tenant}` : `room ${node}`;
  const allow = (detail: string) => {
    findings.push({ check: "room-access", stage: "join", ok: true, detail, fix: "" });
    return { findings, verdict: { ok: true } };
  };
  const deny = (detail: string, fix: string, serverText: string) => {
    findings.push({ check: "room-access", stage: "join", ok: false, detail, fix, serverText });
    return { findings, verdict: { ok: false, check: "room-access", serverText } };
  };

  if (!hasToken) {
    return profile.allowEmptyToken ? allow("no token and allow_empty_token: the join is not checked") : deny("no token", "Send a token", ROOM_MISMATCH_TEXT);
  }
  const body = parsed?.payload;
  const roomClaim = luaIndex(body, "room");
  if (roomClaim !== undefined && typeof roomClaim !== "string") {
    return deny(`the room claim is ${JSON.stringify(roomClaim)}, not a string`, 'Set room to the room name or "*"', ROOM_MISMATCH_TEXT);
  }
  const authRoom = roomClaim === undefined ? undefined : luaLower(roomClaim);

  if (profile.enableDomainVerification === false) {
    if (authRoom !== undefined && authRoom !== "*" && mucNode !== authRoom && !mucNode.endsWith(`]${authRoom}`)) {
      return deny(`the token's room ${JSON.stringify(authRoom)} is not ${node}`, `Mint the token for ${JSON.stringify(node)} (mint with the room's name) or "*"`, "Room does not match the room from token");
    }
    return allow(`${where} matches the room claim (domain verification off)`);
  }

  const [, targetSub, targetRoom] = /^\[([^\]]+)\](.+)$/.exec(mucNode) ?? [];
  let roomToCheck: string | undefined | null;
  const contextRoom = luaTruthy(luaIndex(body, "context")) ? luaIndex(luaIndex(body, "context"), "room") : undefined;
  const regex = luaTruthy(contextRoom) ? luaIndex(contextRoom, "regex") : undefined;
  if (authRoom === "*") {
    roomToCheck = targetRoom ?? mucNode;
  } else if (authRoom !== undefined && (regex === true || regex === "true")) {
    // The server runs pcall(string.match, room, claim): any Lua error refuses the join with one text.
    try {
      roomToCheck = luaMatch(targetRoom ?? mucNode, authRoom);
    } catch (error) {
      if (!(error instanceof LuaPatternError)) throw error;
      return deny(`Lua's string.match raises "${error.message}" on the room claim`, "Fix the Lua pattern or drop context.room.regex", "Room claim is not a valid Lua pattern");
    }
    findings.push({ check: "room-pattern", stage: "join", ok: roomToCheck !== null, detail: `Lua pattern ${JSON.stringify(authRoom)} ${roomToCheck === null ? "does not match" : `matches ${JSON.stringify(roomToCheck)}`}`, fix: "" });
  } else {
    roomToCheck = authRoom;
  }
  if (roomToCheck === undefined || roomToCheck === null) {
    if (profile.requireRoomClaim === false) return allow("no room claim and asap_require_room_claim = false: any room");
    return deny("no room to compare with", 'Set room to the room name or "*"', "Room name cannot be matched to the one from token.");
  }

  const tenantClaim = luaTruthy(luaIndex(body, "context")) ? luaIndex(luaIndex(body, "context"), "tenant") : undefined;
  if (typeof tenantClaim === "string" && tenantClaim.toLowerCase() !== (tenant ?? "")) {
    findings.push({ check: "context-tenant", stage: "join", ok: true, detail: `context.tenant ${JSON.stringify(tenantClaim)} differs from the URL tenant; the server only logs a warning`, fix: "Drop context.tenant or make it match the tenant" });
  }

  const sub = luaIndex(body, "sub");
  if (typeof sub !== "string") return deny(`sub is ${JSON.stringify(sub)}, not a string`, "Set sub to the XMPP domain, the tenant or \"*\"", ROOM_MISMATCH_TEXT);
  const authDomain = luaLower(sub);
  const prefix = profile.mucDomainPrefix ?? "conference";
  const base = profile.mucDomainBase ?? profile.xmppDomain;
  const mucDomain = `${prefix}.${base}`;
  if (targetSub !== undefined) {
    const expectedSub = authDomain === "*" ? targetSub : authDomain;
    if (`[${expectedSub}]${roomToCheck}` === mucNode) return allow(`${where} matches room and sub`);
    const reason = expectedSub !== targetSub ? `sub ${JSON.stringify(sub)} is not the tenant ${JSON.stringify(targetSub)}` : `the token's room ${JSON.stringify(roomToCheck)} is not ${targetRoom}`;
    return deny(reason, `Mint with tenant ${JSON.stringify(targetSub)} (sub) and room ${JSON.stringify(targetRoom)} or "*"`, ROOM_MISMATCH_TEXT);
  }
  const tokenMuc = authDomain === "*" ? mucDomain : `${prefix}.${authDomain}`;
  if (`${roomToCheck}@${tokenMuc}` === `${mucNode}@${mucDomain}`) return allow(`${where} matches room and sub`);
  const reason = tokenMuc !== mucDomain ? `sub ${JSON.stringify(sub)} is not the XMPP domain ${JSON.stringify(base)}` : `the token's room ${JSON.stringify(roomToCheck)} is not ${node}`;
  return deny(reason, `Mint with sub ${JSON.stringify(base)} (the XMPP domain, or "*") and room ${JSON.stringify(node)} or "*"`, ROOM_MISMATCH_TEXT);
}
