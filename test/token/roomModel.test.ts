/**
 * The two independent implementations checked against each other (issue 10 item 2): the normaliser (name → link
 * segment + claim, roomName.ts) and the model of the web client's pipeline (link → node, clientRoom.ts). For every
 * name: refused, or the link meetingUrl builds leads the client to exactly the claim mintToken puts in the token.
 */
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runCli } from "../../token/cli.ts";
import { clientRoomOfLink, explainToken, meetingUrl, mintToken, normalizeRoomName, RoomNameError, verifyToken } from "../../token/index.ts";
import { decodePart, DOMAIN, forge, HS_PROFILE, SECRET, SIGNING, USER, APP_ID } from "./fixtures.ts";
import { roomNames } from "./roomNames.ts";

describe("the client model (link → node)", () => {
  it.each([
    ["the issue's quote case: the browser's link for Bob's Room", "https://meet.example.test/Bob's%20Room", "bobs%20room", undefined],
    ["a double-encoded link joins the encoded text", "https://meet.example.test/Weekly%2520Sync", "weekly%2520sync", undefined],
    ["a typed space", "https://meet.example.test/My Room", "my%20room", undefined],
    ["%2A is decoded to the node *", "https://meet.example.test/%2A", "*", undefined],
    ["a literal * is deleted", "https://meet.example.test/a*b", "ab", undefined],
    ["a tenant", "https://meet.example.test/acme/Room", "room", "acme"],
    ["query and fragment are not the room", "https://meet.example.test/Room?x=1#jwt=%22a%22", "room", undefined],
    ["the last segment is the room", "https://meet.example.test/a/b/c", "c", "a/b"],
    ["NFKC and lowercase", "https://meet.example.test/%EF%BC%B4EAM", "team", undefined],
    ["a bare % keeps the text", "https://meet.example.test/100%", "100%25", undefined],
    ["an app scheme in front", "org.jitsi.meet://meet.example.test/Room", "room", undefined],
  ])("%s: %s → %j", (_kind, link, node, tenant) => {
    const derived = clientRoomOfLink(link);
    expect(derived.node).toBe(node);
    expect(derived.tenant).toBe(tenant);
  });

  it("finds no room in a link without one", () => {
    expect(clientRoomOfLink("https://meet.example.test/").node).toBeUndefined();
    expect(clientRoomOfLink("https://meet.example.test/'!").node).toBeUndefined();
  });
});

describe("normaliser vs client model", () => {
  it("any name: refused, or the client joins from meetingUrl's link exactly the node mintToken claims (fast-check)", async () => {
    await fc.assert(
      fc.asyncProperty(roomNames, fc.option(fc.constantFrom("acme", "Team-1"), { nil: undefined }), async (name, tenant) => {
        let claim: string;
        try {
          claim = normalizeRoomName(name);
        } catch (error) {
          expect(error).toBeInstanceOf(RoomNameError);
          expect(() => meetingUrl({ base: "https://meet.example.test", room: name })).toThrow(/room/);
          return;
        }
        const token = await mintToken({ ...SIGNING, room: name, user: USER, ...(tenant === undefined ? {} : { tenant }) });
        expect(decodePart(token, 1).room).toBe(claim);
        expect(claim).not.toBe("*");
        const link = meetingUrl({ base: "https://meet.example.test", room: name, token, ...(tenant === undefined ? {} : { tenant }) });
        const derived = clientRoomOfLink(link);
        expect(derived.node).toBe(claim);
        expect(derived.tenant).toBe(tenant);
      }),
      { numRuns: 3000 },
    );
  });

  it("explain and verify judge the join on the node the client derives, for a name and for a link", async () => {
    const token = await mintToken({ ...SIGNING, room: "Bob's Room", user: USER });
    expect(decodePart(token, 1).room).toBe("bobs%20room");
    const link = meetingUrl({ base: "https://meet.example.test", room: "Bob's Room", token });
    expect(link.startsWith("https://meet.example.test/Bobs%20Room#jwt=")).toBe(true);
    for (const room of ["Bob's Room", link, "https://meet.example.test/Bob's%20Room"]) {
      expect(explainToken(token, HS_PROFILE, { room }).join).toEqual({ ok: true });
      await expect(verifyToken(token, SECRET, { appId: APP_ID, sub: DOMAIN, room })).resolves.toBeDefined();
    }
    // The link the old code built for "Weekly%20Sync" joins a different node from the claim: explain says so.
    const weekly = await mintToken({ ...SIGNING, room: "Weekly%20Sync", user: USER });
    expect(explainToken(weekly, HS_PROFILE, { room: "https://meet.example.test/Weekly%2520Sync" }).join).toMatchObject({ ok: false, serverText: "Room and token mismatched" });
    expect(explainToken(weekly, HS_PROFILE, { room: "Weekly Sync" }).join).toEqual({ ok: true });
    expect(() => explainToken(weekly, HS_PROFILE, { room: "https://meet.example.test/" })).toThrow(RoomNameError);
    expect(() => explainToken(weekly, HS_PROFILE, { room: "https://meet.example.test/acme/r", tenant: "acme" })).toThrow(/tenant/);
  });

  it("explain flags a claim no link leads to, and one XMPP nodeprep refuses", async () => {
    const claims = { iss: APP_ID, aud: "jitsi", sub: DOMAIN, iat: 1, nbf: 1, exp: 4_000_000_000, context: { user: { id: "u", name: "n" } } };
    const finding = async (room: string) => explainToken(await forge({ alg: "HS256", typ: "JWT" }, { ...claims, room }), HS_PROFILE, { now: 2000_000 }).find((f) => f.check === "room-form");
    expect((await finding("bob's%20room"))?.detail).toMatch(/nodeprep/);
    expect(await finding("Weekly%2520Sync")).toBeUndefined();
    expect((await finding("100%"))?.detail).toMatch(/joins "100%25"/);
    expect((await finding("my room"))?.detail).toMatch(/joins "my%20room"/);
    expect(await finding("bobs%20room")).toBeUndefined();
  });
});

describe("jitsi-token explain --room with a name or a link", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("names the node the client joins, never echoes the link (its fragment may carry the token)", async () => {
    vi.stubEnv("JITSI_APP_ID", APP_ID);
    vi.stubEnv("JITSI_DOMAIN", DOMAIN);
    vi.stubEnv("JITSI_APP_SECRET", SECRET);
    const token = await mintToken({ ...SIGNING, room: "Bob's Room", user: USER });
    const link = meetingUrl({ base: "https://meet.example.test", room: "Bob's Room", token });
    for (const room of ["Bob's Room", link]) {
      const out: string[] = [];
      const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t), readStdin: () => "" };
      expect(await runCli(["explain", token, "--room", room], io)).toBe(0);
      expect(out).toContain("join bobs%20room: allowed");
      expect(out.join("\n")).not.toContain(token);
      expect(await runCli(["explain", token, "--room", room, "--json"], io)).toBe(0);
      expect(JSON.parse(out.at(-1) ?? "{}")).toMatchObject({ ok: true, room: { node: "bobs%20room" } });
    }
  });
});
