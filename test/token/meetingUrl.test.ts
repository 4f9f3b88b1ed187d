import { describe, expect, it } from "vitest";
import { meetingUrl, MeetingUrlError, mintToken, normalizeRoomName } from "../../token/index.ts";
import { SIGNING, USER } from "./fixtures.ts";

/** Reads hash params the way the web client's parseURLParams does: split on &, decode, JSON-parse each value. */
function clientHashParams(url: string): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const part of new URL(url).hash.slice(1).split("&")) {
    const [key = "", value = ""] = part.split("=");
    params[key] = JSON.parse(decodeURIComponent(value));
  }
  return params;
}

describe("meetingUrl", () => {
  it("puts the token in the hash as the client expects (#jwt=%22T%22) and round-trips every param", async () => {
    const token = await mintToken({ ...SIGNING, room: "Daily Stand-up", user: USER });
    const url = meetingUrl({
      base: "https://meet.example.test/",
      room: "Daily Stand-up",
      token,
      config: { prejoinConfig: { enabled: false }, startWithAudioMuted: true, subject: "a&b=c" },
      interfaceConfig: { SHOW_JITSI_WATERMARK: false },
      userInfo: { displayName: "Ada \"Countess\" L." },
    });
    expect(url.startsWith(`https://meet.example.test/Daily%20Stand-up#jwt=%22${token}%22&config.prejoinConfig=`)).toBe(true);
    expect(clientHashParams(url)).toEqual({
      jwt: token,
      "config.prejoinConfig": { enabled: false },
      "config.startWithAudioMuted": true,
      "config.subject": "a&b=c",
      "interfaceConfig.SHOW_JITSI_WATERMARK": false,
      "userInfo.displayName": 'Ada "Countess" L.',
    });
  });

  it("the room the client derives from the path is the token's room claim", async () => {
    for (const room of ["Ärger im Büro", "team/42", "100% sure", "Ｔｅａｍ"]) {
      const url = new URL(meetingUrl({ base: "https://h.test", room }));
      expect(normalizeRoomName(decodeURIComponent(url.pathname.slice(1)))).toBe(normalizeRoomName(room));
    }
  });

  it("reads a base by its value: a URL object changed between calls gives links on its new host", () => {
    const base = new URL("https://one.example.test");
    expect(meetingUrl({ base: base as unknown as string, room: "r" })).toMatch(/^https:\/\/one\.example\.test\/r/);
    base.host = "two.example.test";
    expect(meetingUrl({ base: base as unknown as string, room: "r" })).toMatch(/^https:\/\/two\.example\.test\/r/);
  });

  it("supports query, both, tenants and a base path", () => {
    expect(meetingUrl({ base: "https://h.test", room: "r", token: "a.b.c", tokenIn: "query" })).toBe("https://h.test/r?jwt=a.b.c");
    expect(meetingUrl({ base: "https://h.test/jitsi", tenant: "acme", room: "r", token: "a.b.c", tokenIn: "both" })).toBe("https://h.test/jitsi/acme/r?jwt=a.b.c#jwt=%22a.b.c%22");
  });

  it.each([
    [{ base: "meet.example.test", room: "r" }, "base"],
    [{ base: "ftp://h.test", room: "r" }, "base"],
    [{ base: "https://h.test?x=1", room: "r" }, "base"],
    [{ base: "https://h.test", room: "*" }, "room"],
    [{ base: "https://h.test", room: "r", tenant: "a/b" }, "tenant"],
    [{ base: "https://h.test", room: "r", token: "not a token" }, "token"],
    [{ base: "https://h.test", room: "r", tokenIn: "cookie" }, "tokenIn"],
    [{ base: "https://h.test", room: "r", config: { "a&b": 1 } }, "config.a&b"],
  ])("rejects %j naming %s", (options, field) => {
    expect(() => meetingUrl(options as never)).toThrow(MeetingUrlError);
    try {
      meetingUrl(options as never);
    } catch (error) {
      expect((error as MeetingUrlError).field).toBe(field);
    }
  });
});
