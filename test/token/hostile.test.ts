/**
 * The token endpoint against hostile clients on loopback: raw sockets that declare huge bodies, stream without
 * end, or send one byte a second. The server runs in its own process (test/support/tokenServer.ts) so its peak
 * resident memory (VmHWM in /proc/PID/status) can be read before and after.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenHandler, DEFAULT_BODY_TIMEOUT_MS } from "../../token/index.ts";
import { stopChild } from "../support/stopChild.ts";
import { SIGNING } from "./fixtures.ts";

const MiB = 1 << 20;
const BODY_TIMEOUT_MS = 1000;
const SERVER = fileURLToPath(new URL("../support/tokenServer.ts", import.meta.url));

let child: ChildProcess;
let port = 0;

/** Starts test/support/tokenServer.ts in `mode` (one of the two node:http entry points) for the describe block. */
function serveIn(mode: "token" | "token-node"): void {
  beforeAll(async () => {
    child = spawn(process.execPath, ["--import", "tsx", SERVER], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, TOKEN_SERVER_MODE: mode, TOKEN_SERVER_BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS) } });
    port = await new Promise<number>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`token server exited with ${code}`)));
      child.stdout?.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
    });
    // Warm up (JIT, first mint) so the memory baseline is the server at work, not the server at rest.
    for (let i = 0; i < 20; i++) expect((await post('{"room":"warm up"}')).status).toBe(200);
  });

  afterAll(async () => {
    if (child) await stopChild(child);
  });
}

/** Peak resident set of the server process so far (kB → bytes). */
function peakRss(): number {
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  if (kb === undefined) throw new Error("no VmHWM in /proc status");
  return Number(kb) * 1024;
}

