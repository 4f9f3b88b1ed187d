import { get as httpGet, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:http";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import type { Deployment } from "../../../templates/deployment.ts";
import { runtimeHostPaths } from "../../../templates/files/hostRuntime.ts";
import { renderMeetConfigJs } from "../../../templates/files/configJs.ts";
import { renderNginxSite } from "../../../templates/files/nginx.ts";
import { asapKeyServerUrl } from "../../../templates/files/prosody.ts";
import { hostPaths, URL_PATHS } from "jitsi-jwt-token/shared";
import { checkNginxSite, nginxTestRuntime, startNginx, type RunningNginx } from "../../support/nginx.ts";
import { freePort } from "../../support/ports.ts";
import { startProsody, type RunningProsody } from "../../support/prosody.ts";
import { expandTenantIncludes } from "../../support/ssi.ts";
import { sampleDeployment } from "../sampleDeployment.ts";

const DOMAIN = "meet.example.com";
const TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl";

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One request to 127.0.0.1 with Host (and SNI) = the domain; HTTPS trusts only the test certificate. */
function fetchFrom(
  nginx: RunningNginx,
  scheme: "http" | "https",
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const host = options.headers?.Host ?? DOMAIN;
    const common = {
      host: "127.0.0.1",
      method: options.method ?? "GET",
      path,
      headers: { ...options.headers, Host: host },
      // A connection per request, closed with it: no keep-alive socket of the global agent outlives a test.
      agent: false,
    };
    const onResponse = (response: import("node:http").IncomingMessage) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    };
    const req =
      scheme === "https"
        ? httpsRequest({ ...common, port: nginx.httpsPort, ca: nginx.certificatePem, servername: host }, onResponse)
        : httpRequest({ ...common, port: nginx.httpPort }, onResponse);
    req.on("error", reject);
    req.end(options.body);
  });
}

