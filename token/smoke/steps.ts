/**
 * Steps 2–5 of the smoke test: each is a function of the run context that returns a StepResult, never throws,
 * and closes every session it opened (the host session is the run's to close: the room must stay open while
 * the other steps use it).
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mintToken } from "../index.ts";
import type { TokenSigningConfig } from "../options.ts";
import type { NetworkOptions } from "./network.ts";
import type { DiscoveredHost, RejectionCase, StepId, StepResult } from "./types.ts";
import { pinnedLookup, trustAnchors } from "./network.ts";
import { TurnClient, TurnRefusal } from "./turnClient.ts";
import { XmppRefusal, XmppSession, type ExternalService, type Occupancy } from "./xmppSession.ts";

export interface StepContext {
  host: DiscoveredHost;
  signing: TokenSigningConfig;
  network: NetworkOptions;
  /** The fresh room of this run (MUC node). */
  room: string;
  /** The run's tenant: tokens are minted for it (sub), and host.muc/websocketUrl already point into it. */
  tenant?: string;
  /** Absolute end of the whole run (epoch ms). */
  deadline: number;
  /** How long to keep listening for a later promotion to moderator (jicofo auto-owner / wait_for_host). */
  promotionWaitMs: number;
  /** How long to watch a participant for an unwanted promotion. */
  settleMs: number;
}

export const STEP_TITLES: Record<StepId, string> = {
  discovery: "HTTPS certificate and /config.js",
  moderator: "moderator token opens a fresh room as moderator",
  participant: "non-moderator token joins as participant",
  guest: "guest cannot open a room alone, joins as participant once the host is in",
  "reject-wrong-secret": "token signed with the wrong key is refused",
  "reject-expired": "expired token is refused",
  "reject-other-room": "token for another room is refused",
  "reject-no-token": "no token on the main domain is refused",
  "reject-other-tenant": "token for the same room in another tenant is refused",
  turn: "TURN credentials over XMPP, relay allocated over TLS on the HTTPS port",
};

/** A step's outcome before timing is attached. */
type Outcome = Omit<StepResult, "id" | "title" | "durationMs" | "warnings"> & { warnings?: string[] };

export async function timed(id: StepId, body: () => Promise<Outcome>): Promise<StepResult> {
  const started = performance.now();
  let outcome: Outcome;
  try {
    outcome = await body();
  } catch (error) {
    if (!(error instanceof XmppRefusal)) outcome = { status: "failed", detail: error instanceof Error ? error.message : String(error) };
    // A transport failure or silence is not the server's verdict: it goes in the detail, not serverReason.
    else if (error.stage === "connect") outcome = { status: "failed", detail: `could not connect: ${error.reason}` };
    else if (error.stage === "timeout") outcome = { status: "failed", detail: `timed out: ${error.reason}` };
    else outcome = { status: "failed", detail: `refused at ${error.stage}`, serverReason: error.reason };
  }
  return { id, title: STEP_TITLES[id], durationMs: Math.round(performance.now() - started), warnings: [], ...outcome };
}

const left = (ctx: StepContext) => Math.max(1, ctx.deadline - Date.now());
const roomJid = (ctx: StepContext, room = ctx.room) => `${room}@${ctx.host.muc}`;
/** Short random hex nicks, the form lib-jitsi-meet uses (mod_muc_resource_validate may insist on it). */
const nick = () => randomBytes(4).toString("hex");

function serviceUrl(ctx: StepContext, room: string, token?: string): string {
  const url = new URL(ctx.host.websocketUrl);
  url.searchParams.set("room", room);
  if (token !== undefined) url.searchParams.set("token", token);
  return url.href;
}

interface Mint {
  room: string;
  moderator: boolean;
  /** Replace the signing key (wrong-secret case). */
  foreignKey?: boolean;
  /** Mint for this tenant instead of the run's (other-tenant case). */
  tenant?: string;
  /** Mint as of this instant (expired case). */
  now?: number;
  ttlSeconds?: number;
}

async function mint(ctx: StepContext, m: Mint): Promise<string> {
  let signing: TokenSigningConfig = ctx.signing;
  if (m.foreignKey) {
    signing = ctx.signing.privateKey !== undefined
      ? { ...ctx.signing, privateKey: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey }
      : { ...ctx.signing, secret: randomBytes(32).toString("base64url") };
  }
  const id = `smoke-${m.moderator ? "host" : "user"}-${randomBytes(3).toString("hex")}`;
  const tenant = m.tenant ?? ctx.tenant;
  return mintToken({
    ...signing,
    room: m.room,
    ...(tenant === undefined ? {} : { tenant }),
    user: { id, name: m.moderator ? "Smoke Test Host" : "Smoke Test Participant" },
    moderator: m.moderator,
    ttlSeconds: m.ttlSeconds ?? 300,
    ...(m.now === undefined ? {} : { now: m.now }),
  });
}

