import { createServer, request as httpRequest, type Server } from "node:http";
import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeTokenHandler, createTokenHandler, loadTokenConfig, toNodeHandler, verifyToken, type TokenHandlerLogEntry, type TokenHandlerOptions } from "../../token/index.ts";
import { freePort } from "../support/ports.ts";
import { APP_ID, DOMAIN, SECRET, SIGNING } from "./fixtures.ts";
import { NODE_ENTRY_POINTS } from "./nodeEntryPoints.ts";

const logs: TokenHandlerLogEntry[] = [];
const OPTIONS: TokenHandlerOptions = {
  ...SIGNING,
  baseUrl: "https://meet.example.test",
  log: (entry) => logs.push(entry),
  authorize: ({ request, room, tenant }) => {
    const auth = request.headers.get("authorization");
    if (auth === null) return null;
    if (auth === "Bearer guest") return { status: 403, message: "guests cannot open rooms" };
    if (auth === "Bearer broken") throw new Error(`database down; secret ${SECRET}`);
    if (auth === "Bearer bad-grant") return { user: { id: "", name: "x" } };
    // An authorize that checks tenants: this user belongs to tenant "acme" only.
    if (auth === "Bearer always-acme") return { user: { id: "u-3", name: "Cy" }, tenant: "acme" };
    if (auth === "Bearer acme-user") return tenant === "acme" ? { user: { id: "u-2", name: "Bo" }, moderator: true, tenant } : { status: 403 };
    // A grant that blows up when inspected: an unexpected failure, not a client mistake.
    if (auth === "Bearer weird") return new Proxy({}, { has: () => { throw new TypeError(`boom ${SECRET}`); } }) as never;
    return { user: { id: "u-1", name: "Ada", email: "ada@example.test", role: "coach" } as never, moderator: room === "coach-room", features: { recording: true } };
  },
};
const handler = createTokenHandler(OPTIONS);

let origin = "";

