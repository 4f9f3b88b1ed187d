/**
 * Issue 10 item 1: no room name ever becomes the wildcard room claim "*". Each path a name can take (mintToken,
 * the token endpoint, `jitsi-token url` / `mint`, meetingUrl) is tried with every kind of input that normalises
 * to "*"; only an explicit request (allRooms / --all-rooms) yields it.
 */
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { runCli } from "../../token/cli.ts";
import { ANY_ROOM, createTokenHandler, meetingUrl, MeetingUrlError, mintToken, normalizeRoomName, RoomNameError, TokenOptionsError, verifyToken } from "../../token/index.ts";
import { APP_ID, decodePart, DOMAIN, SECRET, SIGNING, USER } from "./fixtures.ts";

/** Every kind of name that the web client's normalisation turns into "*". */
const WILDCARD_NAMES: readonly [string, string][] = [
  ["the literal", "*"],
  ["percent-encoded", "%2A"],
  ["percent-encoded, lower-case hex", "%2a"],
  ["fullwidth asterisk U+FF0A (NFKC)", "\uFF0A"],
  ["small asterisk U+FE61 (NFKC)", "\uFE61"],
  ["the fullwidth asterisk percent-encoded as UTF-8", "%EF%BC%8A"],
];

const roomClaim = (token: string) => decodePart(token, 1).room;

/** Arbitrary names, biased towards the wildcard's forms: full Unicode, asterisks and % sequences. */
const NAMES = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 12 }),
  fc.constantFrom(...WILDCARD_NAMES.map(([, n]) => n)).chain((n) => fc.tuple(fc.constant(n), fc.string({ maxLength: 3 })).map(([a, b]) => (b.length > 0 ? a + b : a))),
  fc.stringMatching(/^(%[0-9a-fA-F]{2}|[*\uFF0A\uFE61 %2aA])+$/),
);

describe("no room name yields the wildcard", () => {
  it.each(WILDCARD_NAMES)("normalizeRoomName refuses %s (%j), naming the field", (_kind, name) => {
    expect(() => normalizeRoomName(name, "roomName")).toThrow(RoomNameError);
    expect(() => normalizeRoomName(name, "roomName")).toThrow(/^roomName: .*"\*"/);
  });

  it.each(WILDCARD_NAMES)("mintToken refuses room %s (%j)", async (_kind, name) => {
    await expect(mintToken({ ...SIGNING, room: name, user: USER })).rejects.toThrow(RoomNameError);
    await expect(mintToken({ ...SIGNING, roomName: name, userId: "u", userName: "U" })).rejects.toThrow(RoomNameError);
  });

  it("a double-encoded asterisk is an ordinary room (one decode only, as the client does)", async () => {
    expect(normalizeRoomName("%252A")).toBe("%252a");
    expect(roomClaim(await mintToken({ ...SIGNING, room: "%252A", user: USER }))).toBe("%252a");
    expect(normalizeRoomName("a*")).not.toBe(ANY_ROOM);
  });

  it("the wildcard only on explicit request, and never together with a room", async () => {
    const token = await mintToken({ ...SIGNING, allRooms: true, user: USER });
    expect(roomClaim(token)).toBe(ANY_ROOM);
    await expect(verifyToken(token, SECRET, { appId: APP_ID, sub: DOMAIN, room: "any room" })).resolves.toBeDefined();
    const both = mintToken({ ...SIGNING, allRooms: true, room: "r", user: USER });
    await expect(both).rejects.toThrow(TokenOptionsError);
    await expect(both).rejects.toMatchObject({ field: "room" });
    await expect(mintToken({ ...SIGNING, user: USER })).rejects.toMatchObject({ field: "room" });
    await expect(mintToken({ ...SIGNING, allRooms: false, user: USER })).rejects.toMatchObject({ field: "room" });
    await expect(mintToken({ ...SIGNING, allRooms: "yes" as never, user: USER })).rejects.toMatchObject({ field: "allRooms" });
  });

  it.each(WILDCARD_NAMES)("meetingUrl refuses room %s (%j)", (_kind, name) => {
    expect(() => meetingUrl({ base: "https://meet.example.test", room: name })).toThrow(MeetingUrlError);
  });

  it("no string but an explicit request yields a room claim of \"*\" through mintToken (fast-check, full Unicode)", async () => {
    await fc.assert(
      fc.asyncProperty(NAMES, async (name) => {
        let token: string;
        try {
          token = await mintToken({ ...SIGNING, room: name, user: USER });
        } catch (error) {
          expect(error).toBeInstanceOf(RoomNameError);
          return;
        }
        expect(roomClaim(token)).not.toBe(ANY_ROOM);
      }),
      { numRuns: 1500 },
    );
  });
});

