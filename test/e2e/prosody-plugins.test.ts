/**
 * Opt-in: the rendered Prosody config with Jitsi's real plugins (JITSI_PLUGINS_DIR = an extracted copy of
 * jitsi-meet's resources/prosody-plugins). Every module it enables loads without a warning or error, and the
 * logins behave as the deployment promises: guests anonymous on guest.<domain>, token holders on the main
 * domain only with a valid token.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { client, xml, type XmppClient } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { SignJWT, importPKCS8 } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { luaString } from "../../templates/escape/lua.ts";
import { renderAsapPublicKeys } from "../../templates/files/asapKeys.ts";
import { ACCOUNTS, URL_PATHS, xmppNames } from "jitsi-jwt-token/shared";
import { asapKeyFileName } from "../../templates/validate.ts";
import { freePort } from "../support/ports.ts";
import { startFakeJicofo, type FakeJicofo } from "../support/fakeJicofo.ts";
import {
  PROSODY_TEST_DEPLOYMENT,
  anonymousLogin,
  hostHeaderWebSocket,
  startProsody,
  type RunningProsody,
} from "../support/prosody.ts";

const pluginsDir = process.env.JITSI_PLUGINS_DIR;

function requirePluginsDir(): string {
  if (pluginsDir === undefined || pluginsDir === "") {
    throw new Error(
      "JITSI_PLUGINS_DIR is not set: point it at an extracted copy of jitsi-meet's resources/prosody-plugins " +
        "(see README.md, 'Opt-in', and docs/configuration.md).",
    );
  }
  if (!existsSync(join(pluginsDir, "mod_auth_token.lua"))) {
    throw new Error(`JITSI_PLUGINS_DIR=${pluginsDir} does not hold Jitsi's prosody plugins (no mod_auth_token.lua)`);
  }
  return pluginsDir;
}

/** Lines at warn or error level in Prosody's log. */
function warningsAndErrors(log: string): string[] {
  return log.split("\n").filter((line) => /\t(warn|error)\t/.test(line));
}

async function token(secret: string, claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ aud: "jitsi", room: "*", ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setNotBefore(now - 30)
    .setExpirationTime(now + 300)
    .sign(new TextEncoder().encode(secret));
}

describe("rendered Prosody config with Jitsi's real plugins", () => {
  let prosody: RunningProsody;
  const auth = PROSODY_TEST_DEPLOYMENT.auth;
  const secret = auth.algorithm === "HS256" ? auth.appSecret : "";

  beforeAll(async () => {
    prosody = await startProsody({ pluginsDir: requirePluginsDir(), logLevel: "debug" });
  });
  afterAll(async () => {
    await prosody?.stop();
  });

  it("passes prosodyctl check config", async () => {
    const check = await prosody.prosodyctl(["check", "config"]);
    expect(check.output).toContain("All checks passed");
    expect(check.code).toBe(0);
  });

  it("loads every module without a warning or error", async () => {
    const log = await prosody.logs();
    expect(warningsAndErrors(log)).toEqual([]);
    for (const module of ["token_verification", "token_affiliation", "muc_wait_for_host", "persistent_lobby", "muc_lobby_rooms"]) {
      expect(log).toMatch(new RegExp(`:${module}\\t`));
    }
    expect(log).toContain(`Host '${prosody.names.domain}' now set to use user provider 'token'`);
    expect(log).toContain(`Host '${prosody.names.guest}' now set to use user provider 'jitsi-anonymous'`);
  });

  it("lets a guest log in anonymously on guest.<domain>", async () => {
    expect(await anonymousLogin(prosody, prosody.names.guest)).toMatch(/^[^@]+@guest\.meet\.example\.test\/.+$/);
  });

  it("lets a token holder log in on the main domain", async () => {
    const jwt = await token(secret, { iss: auth.appId, sub: prosody.names.domain });
    const jid = await anonymousLogin(prosody, prosody.names.domain, `?room=demo&token=${jwt}`);
    expect(jid).toMatch(/^[^@]+@meet\.example\.test\/.+$/);
  });

  it("refuses the main domain without a token (allow_empty_token = false)", async () => {
    await expect(anonymousLogin(prosody, prosody.names.domain)).rejects.toMatchObject({ condition: "not-allowed" });
  });

  it("refuses a token signed with another secret, or from another issuer", async () => {
    const forged = await token(`${secret}x`, { iss: auth.appId, sub: prosody.names.domain });
    await expect(anonymousLogin(prosody, prosody.names.domain, `?token=${forged}`)).rejects.toMatchObject({ condition: "not-allowed" });
    const foreign = await token(secret, { iss: "someone-else", sub: prosody.names.domain });
    await expect(anonymousLogin(prosody, prosody.names.domain, `?token=${foreign}`)).rejects.toMatchObject({ condition: "not-allowed" });
  });
});