async function post(body: unknown, headers: Record<string, string> = { authorization: "Bearer ok" }, raw = false) {
  const response = await fetch(`${origin}/api/jitsi/token`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
}

/** The field a refusal names: `error.problems[0].path` of the project's error vocabulary. */
function fieldOf(body: Record<string, unknown>): string | undefined {
  return (body.error as { problems?: { path: string }[] } | undefined)?.problems?.[0]?.path;
}

function codeOf(body: Record<string, unknown>): string | undefined {
  return (body.error as { code?: string } | undefined)?.code;
}

describe.each(NODE_ENTRY_POINTS)("the token endpoint over node:http: $name", ({ build }) => {
  let server: Server;
  beforeAll(async () => {
    const port = await freePort();
    server = createServer(build(OPTIONS));
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

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
      expect(fieldOf(res.body)).toBe(field);
      expect(codeOf(res.body)).toBe("invalid-input");
    }
  });

  it("answers 401/403 from authorize and 500 without details when authorize fails", async () => {
    expect(await post({ room: "r" }, {})).toMatchObject({ status: 401, body: { error: { code: "unauthorized" } } });
    const guest = await post({ room: "r" }, { authorization: "Bearer guest" });
    expect(guest).toMatchObject({ status: 403, body: { error: { code: "forbidden", problems: [{ path: "authorization", message: "guests cannot open rooms" }] } } });
    const broken = await post({ room: "r" }, { authorization: "Bearer broken" });
    expect(broken).toMatchObject({ status: 500, body: { error: { code: "internal-error" } } });
    expect(JSON.stringify(broken.body)).not.toContain(SECRET);
    expect((await post({ room: "r" }, { authorization: "Bearer bad-grant" })).status).toBe(500);
  });

  it("answers an unexpected failure 500 with its own log event, no message, no stack, no secret", async () => {
    logs.length = 0;
    const res = await post({ room: "r" }, { authorization: "Bearer weird" });
    expect(res).toMatchObject({ status: 500, body: { error: { code: "internal-error", problems: [{ path: "server" }] } } });
    expect(logs).toEqual([{ level: "error", event: "internal-error", status: 500, errorName: "TypeError", room: "r" }]);
    const seen = JSON.stringify(res.body) + JSON.stringify(logs);
    expect(seen).not.toContain(SECRET);
    expect(seen).not.toContain("boom");
    expect(seen).not.toMatch(/at .*:\d+/);
  });

  it("mints for a tenant only when authorize grants that tenant: the body alone never picks one", async () => {
    // The default authorize above ignores tenants (as a rooms-only application would): a tenant request is refused.
    const ignored = await post({ room: "team-a", tenant: "othercorp" });
    expect(ignored.status).toBe(403);
    expect(fieldOf(ignored.body)).toBe("tenant");
    expect(ignored.body.token).toBeUndefined();
    // An authorize that grants the requested tenant gets a token whose sub is that tenant.
    const granted = await post({ room: "team-a", tenant: "acme" }, { authorization: "Bearer acme-user" });
    expect(granted.status).toBe(200);
    expect((jwt.decode(granted.body.token as string) as { sub: string }).sub).toBe("acme");
    expect((await post({ room: "team-a", tenant: "othercorp" }, { authorization: "Bearer acme-user" })).status).toBe(403);
    // A grant naming a tenant the request did not ask for is refused too (no silent re-targeting).
    const retargeted = await post({ room: "team-a" }, { authorization: "Bearer always-acme" });
    expect(retargeted.status).toBe(403);
    expect(fieldOf(retargeted.body)).toBe("tenant");
  });

  it("names the bad field with a 400 (or 405/413/415)", async () => {
    const field = async (res: Promise<{ status: number; body: Record<string, unknown> }>) => {
      const { status, body } = await res;
      return { status, field: fieldOf(body), code: codeOf(body) };
    };
    expect(await field(post({}))).toEqual({ status: 400, field: "room", code: "invalid-input" });
    expect(await field(post({ room: "*" }))).toMatchObject({ status: 400, field: "room" });
    expect(await field(post({ room: 5 }))).toMatchObject({ status: 400, field: "room" });
    expect(await field(post({ room: "r", tenant: "../x" }))).toMatchObject({ status: 400, field: "tenant" });
    expect(await field(post("{not json", undefined, true))).toMatchObject({ status: 400, field: "body" });
    expect(await field(post([1, 2]))).toMatchObject({ status: 400, field: "body" });
    expect(await field(post({ room: "x".repeat(20_000) }))).toEqual({ status: 413, field: "body", code: "body-too-large" });
    expect(await field(post({ room: "r" }, { "content-type": "text/plain", authorization: "Bearer ok" }))).toEqual({ status: 415, field: "content-type", code: "unsupported-media-type" });
    for (const method of ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const res = await fetch(`${origin}/api/jitsi/token`, { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.get("allow")).toBe("POST");
      expect(codeOf((await res.json()) as Record<string, unknown>)).toBe("method-not-allowed");
    }
  });

  it("answers TRACE 405 like any other method (fetch cannot send TRACE: raw node:http client)", async () => {
    const { status, headers, body } = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const req = httpRequest(`${origin}/api/jitsi/token`, { method: "TRACE", agent: false }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(405);
    expect(headers.allow).toBe("POST");
    expect(JSON.parse(body)).toMatchObject({ error: { code: "method-not-allowed", problems: [{ path: "method" }] } });
  });

  it("refuses charsets other than UTF-8 with 415 and accepts UTF-8 spelled any way", async () => {
    const utf16 = Buffer.from(JSON.stringify({ room: "r" }), "utf16le");
    for (const type of ["application/json; charset=utf-16", "application/json; charset=UTF-16LE", 'application/json; charset="iso-8859-1"']) {
      const res = await fetch(`${origin}/t`, { method: "POST", headers: { authorization: "Bearer ok", "content-type": type }, body: utf16 });
      expect(res.status, type).toBe(415);
      expect(await res.json()).toMatchObject({ error: { code: "unsupported-media-type", problems: [{ path: "content-type" }] } });
    }
    for (const type of ["application/json;charset=UTF-8", 'application/json; charset="utf-8"', "Application/JSON"]) {
      expect((await post({ room: "r" }, { authorization: "Bearer ok", "content-type": type })).status, type).toBe(200);
    }
    const invalid = await fetch(`${origin}/t`, { method: "POST", headers: { authorization: "Bearer ok", "content-type": "application/json" }, body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ error: { problems: [{ path: "body", message: "body is not valid UTF-8" }] } });
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
        expect([200, 400, 403, 413, 415]).toContain(res.status); // 403: a tenant the default authorize does not grant
        if (res.status !== 200) expect(JSON.parse(text)).toMatchObject({ error: { code: expect.any(String), problems: [{ path: expect.any(String) }] } });
        expect(text).not.toContain(SECRET);
        expect(text).not.toMatch(/at .*\.ts:\d+/);
      }),
      { numRuns: 300 },
    );
    expect(JSON.stringify(logs)).not.toContain(SECRET);
    expect(logs.some((l) => l.event === "issued")).toBe(true);
  });

  it("uses one body limit: the handler's maxBodyBytes (default 4096) is the adapter's too", async () => {
    const small = { ...SIGNING, authorize: () => ({ user: { id: "u", name: "n" } }) };
    expect(createTokenHandler(small).maxBodyBytes).toBe(4096);
    expect(createNodeTokenHandler(small).maxBodyBytes).toBe(4096);
    const port = await freePort();
    const node = createServer(build(small));
    await new Promise<void>((resolve) => node.listen(port, "127.0.0.1", resolve));
    try {
      const send = (room: string) => fetch(`http://127.0.0.1:${port}/`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ room }) });
      expect((await send("r".repeat(200))).status).toBe(200);
      const over = await send("r".repeat(4096));
      expect(over.status).toBe(413);
      expect(await over.json()).toEqual({ error: { code: "body-too-large", message: "body: body is larger than 4096 bytes", problems: [{ path: "body", message: "body is larger than 4096 bytes" }] } });
    } finally {
      await new Promise<void>((resolve) => node.close(() => resolve()));
    }
    expect(() => build({ ...SIGNING, maxBodyBytes: -1, authorize: () => null })).toThrow(/maxBodyBytes/);
    expect(() => build({ ...SIGNING, bodyTimeoutMs: 0, authorize: () => null })).toThrow(/bodyTimeoutMs/);
  });

  it("gives authorize the same request on both paths: URL, method, repeated headers (two Cookie lines joined with \"; \"), headers without the Request", async () => {
    const seen: Record<string, unknown>[] = [];
    const port = await freePort();
    const node = createServer(
      build({
        ...SIGNING,
        authorize: ({ request, headers }) => {
          seen.push({ url: request.url, method: request.method, cookie: request.headers.get("cookie"), viaHeaders: headers.get("Cookie"), auth: headers.get("authorization"), absent: headers.get("x-absent") });
          return { user: { id: "u", name: "n" } };
        },
      }),
    );
    await new Promise<void>((resolve) => node.listen(port, "127.0.0.1", resolve));
    try {
      const body = '{"room":"r"}';
      const status = await new Promise<number>((resolve, reject) => {
        const headers = ["host", `127.0.0.1:${port}`, "content-type", "application/json", "cookie", "x=1", "Cookie", "y=2", "authorization", "Bearer a", "content-length", String(body.length)];
        const req = httpRequest(`http://127.0.0.1:${port}/api/jitsi/token?via=test`, { method: "POST", agent: false, headers: headers as never }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("error", reject);
        req.end(body);
      });
      expect(status).toBe(200);
      expect(seen).toEqual([{ url: `http://127.0.0.1:${port}/api/jitsi/token?via=test`, method: "POST", cookie: "x=1; y=2", viaHeaders: "x=1; y=2", auth: "Bearer a", absent: null }]);
    } finally {
      await new Promise<void>((resolve) => node.close(() => resolve()));
    }
  });
});

