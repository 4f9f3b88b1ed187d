/**
 * Validation of mintToken's options, including the seed guide's flat option names (roomName, userId, ...), which
 * are mapped onto the structured ones so code written against that guide keeps working.
 */
import { KeyObject } from "node:crypto";
import { isTenant } from "./shared/names.ts";
import { appIdProblem, domainProblem, type Rule } from "./shared/rules.ts";
import { JITSI_FEATURES, type FeatureFlags } from "./features.ts";
import type { PrivateKeyInput } from "./keys.ts";

export const DEFAULT_TTL_SECONDS = 7200;
export const DEFAULT_MAX_TTL_SECONDS = 86_400;
/** nbf is backdated because Prosody allows no clock skew at all (`now < nbf` rejects). */
export const DEFAULT_NOT_BEFORE_SKEW_SECONDS = 30;
export const DEFAULT_AUDIENCE = "jitsi";

/** Who signs and for which deployment: what loadTokenConfig returns and the handler is built from. */
export interface TokenSigningConfig {
  /** Prosody `app_id`: becomes `iss`. */
  appId: string;
  /** The XMPP domain (config.js `hosts.domain`): the default `sub`. */
  domain: string;
  /** HS256 shared secret (Prosody `app_secret`). */
  secret?: string;
  /** RS256 private key (ASAP); needs `kid`. */
  privateKey?: PrivateKeyInput;
  kid?: string;
  audience?: string;
}

export interface TokenUser {
  id: string;
  name: string;
  email?: string;
  avatar?: string;
}

export interface MintTokenOptions extends TokenSigningConfig {
  /**
   * The room name (normalised to the node the web client joins). Never the wildcard: a name that normalises to
   * "*" is refused. Give either `room` or `allRooms: true`.
   */
  room?: string;
  /** A token for every room (`room` claim "*"): only on this explicit request. */
  allRooms?: boolean;
  user: TokenUser;
  /** A tenant (`https://host/TENANT/room`): becomes `sub`. */
  tenant?: string;
  moderator?: boolean;
  features?: FeatureFlags;
  group?: string;
  lobbyBypass?: boolean;
  securityBypass?: boolean;
  ttlSeconds?: number;
  maxTtlSeconds?: number;
  notBeforeSkewSeconds?: number;
  /** Mint "as of" this instant (tests, or deliberately expired tokens). */
  now?: Date | number;
  /**
   * Descriptive fields of `loadTokenConfig()`'s result, accepted so `mintToken({ ...config, room, user })` works.
   * `algorithm`, when given, must match the key; the others are ignored.
   */
  algorithm?: "HS256" | "RS256";
  baseUrl?: string;
  guestDomain?: string;
  source?: "env" | "stack";
}

/** The seed guide's option names; accepted by mintToken (and seedOptionsToMintOptions) for compatibility. */
export interface SeedTokenOptions extends TokenSigningConfig {
  roomName: string;
  userId: string;
  userName: string;
  userEmail?: string;
  userAvatar?: string;
  moderator?: boolean;
  /** Lifetime in seconds. */
  expiresIn?: number;
}

export class TokenOptionsError extends Error {
  override readonly name = "TokenOptionsError";
  constructor(readonly issues: readonly { field: string; message: string }[]) {
    super(`invalid token options: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`);
  }
  /** The first offending field (for callers that report a single one, e.g. HTTP 400). */
  get field(): string {
    return this.issues[0]?.field ?? "";
  }
}

// ---- the rules ------------------------------------------------------------------------------------------------
// One hand-written validator (it replaced a zod schema plus a zod-free copy of its common cases that had to be held
// to the same answers by a property test, and drifted once on the tenant rule). Each option has one rule in the
// shared rule shape (token/shared/rules.ts `Rule`: undefined when allowed, else what is wrong and what is allowed);
// the tenant rule is token/shared/names.ts `isTenant`, the one nginx and the renderer use.