const NS_FOCUS = "http://jitsi.org/protocol/focus";
const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
/** How long a join keeps listening for a later role change after its first self-presence. */
const SETTLE_MS = 1500;

/** Where a MUC join ended: in the room with a role, or refused with an error condition. */
type JoinOutcome = { joined: true; role: string; affiliation: string } | { joined: false; condition: string };

interface Participant {
  join(roomJid: string): Promise<JoinOutcome>;
  /** Submits the room's configuration form (muc#owner), as a moderator's client does; rejects on an IQ error. */
  configure(roomJid: string, fields: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

/** A web client's session: login, conference request to focus (as lib-jitsi-meet sends it), then MUC joins. */
async function participant(prosody: RunningProsody, xmppDomain: string, query = ""): Promise<Participant> {
  const previous = globalThis.WebSocket;
  globalThis.WebSocket = hostHeaderWebSocket(prosody.names.domain) as unknown as typeof WebSocket;
  const xmpp: XmppClient = client({ service: `${prosody.websocketUrl}${query}`, domain: xmppDomain });
  xmpp.on("error", () => {});
  try {
    await xmpp.start();
  } finally {
    globalThis.WebSocket = previous;
  }
  return {
    async join(roomJid) {
      const answer = await xmpp.iqCaller.set(
        xml("conference", { xmlns: NS_FOCUS, room: roomJid, "machine-uid": randomUUID() }),
        prosody.names.focus,
      );
      if (answer?.attrs.ready !== "true") throw new Error(`focus did not open ${roomJid}: ${String(answer)}`);
      const occupant = `${roomJid}/${randomBytes(4).toString("hex")}`;
      // The outcome is the latest self-presence SETTLE_MS after the first: a later promotion (Jicofo or
      // muc_wait_for_host auto-owner) arrives as a second self-presence and must not be missed.
      const outcome = new Promise<JoinOutcome>((resolve) => {
        let latest: JoinOutcome | undefined;
        const onStanza = (stanza: Element) => {
          if (stanza.name !== "presence" || stanza.attrs.from !== occupant) return;
          if (stanza.attrs.type === "error") {
            const condition = stanza.getChild("error")?.children.find((c): c is Element => typeof c !== "string")?.name ?? "unknown";
            resolve({ joined: false, condition });
            return;
          }
          const x = stanza.getChild("x", NS_MUC_USER);
          if (!x?.getChildren("status").some((status) => status.attrs.code === "110")) return;
          const item = x.getChild("item");
          if (latest === undefined) setTimeout(() => resolve(latest as JoinOutcome), SETTLE_MS);
          latest = { joined: true, role: item?.attrs.role ?? "", affiliation: item?.attrs.affiliation ?? "" };
        };
        xmpp.on("stanza", onStanza);
      });
      // A display name, as the web client sends one (Jitsi's lobby asks for it before anything else).
      await xmpp.send(xml("presence", { to: occupant }, xml("x", { xmlns: NS_MUC }), xml("nick", { xmlns: "http://jabber.org/protocol/nick" }, "Test User")));
      return outcome;
    },
    async configure(roomJid, fields) {
      const form = xml(
        "x",
        { xmlns: "jabber:x:data", type: "submit" },
        xml("field", { var: "FORM_TYPE" }, xml("value", {}, "http://jabber.org/protocol/muc#roomconfig")),
        ...Object.entries(fields).map(([name, value]) => xml("field", { var: name }, xml("value", {}, value))),
      );
      await xmpp.iqCaller.set(xml("query", { xmlns: "http://jabber.org/protocol/muc#owner" }, form), roomJid);
    },
    async stop() {
      xmpp.reconnect.stop();
      await xmpp.stop().catch(() => {});
    },
  };
}

/** Prosody with the real plugins, Jicofo's account and the stand-in Jicofo (no auth, no auto-owner, as rendered). */
async function startRoomsStack(logging?: "debian"): Promise<{ prosody: RunningProsody; jicofo: FakeJicofo }> {
  const prosody = await startProsody({ pluginsDir: requirePluginsDir(), logLevel: "info", ...(logging === undefined ? {} : { logging }) });
  try {
    // Jicofo's account as the Debian package creates it (a test-only password), then the stand-in Jicofo
    // without authentication or auto-owner, as jicofo.conf configures the real one.
    const { focusPassword } = prosody.deployment.accounts;
    const registered = await prosody.prosodyctl(["register", ACCOUNTS.focus, prosody.names.auth, focusPassword]);
    if (registered.code !== 0) throw new Error(`prosodyctl register failed: ${registered.output}`);
    const jicofo = await startFakeJicofo({
      transport: { kind: "client", port: prosody.ports.c2s, authDomain: prosody.names.auth, username: ACCOUNTS.focus, password: focusPassword },
      componentDomain: prosody.names.focus,
      mainDomain: prosody.names.domain,
      openRoomsFor: "anyone",
      autoOwner: "none",
    });
    return { prosody, jicofo };
  } catch (error) {
    await prosody.stop();
    throw error;
  }
}

/** Registers a rooms stack for the enclosing describe (beforeAll/afterAll); its sessions are closed afterwards. */
function roomsStack(logging?: "debian") {
  let running: { prosody: RunningProsody; jicofo: FakeJicofo } | undefined;
  const sessions: Participant[] = [];
  const auth = PROSODY_TEST_DEPLOYMENT.auth;
  const secret = auth.algorithm === "HS256" ? auth.appSecret : "";
  beforeAll(async () => {
    running = await startRoomsStack(logging);
  });
  afterAll(async () => {
    for (const s of sessions) await s.stop();
    await running?.jicofo.stop();
    await running?.prosody.stop();
  });
  const stack = {
    get prosody(): RunningProsody {
      if (running === undefined) throw new Error("the rooms stack did not start");
      return running.prosody;
    },
    get jicofo(): FakeJicofo {
      if (running === undefined) throw new Error("the rooms stack did not start");
      return running.jicofo;
    },
    /** A signed HS256 token of the deployment for `room` (claims merged over iss/sub/room). */
    token: (room: string, claims: Record<string, unknown> = {}) =>
      token(secret, { iss: auth.appId, sub: stack.prosody.names.domain, room, ...claims }),
    async session(xmppDomain: string, query = ""): Promise<Participant> {
      const created = await participant(stack.prosody, xmppDomain, query);
      sessions.push(created);
      return created;
    },
    /** A token holder for `room` whose context.user gets `user` (a fresh id and a name added). */
    async holder(room: string, user: Record<string, unknown>, claims: Record<string, unknown> = {}): Promise<Participant> {
      const jwt = await stack.token(room, { context: { user: { id: randomUUID(), name: "U", ...user } }, ...claims });
      return stack.session(stack.prosody.names.domain, `?room=${room}&token=${jwt}`);
    },
  };
  return stack;
}

describe("rooms with Jitsi's real plugins: guests wait for a token holder, moderators come from the token", () => {
  const stack = roomsStack();
  const room = `e2e-${randomBytes(4).toString("hex")}`;

  it("runs the whole sequence", async () => {
    const roomJid = `${room}@${stack.prosody.names.muc}`;

    // 1. A guest before any token holder: held out (the room is members-only while it waits for its host).
    const early = await stack.session(stack.prosody.names.guest);
    expect(await early.join(roomJid)).toEqual({ joined: false, condition: "registration-required" });

    // 2. A token holder whose token says moderator: owner, moderator.
    const host = await stack.holder(room, { moderator: true });
    expect(await host.join(roomJid)).toEqual({ joined: true, role: "moderator", affiliation: "owner" });

    // 3. A token holder without the moderator claim: member, participant (being early or late changes nothing).
    const member = await stack.holder(room, {});
    expect(await member.join(roomJid)).toEqual({ joined: true, role: "participant", affiliation: "member" });

    // 4. A guest after the host arrived: in, but never more than a participant.
    const late = await stack.session(stack.prosody.names.guest);
    expect(await late.join(roomJid)).toEqual({ joined: true, role: "participant", affiliation: "none" });

    // 5. A token for another room is held to its room claim.
    const elsewhere = await stack.holder(room, {}, { room: "some-other-room" });
    expect(await elsewhere.join(roomJid)).toEqual({ joined: false, condition: "not-allowed" });
  });
});

describe("RS256 with Jitsi's real plugins: Prosody fetches the rendered public key files", () => {
  const names = xmppNames(PROSODY_TEST_DEPLOYMENT.domain);
  const kid = "e2e-key-1";
  const keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const publicPem = keys.publicKey.export({ type: "spki", format: "pem" }).toString();
  const privatePem = keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  // A second key overlapping the first, as during a rotation (docs/deploy.md): both must be accepted.
  const kid2 = "e2e-key-2";
  const keys2 = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const auth = {
    algorithm: "RS256",
    appId: "jitsi-rs-app",
    publicKeys: { [kid]: publicPem, [kid2]: keys2.publicKey.export({ type: "spki", format: "pem" }).toString() },
  } as const;
  const requested: string[] = [];
  let keyServer: Server;
  let prosody: RunningProsody;

  async function rsToken(claims: Record<string, unknown>, keyId = kid, signingPem = privatePem): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: auth.appId, aud: "jitsi", sub: names.domain, room: "*", ...claims })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: keyId })
      .setNotBefore(now - 30)
      .setExpirationTime(now + 300)
      .sign(await importPKCS8(signingPem, "RS256"));
  }

  beforeAll(async () => {
    // Stands in for this host's nginx: serves exactly the rendered key files under URL_PATHS.asapKeys.
    const files = new Map(
      renderAsapPublicKeys({ ...PROSODY_TEST_DEPLOYMENT, auth }).map((f) => [`${URL_PATHS.asapKeys}${f.path.split("/").pop() ?? ""}`, f.content]),
    );
    keyServer = createServer((req, res) => {
      requested.push(req.url ?? "");
      const body = files.get(req.url ?? "");
      res.writeHead(body === undefined ? 404 : 200, { "content-type": "application/x-pem-file" }).end(body ?? "");
    });
    const port = await freePort();
    await new Promise<void>((resolve) => keyServer.listen(port, "127.0.0.1", resolve));
    // The rendered asap_key_server is http://127.0.0.1:<PORTS.asapKeysLocal>/asap-keys (nginx on loopback): only
    // its port is replaced by a free one; the scheme, host, path and file names are the rendered ones.
    const keyServerUrl = `http://127.0.0.1:${String(port)}${URL_PATHS.asapKeys.replace(/\/+$/, "")}`;
    prosody = await startProsody({
      pluginsDir: requirePluginsDir(),
      deployment: { auth },
      logLevel: "info",
      extraConfig: `VirtualHost ${luaString(names.domain)} { asap_key_server = ${luaString(keyServerUrl)} }`,
    });
  });
  afterAll(async () => {
    await prosody?.stop();
    await new Promise((resolve) => keyServer?.close(resolve));
  });

  it("accepts a token signed with the key, fetching <sha256(kid)>.pem from the key server", async () => {
    const jwt = await rsToken({});
    expect(await anonymousLogin(prosody, names.domain, `?room=demo&token=${jwt}`)).toMatch(/^[^@]+@meet\.example\.test\//);
    const [file] = renderAsapPublicKeys({ ...PROSODY_TEST_DEPLOYMENT, auth });
    expect(requested).toContain(`${URL_PATHS.asapKeys}${file?.path.split("/").pop() ?? "?"}`);
  });

  it("accepts a token signed with the second, overlapping key too (rotation), and not one crossing kid and key", async () => {
    const second = await rsToken({}, kid2, keys2.privateKey.export({ type: "pkcs8", format: "pem" }).toString());
    expect(await anonymousLogin(prosody, names.domain, `?room=demo&token=${second}`)).toMatch(/^[^@]+@meet\.example\.test\//);
    expect(requested).toContain(`${URL_PATHS.asapKeys}${asapKeyFileName(kid2)}`);
    await expect(anonymousLogin(prosody, names.domain, `?token=${await rsToken({}, kid2)}`)).rejects.toMatchObject({ condition: "not-allowed" });
  });

  it("refuses an unknown key id, another private key, and an HS256 token", async () => {
    await expect(anonymousLogin(prosody, names.domain, `?token=${await rsToken({}, "no-such-key")}`)).rejects.toMatchObject({
      condition: "not-allowed",
    });
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ iss: auth.appId, aud: "jitsi", sub: names.domain, room: "*" })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid })
      .setExpirationTime(now + 300)
      .sign(await importPKCS8(other, "RS256"));
    await expect(anonymousLogin(prosody, names.domain, `?token=${forged}`)).rejects.toMatchObject({ condition: "not-allowed" });
    const hs = await token("an-hs256-secret-0123456789abcdef0123", { iss: auth.appId, sub: names.domain });
    await expect(anonymousLogin(prosody, names.domain, `?token=${hs}`)).rejects.toMatchObject({ condition: "not-allowed" });
  });
});

