import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizeRoomName, RoomNameError } from "../../token/index.ts";

describe("normalizeRoomName", () => {
  it.each([
    ["my-room", "my-room"],
    ["My Room", "my%20room"],
    ["Ärger", "%c3%a4rger"],
    ["ｆｕｌｌ ｗｉｄｔｈ", "full%20width"],
    ["already%20Encoded", "already%20encoded"],
    ["100%", "100%25"],
    ["a/b@c", "a%2fb%40c"],
  ])("%j → %j (the web client's backend-safe form)", (input, expected) => {
    expect(normalizeRoomName(input)).toBe(expected);
  });

  it("rejects empty, over-long and ill-formed names with the field name", () => {
    expect(() => normalizeRoomName("")).toThrow(RoomNameError);
    expect(() => normalizeRoomName("x".repeat(2000), "roomName")).toThrow(/^roomName: /);
    expect(() => normalizeRoomName("bad\uD800")).toThrow(/unpaired surrogate/);
  });

  it("is idempotent and yields only lowercase URL-safe characters (any string)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", minLength: 1, maxLength: 40 }), (name) => {
        let safe: string;
        try {
          safe = normalizeRoomName(name);
        } catch (error) {
          expect(error).toBeInstanceOf(RoomNameError);
          return;
        }
        expect(safe).toMatch(/^[a-z0-9%\-_.!~*'()]+$/);
        expect(normalizeRoomName(safe)).toBe(safe);
      }),
      { numRuns: 2000 },
    );
  });

  it("decodes back to the NFKC-lowercased name when the name has no escapes", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }).filter((s) => !s.includes("%") && s !== "*"), (name) => {
        expect(decodeURIComponent(normalizeRoomName(name))).toBe(name.normalize("NFKC").toLowerCase());
      }),
      { numRuns: 1000 },
    );
  });
});
