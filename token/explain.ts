/**
 * explainToken: every check the server (login, then room join) and the web client make on a token, in order,
 * with the server's own rejection text, and the verdict the real server would reach for login and for the join.
 */
import type { Explanation, Finding, HostProfile, Verdict } from "./explainTypes.ts";
import { evaluateClient } from "./clientChecks.ts";
import { connectionFinding } from "./connectionLimit.ts";
import { evaluateJoin } from "./prosodyJoin.ts";
import { evaluateLogin } from "./prosodyLogin.ts";
import { roomTarget, type RoomTarget } from "./roomTarget.ts";

export interface ExplainOptions {
  /**
   * Evaluate joining this room: a room name as passed to mintToken, or a whole meeting link. The node is derived
   * as the web client derives it (clientRoom.ts), from the link or from the name's canonical link.
   */
  room?: string;
  /** The tenant of the meeting URL (`https://host/TENANT/room`), if any (not with a link in `room`). */
  tenant?: string;
  now?: Date | number;
}

function nowSecondsOf(now: Date | number | undefined): number {
  const ms = now === undefined ? Date.now() : now instanceof Date ? now.getTime() : now;
  return Math.floor(ms / 1000);
}

export function explainToken(token: string | undefined, profile: HostProfile, options: ExplainOptions = {}): Explanation {
  const nowSeconds = nowSecondsOf(options.now);
  // A bad room is the caller's error: RoomNameError naming the field.
  const target: RoomTarget | undefined = options.room === undefined ? undefined : roomTarget(options.room, options.tenant);
  const evaluated = evaluateLogin(typeof token === "string" ? token : undefined, profile, nowSeconds);
  // Before any login check: the token must reach Prosody at all (connection URL length), for the room the client joins.
  const connection = typeof token === "string" ? connectionFinding(token, target?.node ?? "", target?.tenant) : undefined;
  const login = connection === undefined || connection.ok ? evaluated : { ...evaluated, verdict: { ok: false, check: connection.check } };
  const findings: Finding[] = [...(connection === undefined ? [] : [connection]), ...evaluated.findings];
  let join: Verdict | null = null;
  if (target !== undefined) {
    if (!login.verdict.ok) {
      findings.push({ check: "room-access", stage: "join", ok: false, detail: "not reached: login fails first", fix: "" });
      join = { ok: false, check: "login" };
    } else {
      try {
        const result = evaluateJoin(login.parsed, login.hasToken, target, profile);
        findings.push(...result.findings);
        join = result.verdict;
      } catch (error) {
        const detail = error instanceof Error ? error.message : "unexpected claim shape";
        findings.push({ check: "room-access", stage: "join", ok: false, detail: `the server cannot evaluate the room check on this token (${detail})`, fix: "Use a plain room name or \"*\", and object-valued context fields" });
        join = { ok: false, check: "room-access" };
      }
    }
  }
  if (login.parsed?.payload !== undefined) findings.push(...evaluateClient(login.parsed.header, login.parsed.payload, nowSeconds));
  return Object.assign(findings, { login: login.verdict, join, room: target ?? null });
}