describe("the Web handler and the bridge", () => {
  it("works as a plain Web handler (Next.js route style) and refuses to start without authorize or with a weak secret", async () => {
    const response = await handler(new Request("http://x/api", { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer ok" }, body: '{"room":"r"}' }));
    expect(response.status).toBe(200);
    expect(() => createTokenHandler({ ...SIGNING } as never)).toThrow(/authorize/);
    const config = await loadTokenConfig({ env: { JITSI_APP_ID: APP_ID, JITSI_DOMAIN: DOMAIN, JITSI_APP_SECRET: SECRET } });
    const fromConfig = createTokenHandler({ ...config, authorize: () => ({ user: { id: "u", name: "n" } }) });
    const issued = await fromConfig(new Request("http://x/api", { method: "POST", headers: { "content-type": "application/json" }, body: '{"room":"r"}' }));
    expect(issued.status).toBe(200);
    expect(() => createTokenHandler({ ...SIGNING, secret: "short", authorize: () => null })).toThrow(/secret/);
    expect(() => createNodeTokenHandler({ ...SIGNING, baseUrl: "https://meet.example.test", tokenIn: "cookie" as never, authorize: () => null })).toThrow(/tokenIn/);
  });

  it("toNodeHandler also runs any other Web handler (Request in, Response out), repeated headers intact", async () => {
    const port = await freePort();
    const echo = createServer(
      toNodeHandler(async (request) => {
        const headers = new Headers({ "content-type": "application/json" });
        headers.append("set-cookie", "a=1; Path=/; HttpOnly");
        headers.append("set-cookie", "b=2; Path=/; Secure");
        return new Response(JSON.stringify({ method: request.method, body: await request.text(), path: new URL(request.url).pathname, cookie: request.headers.get("cookie") }), { status: 201, headers });
      }),
    );
    await new Promise<void>((resolve) => echo.listen(port, "127.0.0.1", resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${port}/p?q=1`, { method: "PUT", body: "hello" });
      expect(res.status).toBe(201);
      expect(await res.json()).toEqual({ method: "PUT", body: "hello", path: "/p", cookie: null });
      expect(res.headers.getSetCookie()).toEqual(["a=1; Path=/; HttpOnly", "b=2; Path=/; Secure"]);
      // Repeated request headers reach the handler too (two Cookie lines are joined with "; ").
      const raw = await new Promise<{ cookies: string[] | undefined; body: string }>((resolve, reject) => {
        const req = httpRequest(`http://127.0.0.1:${port}/c`, { method: "POST", agent: false, headers: ["host", `127.0.0.1:${port}`, "cookie", "x=1", "cookie", "y=2", "content-length", "0"] as never }, (r) => {
          let text = "";
          r.on("data", (d: Buffer) => (text += d.toString()));
          r.on("end", () => resolve({ cookies: r.headers["set-cookie"], body: `${r.statusCode} ${text}` }));
        });
        req.on("error", reject);
        req.end();
      });
      expect(raw.body).toMatch(/^201 /);
      expect(raw.cookies).toEqual(["a=1; Path=/; HttpOnly", "b=2; Path=/; Secure"]);
      expect(raw.body).toMatch(/^201 /);
      expect(JSON.parse(raw.body.slice(4))).toMatchObject({ cookie: "x=1; y=2" });
    } finally {
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    }
  });
});