describe("the token endpoint never mints a wildcard", () => {
  const handler = createTokenHandler({
    ...SIGNING,
    baseUrl: "https://meet.example.test",
    // An authorize that (wrongly) tries to grant every room: the handler takes only the grant's rights fields.
    authorize: () => ({ user: USER, allRooms: true, room: "*" }) as never,
  });
  const post = async (body: unknown) => {
    const response = await handler(new Request("https://app.test/api/jitsi/token", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it.each(WILDCARD_NAMES)("answers 400 naming the field for %s (%j)", async (_kind, name) => {
    expect(await post({ room: name })).toMatchObject({ status: 400, body: { error: { code: "invalid-input", problems: [{ path: "room" }] } } });
    expect(await post({ roomName: name })).toMatchObject({ status: 400, body: { error: { code: "invalid-input", problems: [{ path: "roomName" }] } } });
  });

  it("an ordinary room gets its own node even when authorize returns a wildcard", async () => {
    const res = await post({ room: "Team" });
    expect(res.status).toBe(200);
    expect(roomClaim(res.body.token as string)).toBe("team");
  });
});

describe("jitsi-token mint / url", () => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t), readStdin: () => "" };
  const USER_FLAGS = ["--user-id", "u1", "--user-name", "Ada"];
  beforeEach(() => {
    out.length = 0;
    err.length = 0;
    vi.stubEnv("JITSI_APP_ID", APP_ID);
    vi.stubEnv("JITSI_DOMAIN", DOMAIN);
    vi.stubEnv("JITSI_APP_SECRET", SECRET);
    vi.stubEnv("JITSI_BASE_URL", "https://meet.example.test");
  });
  afterEach(() => vi.unstubAllEnvs());

  it.each(WILDCARD_NAMES)("mint and url refuse --room %s (%j) without a token on stdout", async (_kind, name) => {
    for (const command of ["mint", "url"]) {
      expect(await runCli([command, "--room", name, ...USER_FLAGS], io)).toBe(1);
      expect(out).toEqual([]);
      expect(err.join("\n")).toMatch(/room: .*"\*"/);
    }
  });

  it("no generated name yields a wildcard token through the endpoint or jitsi-token url (fast-check)", async () => {
    const handler = createTokenHandler({ ...SIGNING, authorize: () => ({ user: USER }) });
    await fc.assert(
      fc.asyncProperty(NAMES, async (name) => {
        const response = await handler(new Request("https://app.test/t", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ room: name }) }));
        if (response.status === 200) expect(roomClaim(((await response.json()) as { token: string }).token)).not.toBe(ANY_ROOM);
        else expect(response.status).toBe(400);
        out.length = 0;
        const code = await runCli(["url", "--room", name, ...USER_FLAGS], io);
        expect([0, 1]).toContain(code); // a link, or a refusal naming the field
        if (code === 0) {
          const token = /#jwt=%22([^%]+)%22/.exec(out[0] ?? "")?.[1];
          expect(token).toBeDefined();
          expect(roomClaim(token ?? "")).not.toBe(ANY_ROOM);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("mint --all-rooms is the one way to a wildcard token; url refuses it; --room with --all-rooms is a usage error", async () => {
    expect(await runCli(["mint", "--all-rooms", ...USER_FLAGS], io)).toBe(0);
    expect(roomClaim(out[0] ?? "")).toBe(ANY_ROOM);
    out.length = 0;
    expect(await runCli(["url", "--all-rooms", ...USER_FLAGS], io)).toBe(2);
    expect(await runCli(["mint", "--all-rooms", "--room", "r", ...USER_FLAGS], io)).toBe(2);
    expect(out).toEqual([]);
    expect(err.join("\n")).toMatch(/--all-rooms/);
  });
});
