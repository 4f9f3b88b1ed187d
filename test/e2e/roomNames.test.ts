/**
 * Awkward room names end to end (issue 10 item 2). The oracle is jitsi-meet's own parseURIString +
 * getBackendSafeRoomName (JITSI_MEET_SRC, a local checkout): for each name, the node the real client derives from
 * the link meetingUrl builds must be the token's room claim and the node our client model derives; then the
 * link/token pair joins that node on real Prosody with Jitsi's token plugins.
 * Opt-in: JITSI_PLUGINS_DIR (jitsi-meet's resources/prosody-plugins) and JITSI_MEET_SRC (a jitsi-meet checkout).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientRoomOfLink, explainToken, meetingUrl, mintToken, normalizeRoomName, RoomNameError, type HostProfile } from "../../token/index.ts";
import { loadJitsiMeetRoomFunctions, type JitsiMeetRoomFunctions } from "../support/jitsiMeetOracle.ts";
import { joinRoom, startTokenHost, tokenLogin, type TokenHost, type XmppClient } from "../support/jitsiSession.ts";
import type { RunningProsody } from "../support/prosody.ts";
import { roomNames } from "../token/roomNames.ts";

const BASE = "https://meet.example.test";

/** Names people type that the old code got wrong or that stress one step of the client's pipeline. */
const AWKWARD = [
  "Bob's Room", // a quote the client deletes
  "Weekly%20Sync", // an escape in the name
  "%252A", // a double-encoded asterisk: an ordinary room
  "a%2Ab", // an escaped asterisk inside a name
  "Hi%21 (draft)", // an escaped character the client would delete, and literal ones
  "100%", // a bare %
  "100% sure %41", // a bare % makes the whole name literal
  "Ｔｅａｍ　Ｓｙｎｃ", // fullwidth letters and ideographic space (NFKC)
  "ﬁle Ⅻ", // ligature and Roman numeral (NFKC)
  "İstanbul ıi", // Turkish dotted capital I and dotless i
  "Straße", // ß stays ß when lower-cased
  "🎉 party 👩‍👩‍👧", // emoji and a ZWJ sequence
  "e\u0301te", // a combining accent NFKC composes
  "v1.2~rc_final-3", // characters kept literally
  " padded\tname ", // whitespace, which the client strips only when literal
];

let oracle: JitsiMeetRoomFunctions;
let prosody: RunningProsody;
let profile: HostProfile;
let secret = "";
let focus: XmppClient;
let host: TokenHost | undefined;

/** The node jitsi-meet derives from a link as the browser hands it over (location.href). */
function oracleNode(link: string): string | undefined {
  const room = oracle.parseURIString(new URL(link).href)?.room;
  return oracle.getBackendSafeRoomName(room);
}

beforeAll(async () => {
  const checkout = process.env.JITSI_MEET_SRC;
  if (!checkout) throw new Error("set JITSI_MEET_SRC to a jitsi-meet checkout (its react/features/base/util/uri.ts is the oracle)");
  oracle = await loadJitsiMeetRoomFunctions(checkout);
  host = await startTokenHost();
  ({ prosody, profile, focus } = host);
  secret = host.profile.secret;
});

afterAll(async () => {
  await host?.stop();
});

describe("jitsi-meet's own functions agree with the link and the claim", () => {
  it.each(AWKWARD)("%j: the real client joins the claim from the link", (name) => {
    const claim = normalizeRoomName(name);
    const link = meetingUrl({ base: BASE, room: name, token: "a.b.c" });
    expect(oracleNode(link)).toBe(claim);
    expect(clientRoomOfLink(link).node).toBe(claim);
  });

  it("any name: refused, or jitsi-meet derives the claim from the link (fast-check)", () => {
    fc.assert(
      fc.property(roomNames, (name) => {
        let claim: string;
        try {
          claim = normalizeRoomName(name);
        } catch (error) {
          expect(error).toBeInstanceOf(RoomNameError);
          return;
        }
        expect(oracleNode(meetingUrl({ base: BASE, room: name }))).toBe(claim);
      }),
      { numRuns: 3000 },
    );
  });

  it("our client model derives what jitsi-meet derives from any link a user may open (fast-check)", () => {
    fc.assert(
      fc.property(roomNames, fc.option(fc.constantFrom("acme/", "a/b/"), { nil: "" }), (text, tenant) => {
        let link: string;
        try {
          link = new URL(`${BASE}/${tenant}${text}`).href;
        } catch {
          return; // not a URL a browser opens
        }
        const parsed = oracle.parseURIString(link);
        const ours = clientRoomOfLink(link);
        expect(ours.segment).toBe(parsed?.room);
        expect(ours.tenant).toBe(parsed?.tenant);
        let expected: string | undefined;
        try {
          expected = oracle.getBackendSafeRoomName(parsed?.room);
        } catch {
          expected = undefined; // the client itself throws (an unpaired surrogate): no room joined
        }
        expect(ours.node).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("the link/token pair joins on real Prosody + Jitsi's plugins", () => {
  it.each(AWKWARD)("%j", async (name) => {
    const token = await mintToken({ appId: profile.appId, secret, domain: prosody.names.domain, room: name, user: { id: "u", name: "U" } });
    const link = meetingUrl({ base: BASE, room: name, token });
    const node = oracleNode(link) as string;
    const opened = await joinRoom(prosody, focus, node, "focus");
    expect(opened.ok, opened.text).toBe(true);
    expect(explainToken(token, profile, { room: link }).join).toEqual({ ok: true });
    const session = await tokenLogin(prosody, token, node);
    expect(session.ok, session.text).toBe(true);
    try {
      expect(await joinRoom(prosody, session.xmpp as XmppClient, node)).toMatchObject({ ok: true, role: "participant" });
    } finally {
      await session.xmpp?.stop().catch(() => {});
    }
  });

  it("a node with a quote (from %27, which canonicalRoom refuses) cannot be joined: XMPP nodeprep forbids it", async () => {
    expect(() => normalizeRoomName("it%27s")).toThrow(/XMPP forbids/);
    const node = oracleNode(`${BASE}/it%27s`) as string;
    expect(node).toBe("it's");
    const opened = await joinRoom(prosody, focus, node, "focus").catch((error: Error) => ({ ok: false, text: error.message }));
    expect(opened).toMatchObject({ ok: false, text: expect.stringMatching(/destination address is invalid/) });
  });

  it("the link the old code built for Weekly%20Sync leads elsewhere: refused, as explain predicts", async () => {
    const token = await mintToken({ appId: profile.appId, secret, domain: prosody.names.domain, room: "Weekly%20Sync", user: { id: "u", name: "U" } });
    const oldLink = `${BASE}/${encodeURIComponent("Weekly%20Sync")}`;
    const node = oracleNode(oldLink) as string;
    expect(node).toBe("weekly%2520sync");
    expect((await joinRoom(prosody, focus, node, "focus")).ok).toBe(true);
    const predicted = explainToken(token, profile, { room: oldLink });
    expect(predicted.join?.ok).toBe(false);
    const session = await tokenLogin(prosody, token, node);
    try {
      const joined = await joinRoom(prosody, session.xmpp as XmppClient, node);
      expect(joined).toMatchObject({ ok: false, text: predicted.join?.serverText });
    } finally {
      await session.xmpp?.stop().catch(() => {});
    }
  });
});
