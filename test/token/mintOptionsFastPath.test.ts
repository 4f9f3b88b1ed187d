/**
 * The zod-free check of the common mint options must never accept what the schema refuses, and must return what
 * the schema returns. fast-check generates option records near and far from valid ones.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JITSI_FEATURES } from "../../token/features.ts";
import { fastMintOptions } from "../../token/mintOptionsFastPath.ts";
import { mintSchema, parseMintOptions } from "../../token/options.ts";
import { SECRET } from "./fixtures.ts";

const anyValue = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom("", "HS256", "RS256", "env", "stack", "team-1", "a..b", "-x", "ok.tenant"),
  fc.integer({ min: -10, max: 100_000 }),
  fc.constantFrom(0, -0, 3600, 3601, 2 ** 53, 1.5, Number.NaN, Number.POSITIVE_INFINITY),
  fc.boolean(),
  fc.constantFrom(null, undefined),
  fc.constant({}),
  fc.array(fc.string(), { maxLength: 2 }),
);
const userValue = fc.oneof(
  { arbitrary: fc.record({ id: fc.string({ maxLength: 3 }), name: fc.string({ maxLength: 3 }), email: fc.string({ maxLength: 3 }) }, { requiredKeys: ["id", "name"] }), weight: 4 },
  fc.dictionary(fc.constantFrom("id", "name", "email", "avatar", "role"), fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom(undefined, 1, null)), { maxKeys: 4 }),
  anyValue,
);
const featuresValue = fc.oneof(
  { arbitrary: fc.dictionary(fc.constantFrom(...JITSI_FEATURES), fc.boolean(), { maxKeys: 4 }), weight: 4 },
  fc.dictionary(fc.constantFrom(...JITSI_FEATURES, "unknown-feature", "__proto__"), fc.oneof(fc.boolean(), fc.constantFrom("true", 1, undefined)), { maxKeys: 4 }),
  anyValue,
);
/** Values the schema accepts for most keys, so the fast path gets exercised, mixed with ones it refuses. */
const likelyValue = fc.oneof({ arbitrary: fc.constantFrom("x", "HS256", "env", 600, 30, true, false), weight: 3 }, anyValue);
const OPTION_KEYS = ["appId", "domain", "secret", "kid", "audience", "room", "tenant", "moderator", "group", "lobbyBypass", "securityBypass", "ttlSeconds", "maxTtlSeconds", "notBeforeSkewSeconds", "algorithm", "baseUrl", "guestDomain", "source", "now", "privateKey", "extra", "constructor", "toString"];
const base = { appId: "app", domain: "meet.example.test", secret: SECRET, room: "r", user: { id: "u", name: "n" } };
/** A valid base with some keys overwritten, added or removed. */
const options = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...OPTION_KEYS), likelyValue, { maxKeys: 3 }),
    fc.option(userValue, { nil: undefined }),
    fc.option(featuresValue, { nil: undefined }),
    fc.oneof({ arbitrary: fc.constant([] as string[]), weight: 4 }, fc.subarray(Object.keys(base))),
  )
  .map(([extra, user, features, drop]) => {
    const record: Record<string, unknown> = { ...base, ...extra };
    if (user !== undefined) record.user = user;
    if (features !== undefined) record.features = features;
    for (const key of drop) delete record[key];
    return record;
  });

describe("the zod-free check of mint options", () => {
  it("accepts only what the schema accepts, and returns what the schema returns", () => {
    let vouched = 0;
    fc.assert(
      fc.property(options, (input) => {
        const fast = fastMintOptions(input);
        if (fast === undefined) return;
        vouched += 1;
        const schema = mintSchema.safeParse(input);
        expect(schema.success).toBe(true);
        expect(fast).toStrictEqual(schema.data);
      }),
      { numRuns: 5000 },
    );
    // The generator must exercise the fast path, or the property proves nothing.
    expect(vouched).toBeGreaterThan(200);
  });

  it("vouches for the usual options (the endpoint's and the CLI's), leaves the rest to the schema", () => {
    const usual = { ...base, moderator: true, features: { recording: true, livestreaming: false }, group: "g", ttlSeconds: 600, tenant: "acme" };
    expect(fastMintOptions(usual)).toStrictEqual(mintSchema.parse(usual));
    for (const odd of [{ ...base, now: Date.now() }, { ...base, user: { id: "u", name: "n", role: "x" } }, Object.assign(Object.create({ inherited: 1 }) as object, base), { ...base, ttlSeconds: 1.5 }, { ...base, room: "" }]) {
      expect(fastMintOptions(odd)).toBeUndefined();
    }
  });

  it("leaves errors to the schema: parseMintOptions still names every bad field", () => {
    expect(() => parseMintOptions({ ...base, ttlSeconds: 1.5, features: { nope: true } })).toThrow(/ttlSeconds.*features\.nope|features\.nope.*ttlSeconds/);
  });
});
