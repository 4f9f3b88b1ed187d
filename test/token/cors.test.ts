/** Cross-origin use of the token endpoint: same-origin by default, an explicit allowedOrigins list otherwise. */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenHandler, type TokenHandlerLogEntry } from "../../token/index.ts";
import { freePort } from "../support/ports.ts";
import { SIGNING } from "./fixtures.ts";
import { NODE_ENTRY_POINTS } from "./nodeEntryPoints.ts";

const APP = "https://app.example.test";
const OTHER = "https://evil.example.test";
const logs: TokenHandlerLogEntry[] = [];
const authorize = ({ request }: { request: Request }) => (request.headers.get("authorization") === "Bearer ok" ? { user: { id: "u-1", name: "Ada" } } : null);
const sameOrigin = createTokenHandler({ ...SIGNING, authorize });
const CROSS_ORIGIN = { ...SIGNING, authorize, allowedOrigins: [APP, "http://localhost:5173"] };
const crossOrigin = createTokenHandler({ ...CROSS_ORIGIN, log: (e) => logs.push(e) });

function headersOf(response: Response): Record<string, string> {
  const out: Record<string, string> = {};
  response.headers.forEach((value, key) => (out[key] = value));
  return out;
}

const preflight = (origin: string, method = "POST", headers = "content-type, authorization") =>
  new Request("http://api.example.test/token", { method: "OPTIONS", headers: { origin, "access-control-request-method": method, "access-control-request-headers": headers } });
const post = (origin: string | undefined, auth = "Bearer ok") =>
  new Request("http://api.example.test/token", { method: "POST", headers: { "content-type": "application/json", authorization: auth, ...(origin === undefined ? {} : { origin }) }, body: '{"room":"r"}' });

describe("cross-origin requests", () => {
  it("by default: no CORS header on any answer, preflight is a 405 like any other method", async () => {
    const answer = await sameOrigin(post(APP));
    expect(answer.status).toBe(200);
    expect(Object.keys(headersOf(answer)).filter((k) => k.startsWith("access-control-"))).toEqual([]);
    const pre = await sameOrigin(preflight(APP));
    expect(pre.status).toBe(405);
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    expect(pre.headers.get("allow")).toBe("POST");
  });

  it("answers a listed origin's preflight 204 with the allow headers", async () => {
    const pre = await crossOrigin(preflight(APP));
    expect(pre.status).toBe(204);
    expect(headersOf(pre)).toMatchObject({
      "access-control-allow-origin": APP,
      "access-control-allow-credentials": "true",
      "access-control-allow-methods": "POST",
      "access-control-allow-headers": "authorization, content-type",
      "access-control-max-age": "600",
      vary: "Origin",
    });
    expect(await pre.text()).toBe("");
    expect((await crossOrigin(preflight("http://localhost:5173", "POST", ""))).status).toBe(204);
  });

  it("refuses preflights from other origins, for other methods or other headers (403, no allow-origin)", async () => {
    for (const [request, field] of [
      [preflight(OTHER), "origin"],
      [preflight(`${APP}/`), "origin"],
      [preflight("null"), "origin"],
      [preflight(APP, "PUT"), "access-control-request-method"],
      [preflight(APP, "POST", "content-type, x-admin"), "access-control-request-headers"],
    ] as const) {
      const answer = await crossOrigin(request);
      expect(answer.status).toBe(403);
      expect(answer.headers.get("access-control-allow-origin")).toBeNull();
      expect(await answer.json()).toMatchObject({ error: { code: "forbidden", problems: [{ path: field }] } });
    }
    expect(logs.filter((l) => l.event === "preflight").map((l) => l.status)).toEqual([204, 204, 403, 403, 403, 403, 403]);
  });

  it("puts the CORS headers on every answer to a listed origin (tokens and refusals alike), on none to others", async () => {
    const ok = await crossOrigin(post(APP));
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe(APP);
    expect(ok.headers.get("access-control-allow-credentials")).toBe("true");
    expect(ok.headers.get("vary")).toBe("Origin");
    const denied = await crossOrigin(post(APP, "Bearer nope"));
    expect(denied.status).toBe(401);
    expect(denied.headers.get("access-control-allow-origin")).toBe(APP);
    const other = await crossOrigin(post(OTHER));
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    expect(other.headers.get("vary")).toBe("Origin");
    const none = await crossOrigin(post(undefined));
    expect(none.status).toBe(200);
    expect(none.headers.get("access-control-allow-origin")).toBeNull();
    const get = await crossOrigin(new Request("http://api.example.test/token", { headers: { origin: APP } }));
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST, OPTIONS");
    expect(get.headers.get("access-control-allow-origin")).toBe(APP);
  });

  it("refuses an allowedOrigins entry that is not an origin, naming it", () => {
    for (const bad of ["*", "https://app.example.test/", "https://app.example.test/path", "app.example.test", "ftp://x.test", "HTTPS://APP.example.test"]) {
      expect(() => createTokenHandler({ ...SIGNING, authorize, allowedOrigins: [APP, bad] }), bad).toThrow(/allowedOrigins\[1\]/);
    }
    expect(() => createTokenHandler({ ...SIGNING, authorize, allowedOrigins: APP as never })).toThrow(/allowedOrigins/);
  });
});

describe.each(NODE_ENTRY_POINTS)("cross-origin requests over node:http: $name", ({ build }) => {
  let server: Server;
  let base = "";
  const nodeLogs: TokenHandlerLogEntry[] = [];

  beforeAll(async () => {
    const port = await freePort();
    server = createServer(build({ ...CROSS_ORIGIN, log: (e) => nodeLogs.push(e) }));
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("answers a real preflight and POST (a listed origin gets the allow headers, others 403 without them)", async () => {
    const pre = await fetch(`${base}/token`, { method: "OPTIONS", headers: { origin: APP, "access-control-request-method": "POST", "access-control-request-headers": "content-type" } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe(APP);
    expect(pre.headers.get("access-control-allow-methods")).toBe("POST");
    expect(await pre.text()).toBe("");
    const res = await fetch(`${base}/token`, { method: "POST", headers: { origin: APP, "content-type": "application/json", authorization: "Bearer ok" }, body: '{"room":"r"}' });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(APP);
    const other = await fetch(`${base}/token`, { method: "OPTIONS", headers: { origin: OTHER, "access-control-request-method": "POST" } });
    expect(other.status).toBe(403);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const get = await fetch(`${base}/token`, { headers: { origin: APP } });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST, OPTIONS");
    expect(nodeLogs.filter((l) => l.event === "preflight").map((l) => l.status)).toEqual([204, 403]);
  });
});
