/**
 * parseMintOptions, the one validator of mint options (hand-written on the shared rule shape; it replaced a zod
 * schema and a zod-free copy of its common cases). What the mint, fuzz, handler and CLI tests do not pin down:
 * the order problems are reported in, every problem at once, absent vs. undefined, and what is returned.
 */
import fc from "fast-check";
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { JITSI_FEATURES } from "../../token/features.ts";
import { parseMintOptions, TokenOptionsError } from "../../token/options.ts";
import { SECRET } from "./fixtures.ts";

const base = { appId: "app", domain: "meet.example.test", secret: SECRET, room: "r", user: { id: "u", name: "n" } };

function issuesOf(input: unknown): { field: string; message: string }[] {
  try {
    parseMintOptions(input);
  } catch (error) {
    expect(error).toBeInstanceOf(TokenOptionsError);
    return [...(error as TokenOptionsError).issues];
  }
  throw new Error("accepted");
}

describe("parseMintOptions", () => {
  it("settles the defaults and returns a copy, keeping what was given", () => {
    const input = { ...base, features: { recording: true }, tenant: "acme", now: new Date(0) };
    const parsed = parseMintOptions(input);
    expect(parsed).toStrictEqual({ ...input, user: { id: "u", name: "n" }, features: { recording: true }, ttlSeconds: 7200, notBeforeSkewSeconds: 30, audience: "jitsi" });
    expect(parsed).not.toBe(input);
    expect(parsed.user).not.toBe(input.user);
    expect(input).not.toHaveProperty("ttlSeconds");
  });

  it("accepts a KeyObject or a PEM string as privateKey", () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const rs = { ...base, secret: undefined, kid: "k1" };
    expect(parseMintOptions({ ...rs, privateKey }).privateKey).toBe(privateKey);
    expect(parseMintOptions({ ...rs, privateKey: "-----BEGIN PRIVATE KEY-----" }).privateKey).toBe("-----BEGIN PRIVATE KEY-----");
  });

  it("names every problem at once, in the options' order, unknown keys last", () => {
    const input = { zz: 1, ttlSeconds: 1.5, features: { nope: true, recording: "yes" }, user: { role: "x", name: "", id: 7 }, domain: "", tenant: "a..b" };
    expect(issuesOf(input)).toEqual([
      { field: "appId", message: "must be a string (Prosody app_id)" },
      { field: "domain", message: "must not be empty" },
      { field: "user.id", message: "must be a string (the user's stable id)" },
      { field: "user.name", message: "must not be empty" },
      { field: "user.role", message: "unknown (not an option)" },
      { field: "tenant", message: "must be letters, digits and inner hyphens (one DNS label, at most 63 characters)" },
      { field: "features.recording", message: "must be true or false" },
      { field: "features.nope", message: `unknown (known features: ${JITSI_FEATURES.join(", ")})` },
      { field: "ttlSeconds", message: "must be a whole number of seconds" },
      { field: "zz", message: "unknown (not an option)" },
    ]);
  });

  it("words each kind of bad value", () => {
    const cases: [Record<string, unknown>, { field: string; message: string }[]][] = [
      [{ notBeforeSkewSeconds: 2 ** 60 }, [{ field: "notBeforeSkewSeconds", message: "must be a whole number of seconds" }, { field: "notBeforeSkewSeconds", message: "must be at most 3600" }]],
      [{ notBeforeSkewSeconds: -1 }, [{ field: "notBeforeSkewSeconds", message: "must not be negative" }]],
      [{ maxTtlSeconds: 0 }, [{ field: "maxTtlSeconds", message: "must be positive" }]],
      [{ maxTtlSeconds: Number.POSITIVE_INFINITY }, [{ field: "maxTtlSeconds", message: "must be a number of seconds" }]],
      [{ ttlSeconds: Number.NaN }, [{ field: "ttlSeconds", message: "must be a number of seconds" }]],
      [{ now: new Date(Number.NaN) }, [{ field: "now", message: "must be a Date or epoch milliseconds" }]],
      [{ privateKey: 1 }, [{ field: "privateKey", message: "must be a PEM string or a KeyObject" }]],
      [{ algorithm: "none" }, [{ field: "algorithm", message: 'must be "HS256" or "RS256"' }]],
      [{ source: "file" }, [{ field: "source", message: 'must be "env" or "stack"' }]],
      [{ tenant: "libs" }, [{ field: "tenant", message: "must be letters, digits and inner hyphens (one DNS label, at most 63 characters)" }]],
      [{ features: [] }, [{ field: "features", message: "must be an object of known feature names to booleans" }]],
      [{ user: null }, [{ field: "user", message: "must be an object: { id, name, email?, avatar? }" }]],
      [{ user: { name: "n" } }, [{ field: "user.id", message: "must be a string (the user's stable id)" }]],
      [{ allRooms: "yes" }, [{ field: "allRooms", message: "must be true or false" }]],
    ];
    for (const [change, expected] of cases) expect({ change, issues: issuesOf({ ...base, ...change }) }).toEqual({ change, issues: expected });
    expect(issuesOf([])).toEqual([{ field: "options", message: "must be an object" }]);
    expect(issuesOf(null)).toEqual([{ field: "options", message: "must be an object" }]);
  });

  it("treats an optional option given as undefined as absent, a required one as missing", () => {
    expect(parseMintOptions({ ...base, tenant: undefined, user: { ...base.user, email: undefined } })).toMatchObject({ room: "r", audience: "jitsi" });
    expect(issuesOf({ ...base, appId: undefined })).toEqual([{ field: "appId", message: "must be a string (Prosody app_id)" }]);
  });

  it("checks the rules across fields only once every field is valid", () => {
    expect(issuesOf({ ...base, room: undefined, kid: "k" })).toEqual([
      { field: "kid", message: "belongs to RS256 (ASAP) keys; an HS256 token carries none" },
      { field: "room", message: "is required (a room name), unless allRooms: true asks for a token for every room" },
    ]);
    expect(issuesOf({ ...base, room: undefined, kid: 1 })).toEqual([{ field: "kid", message: "must be a string (the key id)" }]);
  });

  it("never throws anything but TokenOptionsError, whatever the input (fast-check)", () => {
    const value = fc.oneof(fc.anything(), fc.constantFrom("x", "", 600, 1.5, true, "HS256", "acme", "a..b"));
    const keys = fc.constantFrom(...Object.keys(base), "tenant", "features", "ttlSeconds", "maxTtlSeconds", "notBeforeSkewSeconds", "now", "privateKey", "kid", "toString", "__proto__", "roomName");
    fc.assert(
      fc.property(fc.dictionary(keys, value, { maxKeys: 4 }), fc.subarray(Object.keys(base)), (change, drop) => {
        const input: Record<string, unknown> = { ...base, ...change };
        for (const key of drop) delete input[key];
        try {
          parseMintOptions(input);
        } catch (error) {
          expect(error).toBeInstanceOf(TokenOptionsError);
          expect((error as TokenOptionsError).issues.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
