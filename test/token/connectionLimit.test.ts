/**
 * The longest token a connection carries (token/connectionLimit.ts): the figures for the rendered limits, mint
 * refusing and explain rejecting a token that cannot fit, and the boundary itself through the real nginx site and
 * the real Prosody — a WebSocket request line with a token of exactly the limit is upgraded by Prosody, one more
 * character gets nginx's 414 — plus Prosody's own head limit, measured on its port.
 */
import { connect as tcpConnect } from "node:net";
import { connect, type TLSSocket } from "node:tls";
import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HTTP_REQUEST_LIMITS, URL_PATHS } from "../../templates/names.ts";
import { DEFAULT_CONNECTION_LIMIT_SETTINGS, maxTokenLength, queryBytes } from "../../token/connectionLimit.ts";
import { explainToken, mintToken } from "../../token/index.ts";
import { renderNginxSite } from "../../templates/files/nginx.ts";
import { nginxTestRuntime, startNginx, type RunningNginx } from "../support/nginx.ts";
import { startProsody, type RunningProsody } from "../support/prosody.ts";
import { sampleDeployment } from "../templates/sampleDeployment.ts";
import { forge, HS_PROFILE, SIGNING, USER } from "./fixtures.ts";

const PREVID = "0123456789abcdef0123456789abcdef0123"; // 36 characters, as a stream resumption id

describe("maxTokenLength", () => {
  it.each([
    [{ room: "" }, 8105, "nginx", "websocket"],
    [{ room: "weekly%20sync" }, 8092, "nginx", "websocket"],
    [{ room: "weekly%20sync", tenant: "acme" }, 8087, "nginx", "websocket"],
    [{ room: "\u00fcn\u00ef" }, 8092, "nginx", "websocket"],
    [{ room: "a b" }, 8100, "nginx", "websocket"],
  ] as const)("%j: %i characters, bound by %s on %s", (target, expected, boundBy, transport) => {
    expect(maxTokenLength(target)).toEqual({ maxTokenLength: expected, boundBy, transport });
  });

  it("is Prosody's head limit once nginx's buffers are larger, and never negative", () => {
    const bigBuffers = { ...DEFAULT_CONNECTION_LIMIT_SETTINGS, nginxHeaderBufferBytes: 16384 };
    expect(maxTokenLength({ room: "" }, bigBuffers)).toEqual({ maxTokenLength: 8615, boundBy: "prosody", transport: "websocket" });
    expect(maxTokenLength({ room: "x".repeat(20_000) }).maxTokenLength).toBe(0);
  });

  it("counts a room as the browser writes it into the query", () => {
    expect(queryBytes("abc-._~%20")).toBe(10);
    expect(queryBytes("a b\"#<>'")).toBe(2 + 6 * 3);
    expect(queryBytes("\u00fc")).toBe(6);
  });

  it("uses the buffers the nginx site is rendered with", () => {
    const { count, sizeBytes } = HTTP_REQUEST_LIMITS.nginxLargeHeaderBuffers;
    expect(renderNginxSite(sampleDeployment()).content).toContain(`large_client_header_buffers ${String(count)} ${String(sizeBytes / 1024)}k;`);
    expect(DEFAULT_CONNECTION_LIMIT_SETTINGS.nginxHeaderBufferBytes).toBe(sizeBytes);
  });
});

describe("mint and explain hold tokens to the limit", () => {
  const roomName = "weekly-sync";
  const mintWithName = (length: number) => mintToken({ ...SIGNING, room: roomName, user: { ...USER, name: "n".repeat(length) }, now: 0 });

  it("mintToken issues the longest token that fits and refuses the next, naming the token", async () => {
    const limit = maxTokenLength({ room: roomName }).maxTokenLength;
    // The longest display name mintToken still accepts (binary search between a short and a far too long one).
    let low = 1;
    let high = limit;
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (await mintWithName(middle).then(() => true, () => false)) low = middle;
      else high = middle;
    }
    const longest = await mintWithName(low);
    // One more character of name adds one or two characters of base64url: the longest is within 2 of the limit.
    expect(longest.length).toBeLessThanOrEqual(limit);
    expect(longest.length).toBeGreaterThan(limit - 3);
    const refused = await mintWithName(low + 1).catch((error: unknown) => error);
    expect(refused).toMatchObject({ name: "TokenOptionsError", field: "token" });
    expect(String((refused as Error).message)).toMatch(/at most \d+ fit in the WebSocket URL .*nginx answers 414/);
  });

  it("explainToken rejects a token that cannot reach Prosody before any login check", async () => {
    const limit = maxTokenLength({ room: roomName }).maxTokenLength;
    const padded = await forge({ alg: "HS256", typ: "JWT" }, { pad: "p".repeat(Math.ceil(((limit + 10) * 3) / 4)) });
    expect(padded.length).toBeGreaterThan(limit);
    const result = explainToken(padded, HS_PROFILE, { room: roomName });
    expect(result.login).toEqual({ ok: false, check: "connection-length" });
    expect(result[0]).toMatchObject({ check: "connection-length", ok: false, fix: expect.stringMatching(/shorter/) });
    const fits = await mintToken({ ...SIGNING, room: roomName, user: USER });
    expect(explainToken(fits, HS_PROFILE, { room: roomName })[0]).toMatchObject({ check: "connection-length", ok: true });
  });
});