async function put(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

/** Lines nginx has written to the access log so far (it writes each line at request end). */
async function accessLogLines(nginx: RunningNginx): Promise<string[]> {
  return (await readFile(nginx.accessLog, "utf8")).split("\n").filter((line) => line !== "");
}

/**
 * The access log once every pattern matches it (or after 5 s, for the assertions to show what is there). nginx
 * writes a line after it has sent the response, so a client can see the reply before its line exists.
 */
async function waitForAccessLog(nginx: RunningNginx, ...patterns: RegExp[]): Promise<string> {
  let log = "";
  for (let i = 0; i < 100; i++) {
    log = (await accessLogLines(nginx)).join("\n");
    if (patterns.every((pattern) => pattern.test(log))) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return log;
}

/** A stand-in for Prosody's HTTP port that records what nginx forwards (WebSocket messages are echoed). */
async function standInProsody(): Promise<{ port: number; seen: { url: string; host: string | undefined; upgrade: boolean }[]; close(): Promise<void> }> {
  const seen: { url: string; host: string | undefined; upgrade: boolean }[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? "", host: req.headers.host, upgrade: false });
    res.writeHead(200, { "Content-Type": "text/xml" });
    res.end("<body/>");
  });
  const wss = new WebSocketServer({ server });
  wss.on("connection", (socket, req) => {
    seen.push({ url: req.url ?? "", host: req.headers.host, upgrade: true });
    socket.on("message", (data) => socket.send(`echo:${data.toString()}`));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port,
    seen,
    close: async () => {
      wss.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The app's page (including config.js as jitsi-meet's index.html does, an SSI subrequest), a bundle, config.js. */
async function putApp(d: Deployment, configJs: string): Promise<void> {
  const paths = runtimeHostPaths(d);
  await put(`${paths.jitsiMeetWebRoot}/index.html`, '<html><script><!--#include virtual="/config.js" --></script></html>\n');
  await put(`${paths.jitsiMeetWebRoot}/libs/app.bundle.min.js`, "// app\n");
  await put(paths.meetConfigJs, configJs);
}

describe("renderNginxSite", () => {
  it("is a public site file that reloads nginx", () => {
    const d = sampleDeployment();
    const file = renderNginxSite(d);
    expect(file.path).toBe(hostPaths(DOMAIN).nginxSite);
    expect(file.mode).toBe(0o644);
    expect(file.secret).toBe(false);
    expect(file.effect).toEqual({ service: "nginx", action: "reload" });
    expect(file.content).toContain("listen 443 ssl http2;");
    expect(file.content).toContain("listen [::]:80;");
    expect(file.content).toContain(`ssl_certificate "${hostPaths(DOMAIN).certificate}";`);
    expect(file.content).toContain("return 301 https://meet.example.com$request_uri;");
  });

  it("listens on the one override address, IPv6 in brackets", () => {
    const v4 = renderNginxSite(sampleDeployment({ runtime: { bindAddress: "127.0.0.1", httpPort: 8080, httpsPort: 8443 } }));
    expect(v4.content).toMatch(/^\s*listen 127\.0\.0\.1:8080;$/m);
    expect(v4.content).toMatch(/^\s*listen 127\.0\.0\.1:8443 ssl http2;$/m);
    expect(v4.content).not.toContain("[::]");
    expect(v4.content).toContain("return 301 https://meet.example.com:8443$request_uri;");
    const v6 = renderNginxSite(sampleDeployment({ runtime: { bindAddress: "::1", httpsPort: 8443 } }));
    expect(v6.content).toMatch(/^\s*listen \[::1\]:8443 ssl http2;$/m);
    expect(v6.content).toMatch(/^\s*listen \[::1\]:80;$/m);
  });

  it("rejects values nginx cannot hold", () => {
    expect(() => renderNginxSite(sampleDeployment({ domain: "meet.example.com;}" }))).toThrow(/domain/);
    expect(() => renderNginxSite(sampleDeployment({ domain: "~^.*$" }))).toThrow(/domain/);
    expect(() => renderNginxSite(sampleDeployment({ domain: "*.example.com" }))).toThrow(/domain/);
    expect(() => renderNginxSite(sampleDeployment({ runtime: { rootDir: "/tmp/$host" } }))).toThrow(/\$/);
    expect(() => renderNginxSite(sampleDeployment({ runtime: { rootDir: "/tmp/a\nb" } }))).toThrow(/line breaks/);
    expect(() => renderNginxSite(sampleDeployment({ runtime: { bindAddress: "0.0.0.0; evil" } }))).toThrow(
      /bindAddress/,
    );
    expect(() => renderNginxSite(sampleDeployment({ runtime: { httpsPort: 70000 } }))).toThrow(/httpsPort/);
  });

  it("passes nginx -t for HS256 and RS256 deployments", async () => {
    for (const auth of [
      sampleDeployment().auth,
      { algorithm: "RS256", appId: "app", publicKeys: {} } as const,
    ]) {
      const runtime = await nginxTestRuntime();
      try {
        const output = await checkNginxSite(sampleDeployment({ auth, runtime }));
        expect(output).toMatch(/test is successful/);
      } finally {
        await rm(runtime.rootDir, { recursive: true, force: true });
      }
    }
  });
});

it("passes nginx -t with a domain of the longest length the renderer accepts", async () => {
  // 239 characters: 253 less the longest prefix the renderer adds ("internal.auth."). Long names can overflow
  // nginx's server_names hash buckets; the certificate's CN cannot hold them (64 characters), its SAN can.
  const domain = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(42)}.test`;
  expect(domain.length).toBe(239);
  const runtime = await nginxTestRuntime();
  try {
    expect(await checkNginxSite(sampleDeployment({ domain, runtime }))).toMatch(/test is successful/);
  } finally {
    await rm(runtime.rootDir, { recursive: true, force: true });
  }
});

describe("the rendered site in a real nginx", () => {
  let nginx: RunningNginx;
  let d: Deployment;
  let upstream: Awaited<ReturnType<typeof standInProsody>>;
  let seen: { url: string; host: string | undefined; upgrade: boolean }[];

  beforeAll(async () => {
    upstream = await standInProsody();
    seen = upstream.seen;
    const runtime = { ...(await nginxTestRuntime()), prosodyHttpPort: upstream.port };
    d = sampleDeployment({ runtime, auth: { algorithm: "RS256", appId: "app", publicKeys: {} } });
    const paths = runtimeHostPaths(d);
    await putApp(d, "var config = { hosts: { domain: 'meet.example.com' } };\n");
    await put(`${paths.acmeWebroot}${URL_PATHS.acmeChallenge}challenge-token-1`, "challenge-token-1.thumbprint");
    await put(`${paths.asapKeysDir}/0123abcd.pem`, "-----BEGIN PUBLIC KEY-----\nMFk=\n-----END PUBLIC KEY-----\n");
    nginx = await startNginx(d);
  });

  afterAll(async () => {
    await nginx?.stop();
    await upstream?.close();
    if (d?.runtime?.rootDir) await rm(d.runtime.rootDir, { recursive: true, force: true });
  });

  it("proxies the XMPP WebSocket with the query string intact and Host = the domain", async () => {
    const query = `?room=daily-standup&token=${TOKEN}&extra=a%20b`;
    // ws hands `servername` on to tls.connect (SNI + certificate name), though its types omit it.
    const tlsOptions = { headers: { Host: DOMAIN }, ca: nginx.certificatePem, servername: DOMAIN };
    const socket = new WebSocket(`wss://127.0.0.1:${String(nginx.httpsPort)}${URL_PATHS.websocket}${query}`, "xmpp", tlsOptions);
    const echoed = await new Promise<string>((resolve, reject) => {
      socket.once("open", () => socket.send("<open/>"));
      socket.once("message", (data) => resolve(data.toString()));
      socket.once("error", reject);
    });
    const closed = new Promise((resolve) => socket.once("close", resolve));
    socket.close();
    await closed;
    expect(echoed).toBe("echo:<open/>");
    expect(seen).toContainEqual({ url: `${URL_PATHS.websocket}${query}`, host: DOMAIN, upgrade: true });
  });

  it("proxies BOSH with the query string intact", async () => {
    const reply = await fetchFrom(nginx, "https", `${URL_PATHS.bosh}?token=${TOKEN}`, { method: "POST", body: "<body/>" });
    expect(reply.status).toBe(200);
    expect(seen).toContainEqual({ url: `${URL_PATHS.bosh}?token=${TOKEN}`, host: DOMAIN, upgrade: false });
  });

  it("redacts tokens from the access log, in the URI and in the Referer", async () => {
    await fetchFrom(nginx, "https", `/roomname?jwt=${TOKEN}`);
    await fetchFrom(nginx, "https", "/libs/app.bundle.min.js", { headers: { Referer: `https://${DOMAIN}/roomname?jwt=${TOKEN}` } });
    await fetchFrom(nginx, "https", `/roomname?x=%74oken%3D${TOKEN}`);
    await fetchFrom(nginx, "http", `/other?jwt=${TOKEN}`);
    // Every request above, and the earlier WebSocket and BOSH tests', must have its line before the log is read.
    const log = await waitForAccessLog(
      nginx,
      new RegExp(`${URL_PATHS.websocket}\\?`),
      new RegExp(`${URL_PATHS.bosh}\\?`),
      /"GET \/libs\/app\.bundle\.min\.js /,
      /"GET \/roomname\?[\s\S]*"GET \/roomname\?/, // both room requests
      /"GET \/other\?/,
    );
    const lines = log.split("\n");
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain(TOKEN.slice(10, 40));
    expect(log).toContain("/roomname?[redacted]");
    expect(log).toContain(`"https://${DOMAIN}/roomname?[redacted]"`);
    expect(log).toContain(`${URL_PATHS.websocket}?[redacted]`);
    expect(log).toContain(`${URL_PATHS.bosh}?[redacted]`);
    expect(log).toContain("/other?[redacted]");
    // The rest of the line is still useful.
    expect(lines.some((line) => /"GET \/libs\/app\.bundle\.min\.js HTTP\/1\.1" 200 /.test(line))).toBe(true);
  });

  it("serves ACME challenges on the plain port and redirects everything else to HTTPS", async () => {
    const challenge = await fetchFrom(nginx, "http", `${URL_PATHS.acmeChallenge}challenge-token-1`);
    expect(challenge.status).toBe(200);
    expect(challenge.body).toBe("challenge-token-1.thumbprint");
    expect((await fetchFrom(nginx, "http", `${URL_PATHS.acmeChallenge}missing`)).status).toBe(404);
    const redirect = await fetchFrom(nginx, "http", "/some-room?jwt=abc");
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe(`https://${DOMAIN}:${String(nginx.httpsPort)}/some-room?jwt=abc`);
  });

  it("serves the app for room paths, with config.js included from its own file", async () => {
    const room = await fetchFrom(nginx, "https", "/some-room");
    expect(room.status).toBe(200);
    expect(room.body).toContain("var config = { hosts: { domain: 'meet.example.com' } };");
    expect(room.body).not.toContain("#include");
    expect(room.headers["strict-transport-security"]).toBe("max-age=63072000");
    const configJs = await fetchFrom(nginx, "https", URL_PATHS.configJs);
    expect(configJs.body).toContain("var config");
    expect((await fetchFrom(nginx, "https", "/libs/app.bundle.min.js")).body).toBe("// app\n");
    expect((await fetchFrom(nginx, "https", "/libs/missing.js")).status).toBe(404);
  });

  it("serves the ASAP public keys for RS256", async () => {
    const key = await fetchFrom(nginx, "https", `${URL_PATHS.asapKeys}0123abcd.pem`);
    expect(key.status).toBe(200);
    expect(key.body).toContain("BEGIN PUBLIC KEY");
    expect((await fetchFrom(nginx, "https", URL_PATHS.asapKeys)).status).toBe(403);
  });

  it("serves the keys where Prosody's asap_key_server points: 127.0.0.1, plain HTTP (no certificate to fail), and still on the public https path", async () => {
    const keyServer = new URL(asapKeyServerUrl(d));
    expect(keyServer.protocol).toBe("http:");
    expect(keyServer.hostname).toBe("127.0.0.1");
    const local = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      httpGet({ host: "127.0.0.1", port: Number(keyServer.port), path: `${keyServer.pathname}/0123abcd.pem`, agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      }).on("error", reject);
    });
    expect(local.status).toBe(200);
    expect(local.body).toContain("BEGIN PUBLIC KEY");
    const publicKey = await fetchFrom(nginx, "https", `${URL_PATHS.asapKeys}0123abcd.pem`);
    expect(publicKey.status).toBe(200);
    expect(publicKey.body).toBe(local.body);
  });

  it("reloads after a configuration change", async () => {
    await nginx.reload();
    expect((await fetchFrom(nginx, "https", URL_PATHS.configJs)).status).toBe(200);
  });
});

