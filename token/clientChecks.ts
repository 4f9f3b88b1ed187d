/**
 * What the Jitsi web client checks on a token it was given (validateJwt in react/features/base/jwt/functions.ts;
 * the results appear in its "authentication failed" dialog), plus conventions the server plugins depend on.
 * These never change the server's verdict; they explain symptoms such as "Invalid feature" or a missing role.
 */
import { isJitsiFeature, isValidFeatureValue } from "./features.ts";
import type { Finding } from "./explainTypes.ts";
import { clientNodeOfSegment } from "./clientRoom.ts";
import { isNodeprepStable } from "./roomName.ts";
import { looksLikeMilliseconds, SECONDS_FIX } from "./timeClaims.ts";

function isUnixSeconds(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && Number.isFinite(new Date(value * 1000).getTime());
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export function evaluateClient(header: unknown, payload: unknown, nowSeconds: number): Finding[] {
  const findings: Finding[] = [];
  const add = (check: string, ok: boolean, detail: string, fix = "") => findings.push({ check, stage: "client", ok, detail, fix: ok ? "" : fix });
  const h = asRecord(header);
  const p = asRecord(payload);
  if (!h || !p) {
    add("client-decode", false, "the web client cannot decode the header and payload as JSON objects", "Send a JSON object header and payload");
    return findings;
  }
  const sub = typeof p.sub === "string" ? p.sub : "";
  if (sub.startsWith("vpaas-magic-cookie")) {
    const kid = typeof h.kid === "string" ? h.kid : "";
    add("jaas-kid", kid.startsWith(`${sub}/`), "JaaS: kid must start with sub + '/'", "Use the kid from the JaaS console");
    add("jaas-aud", p.aud === "jitsi", 'JaaS: aud must be "jitsi"', 'Set aud to "jitsi"');
    add("jaas-iss", p.iss === "chat", 'JaaS: iss must be "chat"', 'Set iss to "chat"');
    add("jaas-features", asRecord(asRecord(p.context)?.features) !== undefined, "JaaS: context.features must be present", "Add context.features");
  }
  const inMs = (["exp", "nbf", "iat"] as const).filter((claim) => looksLikeMilliseconds(p[claim]));
  if (inMs.length > 0) {
    const effects = inMs.map((c) => (c === "exp" ? "exp: the token never expires" : c === "nbf" ? "nbf: never reached, every login is refused" : "iat: the server's expiry message is wrong"));
    add("time-units", false, `${inMs.join(", ")} in milliseconds, not seconds since the epoch (${effects.join("; ")})`, SECONDS_FIX);
  }
  // The client only looks at a truthy nbf (`if (nbf)`), so 0, "" and null pass unchecked there.
  if (p.nbf) {
    if (!isUnixSeconds(p.nbf)) add("client-nbf", false, "nbf is not a unix timestamp in seconds (client: nbfInvalid)", "Use integer seconds");
    else add("client-nbf", nowSeconds >= p.nbf, nowSeconds >= p.nbf ? "nbf is in the past" : "nbf is in the future (client: nbfFuture)", "Backdate nbf");
  }
  if (!isUnixSeconds(p.exp)) add("client-exp", false, "exp is missing or not a unix timestamp in seconds (client: expInvalid)", "Set exp in integer seconds");
  else add("client-exp", nowSeconds <= p.exp, nowSeconds <= p.exp ? "exp is in the future" : "the token has expired (client: tokenExpired)", "Mint a fresh token");
  const context = asRecord(p.context);
  add("client-context", context !== undefined, context ? "context is present" : "no context (client: contextNotFound)", "Add context.user with id and name");
  const features = asRecord(context?.features);
  if (features) {
    for (const [name, value] of Object.entries(features)) {
      if (!isJitsiFeature(name)) add("client-feature", false, `unknown feature ${JSON.stringify(name)} (client: featureInvalid)`, "Use only features the client knows");
      else if (!isValidFeatureValue(value)) add("client-feature", false, `feature ${name} is ${JSON.stringify(value)} (client: featureValueInvalid)`, 'Use true/false or "true"/"false"');
    }
  }
  const user = asRecord(context?.user);
  if (user) {
    for (const field of ["id", "name", "email", "avatar"]) {
      if (user[field] !== undefined && typeof user[field] !== "string") {
        add("user-strings", false, `context.user.${field} is ${JSON.stringify(user[field])}, not a string`, "Send every context.user identity value as a string");
      }
    }
    const moderatorValue = user.moderator;
    if (moderatorValue === undefined && user.affiliation === undefined && p.moderator !== undefined) {
      add("moderator-claim", false, "only a top-level moderator claim: no Prosody module reads it", 'Set context.user.moderator ("true") and context.user.affiliation ("owner")');
    }
  }
  if (typeof p.room === "string" && p.room !== "*") {
    // A node the client can join is one it derives from itself used as a link segment; nodeprep must keep it.
    const claimed = p.room.toLowerCase();
    const joined = clientNodeOfSegment(p.room);
    if (joined !== claimed || !isNodeprepStable(claimed)) {
      const why = joined !== claimed ? `the web client never joins a node written like this (a link to it joins ${JSON.stringify(joined ?? "no room")})` : "XMPP nodeprep refuses or changes this node";
      add("room-form", false, `room ${JSON.stringify(p.room)}: ${why}`, "Mint with the room's name (mintToken / jitsi-token mint --room NAME): the claim is then the node the client joins");
    }
  }
  return findings;
}
