/**
 * The canonical room (issue 10 item 2): one value from a user-typed name to the link's path segment and the
 * token's room claim. Right values per kind of name, refusals naming the field, and invariants over any string.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalRoom, clientRoomOfLink, normalizeRoomName, RoomNameError } from "../../token/index.ts";
import { roomNames } from "./roomNames.ts";

describe("canonicalRoom", () => {
  it.each([
    ["a plain name", "my-room", "my-room", "my-room"],
    ["a space", "My Room", "My%20Room", "my%20room"],
    ["a quote the client deletes", "Bob's Room", "Bobs%20Room", "bobs%20room"],
    ["an escape, decoded once", "Weekly%20Sync", "Weekly%20Sync", "weekly%20sync"],
    ["a double escape stays one level encoded", "%252A", "%252A", "%252a"],
    ["an escaped character the client would delete", "Hi%21", "Hi%21", "hi!"],
    ["parentheses and @ / deleted", "(draft) a/b@c", "draft%20abc", "draft%20abc"],
    ["a bare %", "100%", "100%25", "100%25"],
    ["a bare % makes the whole name literal", "100% %41", "100%25%20%2541", "100%25%20%2541"],
    ["non-ASCII", "Ärger", "%C3%84rger", "%c3%a4rger"],
    ["fullwidth forms (NFKC)", "Ｔｅａｍ", "%EF%BC%B4%EF%BD%85%EF%BD%81%EF%BD%8D", "team"],
    ["a ligature (NFKC)", "ﬁle", "%EF%AC%81le", "file"],
    ["Turkish dotted capital I", "İstanbul", "%C4%B0stanbul", "i%cc%87stanbul"],
    ["an emoji", "🎉 party", "%F0%9F%8E%89%20party", "%f0%9f%8e%89%20party"],
    ["a tilde and dot are kept literally", "v1.2~rc", "v1.2~rc", "v1.2~rc"],
  ])("%s: %j → link %j, claim %j", (_kind, name, linkSegment, node) => {
    expect(canonicalRoom(name)).toMatchObject({ linkSegment, node });
    expect(normalizeRoomName(name)).toBe(node);
  });

  it.each([
    ["empty", "", /must not be empty/],
    ["only characters the client deletes", "?!()", /nothing the web client keeps/],
    ["the wildcard", "*", /"\*"/],
    ["an encoded slash", "a%2Fb", /"\/"/],
    ["NUL", "a%00", /NUL/],
    ["a dot segment", "%2e%2E", /dot segment/],
    ["a quote from %27 (XMPP nodeprep)", "it%27s", /XMPP forbids/],
    ["a quote from NFKC of a fullwidth apostrophe", "it\uFF07s", /U\+FF07/],
    ["over 1023 bytes", "é".repeat(200), /1200 bytes.*1023/],
    ["an unpaired surrogate", "bad\uD800", /unpaired surrogate/],
  ])("refuses %s (%j), naming the field", (_kind, name, why) => {
    expect(() => canonicalRoom(name, "roomName")).toThrow(RoomNameError);
    expect(() => canonicalRoom(name, "roomName")).toThrow(/^roomName: /);
    expect(() => canonicalRoom(name, "roomName")).toThrow(why);
  });

  it("any string: refused, or a node nodeprep keeps (≤ 1023 bytes, never \"*\") and a link segment the client leaves whole", () => {
    fc.assert(
      fc.property(roomNames, (name) => {
        let room: ReturnType<typeof canonicalRoom>;
        try {
          room = canonicalRoom(name);
        } catch (error) {
          expect(error).toBeInstanceOf(RoomNameError);
          return;
        }
        expect(room.node).toMatch(/^[a-z0-9%\-_.!~*()]{1,1023}$/);
        expect(room.node).not.toBe("*");
        expect(room.linkSegment).toMatch(/^[A-Za-z0-9%\-_.~]+$/);
        expect(decodeURIComponent(room.linkSegment)).toBe(room.text);
      }),
      { numRuns: 5000 },
    );
  });

  it("a plain name (the fast path: letters, digits, - _ . ~) is its own link segment and the client's node for it, or refused for the same reasons", () => {
    const plain = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9_.~-]{1,12}$/),
      fc.constantFrom(".", "..", "config.js", "Config.js", "index.html", "x".repeat(1023), "x".repeat(1024)),
    );
    fc.assert(
      fc.property(plain, (name) => {
        if (name === "." || name === ".." || name.length > 1023 || ["config.js", "index.html"].includes(name)) {
          return void expect(() => canonicalRoom(name)).toThrow(RoomNameError);
        }
        const room = canonicalRoom(name);
        expect(room).toEqual({ text: name, linkSegment: name, node: clientRoomOfLink(`https://meet.example.test/${name}`).node });
        expect(room.node).toBe(name.toLowerCase());
      }),
      { numRuns: 2000 },
    );
  });

  it("a name without % or characters the client deletes decodes back to its NFKC-lowercased self", () => {
    const plain = fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }).filter((s) => !/[%:?#[\]@!$&'()*+,;=></"]/.test(s) && s !== "." && s !== "..");
    fc.assert(
      fc.property(plain, (name) => {
        const expected = name.normalize("NFKC").toLowerCase();
        // the only refusals left: NFKC yielding "'" (XMPP) or "*" (the wildcard)
        if (expected.includes("'") || expected === "*") return void expect(() => normalizeRoomName(name)).toThrow(RoomNameError);
        expect(decodeURIComponent(normalizeRoomName(name))).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });
});
