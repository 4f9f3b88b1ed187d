/**
 * The canonical links reach the web app on the deployed web server: the rendered nginx site (real nginx) answers
 * each awkward name's link path with the app page, and a link whose room holds "/" once decoded — which
 * canonicalRoom refuses — with 404, because nginx decodes %2F before it picks the single-segment room location.
 */
import { request } from "node:https";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runtimeHostPaths } from "../../templates/files/hostRuntime.ts";
import { renderNginxSite } from "../../templates/files/nginx.ts";
import { canonicalRoom, RoomNameError } from "../../token/index.ts";
import { SITE_PATH_SEGMENTS } from "../../token/roomName.ts";
import { nginxTestRuntime, startNginx, type RunningNginx } from "../support/nginx.ts";
import { sampleDeployment } from "../templates/sampleDeployment.ts";

const NAMES = ["Bob's Room", "Weekly%20Sync", "%252A", "Hi%21 (draft)", "100% sure", "Ｔｅａｍ", "İstanbul", "🎉 party", ".hidden", "...", "v1.2~rc", "a%5Cb", "%3F%23"];
const APP_PAGE = "<html>jitsi app</html>\n";

let nginx: RunningNginx;
let rootDir = "";
let site = "";

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const host = "meet.example.com";
    const req = request({ host: "127.0.0.1", port: nginx.httpsPort, path, headers: { Host: host }, servername: host, ca: nginx.certificatePem, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  const runtime = await nginxTestRuntime();
  rootDir = runtime.rootDir;
  const d = sampleDeployment({ runtime });
  const index = `${runtimeHostPaths(d).jitsiMeetWebRoot}/index.html`;
  await mkdir(dirname(index), { recursive: true });
  await writeFile(index, APP_PAGE);
  site = renderNginxSite(d).content;
  nginx = await startNginx(d);
});

afterAll(async () => {
  await nginx?.stop();
  if (rootDir) await rm(rootDir, { recursive: true, force: true });
});

describe("canonical links on the rendered nginx site", () => {
  it.each(NAMES)("%j: the link path serves the app", async (name) => {
    const reply = await get(`/${canonicalRoom(name).linkSegment}`);
    expect(reply).toEqual({ status: 200, body: APP_PAGE });
  });

  it("names whose link is one of the site's own single-segment locations are refused; those paths are not the app", async () => {
    const exact = [...site.matchAll(/location = \/([^/\s]+) \{/g)].map((m) => m[1] as string);
    expect(exact.length).toBeGreaterThanOrEqual(4);
    for (const segment of exact) {
      expect(SITE_PATH_SEGMENTS.has(segment), segment).toBe(true);
      expect(() => canonicalRoom(segment)).toThrow(/web server answers with a file/);
      expect((await get(`/${segment}`)).body).not.toBe(APP_PAGE);
    }
    // A different case is another path to nginx and the file system, and the same room to the client.
    expect(canonicalRoom("Config.js")).toMatchObject({ linkSegment: "Config.js", node: "config.js" });
    expect(await get("/Config.js")).toEqual({ status: 200, body: APP_PAGE });
  });

  it("a room with \"/\" once decoded is refused (the rendered site reads the tenant before decoding, so it would serve it, but a decoding proxy in front would not)", async () => {
    expect(() => canonicalRoom("a%2Fb")).toThrow(RoomNameError);
    expect((await get("/a%2Fb")).status).toBe(200);
  });
});
