/**
 * The token module as an application installs it: built by tsconfig.build.json into a fresh directory, placed at
 * node_modules/jitsi-jwt-pulumi of a throwaway consumer with only the package's runtime dependencies beside it (no
 * tsx, no loader), then imported with plain `node` (ESM and require) and type-checked by tsc through `exports`.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyToken } from "../../token/index.ts";
import { APP_ID, DOMAIN, SECRET } from "./fixtures.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const PACKAGE_NAME = "jitsi-jwt-pulumi";
/** What dist/ imports at runtime (the import-graph test pins the same list for the sources). */
// @msimerson/stun: the smoke test's TURN step.
const RUNTIME_DEPENDENCIES = ["jose", "zod", "ws", "@xmpp", "@hono", "hono", "@msimerson/stun"];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program with the JITSI_* signing settings in its environment (never on its command line) and no NODE_OPTIONS. */
function run(file: string, args: string[], cwd: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("JITSI_") && k !== "NODE_OPTIONS"));
  Object.assign(env, { JITSI_APP_ID: APP_ID, JITSI_APP_SECRET: SECRET, JITSI_DOMAIN: DOMAIN });
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") reject(error);
      else resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
    });
  });
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

let consumer: string;
let installed: string;
let buildMs: number;

beforeAll(async () => {
  consumer = await mkdtemp(join(tmpdir(), "token-consumer-"));
  installed = join(consumer, "node_modules", PACKAGE_NAME);
  const started = performance.now();
  const build = await run(process.execPath, [TSC, "-p", "tsconfig.build.json", "--outDir", join(installed, "dist")], ROOT);
  buildMs = performance.now() - started;
  if (build.code !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
  await copyFile(join(ROOT, "package.json"), join(installed, "package.json"));
  await mkdir(join(installed, "token/bin"), { recursive: true });
  await copyFile(join(ROOT, "token/bin/jitsi-token.js"), join(installed, "token/bin/jitsi-token.js"));
  for (const dep of [...RUNTIME_DEPENDENCIES, "@types/node"]) {
    await mkdir(dirname(join(consumer, "node_modules", dep)), { recursive: true });
    await symlink(join(ROOT, "node_modules", dep), join(consumer, "node_modules", dep), "dir");
  }
  await writeFile(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
}, 60_000);

afterAll(async () => {
  if (consumer) await rm(consumer, { recursive: true, force: true });
});

describe("the built token module", () => {
  it("holds JavaScript and declarations for every token/ source, JavaScript with .js import specifiers, nothing from infra/", async () => {
    console.log(`tsc -p tsconfig.build.json: ${Math.round(buildMs)} ms`);
    const built = await filesUnder(join(installed, "dist"));
    const sources = (await filesUnder(join(ROOT, "token"))).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
    expect(sources.length).toBeGreaterThan(20);
    for (const source of sources) {
      const base = `token/${source.slice(0, -".ts".length)}`;
      expect(built).toContain(`${base}.js`);
      expect(built).toContain(`${base}.d.ts`);
    }
    // token/smoke/discover.ts reads URL_PATHS from templates/names.ts, a file of constants; nothing else may leave token/.
    const outside = built.filter((f) => !f.startsWith("token/") && f.endsWith(".js"));
    expect(outside.filter((f) => f !== "templates/names.js")).toEqual([]);
    // Only the JavaScript needs rewritten specifiers: tsc keeps `./x.ts` in declarations and resolves it to x.d.ts.
    const javascript = built.filter((f) => f.endsWith(".js"));
    expect(javascript.length).toBeGreaterThan(20);
    for (const file of javascript) {
      const text = await readFile(join(installed, "dist", file), "utf8");
      expect({ file, tsSpecifiers: text.match(/(?:from |import\()\s*["'][^"']+\.ts["']/g) ?? [] }).toEqual({ file, tsSpecifiers: [] });
      expect({ file, pulumi: /["']@pulumi\//.test(text) }).toEqual({ file, pulumi: false });
    }
  });

  it("plain node imports <package>/token and /token/smoke as ESM, mints and verifies", async () => {
    await writeFile(
      join(consumer, "esm.mjs"),
      `import { mintToken, verifyToken } from "${PACKAGE_NAME}/token";
import { runSmokeTest, formatText } from "${PACKAGE_NAME}/token/smoke";
const { JITSI_APP_ID: appId, JITSI_APP_SECRET: secret, JITSI_DOMAIN: domain } = process.env;
const token = await mintToken({ appId, secret, domain, room: "Team Room", user: { id: "u1", name: "Ada" }, moderator: true });
const { claims } = await verifyToken(token, secret, { appId, sub: domain, room: "team room" });
console.log(JSON.stringify({ resolved: import.meta.resolve("${PACKAGE_NAME}/token"), token, room: claims.room,
  affiliation: claims.context.user.affiliation, smoke: [typeof runSmokeTest, typeof formatText] }));
`,
    );
    const res = await run(process.execPath, ["esm.mjs"], consumer);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as { resolved: string; token: string; room: string; affiliation: string; smoke: string[] };
    expect(out.resolved).toBe(`file://${installed}/dist/token/index.js`);
    expect(out).toMatchObject({ room: "team%20room", affiliation: "owner", smoke: ["function", "function"] });
    // The project's own (source) verifier accepts what the built module minted.
    await expect(verifyToken(out.token, SECRET, { appId: APP_ID, sub: DOMAIN, room: "Team Room" })).resolves.toMatchObject({ claims: { iss: APP_ID } });
  });

  it("plain node require()s <package>/token (require(esm), Node >= 20.19), mints and verifies", async () => {
    await writeFile(
      join(consumer, "cjs.cjs"),
      `const { mintToken, verifyToken, FieldError } = require("${PACKAGE_NAME}/token");
const { runSmokeTest } = require("${PACKAGE_NAME}/token/smoke");
const { JITSI_APP_ID: appId, JITSI_APP_SECRET: secret, JITSI_DOMAIN: domain } = process.env;
(async () => {
  const token = await mintToken({ appId, secret, domain, allRooms: true, user: { id: "u2", name: "Bob" } });
  const { claims } = await verifyToken(token, secret, { appId, sub: domain });
  console.log(JSON.stringify({ resolved: require.resolve("${PACKAGE_NAME}/token"), room: claims.room,
    affiliation: claims.context.user.affiliation, types: [typeof runSmokeTest, typeof FieldError] }));
})().catch((e) => { console.error(e.message); process.exitCode = 1; });
`,
    );
    const res = await run(process.execPath, ["cjs.cjs"], consumer);
    expect(res.code, res.stderr).toBe(0);
    // Node 20 may print an ExperimentalWarning for require(esm); anything else on stderr is a failure.
    expect(res.stderr.split("\n").filter((l) => l.trim() !== "" && !/ExperimentalWarning|--trace-warnings/.test(l))).toEqual([]);
    expect(JSON.parse(res.stdout)).toEqual({ resolved: join(installed, "dist/token/index.js"), room: "*", affiliation: "member", types: ["function", "function"] });
  });

  it("the installed jitsi-token bin runs the compiled CLI with plain node (tsx is not installed beside it)", async () => {
    const res = await run(process.execPath, [join(installed, "token/bin/jitsi-token.js"), "mint", "--room", "Bin Room", "--user-id", "u3", "--user-name", "Cy"], consumer);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const { claims } = await verifyToken(res.stdout.trim(), SECRET, { appId: APP_ID, sub: DOMAIN, room: "bin room" });
    expect(claims.context.user).toMatchObject({ id: "u3", name: "Cy" });
  });

  it("tsc type-checks a consumer through the package's exports (Node and bundler settings), declarations are real types", async () => {
    await writeFile(
      join(consumer, "consumer.ts"),
      `import { mintToken, verifyToken, type MintTokenOptions, type VerifiedToken } from "${PACKAGE_NAME}/token";
import { runSmokeTest, type SmokeOptions, type SmokeReport } from "${PACKAGE_NAME}/token/smoke";
const options: MintTokenOptions = { appId: "app", secret: "s", domain: "meet.example.com", room: "r", user: { id: "u", name: "n" } };
export const minted: Promise<string> = mintToken(options);
export const verified: Promise<VerifiedToken> = verifyToken("t", "s", { appId: "app" });
export const smoke: (o: SmokeOptions) => Promise<SmokeReport> = runSmokeTest;
// @ts-expect-error room is a string: fails to compile if the declarations degrade to any
export const wrong = mintToken({ ...options, room: 42 });
`,
    );
    const base = { target: "ES2022", strict: true, noEmit: true, types: ["node"] };
    const configs = {
      // Checks the shipped declarations themselves, without the DOM lib: a server project has none.
      "tsconfig.strict.json": { ...base, module: "NodeNext", lib: ["ES2023"], skipLibCheck: false },
      // An Express-style server app.
      "tsconfig.server.json": { ...base, module: "NodeNext", lib: ["ES2023"], skipLibCheck: true },
      // Next.js's defaults.
      "tsconfig.bundler.json": { ...base, module: "ESNext", moduleResolution: "Bundler", lib: ["DOM", "DOM.Iterable", "ESNext"], skipLibCheck: true },
    };
    const results = await Promise.all(
      Object.entries(configs).map(async ([name, compilerOptions]) => {
        await writeFile(join(consumer, name), JSON.stringify({ compilerOptions, files: ["consumer.ts"] }));
        const res = await run(process.execPath, [TSC, "-p", name], consumer);
        return { name, code: res.code, output: res.stdout + res.stderr };
      }),
    );
    expect(results).toEqual(Object.keys(configs).map((name) => ({ name, code: 0, output: "" })));
  });
});