describe("createNodeTokenHandler", () => {
  const logged: TokenHandlerLogEntry[] = [];
  const urls: string[] = [];
  let node: Server;
  let port = 0;
  beforeAll(async () => {
    port = await freePort();
    node = createServer(
      createNodeTokenHandler({
        ...SIGNING,
        log: (e) => logged.push(e),
        // Destructuring `request` would read it: this authorize touches it only when asked to.
        authorize: (context) => {
          if (context.headers.get("x-read-request") === null) return { user: { id: "u", name: "n" } };
          urls.push(context.request.url);
          return { user: { id: "u", name: "n" } };
        },
      }),
    );
    await new Promise<void>((resolve) => node.listen(port, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => node.close(() => resolve()));
  });
  /** One request as bytes on a socket: any Host line (or none) and any request target. */
  const send = (head: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => socket.end(`${head}Content-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{"room":"r"}`));
      let text = "";
      socket.setEncoding("utf8");
      socket.on("data", (d: string) => (text += d));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });

  it("answers 400 naming the host when authorize reads a request whose Host is not a host[:port]; authorize reading only headers never needs one", async () => {
    for (const host of ["exa mple", "a@b", "evil.example/x", "evil.example?x", "evil.example#x", "[::1", "good.example:99999", "999.1.1.1", "1.2.3.4.5", "good.1", "[1:2:3:4:5:6:7:8:9]", "[:::]"]) {
      logged.length = 0;
      const refused = await send(`POST /t HTTP/1.1\r\nHost: ${host}\r\nX-Read-Request: 1\r\n`);
      expect(refused, host).toMatch(/^HTTP\/1\.1 400 /);
      expect(refused, host).toContain('"path":"host"');
      expect(logged, host).toEqual([{ level: "warn", event: "bad-request", status: 400, field: "host", room: "r" }]);
    }
    // HTTP/1.0 may omit Host: a request authorize reads then has no host either.
    expect(await send("POST /t HTTP/1.0\r\nX-Read-Request: 1\r\n")).toMatch(/^HTTP\/1\.1 400 [^]*"path":"host"/);
    const granted = await send("POST /t HTTP/1.1\r\nHost: exa mple\r\n");
    expect(granted, JSON.stringify(logged)).toMatch(/^HTTP\/1\.1 200 /);
  });

  it("builds request.url from the Host and the target as text: a path like //other.example/x stays a path on that host", async () => {
    urls.length = 0;
    for (const target of ["//good.example/t", "/\\good.example/t", "/t?x=1", "/api//t"]) {
      expect(await send(`POST ${target} HTTP/1.1\r\nHost: meet.example.test:8443\r\nX-Read-Request: 1\r\n`), target).toMatch(/^HTTP\/1\.1 200 /);
    }
    expect(urls.map((u) => new URL(u).host)).toEqual(Array(4).fill("meet.example.test:8443"));
    expect(urls[0]).toBe("http://meet.example.test:8443//good.example/t");
    expect(urls[2]).toBe("http://meet.example.test:8443/t?x=1");
  });
});