function post(body: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/api/jitsi/token`, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer bench-session" }, body });
}

interface RawResult {
  /** The status line's code, or 0 if the server closed without answering. */
  status: number;
  response: string;
  /** Bytes of body the client got into the socket before it closed. */
  sent: number;
  /** ms from connect to the socket closing. */
  closedAfterMs: number;
}

/**
 * A raw HTTP/1.1 client: sends `head`, then calls `feed` to push body bytes until the socket closes or `untilMs`
 * passes (then it gives up and destroys the socket itself, counted as not closed by the server).
 */
function rawClient(head: string, feed: (socket: Socket, sent: (n: number) => void) => void, untilMs: number): Promise<RawResult & { closedByServer: boolean }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(port, "127.0.0.1");
    let response = "";
    let sent = 0;
    let settled = false;
    const finish = (closedByServer: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(giveUp);
      socket.destroy();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
      resolve({ status, response, sent, closedAfterMs: performance.now() - started, closedByServer });
    };
    const giveUp = setTimeout(() => finish(false), untilMs);
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => (response += d));
    socket.on("error", () => finish(true));
    socket.on("close", () => finish(true));
    socket.on("connect", () => {
      socket.write(head);
      feed(socket, (n) => (sent += n));
    });
  });
}

/** Writes `chunk` as fast as the socket drains, `total` bytes at most, chunked transfer coding when `chunked`. */
function stream(total: number, chunked: boolean) {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const framed = chunked ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]) : chunk;
  return (socket: Socket, sent: (n: number) => void) => {
    let left = total;
    const pump = () => {
      while (left > 0 && !socket.destroyed) {
        left -= chunk.length;
        sent(chunk.length);
        if (!socket.write(framed)) {
          socket.once("drain", pump);
          return;
        }
      }
    };
    pump();
  };
}

const jsonHead = (extra: string) => `POST /api/jitsi/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer bench-session\r\n${extra}\r\n`;

describe.each([
  ["toNodeHandler(createTokenHandler())", "token"],
  ["createNodeTokenHandler()", "token-node"],
] as const)("the token endpoint against hostile clients (node:http, loopback): %s", (_name, mode) => {
  serveIn(mode);

  it("refuses a declared Content-Length above the limit at once, without waiting for the body", async () => {
    const result = await rawClient(jsonHead("Content-Length: 1073741824\r\n"), () => {}, 5000);
    expect(result.status).toBe(413);
    expect(result.response).toContain('"code":"body-too-large"');
    expect(result.closedAfterMs).toBeLessThan(2000);
  });

  it("closes 400 connections sending one byte a second within the body-time bound (408)", async () => {
    const CLIENTS = 400;
    const drip = (socket: Socket, sent: (n: number) => void) => {
      const timer = setInterval(() => {
        if (socket.destroyed) return clearInterval(timer);
        socket.write("{");
        sent(1);
      }, 1000);
      socket.once("close", () => clearInterval(timer));
    };
    const results = await Promise.all(Array.from({ length: CLIENTS }, () => rawClient(jsonHead("Content-Length: 1000\r\n"), drip, BODY_TIMEOUT_MS + 10_000)));
    const closedAfter = results.map((r) => r.closedAfterMs).sort((a, b) => a - b);
    console.log(`slow clients: ${CLIENTS} closed by the server after ${Math.round(closedAfter[0] ?? 0)}-${Math.round(closedAfter.at(-1) ?? 0)} ms (bodyTimeoutMs ${BODY_TIMEOUT_MS})`);
    expect(results.filter((r) => !r.closedByServer)).toEqual([]);
    expect(results.filter((r) => r.status !== 408).length).toBe(0);
    // The bound plus the 500 ms drain, plus slack for 400 connects on a shared 2-core machine.
    expect(closedAfter.at(-1)).toBeLessThan(BODY_TIMEOUT_MS + 500 + 3000);
    expect(results[0]?.response).toContain('"code":"body-timeout"');
    // And the server still answers.
    expect((await post('{"room":"after"}')).status).toBe(200);
  }, 30_000);

  it("stops reading a 300 MiB chunked body at the limit: 413, memory bounded", async () => {
    const before = peakRss();
    const result = await rawClient(jsonHead("Transfer-Encoding: chunked\r\n"), stream(300 * MiB, true), 20_000);
    const growth = peakRss() - before;
    console.log(`300 MiB chunked: answered ${result.status}, client got ${(result.sent / MiB).toFixed(1)} MiB into the socket, server peak RSS growth ${(growth / MiB).toFixed(1)} MiB`);
    expect(result.status).toBe(413);
    expect(result.closedByServer).toBe(true);
    expect(result.sent).toBeLessThan(300 * MiB);
    expect(growth).toBeLessThan(32 * MiB);
  }, 30_000);

  it("100 concurrent clients each streaming 64 MiB: all refused, peak RSS growth under 64 MiB", async () => {
    const before = peakRss();
    // Half use chunked framing (refused once 4 KiB are read), half declare their 64 MiB (refused on the header) and
    // stream anyway, as an upload tool does.
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => rawClient(jsonHead(i % 2 === 0 ? "Transfer-Encoding: chunked\r\n" : `Content-Length: ${64 * MiB}\r\n`), stream(64 * MiB, i % 2 === 0), 30_000)));
    const growth = peakRss() - before;
    const sent = results.reduce((sum, r) => sum + r.sent, 0);
    console.log(`100 × 64 MiB: server peak RSS growth ${(growth / MiB).toFixed(1)} MiB; clients got ${(sent / MiB).toFixed(0)} MiB into their sockets in all`);
    const odd = results.flatMap((r, i) => (r.status === 413 && r.closedByServer ? [] : [`client ${i}: status ${r.status}, closed by server ${r.closedByServer}, after ${Math.round(r.closedAfterMs)} ms`]));
    expect(odd).toEqual([]);
    expect(results.every((r) => r.closedByServer)).toBe(true);
    expect(growth).toBeLessThan(64 * MiB);
    expect((await post('{"room":"after"}')).status).toBe(200);
  }, 60_000);
});

describe("the Web handler (Next.js, Bun, Deno) against an endless streamed body", () => {
  it("reads at most the limit plus one chunk of a 300 MiB stream without Content-Length, cancels it, answers 413", async () => {
    const handler = createTokenHandler({ ...SIGNING, authorize: () => ({ user: { id: "u", name: "n" } }) });
    const CHUNK = 16 * 1024;
    let pulled = 0;
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= 300 * MiB) return controller.close();
        pulled += CHUNK;
        controller.enqueue(new Uint8Array(CHUNK).fill(0x20));
      },
      cancel() {
        cancelled = true;
      },
    });
    const request = new Request("http://x/api", { method: "POST", headers: { "content-type": "application/json" }, body, duplex: "half" } as RequestInit);
    const response = await handler(request);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: "body-too-large", problems: [{ path: "body" }] } });
    expect(cancelled).toBe(true);
    // The stream may be a chunk or two ahead of the reader (its queue), never more.
    expect(pulled).toBeLessThanOrEqual(handler.maxBodyBytes + 3 * CHUNK);
  });

  it("refuses a declared Content-Length above the limit without touching the body", async () => {
    const handler = createTokenHandler({ ...SIGNING, authorize: () => ({ user: { id: "u", name: "n" } }) });
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new Uint8Array(1024));
      },
    });
    const response = await handler(new Request("http://x/api", { method: "POST", headers: { "content-type": "application/json", "content-length": String(64 * MiB) }, body, duplex: "half" } as RequestInit));
    expect(response.status).toBe(413);
    expect(pulled).toBeLessThanOrEqual(1); // a ReadableStream pulls once on its own to fill its queue
  });

  it("documents its defaults: 4096 bytes, 10 s", () => {
    expect(createTokenHandler({ ...SIGNING, authorize: () => null }).maxBodyBytes).toBe(4096);
    expect(DEFAULT_BODY_TIMEOUT_MS).toBe(10_000);
  });
});