describe("tenants in the real nginx (/<tenant>/<room>, as jitsi-meet's Debian example routes them)", () => {
  let nginx: RunningNginx;
  let d: Deployment;
  let upstream: Awaited<ReturnType<typeof standInProsody>>;
  let configJs: string;

  beforeAll(async () => {
    upstream = await standInProsody();
    d = sampleDeployment({ runtime: { ...(await nginxTestRuntime()), prosodyHttpPort: upstream.port } });
    configJs = renderMeetConfigJs(d).content;
    await putApp(d, configJs);
    nginx = await startNginx(d);
  });

  afterAll(async () => {
    await nginx?.stop();
    await upstream?.close();
    if (d?.runtime?.rootDir) await rm(d.runtime.rootDir, { recursive: true, force: true });
  });

  /** The page for `path`: 200, with config.js included for `tenant` (none = the root site). */
  async function expectPage(path: string, tenant: string | undefined): Promise<void> {
    const page = await fetchFrom(nginx, "https", path);
    expect(page.status, path).toBe(200);
    expect(page.body, path).toBe(`<html><script>${expandTenantIncludes(configJs, tenant)}</script></html>\n`);
  }

  it("serves config.js with the tenant filled in by SSI, and the root one without", async () => {
    const root = await fetchFrom(nginx, "https", URL_PATHS.configJs);
    expect(root.body).toBe(expandTenantIncludes(configJs));
    expect(root.body).toContain('muc: "conference.meet.example.com"');
    const tenant = await fetchFrom(nginx, "https", `/acme${URL_PATHS.configJs}`);
    expect(tenant.status).toBe(200);
    expect(tenant.body).toBe(expandTenantIncludes(configJs, "acme"));
    expect(tenant.body).toContain('muc: "conference.acme.meet.example.com"');
    expect(tenant.body).toMatch(/websocket: "wss:\/\/meet\.example\.com:\d+\/acme\/xmpp-websocket"/);
    // A first segment that is no tenant is not filled in.
    expect((await fetchFrom(nginx, "https", `/no_tenant${URL_PATHS.configJs}`)).body).toBe(expandTenantIncludes(configJs));
  });

  it("serves the app for every room link shape, root and tenant, with the tenant read before decoding", async () => {
    // Percent-encoded names as links carry them; nginx matches locations on the decoded path.
    const rooms = ["some-room", "Weekly%20Sync", "bob%27s%20room", "%C3%BCber", "a%3Fb%23c%26d%3De", "q%22%3C%3E", "a%2Fb", "100%25", "x.js"];
    for (const room of rooms) {
      await expectPage(`/${room}`, undefined);
      await expectPage(`/acme/${room}`, "acme");
      await expectPage(`/Acme-2/${room}?jwt=abc`, "Acme-2");
    }
    await expectPage("/acme/", "acme");
    // Not tenants: an underscore, a static directory.
    await expectPage("/no_tenant/room", undefined);
    expect((await fetchFrom(nginx, "https", "/libs/app.bundle.min.js")).body).toBe("// app\n");
    expect((await fetchFrom(nginx, "https", "/libs/room")).status).toBe(404);
  });

  it("proxies BOSH and the WebSocket under /<tenant>/ with ?prefix=<tenant> in front of the query", async () => {
    const query = `room=weekly%20sync&token=${TOKEN}`;
    const bosh = await fetchFrom(nginx, "https", `/acme${URL_PATHS.bosh}?${query}`, { method: "POST", body: "<body/>" });
    expect(bosh.status).toBe(200);
    expect(upstream.seen.map((r) => r.url)).toContain(`${URL_PATHS.bosh}?prefix=acme&${query}`);
    const tlsOptions = { headers: { Host: DOMAIN }, ca: nginx.certificatePem, servername: DOMAIN };
    const socket = new WebSocket(`wss://127.0.0.1:${String(nginx.httpsPort)}/acme${URL_PATHS.websocket}?${query}`, "xmpp", tlsOptions);
    await new Promise((resolve, reject) => {
      socket.once("open", () => socket.close());
      socket.once("close", resolve);
      socket.once("error", reject);
    });
    expect(upstream.seen.map((r) => r.url)).toContain(`${URL_PATHS.websocket}?prefix=acme&${query}`);
    // Root paths are passed on untouched. A first segment that is no tenant never becomes a prefix: such a path
    // is a 404 or, as in the upstream example's catch-all, the root endpoint.
    await fetchFrom(nginx, "https", `${URL_PATHS.bosh}?${query}`, { method: "POST", body: "<body/>" });
    expect(upstream.seen.map((r) => r.url)).toContain(`${URL_PATHS.bosh}?${query}`);
    for (const path of [`/no_tenant${URL_PATHS.bosh}`, `/a%2Fb${URL_PATHS.websocket}`, `/libs${URL_PATHS.bosh}`, `/x%2Facme${URL_PATHS.bosh}`]) {
      await fetchFrom(nginx, "https", `${path}?${query}`, { method: "POST", body: "<body/>" });
    }
    expect((await fetchFrom(nginx, "https", `/libs${URL_PATHS.bosh}`, { method: "POST", body: "" })).status).toBe(404);
    expect(upstream.seen.map((r) => r.url).filter((url) => url.includes("prefix=") && !url.startsWith(`${URL_PATHS.bosh}?prefix=acme&`) && !url.startsWith(`${URL_PATHS.websocket}?prefix=acme&`))).toEqual([]);
  });
});