describe("no token in any log on the host: Debian's log settings (file, error file, syslog) and a refused join", () => {
  const stack = roomsStack("debian");
  const room = `logs-${randomBytes(4).toString("hex")}`;

  it("token_verification's refusal line reaches every sink with the token replaced", async () => {
    const roomJid = `${room}@${stack.prosody.names.muc}`;
    const prosody = stack.prosody;
    const hostToken = await stack.token(room, { context: { user: { id: "h", name: "H", moderator: true } } });
    const host = await stack.session(prosody.names.domain, `?room=${room}&token=${hostToken}`);
    expect(await host.join(roomJid)).toMatchObject({ joined: true });
    // A valid token for another room: logged in, then refused at the join, where token_verification logs
    // "Token <the whole token> not allowed to join" at error level.
    const refused = await stack.token("another-room", { context: { user: { id: "x", name: "X" } } });
    const intruder = await stack.session(prosody.names.domain, `?room=${room}&token=${refused}`);
    expect(await intruder.join(roomJid)).toEqual({ joined: false, condition: "not-allowed" });
    // A forged token, refused at login (mod_auth_token).
    const forged = await token("a-different-secret-0123456789abcdef", { iss: PROSODY_TEST_DEPLOYMENT.auth.appId, sub: prosody.names.domain, room });
    await expect(anonymousLogin(prosody, prosody.names.domain, `?room=${room}&token=${forged}`)).rejects.toMatchObject({ condition: "not-allowed" });

    const { logFile, errorLogFile, syslogFile } = prosody.paths;
    if (errorLogFile === undefined || syslogFile === undefined) throw new Error("the harness did not set up Debian's logging");
    const sinks: Record<string, string> = {};
    // Syslog lines arrive over a socket: wait until the refusal is there.
    for (let i = 0; i < 100; i++) {
      for (const [name, path] of Object.entries({ logFile, errorLogFile, syslogFile })) sinks[name] = await readFile(path, "utf8");
      if (Object.values(sinks).every((text) => text.includes("not allowed to join"))) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    sinks.stdout = await prosody.logs();
    for (const [name, text] of Object.entries(sinks)) {
      for (const jwt of [refused, forged, hostToken]) {
        const [header, payload, signature] = jwt.split(".");
        expect(text, name).not.toContain(jwt);
        expect(text, name).not.toContain(`${String(payload)}.`);
        expect(text, name).not.toContain(`.${String(signature)}`);
        expect(header?.length).toBeGreaterThan(16);
      }
    }
    // The line itself was written — to the file, the error file and syslog — with the token replaced.
    for (const name of ["logFile", "errorLogFile", "syslogFile"]) {
      expect(sinks[name], name).toMatch(/Token \[JWT redacted\] not allowed to join: [^\n]*another-room|Token \[JWT redacted\] not allowed to join/);
    }
    expect(sinks.syslogFile).toMatch(/prosody/);
  });
});

describe("lobby_bypass and security_bypass claims with Jitsi's lobby (mod_token_room_bypass)", () => {
  const stack = roomsStack();

  it("lobby on: a lobby_bypass holder enters as member; a plain holder and a guest are held by the lobby", async () => {
    const room = `lobby-${randomBytes(4).toString("hex")}`;
    const roomJid = `${room}@${stack.prosody.names.muc}`;
    const moderator = await stack.holder(room, { moderator: true });
    expect(await moderator.join(roomJid)).toEqual({ joined: true, role: "moderator", affiliation: "owner" });
    // What the client sends when a moderator turns the lobby on: the room becomes members-only.
    await moderator.configure(roomJid, { "muc#roomconfig_membersonly": "true" });

    expect(await (await stack.holder(room, {})).join(roomJid)).toEqual({ joined: false, condition: "registration-required" });
    expect(await (await stack.session(stack.prosody.names.guest)).join(roomJid)).toEqual({ joined: false, condition: "registration-required" });
    expect(await (await stack.holder(room, { lobby_bypass: "true" })).join(roomJid)).toEqual({ joined: false, condition: "registration-required" });
    expect(await (await stack.holder(room, { lobby_bypass: true })).join(roomJid)).toEqual({ joined: true, role: "participant", affiliation: "member" });
    // token_affiliation runs right after the bypass and still makes a moderator token owner.
    expect(await (await stack.holder(room, { lobby_bypass: true, moderator: true })).join(roomJid)).toEqual({ joined: true, role: "moderator", affiliation: "owner" });
    expect(await (await stack.holder(room, { security_bypass: true })).join(roomJid)).toEqual({ joined: true, role: "participant", affiliation: "member" });
  });

  it("room password: a security_bypass holder enters without it; a plain or lobby_bypass holder is refused", async () => {
    const room = `secret-${randomBytes(4).toString("hex")}`;
    const roomJid = `${room}@${stack.prosody.names.muc}`;
    const moderator = await stack.holder(room, { moderator: true });
    expect(await moderator.join(roomJid)).toMatchObject({ joined: true, role: "moderator" });
    await moderator.configure(roomJid, { "muc#roomconfig_passwordprotectedroom": "1", "muc#roomconfig_roomsecret": "s3cret-pass" });

    expect(await (await stack.holder(room, {})).join(roomJid)).toEqual({ joined: false, condition: "not-authorized" });
    expect(await (await stack.holder(room, { lobby_bypass: true })).join(roomJid)).toEqual({ joined: false, condition: "not-authorized" });
    expect(await (await stack.holder(room, { security_bypass: true })).join(roomJid)).toEqual({ joined: true, role: "participant", affiliation: "member" });

    // Lobby and password together: security_bypass passes both.
    await moderator.configure(roomJid, { "muc#roomconfig_membersonly": "true" });
    expect(await (await stack.holder(room, { security_bypass: true })).join(roomJid)).toEqual({ joined: true, role: "participant", affiliation: "member" });
    expect(await (await stack.session(stack.prosody.names.guest)).join(roomJid)).toMatchObject({ joined: false });
  });
});
