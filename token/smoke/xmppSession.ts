/**
 * One XMPP-over-WebSocket session the way a Jitsi web client opens it: `?room=&token=` on the URL, SASL
 * ANONYMOUS, bind, the conference request to focus, the MUC join. Built on @xmpp/client with its reconnect
 * switched off (a smoke test must never loop) and its WebSocket replaced by `ws` carrying our CA and DNS pins.
 * Every refusal keeps the server's own condition and text.
 */
import { client, xml, type XmppClient } from "@xmpp/client";
import ConnectionWebSocket from "@xmpp/websocket/lib/Connection.js";
import Socket, { isSecure } from "@xmpp/websocket/lib/Socket.js";
import type { Element } from "@xmpp/xml";
import { WebSocket } from "ws";
import { pinnedLookup, trustAnchors, type NetworkOptions } from "./network.ts";

export const NS_FOCUS = "http://jitsi.org/protocol/focus";
export const NS_MUC = "http://jabber.org/protocol/muc";
export const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
export const NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
/** How long to wait between conference requests answered with ready="false" (lib-jitsi-meet also retries). */
const CONFERENCE_RETRY_MS = 250;

export type SessionStage = "connect" | "sasl" | "bind" | "conference" | "join" | "services" | "timeout";

/** XEP-0215 External Service Discovery, version 2 (what Prosody 0.12 and lib-jitsi-meet speak). */
export const NS_EXTDISCO = "urn:xmpp:extdisco:2";

/** One `<service/>` of a XEP-0215 answer. */
export interface ExternalService {
  /** "stun", "turn", "turns", ... */
  readonly type: string;
  readonly host: string;
  readonly port: number | undefined;
  /** "udp" or "tcp". */
  readonly transport: string | undefined;
  readonly username?: string;
  readonly password?: string;
  /** ISO 8601 time the credentials expire. */
  readonly expires?: string;
}

/** The server (or the network) said no. `condition`/`text` are the server's words when it gave any. */
export class XmppRefusal extends Error {
  override readonly name = "XmppRefusal";
  constructor(
    readonly stage: SessionStage,
    readonly condition: string,
    readonly serverText = "",
    readonly application = "",
  ) {
    super(`${stage}: ${condition}${serverText ? ` "${serverText}"` : ""}${application ? ` (${application})` : ""}`);
  }
  /** The reason as the report shows it: condition, verbatim text, application-specific condition. */
  get reason(): string {
    return `${this.condition}${this.serverText ? `: ${this.serverText}` : ""}${this.application ? ` (${this.application})` : ""}`;
  }
}

export interface SessionOptions extends NetworkOptions {
  /** The WebSocket URL including `?room=…&token=…`. */
  service: string;
  /** The XMPP domain to open the stream to (hosts.domain or hosts.anonymousdomain), never the public host name. */
  domain: string;
  /** Deadline for connect + SASL + bind. */
  timeoutMs: number;
}

export interface Occupancy {
  readonly roomJid: string;
  readonly nick: string;
  /** Role and affiliation from the latest self-presence (status 110). */
  role: string;
  affiliation: string;
  /** Resolves true as soon as a self-presence carries `role`, false after `ms`. */
  waitForRole(role: string, ms: number): Promise<boolean>;
}

/** Builds the transport class: @xmpp/websocket's connection with a `ws` socket that knows our CA and pins. */
function pinnedTransport(network: NetworkOptions, handshakeTimeout: number): unknown {
  const ca = trustAnchors(network.ca);
  const lookup = pinnedLookup(network.resolve);
  class PinnedSocket extends Socket {
    override connect(url: string): void {
      this.url = url;
      this.secure = isSecure(url);
      this._attachSocket(new WebSocket(url, ["xmpp"], { handshakeTimeout, ...(ca ? { ca } : {}), ...(lookup ? { lookup } : {}) }));
    }
  }
  class PinnedConnection extends ConnectionWebSocket {}
  PinnedConnection.prototype.Socket = PinnedSocket;
  return PinnedConnection;
}

