import { createServer, type Server } from "node:http";
import fc from "fast-check";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenHandler, loadTokenConfig, toNodeHandler, verifyToken, type TokenHandlerLogEntry } from "../../token/index.ts";
import { freePort } from "../support/ports.ts";
import { APP_ID, DOMAIN, SECRET, SIGNING } from "./fixtures.ts";

const logs: TokenHandlerLogEntry[] = [];
const handler = createTokenHandler({
  ...SIGNING,
  baseUrl: "https://meet.example.test",
  log: (entry) => logs.push(entry),
  authorize: ({ request, room }) => {
    const auth = request.headers.get("authorization");
    if (auth === null) return null;
    if (auth === "Bearer guest") return { status: 403, message: "guests cannot open rooms" };
    if (auth === "Bearer broken") throw new Error(`database down; secret ${SECRET}`);
    if (auth === "Bearer bad-grant") return { user: { id: "", name: "x" } };
    return { user: { id: "u-1", name: "Ada", email: "ada@example.test", role: "coach" } as never, moderator: room === "coach-room", features: { recording: true } };
  },
});

let server: Server;
let origin = "";

beforeAll(async () => {
  const port = await freePort();
  server = createServer(toNodeHandler(handler, { maxBodyBytes: 16_384 }));
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function post(body: unknown, headers: Record<string, string> = { authorization: "Bearer ok" }, raw = false) {
  const response = await fetch(`${origin}/api/jitsi/token`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
}

describe("createTokenHandler over node:http", () => {
  it("issues a token whose identity and role come from authorize", async () => {
    const res = await post({ room: "Coach Room" });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const { claims } = await verifyToken(res.body.token as string, SECRET, { appId: APP_ID, sub: DOMAIN, room: "coach room" });
    expect(claims.context.user).toMatchObject({ id: "u-1", name: "Ada", moderator: "false", affiliation: "member" });
    expect(jwt.verify(res.body.token as string, SECRET, { algorithms: ["HS256"], issuer: APP_ID, subject: DOMAIN })).toMatchObject({ room: "coach%20room" });
    expect(res.body.room).toBe("coach%20room");
    expect(res.body.url).toMatch(/^https:\/\/meet\.example\.test\/Coach%20Room#jwt=%22/);
    expect(Date.parse(res.body.expiresAt as string)).toBe(claims.exp * 1000);
    const mod = await post({ roomName: "coach-room" });
    expect((await verifyToken(mod.body.token as string, SECRET, { appId: APP_ID })).claims.context.user.affiliation).toBe("owner");
  });

  it("never takes identity or rights from the body", async () => {
    for (const field of ["userId", "userName", "moderator", "user", "features", "expiresIn"]) {
      const res = await post({ room: "r", [field]: field === "moderator" ? true : "x" });
      expect(res.status).toBe(400);
      expect(res.body.field).toBe(field);
    }
  });

  it("answers 401/403 from authorize and 500 without details when authorize fails", async () => {
    expect((await post({ room: "r" }, {})).status).toBe(401);
    const guest = await post({ room: "r" }, { authorization: "Bearer guest" });
    expect(guest).toMatchObject({ status: 403, body: { error: "guests cannot open rooms" } });
    const broken = await post({ room: "r" }, { authorization: "Bearer broken" });
    expect(broken.status).toBe(500);
    expect(JSON.stringify(broken.body)).not.toContain(SECRET);
    expect((await post({ room: "r" }, { authorization: "Bearer bad-grant" })).status).toBe(500);
  });

  it("names the bad field with a 400 (or 405/413/415)", async () => {
    expect(await post({})).toMatchObject({ status: 400, body: { field: "room" } });
    expect(await post({ room: "*" })).toMatchObject({ status: 400, body: { field: "room" } });
    expect(await post({ room: 5 })).toMatchObject({ status: 400, body: { field: "room" } });
    expect(await post({ room: "r", tenant: "../x" })).toMatchObject({ status: 400, body: { field: "tenant" } });
    expect(await post("{not json", undefined, true)).toMatchObject({ status: 400, body: { field: "body" } });
    expect(await post([1, 2])).toMatchObject({ status: 400, body: { field: "body" } });
    expect((await post({ room: "x".repeat(20_000) })).status).toBe(413);
    expect((await post({ room: "r" }, { "content-type": "text/plain", authorization: "Bearer ok" })).status).toBe(415);
    const get = await fetch(`${origin}/api/jitsi/token`);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
  });

  it("never answers 500 to malformed input, never leaks the secret (fuzz)", async () => {
    const bodies = fc.oneof(
      fc.string({ unit: "binary", maxLength: 200 }),
      fc.json().map((j) => j),
      fc.dictionary(fc.constantFrom("room", "roomName", "tenant", "x", "__proto__"), fc.jsonValue()).map((d) => JSON.stringify(d)),
      fc.record({ room: fc.string({ unit: "binary", maxLength: 300 }), tenant: fc.option(fc.string(), { nil: undefined }) }).map((d) => JSON.stringify(d)),
    );
    await fc.assert(
      fc.asyncProperty(bodies, fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", ""), async (body, type) => {
        const res = await fetch(`${origin}/t`, { method: "POST", headers: { authorization: "Bearer ok", ...(type ? { "content-type": type } : {}) }, body });
        const text = await res.text();
        expect([200, 400, 413, 415]).toContain(res.status);
        expect(text).not.toContain(SECRET);
        expect(text).not.toMatch(/at .*\.ts:\d+/);
      }),
      { numRuns: 300 },
    );
    expect(JSON.stringify(logs)).not.toContain(SECRET);
    expect(logs.some((l) => l.event === "issued")).toBe(true);
  });

  it("works as a plain Web handler (Next.js route style) and refuses to start without authorize or with a weak secret", async () => {
    const response = await handler(new Request("http://x/api", { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer ok" }, body: '{"room":"r"}' }));
    expect(response.status).toBe(200);
    expect(() => createTokenHandler({ ...SIGNING } as never)).toThrow(/authorize/);
    const config = await loadTokenConfig({ env: { JITSI_APP_ID: APP_ID, JITSI_DOMAIN: DOMAIN, JITSI_APP_SECRET: SECRET } });
    const fromConfig = createTokenHandler({ ...config, authorize: () => ({ user: { id: "u", name: "n" } }) });
    const issued = await fromConfig(new Request("http://x/api", { method: "POST", headers: { "content-type": "application/json" }, body: '{"room":"r"}' }));
    expect(issued.status).toBe(200);
    expect(() => createTokenHandler({ ...SIGNING, secret: "short", authorize: () => null })).toThrow(/secret/);
  });

  it("toNodeHandler also runs any other Web handler (Request in, Response out)", async () => {
    const port = await freePort();
    const echo = createServer(toNodeHandler(async (request) => Response.json({ method: request.method, body: await request.text(), path: new URL(request.url).pathname }, { status: 201 })));
    await new Promise<void>((resolve) => echo.listen(port, "127.0.0.1", resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${port}/p?q=1`, { method: "PUT", body: "hello" });
      expect(res.status).toBe(201);
      expect(await res.json()).toEqual({ method: "PUT", body: "hello", path: "/p" });
    } finally {
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    }
  });
});