/** A rule over a value of unknown type; a few give two problems at once (a huge integer that is also out of range). */
type Check = Rule<unknown> | ((value: unknown) => string | readonly string[] | undefined);

const nonEmpty =
  (what: string): Check =>
  (v) =>
    typeof v !== "string" ? `must be a string (${what})` : v.length === 0 ? "must not be empty" : undefined;
const text =
  (what?: string): Check =>
  (v) =>
    typeof v === "string" ? undefined : what === undefined ? "must be a string" : `must be a string (${what})`;
const flag: Check = (v) => (typeof v === "boolean" ? undefined : "must be true or false");
const oneOf =
  (allowed: readonly string[]): Check =>
  (v) =>
    allowed.includes(v as string) ? undefined : `must be ${allowed.map((a) => JSON.stringify(a)).join(" or ")}`;

/**
 * `rule`, remembering the last string it accepted: appId and domain are the same configured values on nearly every
 * mint, and a string's verdict never changes, so the repeat skips the rule (the domain's is several regexes).
 */
const lastAccepted = (rule: Check): Check => {
  let accepted: string | undefined;
  return (v) => {
    if (typeof v === "string" && v === accepted) return undefined;
    const problem = rule(v);
    if (problem === undefined && typeof v === "string") accepted = v;
    return problem;
  };
};
const WHOLE = "must be a whole number of seconds";
/** A whole number of seconds (a safe integer) within `range`; a huge integer is named both ways. */
const seconds =
  (range?: Rule<number>): Check =>
  (v) => {
    if (typeof v !== "number" || !Number.isFinite(v)) return "must be a number of seconds";
    if (!Number.isInteger(v)) return WHOLE;
    const problem = range?.(v);
    if (Number.isSafeInteger(v)) return problem;
    return problem === undefined ? WHOLE : [WHOLE, problem];
  };

/** How an object's keys are checked: rules in reporting order, which keys must be present, the words for the rest. */
interface Shape {
  readonly rules: ReadonlyMap<string, Check | Shape>;
  readonly required: readonly string[];
  /** Said of a value that is not an object (null and arrays included). */
  readonly notObject: string;
  /** Said of a key the shape does not know. */
  readonly unknown: string;
}

const shape = (rules: Record<string, Check | Shape>, required: readonly string[], notObject: string, unknown: string): Shape => ({
  rules: new Map(Object.entries(rules)),
  required,
  notObject,
  unknown,
});

const userShape = shape(
  {
    id: nonEmpty("the user's stable id"),
    name: nonEmpty("the display name"),
    email: text(),
    avatar: text("an avatar URL"),
  },
  ["id", "name"],
  "must be an object: { id, name, email?, avatar? }",
  "unknown (not an option)",
);

const featuresShape = shape(
  Object.fromEntries(JITSI_FEATURES.map((f) => [f, flag])),
  [],
  "must be an object of known feature names to booleans",
  `unknown (known features: ${JITSI_FEATURES.join(", ")})`,
);

