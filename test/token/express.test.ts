/**
 * The token endpoint inside a real Express 5 app, with and without a global express.json() in front of the route:
 * parsed bodies are used, body-parser failures come back as the endpoint's JSON (never Express's HTML page).
 */
import type { Server } from "node:http";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenBodyErrors, verifyToken, type TokenHandlerLogEntry } from "../../token/index.ts";
import { freePort } from "../support/ports.ts";
import { APP_ID, SECRET, SIGNING } from "./fixtures.ts";
import { NODE_ENTRY_POINTS, type NodeEntryPoint } from "./nodeEntryPoints.ts";

const logs: TokenHandlerLogEntry[] = [];
const OPTIONS = { ...SIGNING, log: (entry: TokenHandlerLogEntry) => logs.push(entry), authorize: ({ request }: { request: Request }) => (request.headers.get("authorization") === "Bearer ok" ? { user: { id: "u-1", name: "Ada" } } : null) };

async function listen(app: express.Express): Promise<{ server: Server; base: string }> {
  const port = await freePort();
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(port, "127.0.0.1", () => resolve(s));
  });
  return { server, base: `http://127.0.0.1:${port}` };
}

/** The app as its developers write it: express.json() for the whole app, the token route, the error middleware. */
function appWithGlobalJson(route: NodeEntryPoint["build"]): express.Express {
  const app = express();
  app.use(express.json());
  app.post("/api/jitsi/token", route(OPTIONS));
  app.use("/api/jitsi/token", tokenBodyErrors({ log: OPTIONS.log }));
  app.post("/other", (_req, _res, next) => next(new Error("app failure")));
  return app;
}

let withJson: { server: Server; base: string };
let plain: { server: Server; base: string };

const send = (base: string, body: string | Uint8Array<ArrayBuffer>, type = "application/json") =>
  fetch(`${base}/api/jitsi/token`, { method: "POST", headers: { "content-type": type, authorization: "Bearer ok" }, body });

describe.each(NODE_ENTRY_POINTS)("the token endpoint in Express: $name", ({ build }) => {
  beforeAll(async () => {
    withJson = await listen(appWithGlobalJson(build));
    const app = express();
    app.post("/api/jitsi/token", build(OPTIONS));
    plain = await listen(app);
  });

  afterAll(async () => {
    for (const { server } of [withJson, plain]) await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("issues a token from a body express.json() already parsed, and from the raw stream without it", async () => {
    for (const base of [withJson.base, plain.base]) {
      const res = await send(base, JSON.stringify({ room: "Weekly Sync" }));
      expect(res.status).toBe(200);
      const { token } = (await res.json()) as { token: string };
      expect((await verifyToken(token, SECRET, { appId: APP_ID, room: "weekly sync" })).claims.room).toBe("weekly%20sync");
    }
  });

  it("answers bad JSON 400 in JSON, not Express's HTML error page with stack frames", async () => {
    for (const base of [withJson.base, plain.base]) {
      const res = await send(base, "{not json");
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
      const text = await res.text();
      expect(JSON.parse(text)).toMatchObject({ error: { code: "invalid-input", problems: [{ path: "body", message: "body must be a JSON object" }] } });
      expect(text).not.toMatch(/<html|<pre>|at .*\.js:\d+/i);
    }
  });

  it("answers a body above express.json()'s limit (100 kB) 413 in JSON, and logs it like the endpoint's own", async () => {
    logs.length = 0;
    const res = await send(withJson.base, JSON.stringify({ room: "x".repeat(200_000) }));
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: "body-too-large", problems: [{ path: "body" }] } });
    expect(logs).toEqual([{ level: "warn", event: "bad-request", status: 413, field: "body" }]);
  });

  it("keeps the endpoint's own 4 KiB limit behind express.json(): declared and streamed (chunked) bodies", async () => {
    const big = JSON.stringify({ room: "x".repeat(10_000) });
    const declared = await send(withJson.base, big);
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ error: { code: "body-too-large", message: "body: body is larger than 4096 bytes" } });
    // No Content-Length: express.json() parses it (under its own 100 kB), the route still refuses it.
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const chunked = await fetch(`${withJson.base}/api/jitsi/token`, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer ok" }, body: stream, duplex: "half" } as RequestInit);
    expect(chunked.status).toBe(413);
  });

  it("answers UTF-16 415 whether express.json() decoded it or not", async () => {
    const utf16 = new Uint8Array(Buffer.from(JSON.stringify({ room: "r" }), "utf16le"));
    for (const base of [withJson.base, plain.base]) {
      const res = await send(base, utf16, "application/json; charset=utf-16le");
      expect(res.status).toBe(415);
      expect(await res.json()).toMatchObject({ error: { code: "unsupported-media-type", problems: [{ path: "content-type" }] } });
    }
    const latin1 = await send(withJson.base, '{"room":"r"}', "application/json; charset=iso-8859-1");
    expect(latin1.status).toBe(415);
    expect(await latin1.json()).toMatchObject({ error: { code: "unsupported-media-type" } });
  });

  it("leaves other routes' errors to the application's own error handling", async () => {
    const res = await fetch(`${withJson.base}/other`, { method: "POST" });
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
  });
});