function errorDetails(error: Element | undefined): { condition: string; text: string; application: string } {
  if (error === undefined) return { condition: "error", text: "", application: "" };
  const children = error.children.filter((c): c is Element => typeof c !== "string");
  const condition = children.find((c) => c.attrs.xmlns === NS_STANZAS && c.name !== "text")?.name ?? "undefined-condition";
  const text = error.getChildText("text", NS_STANZAS) ?? "";
  const application = children.find((c) => c.attrs.xmlns !== NS_STANZAS)?.name ?? "";
  return { condition, text, application };
}

/** Maps whatever @xmpp/client or ws threw into a refusal with the server's words. */
function refusalFrom(error: unknown, stage: SessionStage): XmppRefusal {
  if (error instanceof XmppRefusal) return error;
  const e = error as { name?: string; condition?: string; text?: string; message?: string; code?: string; application?: { name?: string } };
  if (e.name === "SASLError") return new XmppRefusal("sasl", e.condition ?? "failure", e.text ?? "", e.application?.name ?? "");
  if (e.name === "StanzaError") return new XmppRefusal(stage, e.condition ?? "error", e.text ?? "", e.application?.name ?? "");
  if (e.name === "StreamError") return new XmppRefusal("connect", `stream error ${e.condition ?? ""}`.trim(), e.text ?? "");
  if (e.name === "TimeoutError") return new XmppRefusal("timeout", `no answer during ${stage}`);
  return new XmppRefusal(stage === "sasl" ? "connect" : stage, e.code ? `${e.code}` : "error", e.message ?? String(error));
}