describe("hostile characters in paths", () => {
  it("come out as data: nginx serves config.js from a root dir full of quotes, braces and semicolons", async () => {
    const base = await nginxTestRuntime();
    const rootDir = `${base.rootDir}/we"ird; } { # 'dir' \\ ünï`;
    const d = sampleDeployment({ runtime: { ...base, rootDir } });
    const nginx = await startNginx(d).catch(async (error: unknown) => {
      await rm(base.rootDir, { recursive: true, force: true });
      throw error;
    });
    try {
      await put(runtimeHostPaths(d).meetConfigJs, "var config = {};\n");
      const reply = await fetchFrom(nginx, "https", URL_PATHS.configJs);
      expect(reply.status).toBe(200);
      expect(reply.body).toBe("var config = {};\n");
    } finally {
      await nginx.stop();
      await rm(base.rootDir, { recursive: true, force: true });
    }
  });
});

describe("through nginx to the real Prosody on the rendered configuration", () => {
  let prosody: RunningProsody;
  let nginx: RunningNginx;
  let d: Deployment;

  beforeAll(async () => {
    prosody = await startProsody();
    d = { ...prosody.deployment, runtime: { ...(await nginxTestRuntime()), prosodyHttpPort: prosody.ports.http } };
    nginx = await startNginx(d);
  });

  afterAll(async () => {
    await nginx?.stop();
    await prosody?.stop();
    if (d?.runtime?.rootDir) await rm(d.runtime.rootDir, { recursive: true, force: true });
  });

  it("upgrades /xmpp-websocket?token=… to an XMPP stream, token kept out of the access log", async () => {
    const domain = prosody.names.domain;
    // Host picks Prosody's HTTP virtual host (the main domain); the stream goes to the guest domain, whose
    // anonymous login works without Jitsi's token plugin.
    const guest = prosody.names.guest;
    const token = "header.payload-that-must-not-be-logged.signature";
    const tlsOptions = { headers: { Host: domain }, ca: nginx.certificatePem, servername: domain };
    const url = `wss://127.0.0.1:${String(nginx.httpsPort)}${URL_PATHS.websocket}?room=standup&token=${token}`;
    const socket = new WebSocket(url, "xmpp", tlsOptions);
    const reply = await new Promise<string>((resolve, reject) => {
      let received = "";
      socket.once("open", () =>
        socket.send(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="${guest}" version="1.0"/>`),
      );
      socket.on("message", (data) => {
        received += data.toString();
        if (received.includes("</stream:features>")) resolve(received);
      });
      socket.once("error", reject);
      socket.once("close", () => reject(new Error(`closed early after: ${received}`)));
    });
    socket.removeAllListeners("close");
    const closed = new Promise((resolve) => socket.once("close", resolve));
    socket.close();
    await closed;
    expect(socket.protocol).toBe("xmpp");
    expect(reply).toMatch(new RegExp(`<open [^>]*from=["']${guest.replaceAll(".", "\\.")}["']`));
    expect(reply).toContain("<mechanism>ANONYMOUS</mechanism>");
    // nginx logs a proxied WebSocket when the tunnel closes, a moment after the client's close.
    const line = new RegExp(`"GET ${URL_PATHS.websocket}\\?\\[redacted\\] HTTP/1\\.1" 101 `);
    const log = await waitForAccessLog(nginx, line);
    expect(log).toMatch(line);
    expect(log).not.toContain("must-not-be-logged");
  });

  it("answers BOSH through nginx for the domain", async () => {
    const domain = prosody.names.domain;
    const body = `<body xmlns="http://jabber.org/protocol/httpbind" rid="1" to="${domain}" wait="5" hold="1" ver="1.6" xmlns:xmpp="urn:xmpp:xbosh" xmpp:version="1.0"/>`;
    const reply = await fetchFrom(nginx, "https", `${URL_PATHS.bosh}?token=abc`, {
      method: "POST",
      headers: { Host: domain, "Content-Type": "text/xml; charset=utf-8" },
      body,
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toContain("sid=");
  });
});