async function open(ctx: StepContext, domain: string, room: string, token?: string): Promise<XmppSession> {
  return XmppSession.open({ ...ctx.network, service: serviceUrl(ctx, room, token), domain, timeoutMs: Math.min(left(ctx), 10_000) });
}

/** Conference request then join: what a web client does after login. */
async function enter(ctx: StepContext, session: XmppSession, room: string): Promise<{ occupancy: Occupancy; requests: number }> {
  const requests = await session.requestConference(roomJid(ctx, room), ctx.host.focus, left(ctx));
  const occupancy = await session.join(roomJid(ctx, room), nick(), left(ctx));
  return { occupancy, requests };
}

/** A "no" from the server (SASL, focus, MUC), as opposed to a network failure or silence. */
function isServerRefusal(error: unknown): error is XmppRefusal {
  return error instanceof XmppRefusal && error.stage !== "timeout" && error.stage !== "connect";
}

const described = (o: Occupancy) => `role ${o.role || "(none)"}, affiliation ${o.affiliation || "(none)"}`;

/** Step 2. Returns the open host session with the result; the caller closes it when the run ends. */
export async function moderatorStep(ctx: StepContext): Promise<{ result: StepResult; session?: XmppSession }> {
  let session: XmppSession | undefined;
  const result = await timed("moderator", async () => {
    session = await open(ctx, ctx.host.domain, ctx.room, await mint(ctx, { room: ctx.room, moderator: true }));
    const { occupancy, requests } = await enter(ctx, session, ctx.room);
    const first = occupancy.role;
    if (first !== "moderator" && !(await occupancy.waitForRole("moderator", Math.min(ctx.promotionWaitMs, left(ctx))))) {
      return { status: "failed", detail: `joined ${roomJid(ctx)} but stayed ${described(occupancy)} for ${ctx.promotionWaitMs} ms; expected role moderator` };
    }
    const how = first === "moderator" ? "on the first self-presence" : "by a later self-presence (promotion)";
    return { status: "passed", detail: `logged in as ${session.jid}; focus ready after ${requests} request(s); ${described(occupancy)} ${how}` };
  });
  // Only a host that is really in the room (as moderator) may hold it open for the other steps.
  if (result.status !== "passed") {
    await session?.close();
    return { result };
  }
  return session === undefined ? { result } : { result, session };
}

/** Joins, then watches for `settleMs` that the role does not become moderator. */
async function expectParticipant(ctx: StepContext, session: XmppSession, room: string): Promise<Outcome> {
  const { occupancy } = await enter(ctx, session, room);
  if (occupancy.role !== "moderator") await occupancy.waitForRole("moderator", Math.min(ctx.settleMs, left(ctx)));
  if (occupancy.role !== "participant") {
    return { status: "failed", detail: `joined ${roomJid(ctx, room)} with ${described(occupancy)}; expected role participant` };
  }
  return { status: "passed", detail: `logged in as ${session.jid}; joined ${roomJid(ctx, room)} with ${described(occupancy)}` };
}

/** Step 3. */
export function participantStep(ctx: StepContext): Promise<StepResult> {
  return timed("participant", async () => {
    const session = await open(ctx, ctx.host.domain, ctx.room, await mint(ctx, { room: ctx.room, moderator: false }));
    try {
      return await expectParticipant(ctx, session, ctx.room);
    } finally {
      await session.close();
    }
  });
}

/** Step 4 (only when config.js names a guest domain). */
export function guestStep(ctx: StepContext): Promise<StepResult> {
  const guestDomain = ctx.host.guestDomain;
  if (guestDomain === undefined) {
    return Promise.resolve({ id: "guest", title: STEP_TITLES.guest, status: "skipped", durationMs: 0, detail: "config.js has no hosts.anonymousdomain: guests are disabled", warnings: [] });
  }
  return timed("guest", async () => {
    // A guest alone in a room nobody opened: must not get in.
    const lonely = `${ctx.room}-alone`;
    const alone = await open(ctx, guestDomain, lonely);
    let refusal: XmppRefusal | undefined;
    try {
      await enter(ctx, alone, lonely);
    } catch (error) {
      if (!isServerRefusal(error)) throw error;
      refusal = error;
    } finally {
      await alone.close();
    }
    if (refusal === undefined) return { status: "failed", detail: `a guest (${guestDomain}) opened ${roomJid(ctx, lonely)} with no host in it` };
    const reason = `alone: refused at ${refusal.stage}: ${refusal.reason}`;
    const session = await open(ctx, guestDomain, ctx.room);
    try {
      const joined = await expectParticipant(ctx, session, ctx.room);
      return { ...joined, detail: `${joined.detail}; ${reason}`, serverReason: refusal.reason };
    } finally {
      await session.close();
    }
  });
}