function withDeadline<T>(promise: Promise<T>, ms: number, stage: SessionStage): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new XmppRefusal("timeout", `no answer within ${ms} ms during ${stage}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export class XmppSession {
  private closed = false;
  private constructor(
    private readonly xmpp: XmppClient,
    readonly jid: string,
  ) {}

  /** Connects, authenticates (SASL ANONYMOUS) and binds. Always closes the connection if any of that fails. */
  static async open(options: SessionOptions): Promise<XmppSession> {
    const xmpp = client({ service: options.service, domain: options.domain });
    xmpp.reconnect.stop();
    xmpp.transports.splice(0, xmpp.transports.length, pinnedTransport(options, options.timeoutMs));
    // Failures surface through start(); without a listener an 'error' event would crash the process.
    xmpp.on("error", () => {});
    try {
      const jid = await withDeadline(xmpp.start(), options.timeoutMs, "sasl");
      return new XmppSession(xmpp, String(jid));
    } catch (error) {
      await stopQuietly(xmpp);
      throw refusalFrom(error, "sasl");
    }
  }

  /**
   * The conference request Jicofo must answer before anyone may join (mod_muc_meeting_id holds joiners until the
   * focus is in the room). Retries while the answer is ready="false"; refuses on an IQ error.
   */
  async requestConference(roomJid: string, focus: string, timeoutMs: number): Promise<number> {
    const until = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const left = until - Date.now();
      if (left <= 0) throw new XmppRefusal("timeout", `focus ${focus} did not report the conference ready within ${timeoutMs} ms`);
      let answer: Element | undefined;
      try {
        answer = await this.xmpp.iqCaller.set(xml("conference", { xmlns: NS_FOCUS, room: roomJid, "machine-uid": crypto.randomUUID() }), focus, left);
      } catch (error) {
        throw refusalFrom(error, "conference");
      }
      if (answer?.attrs.ready === "true") return attempt;
      await new Promise((r) => setTimeout(r, Math.min(CONFERENCE_RETRY_MS, Math.max(0, until - Date.now()))));
    }
  }

  /** Enters `roomJid/nick` and resolves on the self-presence (status 110); refuses with the error presence. */
  join(roomJid: string, nick: string, timeoutMs: number): Promise<Occupancy> {
    const occupantJid = `${roomJid}/${nick}`.toLowerCase();
    const waiters = new Set<() => void>();
    const occupancy: Occupancy = {
      roomJid,
      nick,
      role: "",
      affiliation: "",
      waitForRole: (role, ms) => {
        if (occupancy.role === role) return Promise.resolve(true);
        return new Promise((resolve) => {
          const check = () => {
            if (occupancy.role !== role) return;
            clearTimeout(timer);
            waiters.delete(check);
            resolve(true);
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            resolve(false);
          }, ms);
          waiters.add(check);
        });
      },
    };
    return withDeadline(
      new Promise<Occupancy>((resolve, reject) => {
        let joined = false;
        const onStanza = (stanza: Element) => {
          if (stanza.name !== "presence" || (stanza.attrs.from ?? "").toLowerCase() !== occupantJid) return;
          if (stanza.attrs.type === "error") {
            const { condition, text, application } = errorDetails(stanza.getChild("error"));
            this.xmpp.removeListener("stanza", onStanza);
            reject(new XmppRefusal("join", condition, text, application));
            return;
          }
          const x = stanza.getChild("x", NS_MUC_USER);
          const self = x?.getChildren("status").some((s) => s.attrs.code === "110");
          if (!x || !self) return;
          const item = x.getChild("item");
          occupancy.role = item?.attrs.role ?? "";
          occupancy.affiliation = item?.attrs.affiliation ?? "";
          // 201: we created the room ourselves; unlock it as an instant room so others can enter.
          if (x.getChildren("status").some((s) => s.attrs.code === "201")) {
            void this.xmpp.iqCaller.set(xml("query", { xmlns: NS_MUC_OWNER }, xml("x", { xmlns: "jabber:x:data", type: "submit" })), roomJid).catch(() => {});
          }
          for (const waiter of [...waiters]) waiter();
          if (!joined) {
            joined = true;
            resolve(occupancy);
          }
        };
        this.xmpp.on("stanza", onStanza);
        this.xmpp.send(xml("presence", { to: `${roomJid}/${nick}` }, xml("x", { xmlns: NS_MUC }))).catch((error: unknown) => reject(refusalFrom(error, "join")));
      }),
      timeoutMs,
      "join",
    );
  }

  /**
   * The external services (STUN/TURN) the server offers, asked as lib-jitsi-meet asks (XEP-0215: an IQ get with
   * `<services xmlns="urn:xmpp:extdisco:2"/>` to the session's own domain). TURN entries carry time-limited
   * credentials when the server issues them (Prosody's mod_external_services with a secret).
   */
  async externalServices(domain: string, timeoutMs: number): Promise<ExternalService[]> {
    let answer: Element | undefined;
    try {
      answer = await this.xmpp.iqCaller.get(xml("services", { xmlns: NS_EXTDISCO }), domain, timeoutMs);
    } catch (error) {
      throw refusalFrom(error, "services");
    }
    return (answer?.getChildren("service") ?? []).map((service) => {
      const { type = "", host = "", port, transport, username, password, expires } = service.attrs;
      return {
        type,
        host,
        port: port === undefined ? undefined : Number(port),
        transport,
        ...(username === undefined ? {} : { username }),
        ...(password === undefined ? {} : { password }),
        ...(expires === undefined ? {} : { expires }),
      };
    });
  }

  /** Leaves politely and closes the stream; never throws, safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await stopQuietly(this.xmpp);
  }
}

/** How long a polite close may take before the socket is cut. */
const CLOSE_GRACE_MS = 1500;

async function stopQuietly(xmpp: XmppClient): Promise<void> {
  xmpp.reconnect.stop();
  // stop() sends </close> and waits for the server's; bound it, then cut the socket so a dead peer cannot hold the run.
  await withDeadline(xmpp.stop(), CLOSE_GRACE_MS, "connect").catch(() => {
    (xmpp as unknown as { socket?: { socket?: { terminate?: () => void } } }).socket?.socket?.terminate?.();
  });
}
