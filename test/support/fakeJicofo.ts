/**
 * A stand-in for Jicofo, which cannot run here: an XMPP external component (XEP-0114, spoken over a raw TCP
 * socket) at focus.<domain> that answers the conference request the way Jicofo does — it enters the room as
 * `<room>/focus` (creating it; Prosody must list the component's address in `admins`), then replies
 * ready="true". Its options mimic the Jicofo behaviours the smoke test must cope with:
 *  - openRoomsFor "main-domain": only a request from the token domain opens a room; a guest's request for a room
 *    nobody opened gets <not-authorized/> (Jicofo with authentication); "anyone" opens for everybody (Jicofo
 *    without authentication, the project's setup, where Prosody's wait-for-host holds guests).
 *  - autoOwner "first-main-domain": the first token-domain occupant is made owner by a muc#admin IQ after it
 *    joined (Jicofo's auto-owner: a *later* self-presence promotion); "none" leaves roles to Prosody
 *    (token_affiliation).
 * Use componentConfig() for the Prosody lines that declare it.
 */
import { createHash, randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { Parser, xml, type Element } from "@xmpp/xml";

const NS_COMPONENT = "jabber:component:accept";
const NS_FOCUS = "http://jitsi.org/protocol/focus";
const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
const NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

export interface FakeJicofoOptions {
  /** Component port Prosody listens on (component_ports). */
  port: number;
  /** The component's address, e.g. focus.meet.example.test. */
  componentDomain: string;
  secret: string;
  /** The token users' XMPP domain (hosts.domain). */
  mainDomain: string;
  openRoomsFor?: "main-domain" | "anyone";
  autoOwner?: "first-main-domain" | "none";
}

export interface FakeJicofo {
  /** Conference requests seen: requester JID, room, and what the stand-in answered. */
  readonly requests: { from: string; room: string; answer: "ready" | "not-authorized" | "error" }[];
  stop(): Promise<void>;
}

/** Prosody config lines (appended after the rendered config) that turn focus.<domain> into this component. */
export function componentConfig(o: { componentDomain: string; port: number; secret: string }): string {
  const q = (s: string) => JSON.stringify(s);
  return [
    `admins = { ${q(o.componentDomain)} }`,
    `component_ports = { ${o.port} }`,
    `component_interfaces = { "127.0.0.1" }`,
    `Component ${q(o.componentDomain)}`,
    `    component_secret = ${q(o.secret)}`,
    "",
  ].join("\n");
}

const bare = (jid: string) => jid.split("/")[0] as string;
const domainOf = (jid: string) => {
  const b = bare(jid);
  return b.includes("@") ? (b.split("@")[1] as string) : b;
};

export async function startFakeJicofo(o: FakeJicofoOptions): Promise<FakeJicofo> {
  const socket: Socket = connect({ host: "127.0.0.1", port: o.port });
  const parser = new Parser();
  const requests: FakeJicofo["requests"] = [];
  const pending = new Map<string, (stanza: Element) => void>();
  /** room JID → whether an owner was granted yet, and whether a token-domain occupant is in it. */
  const rooms = new Map<string, { owned: boolean; hostSeen: boolean; joined: Promise<void> }>();
  const focusJid = `${o.componentDomain}/focus`;
  let ready: (value: void) => void = () => {};
  let failed: (error: Error) => void = () => {};
  const handshake = new Promise<void>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });

  const send = (stanza: Element) => socket.write(stanza.toString());
  const request = (stanza: Element): Promise<Element> =>
    new Promise((resolve) => {
      const id = randomBytes(6).toString("hex");
      stanza.attrs.id = id;
      pending.set(id, resolve);
      send(stanza);
    });

  function enterRoom(roomJid: string): Promise<void> {
    const known = rooms.get(roomJid);
    if (known) return known.joined;
    const joined = new Promise<void>((resolve, reject) => {
      const self = `${roomJid}/focus`;
      pending.set(`presence:${self}`, (presence) => {
        if (presence.attrs.type === "error") reject(new Error(`focus could not enter ${roomJid}: ${presence.getChild("error")?.toString() ?? ""}`));
        else resolve();
      });
      send(xml("presence", { from: focusJid, to: self }, xml("x", { xmlns: NS_MUC })));
    });
    rooms.set(roomJid, { owned: false, hostSeen: false, joined });
    return joined;
  }

  async function onConference(iq: Element, conference: Element): Promise<void> {
    const from = iq.attrs.from ?? "";
    const roomJid = (conference.attrs.room ?? "").toLowerCase();
    const reply = (children: Element, type = "result") => send(xml("iq", { type, id: iq.attrs.id, from: o.componentDomain, to: from }, children));
    const fromMain = domainOf(from) === o.mainDomain;
    if (o.openRoomsFor === "main-domain" && !fromMain && !rooms.get(roomJid)?.hostSeen) {
      requests.push({ from, room: roomJid, answer: "not-authorized" });
      reply(xml("error", { type: "cancel" }, xml("not-authorized", { xmlns: NS_STANZAS })), "error");
      return;
    }
    try {
      await enterRoom(roomJid);
      if (fromMain) (rooms.get(roomJid) as { hostSeen: boolean }).hostSeen = true;
      requests.push({ from, room: roomJid, answer: "ready" });
      reply(xml("conference", { xmlns: NS_FOCUS, ready: "true", room: roomJid, focusjid: focusJid }));
    } catch {
      requests.push({ from, room: roomJid, answer: "error" });
      reply(xml("error", { type: "wait" }, xml("internal-server-error", { xmlns: NS_STANZAS })), "error");
    }
  }

  /** Auto-owner: promote the first token-domain occupant once it is in (as Jicofo's role manager does). */
  function onOccupant(presence: Element): void {
    if (o.autoOwner !== "first-main-domain" || presence.attrs.type === "unavailable") return;
    const roomJid = bare(presence.attrs.from ?? "").toLowerCase();
    const room = rooms.get(roomJid);
    const item = presence.getChild("x", NS_MUC_USER)?.getChild("item");
    const realJid = item?.attrs.jid;
    if (!room || room.owned || !realJid || domainOf(realJid) !== o.mainDomain) return;
    room.owned = true;
    void request(xml("iq", { type: "set", from: focusJid, to: roomJid }, xml("query", { xmlns: NS_MUC_ADMIN }, xml("item", { affiliation: "owner", jid: bare(realJid) }))));
  }

  parser.on("start", (header) => {
    const digest = createHash("sha1").update(`${header.attrs.id ?? ""}${o.secret}`).digest("hex");
    socket.write(xml("handshake", {}, digest).toString());
  });
  parser.on("element", (stanza) => {
    if (stanza.name === "handshake") return ready();
    if (stanza.name === "stream:error") return failed(new Error(`component handshake refused: ${stanza.toString()}`));
    const id = stanza.attrs.id;
    if (stanza.name === "iq" && (stanza.attrs.type === "result" || stanza.attrs.type === "error") && id && pending.has(id)) {
      (pending.get(id) as (s: Element) => void)(stanza);
      pending.delete(id);
      return;
    }
    if (stanza.name === "presence") {
      const key = `presence:${(stanza.attrs.from ?? "").toLowerCase()}`;
      if (pending.has(key)) {
        (pending.get(key) as (s: Element) => void)(stanza);
        pending.delete(key);
        return;
      }
      onOccupant(stanza);
      return;
    }
    const conference = stanza.getChild("conference", NS_FOCUS);
    if (stanza.name === "iq" && stanza.attrs.type === "set" && conference) {
      void onConference(stanza, conference);
      return;
    }
    if (stanza.name === "iq" && (stanza.attrs.type === "get" || stanza.attrs.type === "set")) {
      send(xml("iq", { type: "error", id, from: stanza.attrs.to, to: stanza.attrs.from }, xml("error", { type: "cancel" }, xml("service-unavailable", { xmlns: NS_STANZAS }))));
    }
  });
  parser.on("error", (error) => failed(error));
  socket.on("data", (chunk: Buffer) => parser.write(chunk.toString("utf8")));
  socket.on("error", (error) => failed(error));
  socket.on("close", () => failed(new Error("component connection closed")));
  socket.on("connect", () => {
    socket.write(`<?xml version='1.0'?><stream:stream xmlns='${NS_COMPONENT}' xmlns:stream='http://etherx.jabber.org/streams' to='${o.componentDomain}'>`);
  });

  const stop = async () => {
    if (socket.destroyed) return;
    for (const roomJid of rooms.keys()) send(xml("presence", { from: focusJid, to: `${roomJid}/focus`, type: "unavailable" }));
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.end("</stream:stream>");
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  };
  try {
    await handshake;
  } catch (error) {
    socket.destroy();
    throw error;
  }
  return { requests, stop };
}
