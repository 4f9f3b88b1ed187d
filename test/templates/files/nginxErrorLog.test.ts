/**
 * Tokens and nginx's error log, with the real nginx on the rendered site. nginx prints the request line, the
 * upstream URI and the Referer in every error it logs while handling a request (`… request: "GET
 * /xmpp-websocket?room=…&token=eyJ…"`, `upstream: "http://127.0.0.1:5280/xmpp-websocket?…&token=…"`), and a
 * failed upstream is routine: every Prosody restart refuses the WebSocket and BOSH connections for a moment. Here
 * Prosody is down (nothing listens on its port) while clients connect with ?token= and pages load with ?jwt=.
 */
import { request as httpsRequest } from "node:https";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { URL_PATHS } from "jitsi-jwt-token/shared";
import { NGINX_ERROR_LOG } from "../../../templates/files/nginx.ts";
import { runtimeHostPaths, underRoot } from "../../../templates/files/hostRuntime.ts";
import type { Deployment } from "../../../templates/deployment.ts";
import { nginxTestRuntime, startNginx, type RunningNginx } from "../../support/nginx.ts";
import { freePort } from "../../support/ports.ts";
import { sampleDeployment } from "../sampleDeployment.ts";

const DOMAIN = "meet.example.com";
const TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJyb29tIjoid2Vla2x5In0.bG9nLXByb2JlLXNpZ25hdHVyZQ";

function send(nginx: RunningNginx, path: string, headers: Record<string, string> = {}, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const method = body === undefined ? "GET" : "POST";
    const length: Record<string, string> = body === undefined ? {} : { "Content-Type": "text/xml", "Content-Length": String(Buffer.byteLength(body)) };
    const req = httpsRequest(
      { method, host: "127.0.0.1", port: nginx.httpsPort, path, headers: { ...headers, ...length, Host: DOMAIN }, ca: nginx.certificatePem, servername: DOMAIN, agent: false },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
const get = (nginx: RunningNginx, path: string, headers: Record<string, string> = {}) => send(nginx, path, headers);

describe("nginx's error log while Prosody is down", () => {
  let nginx: RunningNginx;
  let d: Deployment;
  let logs = "";
  let siteErrorLog = "";
  const statuses: number[] = [];

  beforeAll(async () => {
    // Prosody's port: free, and nothing listens on it.
    const runtime = { ...(await nginxTestRuntime()), prosodyHttpPort: await freePort() };
    d = sampleDeployment({ domain: DOMAIN, runtime });
    await mkdir(runtimeHostPaths(d).jitsiMeetWebRoot, { recursive: true });
    nginx = await startNginx(d);
    const query = `room=weekly&token=${TOKEN}`;
    statuses.push(await get(nginx, `${URL_PATHS.websocket}?${query}`, { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" }));
    statuses.push(await get(nginx, `${URL_PATHS.bosh}?${query}`));
    statuses.push(await get(nginx, `/acme${URL_PATHS.websocket}?${query}`));
    statuses.push(await get(nginx, `${URL_PATHS.bosh}?${query}`, { Referer: `https://${DOMAIN}/weekly?jwt=${TOKEN}` }));
    // The web root holds no index.html: nginx refuses the directory listing (403, "directory index … is forbidden").
    statuses.push(await get(nginx, `/?jwt=${TOKEN}`));
    // Every line is written before the response ends; read what nginx wrote (its own log and the site's).
    siteErrorLog = underRoot(d, NGINX_ERROR_LOG);
    for (let i = 0; i < 40; i++) {
      logs = [await readFile(nginx.errorLog, "utf8").catch(() => ""), await readFile(siteErrorLog, "utf8").catch(() => "")].join("\n");
      if ((logs.match(/request failed/g) ?? []).length >= statuses.length) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  it("answers 502 for every XMPP request, 403 for the directory", () => {
    expect(statuses).toEqual([502, 502, 502, 502, 403]);
  });

  it("keeps what an operator needs: a line per failed request with its status, path, upstream and its answer", () => {
    const failed = logs.split("\n").filter((line) => line.includes("[error] request failed"));
    expect(failed).toHaveLength(5);
    const upstream = `upstream: "127.0.0.1:${String(d.runtime?.prosodyHttpPort)}", upstream status: "502"`;
    expect(failed[0]).toContain(`status 502, client: 127.0.0.1, server: ${DOMAIN}, request: "GET ${URL_PATHS.websocket}?[redacted] HTTP/1.1", ${upstream}`);
    expect(failed[1]).toContain(`request: "GET ${URL_PATHS.bosh}?[redacted] HTTP/1.1", ${upstream}`);
    expect(failed[2]).toContain(`request: "GET /acme${URL_PATHS.websocket}?[redacted] HTTP/1.1", ${upstream}`);
    expect(failed[3]).toContain(`referrer: "https://${DOMAIN}/weekly?[redacted]"`);
    expect(failed[4]).toContain('status 403, client: 127.0.0.1, server: meet.example.com, request: "GET /?[redacted] HTTP/1.1", upstream: "-"');
  });

  it("logs no token, in the request line, the upstream URI or the Referer", () => {
    expect(logs).not.toContain(TOKEN);
    for (const part of TOKEN.split(".")) expect(logs).not.toContain(part);
    // nginx's own lines for these failures (which print the token) are not written.
    expect(logs).not.toContain("while connecting to upstream");
    expect(logs).not.toContain("is forbidden");
  });
});

describe("nginx's error log when a request body cannot be spooled (a full disk)", () => {
  let nginx: RunningNginx;
  let logs = "";
  let status = 0;

  beforeAll(async () => {
    const runtime = { ...(await nginxTestRuntime()), prosodyHttpPort: await freePort() };
    const d = sampleDeployment({ domain: DOMAIN, runtime });
    await mkdir(runtimeHostPaths(d).jitsiMeetWebRoot, { recursive: true });
    nginx = await startNginx(d);
    // A file where nginx wants its client-body temp directory: opening the temp file fails, which nginx logs at
    // crit with the request line (as it does for "No space left on device").
    const bodyDir = join(nginx.prefixDir, "body");
    await rm(bodyDir, { recursive: true, force: true });
    await writeFile(bodyDir, "not a directory\n");
    // A BOSH body above client_body_buffer_size, so nginx spools it.
    status = await send(nginx, `${URL_PATHS.bosh}?room=weekly&token=${TOKEN}`, {}, `<body rid='1'>${"x".repeat(64 * 1024)}</body>`);
    const siteErrorLog = underRoot(d, NGINX_ERROR_LOG);
    for (let i = 0; i < 40; i++) {
      logs = [await readFile(nginx.errorLog, "utf8").catch(() => ""), await readFile(siteErrorLog, "utf8").catch(() => "")].join("\n");
      if (logs.includes("request failed")) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  it("answers 500 with a token-free failure line, and nginx's own crit line (with the token) is not written", () => {
    expect(status).toBe(500);
    expect(logs).toMatch(new RegExp(`request failed: status 500, client: 127\\.0\\.0\\.1, server: ${DOMAIN.replaceAll(".", "\\.")}, request: "POST ${URL_PATHS.bosh}\\?\\[redacted\\] HTTP/1\\.1"`));
    expect(logs).not.toContain(TOKEN);
    for (const part of TOKEN.split(".")) expect(logs).not.toContain(part);
  });
});