/** The options in the order their problems are reported. */
const mintShape = shape(
  {
    // The stack's own rules: a token for a domain or app id the server can never have is refused here, not at login.
    appId: lastAccepted((v) => nonEmpty("Prosody app_id")(v) ?? appIdProblem(v as string)),
    domain: lastAccepted((v) => nonEmpty("the XMPP domain")(v) ?? domainProblem(v as string)),
    secret: text(),
    privateKey: (v) => (typeof v === "string" || v instanceof KeyObject ? undefined : "must be a PEM string or a KeyObject"),
    kid: nonEmpty("the key id"),
    audience: nonEmpty("the aud claim"),
    room: nonEmpty("a room name"),
    allRooms: flag,
    user: userShape,
    // One DNS label (token/shared/names.ts TENANT_PATTERN): the tenant becomes part of the conference address.
    tenant: (v) =>
      typeof v !== "string" ? "must be a string" : isTenant(v) ? undefined : "must be letters, digits and inner hyphens (one DNS label, at most 63 characters)",
    moderator: flag,
    features: featuresShape,
    group: nonEmpty("a group id"),
    lobbyBypass: flag,
    securityBypass: flag,
    ttlSeconds: seconds(),
    maxTtlSeconds: seconds((n) => (n > 0 ? undefined : "must be positive")),
    notBeforeSkewSeconds: seconds((n) => (n < 0 ? "must not be negative" : n > 3600 ? "must be at most 3600" : undefined)),
    now: (v) =>
      (v instanceof Date ? Number.isFinite(v.getTime()) : typeof v === "number" && Number.isFinite(v)) ? undefined : "must be a Date or epoch milliseconds",
    algorithm: oneOf(["HS256", "RS256"]),
    baseUrl: text(),
    guestDomain: text(),
    source: oneOf(["env", "stack"]),
  },
  ["appId", "domain", "user"],
  "must be an object",
  "unknown (not an option)",
);

type Issue = { field: string; message: string };

/**
 * A copy of `input` with every key checked against `s`, or undefined after adding the problems to `issues`
 * (field paths like `user.id`, in the shape's order, unknown keys last). One pass over the given keys: the common
 * case (all known, all valid) costs one lookup and one rule per key. An optional key given as `undefined` counts as
 * absent but is kept, as given.
 */
function checkObject(input: unknown, s: Shape, path: string, issues: Issue[]): Record<string, unknown> | undefined {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    issues.push({ field: path || "options", message: s.notObject });
    return undefined;
  }
  const record = input as Record<string, unknown>;
  const start = issues.length;
  const out: Record<string, unknown> = {};
  let unknown: string[] | undefined;
  let required = 0;
  for (const key in record) {
    const rule = s.rules.get(key);
    if (rule === undefined) {
      (unknown ??= []).push(key);
      continue;
    }
    const value = record[key];
    const isRequired = s.required.includes(key);
    if (isRequired) required++;
    else if (value === undefined) {
      out[key] = undefined;
      continue;
    }
    const checked = check(value, rule, path ? `${path}.${key}` : key, issues);
    if (checked !== undefined) out[key] = checked;
  }
  if (required < s.required.length) {
    for (const key of s.required) if (!(key in record)) check(undefined, s.rules.get(key) as Check | Shape, path ? `${path}.${key}` : key, issues);
  }
  if (issues.length > start) sortByShape(issues, start, s, path);
  if (unknown !== undefined) for (const key of unknown) issues.push({ field: path ? `${path}.${key}` : key, message: s.unknown });
  return issues.length > start ? undefined : out;
}

/** Checks one value; returns it (a nested object: its checked copy), or undefined after adding its problems. */
function check(value: unknown, rule: Check | Shape, field: string, issues: Issue[]): unknown {
  if (typeof rule !== "function") return checkObject(value, rule, field, issues);
  const problem = rule(value);
  if (problem === undefined) return value;
  if (typeof problem === "string") issues.push({ field, message: problem });
  else for (const message of problem) issues.push({ field, message });
  return undefined;
}

/** Puts the problems added since `start` in the shape's key order (stable: a field's own problems keep theirs). */
function sortByShape(issues: Issue[], start: number, s: Shape, path: string): void {
  const keys = [...s.rules.keys()];
  const rank = (issue: Issue) => keys.indexOf((path ? issue.field.slice(path.length + 1) : issue.field).split(".")[0] as string);
  const sorted = issues.slice(start).sort((a, b) => rank(a) - rank(b));
  issues.splice(start, sorted.length, ...sorted);
}

const SEED_KEYS = ["roomName", "userId", "userName", "userEmail", "userAvatar", "expiresIn"] as const;

