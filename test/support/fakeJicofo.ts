/**
 * A stand-in for Jicofo, which cannot run here. It answers the conference request the way Jicofo does — it
 * enters the room as `<room>/focus` (creating it), then replies ready="true" — over one of two transports:
 *  - "component": an XMPP external component (XEP-0114, spoken over a raw TCP socket) that *is* focus.<domain>
 *    (stock Prosody has no client_proxy). Prosody must list its address in `admins`: componentConfig().
 *  - "client": logs in like Jicofo as focus@auth.<domain> over c2s and lets the rendered config's real
 *    client_proxy at focus.<domain> forward requests to it (Jitsi's plugins need the focus occupant to be a
 *    real client session). The account must exist (prosodyctl register).
 * Its options mimic the Jicofo behaviours the smoke test must cope with:
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
import { client } from "@xmpp/client";
import { Parser, xml, type Element } from "@xmpp/xml";

const NS_COMPONENT = "jabber:component:accept";
const NS_FOCUS = "http://jitsi.org/protocol/focus";
const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
const NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const NS_PING = "urn:xmpp:ping";

export type FakeJicofoTransport =
  | { kind: "component"; port: number; secret: string }
  | { kind: "client"; port: number; authDomain: string; username: string; password: string };

export interface FakeJicofoOptions {
  transport: FakeJicofoTransport;
  /** focus.<domain>: the component's own address, or the client_proxy's. */
  componentDomain: string;
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

/** A connected XMPP endpoint: where stanzas go out, and the hook for those that come in. */
interface Link {
  /** Our occupant JID's `from` (components must set it; clients leave it to the server). */
  from?: string;
  send(stanza: Element): void;
  onStanza(handler: (stanza: Element) => void): void;
  /** Conference requests: the handler resolves with the reply's child, <conference/> or <error/>. */
  onConference(handler: (iq: Element) => Promise<Element>): void;
  close(): Promise<void>;
}

/** XEP-0114 over a raw socket: stream header, sha1(id + secret) handshake, then plain stanzas. */
async function componentLink(port: number, domain: string, secret: string): Promise<Link> {
  const socket: Socket = connect({ host: "127.0.0.1", port });
  const parser = new Parser();
  let handler: (stanza: Element) => void = () => {};
  let conference: (iq: Element) => Promise<Element> = () => Promise.reject(new Error("not ready"));
  const send = (stanza: Element) => socket.write(stanza.toString());
  const route = (stanza: Element) => {
    if (stanza.name === "iq" && stanza.attrs.type === "set" && stanza.getChild("conference", NS_FOCUS)) {
      void conference(stanza).then((child) => send(xml("iq", { type: child.name === "error" ? "error" : "result", id: stanza.attrs.id, from: domain, to: stanza.attrs.from }, child)));
    } else if (stanza.name === "iq" && stanza.attrs.type === "get" && stanza.getChild("ping", NS_PING)) {
      send(xml("iq", { type: "result", id: stanza.attrs.id, from: stanza.attrs.to, to: stanza.attrs.from }));
    } else if (stanza.name === "iq" && (stanza.attrs.type === "get" || stanza.attrs.type === "set")) {
      send(xml("iq", { type: "error", id: stanza.attrs.id, from: stanza.attrs.to, to: stanza.attrs.from }, xml("error", { type: "cancel" }, xml("service-unavailable", { xmlns: NS_STANZAS }))));
    } else {
      handler(stanza);
    }
  };
  const handshake = new Promise<void>((resolve, reject) => {
    parser.on("start", (header) => {
      const digest = createHash("sha1").update(`${header.attrs.id ?? ""}${secret}`).digest("hex");
      socket.write(xml("handshake", {}, digest).toString());
    });
    parser.on("element", (stanza) => {
      if (stanza.name === "handshake") resolve();
      else if (stanza.name === "stream:error") reject(new Error(`component handshake refused: ${stanza.toString()}`));
      else route(stanza);
    });
    parser.on("error", reject);
    socket.on("error", reject);
    socket.on("close", () => reject(new Error("component connection closed")));
  });
  socket.on("data", (chunk: Buffer) => parser.write(chunk.toString("utf8")));
  socket.on("connect", () => {
    socket.write(`<?xml version='1.0'?><stream:stream xmlns='${NS_COMPONENT}' xmlns:stream='http://etherx.jabber.org/streams' to='${domain}'>`);
  });
  try {
    await handshake;
  } catch (error) {
    socket.destroy();
    throw error;
  }
  return {
    from: `${domain}/focus`,
    send,
    onStanza: (h) => (handler = h),
    onConference: (h) => (conference = h),
    close: () =>
      new Promise<void>((resolve) => {
        if (socket.destroyed) return resolve();
        socket.once("close", () => resolve());
        socket.end("</stream:stream>");
        setTimeout(() => socket.destroy(), 1000).unref();
      }),
  };
}

