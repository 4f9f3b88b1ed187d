/**
 * The common mint options checked without zod. Profiling mintTokenSync showed the zod parse of the options taking
 * as long as JSON building, base64url and the HMAC together (the floor), so an HS256 mint ran at ~0.3-0.45x of a
 * bare HMAC over the same bytes. This check is conservative: it accepts only plain objects whose every key is a
 * known option with a value the schema (options.ts mintSchema) certainly accepts, and returns what the schema
 * would return; anything else (a PEM key, `now`, an unknown key, a value it is unsure of) gives undefined and the
 * schema decides and words the errors. A property test holds the two to the same answers.
 */
import { JITSI_FEATURES } from "./features.ts";

const FEATURES = new Set<string>(JITSI_FEATURES);
const TENANT = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

type Check = (value: unknown) => boolean;
const text: Check = (v) => typeof v === "string";
const nonEmpty: Check = (v) => typeof v === "string" && v.length > 0;
const flag: Check = (v) => typeof v === "boolean";
const whole: Check = (v) => Number.isSafeInteger(v);

const TOP: Record<string, Check> = {
  appId: nonEmpty,
  domain: nonEmpty,
  secret: text,
  kid: nonEmpty,
  audience: nonEmpty,
  room: nonEmpty,
  tenant: (v) => typeof v === "string" && TENANT.test(v),
  moderator: flag,
  group: nonEmpty,
  lobbyBypass: flag,
  securityBypass: flag,
  ttlSeconds: whole,
  maxTtlSeconds: (v) => whole(v) && (v as number) > 0,
  notBeforeSkewSeconds: (v) => whole(v) && (v as number) >= 0 && (v as number) <= 3600,
  algorithm: (v) => v === "HS256" || v === "RS256",
  baseUrl: text,
  guestDomain: text,
  source: (v) => v === "env" || v === "stack",
};
const USER: Record<string, Check> = { id: nonEmpty, name: nonEmpty, email: text, avatar: text };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A copy of `value` if every key is in `checks` and passes, else undefined. */
function checked(value: unknown, checks: Record<string, Check>): Record<string, unknown> | undefined {
  if (!isPlainObject(value)) return undefined;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const check = Object.hasOwn(checks, key) ? checks[key] : undefined;
    const v = value[key];
    if (check === undefined || !check(v)) return undefined;
    out[key] = v;
  }
  return out;
}

function features(value: unknown): Record<string, boolean> | undefined {
  if (!isPlainObject(value)) return undefined;
  const out: Record<string, boolean> = {};
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (!FEATURES.has(key) || typeof v !== "boolean") return undefined;
    out[key] = v;
  }
  return out;
}

/**
 * The options as the schema would parse them, or undefined when this check cannot vouch for them (then the schema
 * must decide). Never throws.
 */
export function fastMintOptions(input: unknown): Record<string, unknown> | undefined {
  if (!isPlainObject(input)) return undefined;
  const out: Record<string, unknown> = {};
  for (const key in input) {
    if (!Object.hasOwn(input, key)) continue;
    const value = input[key];
    if (key === "user") {
      const user = checked(value, USER);
      if (user === undefined || typeof user.id !== "string" || typeof user.name !== "string") return undefined;
      out.user = user;
    } else if (key === "features") {
      const flags = features(value);
      if (flags === undefined) return undefined;
      out.features = flags;
    } else {
      const check = Object.hasOwn(TOP, key) ? TOP[key] : undefined;
      if (check === undefined || !check(value)) return undefined;
      out[key] = value;
    }
  }
  if (out.user === undefined || out.appId === undefined || out.domain === undefined || out.room === undefined) return undefined;
  return out;
}