/** Maps the seed guide's flat names onto MintTokenOptions; empty strings (its defaults) mean "absent". */
export function seedOptionsToMintOptions(seed: SeedTokenOptions): MintTokenOptions {
  const { roomName, userId, userName, userEmail, userAvatar, expiresIn, ...rest } = seed;
  const user: TokenUser = { id: userId, name: userName };
  if (userEmail) user.email = userEmail;
  if (userAvatar) user.avatar = userAvatar;
  const mapped: MintTokenOptions = { ...rest, room: roomName, user };
  if (expiresIn !== undefined) mapped.ttlSeconds = expiresIn;
  return mapped;
}

/** Checked options with their defaults settled; the descriptive fields of loadTokenConfig()'s result stay as given. */
export type ValidMintOptions = Omit<MintTokenOptions, "ttlSeconds" | "notBeforeSkewSeconds" | "audience"> & {
  ttlSeconds: number;
  notBeforeSkewSeconds: number;
  audience: string;
};

/** Parses either option style; throws TokenOptionsError naming every bad field. */
export function parseMintOptions(input: unknown): ValidMintOptions {
  if (typeof input !== "object" || input === null) throw new TokenOptionsError([{ field: "options", message: "must be an object" }]);
  const record = input as Record<string, unknown>;
  let candidate: unknown = input;
  if (SEED_KEYS.some((k) => k in record)) {
    const clash = ["room", "user", "ttlSeconds"].filter((k) => k in record);
    if (clash.length > 0) {
      throw new TokenOptionsError(
        clash.map((k) => ({ field: k, message: "mixes the seed guide's names (roomName, userId, ...) with the structured ones; use one style" })),
      );
    }
    candidate = seedOptionsToMintOptions(record as unknown as SeedTokenOptions);
  }
  const issues: Issue[] = [];
  const o = checkObject(candidate, mintShape, "", issues) as MintTokenOptions | undefined;
  if (o === undefined) throw new TokenOptionsError(issues);
  const problems: { field: string; message: string }[] = [];
  if ((o.secret === undefined) === (o.privateKey === undefined)) {
    problems.push({ field: "secret", message: "give exactly one signing key: secret (HS256) or privateKey (RS256)" });
  }
  if (o.algorithm === "HS256" && o.secret === undefined) problems.push({ field: "algorithm", message: "is HS256, which signs with secret" });
  if (o.algorithm === "RS256" && o.privateKey === undefined) problems.push({ field: "algorithm", message: "is RS256, which signs with privateKey + kid" });
  if (o.privateKey !== undefined && o.kid === undefined) problems.push({ field: "kid", message: "is required with privateKey (RS256/ASAP)" });
  if (o.secret !== undefined && o.kid !== undefined) problems.push({ field: "kid", message: "belongs to RS256 (ASAP) keys; an HS256 token carries none" });
  if (o.allRooms === true && o.room !== undefined) problems.push({ field: "room", message: "give a room or allRooms: true, not both" });
  if (o.allRooms !== true && o.room === undefined) problems.push({ field: "room", message: "is required (a room name), unless allRooms: true asks for a token for every room" });
  const ttl = o.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const maxTtl = o.maxTtlSeconds ?? DEFAULT_MAX_TTL_SECONDS;
  if (ttl <= 0) problems.push({ field: "ttlSeconds", message: "must be greater than 0" });
  else if (ttl > maxTtl) problems.push({ field: "ttlSeconds", message: `is ${ttl}; the maximum is ${maxTtl} (maxTtlSeconds)` });
  if (problems.length > 0) throw new TokenOptionsError(problems);
  // `o` is checkObject's fresh copy: filled in place, which costs a fraction of copying it with a spread.
  return Object.assign(o, {
    ttlSeconds: ttl,
    notBeforeSkewSeconds: o.notBeforeSkewSeconds ?? DEFAULT_NOT_BEFORE_SKEW_SECONDS,
    audience: o.audience ?? DEFAULT_AUDIENCE,
  });
}