/** Jicofo's own way in: focus@auth.<domain> over c2s, announcing itself to the client_proxy with presence. */
async function clientLink(t: Extract<FakeJicofoTransport, { kind: "client" }>, proxy: string): Promise<Link> {
  const xmpp = client({ service: `xmpp://127.0.0.1:${t.port}`, domain: t.authDomain, username: t.username, password: t.password, resource: "focus" });
  xmpp.reconnect.stop();
  xmpp.on("error", () => {});
  try {
    await xmpp.start();
  } catch (error) {
    await xmpp.stop().catch(() => {});
    throw error;
  }
  let handler: (stanza: Element) => void = () => {};
  let conference: (iq: Element) => Promise<Element> = () => Promise.reject(new Error("not ready"));
  // @xmpp/client's IQ callee answers every request; unhandled ones get service-unavailable.
  xmpp.iqCallee.set(NS_FOCUS, "conference", (ctx) => conference(ctx.stanza));
  xmpp.on("stanza", (stanza) => {
    if (stanza.name === "iq") return;
    // client_proxy subscribes to the focus account; accept, as Jicofo's roster does.
    if (stanza.name === "presence" && stanza.attrs.type === "subscribe") {
      void xmpp.send(xml("presence", { to: stanza.attrs.from, type: "subscribed" }));
      return;
    }
    handler(stanza);
  });
  await xmpp.send(xml("presence"));
  // A directed presence registers this session with the proxy. Prosody handles one session's stanzas in order
  // and routes to local components synchronously, so once a ping to our own server is answered, it is done.
  await xmpp.send(xml("presence", { to: proxy }));
  await xmpp.iqCaller.get(xml("ping", { xmlns: NS_PING }), t.authDomain, 5000);
  return {
    send: (stanza) => void xmpp.send(stanza).catch(() => {}),
    onStanza: (h) => (handler = h),
    onConference: (h) => (conference = h),
    close: async () => {
      xmpp.reconnect.stop();
      await xmpp.stop().catch(() => {});
    },
  };
}

export async function startFakeJicofo(o: FakeJicofoOptions): Promise<FakeJicofo> {
  const t = o.transport;
  const link = t.kind === "component" ? await componentLink(t.port, o.componentDomain, t.secret) : await clientLink(t, o.componentDomain);
  const requests: FakeJicofo["requests"] = [];
  const pending = new Map<string, (stanza: Element) => void>();
  /** room JID → whether an owner was granted yet, whether a token-domain user asked for it, and our own join. */
  const rooms = new Map<string, { owned: boolean; hostSeen: boolean; joined: Promise<void> }>();
  const withFrom = (attrs: Record<string, string | undefined>) => (link.from === undefined ? attrs : { from: link.from, ...attrs });

  const request = (stanza: Element) => {
    stanza.attrs.id = randomBytes(6).toString("hex");
    link.send(stanza);
  };

  function enterRoom(roomJid: string): Promise<void> {
    const known = rooms.get(roomJid);
    if (known) return known.joined;
    const joined = new Promise<void>((resolve, reject) => {
      const self = `${roomJid}/focus`;
      pending.set(`presence:${self}`, (presence) => {
        if (presence.attrs.type === "error") reject(new Error(`focus could not enter ${roomJid}: ${presence.getChild("error")?.toString() ?? ""}`));
        else resolve();
      });
      link.send(xml("presence", withFrom({ to: self }), xml("x", { xmlns: NS_MUC })));
    });
    rooms.set(roomJid, { owned: false, hostSeen: false, joined });
    return joined;
  }

  /** Who asked: client_proxy rewrites the sender to `focus.<domain>/<original full JID>`. */
  const requester = (from: string) => (from.startsWith(`${o.componentDomain}/`) ? from.slice(o.componentDomain.length + 1) : from);

  async function onConference(iq: Element): Promise<Element> {
    const from = iq.attrs.from ?? "";
    const roomJid = (iq.getChild("conference", NS_FOCUS)?.attrs.room ?? "").toLowerCase();
    const who = requester(from);
    const fromMain = domainOf(who) === o.mainDomain;
    if (o.openRoomsFor === "main-domain" && !fromMain && !rooms.get(roomJid)?.hostSeen) {
      requests.push({ from: who, room: roomJid, answer: "not-authorized" });
      return xml("error", { type: "cancel" }, xml("not-authorized", { xmlns: NS_STANZAS }));
    }
    try {
      await enterRoom(roomJid);
      if (fromMain) (rooms.get(roomJid) as { hostSeen: boolean }).hostSeen = true;
      requests.push({ from: who, room: roomJid, answer: "ready" });
      return xml("conference", { xmlns: NS_FOCUS, ready: "true", room: roomJid });
    } catch {
      requests.push({ from: who, room: roomJid, answer: "error" });
      return xml("error", { type: "wait" }, xml("internal-server-error", { xmlns: NS_STANZAS }));
    }
  }

  /** Auto-owner: promote the first token-domain occupant once it is in (as Jicofo's role manager does). */
  function onOccupant(presence: Element): void {
    if (o.autoOwner !== "first-main-domain" || presence.attrs.type === "unavailable") return;
    const roomJid = bare(presence.attrs.from ?? "").toLowerCase();
    const room = rooms.get(roomJid);
    const realJid = presence.getChild("x", NS_MUC_USER)?.getChild("item")?.attrs.jid;
    if (!room || room.owned || !realJid || domainOf(realJid) !== o.mainDomain) return;
    room.owned = true;
    request(xml("iq", withFrom({ type: "set", to: roomJid }), xml("query", { xmlns: NS_MUC_ADMIN }, xml("item", { affiliation: "owner", jid: bare(realJid) }))));
  }

  link.onConference(onConference);
  link.onStanza((stanza) => {
    if (stanza.name !== "presence") return;
    const key = `presence:${(stanza.attrs.from ?? "").toLowerCase()}`;
    const waiter = pending.get(key);
    if (waiter) {
      pending.delete(key);
      waiter(stanza);
    } else {
      onOccupant(stanza);
    }
  });

  return {
    requests,
    stop: async () => {
      for (const roomJid of rooms.keys()) link.send(xml("presence", withFrom({ to: `${roomJid}/focus`, type: "unavailable" })));
      await link.close();
    },
  };
}