describe.each(NODE_ENTRY_POINTS)("refusals before and around the body: $name", ({ build }) => {
  const logged: TokenHandlerLogEntry[] = [];
  let server: Server;
  let url = "";
  beforeAll(async () => {
    const port = await freePort();
    server = createServer(build({ ...OPTIONS, log: (e) => logged.push(e) }));
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${port}/api/jitsi/token`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("logs a 413 answered while the body arrives, like every other refusal", async () => {
    logged.length = 0;
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer ok" }, body: JSON.stringify({ room: "x".repeat(20_000) }) });
    expect(res.status).toBe(413);
    expect(logged).toEqual([{ level: "warn", event: "bad-request", status: 413, field: "body" }]);
  });

  it("refuses a coded body (gzip) with 415 naming content-encoding", async () => {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", "content-encoding": "gzip", authorization: "Bearer ok" }, body: gzipSync('{"room":"r"}') });
    expect(res.status).toBe(415);
    expect(fieldOf((await res.json()) as Record<string, unknown>)).toBe("content-encoding");
  });

  it("names the room field once in a refusal's message", async () => {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer ok" }, body: JSON.stringify({ room: "config.js" }) });
    const body = (await res.json()) as { error: { message: string; problems: { path: string; message: string }[] } };
    expect(res.status).toBe(400);
    expect(body.error.problems[0]?.path).toBe("room");
    expect(body.error.problems[0]?.message).not.toMatch(/^room: /);
  });
});