/** Step 5: each case must be refused somewhere between login and the room; the refusal's words are reported. */
export function rejectionStep(ctx: StepContext, id: RejectionCase): Promise<StepResult> {
  return timed(id, async () => {
    let token: string | undefined;
    if (id === "reject-wrong-secret") token = await mint(ctx, { room: ctx.room, moderator: false, foreignKey: true });
    if (id === "reject-expired") token = await mint(ctx, { room: ctx.room, moderator: false, now: Date.now() - 3_600_000, ttlSeconds: 60 });
    if (id === "reject-other-room") token = await mint(ctx, { room: `${ctx.room}-other`, moderator: false });
    // Same room name, another tenant: domain verification must tell [other]room from [tenant]room.
    if (id === "reject-other-tenant") token = await mint(ctx, { room: ctx.room, moderator: false, tenant: `${ctx.tenant ?? "root"}-other` });
    let session: XmppSession | undefined;
    try {
      session = await open(ctx, ctx.host.domain, ctx.room, token);
      const { occupancy } = await enter(ctx, session, ctx.room);
      return { status: "failed", detail: `the server let it in: logged in as ${session.jid}, joined ${roomJid(ctx)} with ${described(occupancy)}` };
    } catch (error) {
      if (!isServerRefusal(error)) throw error;
      return { status: "passed", detail: `refused at ${error.stage}`, serverReason: error.reason };
    } finally {
      await session?.close();
    }
  });
}

/**
 * Pins for the TURN name: the run's own, plus `turn.<domain>`-style names at the address the WebSocket's host is
 * pinned to (one machine serves both), so `--resolve meet.example.com:ADDR` alone reaches TURN too.
 */
function turnPins(ctx: StepContext, turnHost: string): Record<string, string> | undefined {
  const pins = ctx.network.resolve;
  if (pins === undefined) return undefined;
  const site = pins[new URL(ctx.host.websocketUrl).hostname];
  return pins[turnHost] === undefined && site !== undefined ? { ...pins, [turnHost]: site } : { ...pins };
}

/**
 * Step 6 (when asked for): TURN as a web client gets it. Logs in (as a guest where guests exist, else with a
 * participant token), asks for the external services (XEP-0215), then allocates a relay over TLS at the `turns`
 * service with the credentials it was given (TURN over TLS on 443 passes firewalls that allow only HTTPS).
 */
export function turnStep(ctx: StepContext): Promise<StepResult> {
  return timed("turn", async () => {
    const guest = ctx.host.guestDomain;
    const domain = guest ?? ctx.host.domain;
    const session = await open(ctx, domain, ctx.room, guest === undefined ? await mint(ctx, { room: ctx.room, moderator: false }) : undefined);
    let services: ExternalService[];
    try {
      services = await session.externalServices(domain, Math.min(left(ctx), 10_000));
    } catch (error) {
      // A server without mod_external_services answers service-unavailable: no TURN at all.
      if (!(error instanceof XmppRefusal) || error.stage !== "services") throw error;
      return { status: "failed", detail: `${domain} answers no external services query (XEP-0215); is TURN turned off (jitsi:turn false)?`, serverReason: error.reason };
    } finally {
      await session.close();
    }
    const offered = services.map((s) => `${s.type}:${s.host}:${String(s.port ?? "")}`).join(", ") || "none";
    const turns = services.find((s) => s.type === "turns");
    if (turns === undefined) {
      return { status: "failed", detail: `${domain} offers no TURN over TLS (XEP-0215 services: ${offered}); is TURN turned off (jitsi:turn false)?` };
    }
    const port = turns.port ?? 443;
    if (turns.username === undefined || turns.password === undefined) {
      return { status: "failed", detail: `${domain} offers turns:${turns.host}:${String(port)} without credentials (Prosody's external_service_secret is missing)` };
    }
    const lookup = pinnedLookup(turnPins(ctx, turns.host));
    const ca = trustAnchors(ctx.network.ca);
    const client = await TurnClient.connect(
      { transport: "tls", host: turns.host, port, servername: turns.host, ...(ca ? { ca } : {}), ...(lookup ? { lookup } : {}) },
      { timeoutMs: Math.min(left(ctx), 10_000) },
    );
    try {
      const { relayed } = await client.allocate({ username: turns.username, password: turns.password });
      return { status: "passed", detail: `credentials from ${domain}; relay ${relayed.address}:${String(relayed.port)} allocated over TLS at turns:${turns.host}:${String(port)}` };
    } catch (error) {
      if (!(error instanceof TurnRefusal)) throw error;
      return { status: "failed", detail: `TURN server at ${turns.host}:${String(port)} refused the Allocate with the credentials ${domain} handed out`, serverReason: `${String(error.code)} ${error.reason}` };
    } finally {
      client.close();
    }
  });
}