/** Sends one raw request head and resolves with the status line, or "no answer" after `ms`. */
function statusLine(socket: TLSSocket | import("node:net").Socket, head: string, ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    let got = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve("no answer");
    }, ms);
    socket.on("data", (chunk: Buffer) => {
      got += chunk.toString("latin1");
      if (got.includes("\r\n")) {
        clearTimeout(timer);
        socket.destroy();
        resolve(got.slice(0, got.indexOf("\r\n")));
      }
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      resolve(String(error));
    });
    socket.write(head);
  });
}

describe("the limit through the real nginx site and the real Prosody", () => {
  let prosody: RunningProsody;
  let nginx: RunningNginx;
  let rootDir: string;

  beforeAll(async () => {
    prosody = await startProsody({ logLevel: "info" });
    const runtime = { ...(await nginxTestRuntime()), prosodyHttpPort: prosody.ports.http };
    rootDir = runtime.rootDir;
    nginx = await startNginx({ ...prosody.deployment, runtime });
  });
  afterAll(async () => {
    await nginx?.stop();
    await prosody?.stop();
    if (rootDir) await rm(rootDir, { recursive: true, force: true });
  });

  /** A browser's WebSocket upgrade for `room` (and tenant) with a token of `length` characters, then a reconnect's previd. */
  function upgrade(length: number, room: string, tenant?: string): Promise<string> {
    const path = `${tenant === undefined ? "" : `/${tenant}`}${URL_PATHS.websocket}`;
    const head = [
      `GET ${path}?room=${room}&token=${"a".repeat(length)}&previd=${PREVID} HTTP/1.1`,
      `Host: ${prosody.names.domain}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version: 13",
      "Sec-WebSocket-Protocol: xmpp",
      "",
      "",
    ].join("\r\n");
    const socket = connect({ host: "127.0.0.1", port: nginx.httpsPort, servername: prosody.names.domain, ca: nginx.certificatePem, ALPNProtocols: ["http/1.1"] });
    return new Promise((resolve) => socket.once("secureConnect", () => resolve(statusLine(socket, head))));
  }

  it.each([[undefined], ["acme"]] as const)("tenant %s: exactly the limit is upgraded by Prosody, one more character is refused with 414", async (tenant) => {
    const room = "weekly%20sync";
    const { maxTokenLength: limit } = maxTokenLength({ room, ...(tenant === undefined ? {} : { tenant }) });
    expect(await upgrade(limit, room, tenant)).toBe("HTTP/1.1 101 Switching Protocols");
    expect(await upgrade(limit + 1, room, tenant)).toBe("HTTP/1.1 414 Request-URI Too Large");
  });

  it("Prosody itself answers a request head of exactly its limit and never answers one byte more", async () => {
    const head = (bytes: number) => {
      const start = `GET ${URL_PATHS.bosh}?pad=`;
      const end = ` HTTP/1.1\r\nHost: ${prosody.names.domain}\r\n\r\n`;
      return `${start}${"a".repeat(bytes - start.length - end.length)}${end}`;
    };
    const send = (text: string) => {
      const socket = tcpConnect(prosody.ports.http, "127.0.0.1");
      return new Promise<string>((resolve) => socket.once("connect", () => resolve(statusLine(socket, text, 2000))));
    };
    expect(head(HTTP_REQUEST_LIMITS.prosodyHeadBytes)).toHaveLength(10240);
    expect(await send(head(HTTP_REQUEST_LIMITS.prosodyHeadBytes))).toMatch(/^HTTP\/1\.1 \d{3} /);
    expect(await send(head(HTTP_REQUEST_LIMITS.prosodyHeadBytes + 1))).toBe("no answer");
  });
});
