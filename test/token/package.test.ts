/**
 * The token package as an application installs it: token/ built (tsc -p token/tsconfig.build.json) into a staging
 * copy of the package, packed with `npm pack`, and installed with `npm install <tarball>` into an empty
 * application — from npm's cache only (`--offline`: no network in tests). Then: what the install brought (no
 * `@pulumi/*`, no XMPP stack: the smoke test's dependencies are optional peers), plain `node` importing it as ESM
 * and via require(esm), the installed `jitsi-token` bin, the smoke sub-export once its optional peers are added,
 * and tsc type-checking a consumer through `exports`.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyToken } from "../../token/index.ts";
import { APP_ID, DOMAIN, SECRET } from "./fixtures.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TOKEN_DIR = join(ROOT, "token");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const PACKAGE_NAME = "jitsi-jwt-token";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program with the JITSI_* signing settings in its environment (never on its command line) and no NODE_OPTIONS. */
function run(file: string, args: string[], cwd: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("JITSI_") && !k.startsWith("npm_") && k !== "NODE_OPTIONS"));
  Object.assign(env, { JITSI_APP_ID: APP_ID, JITSI_APP_SECRET: SECRET, JITSI_DOMAIN: DOMAIN });
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") reject(error);
      else resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
    });
  });
}

/** The npm that runs the tests (`npm test` sets npm_execpath), else the one on PATH; offline against the local cache. */
const NPM_CLI = process.env.npm_execpath;
const npm = (args: string[], cwd: string) => {
  const flags = [...args, "--no-audit", "--no-fund", "--loglevel=error"];
  return NPM_CLI?.endsWith(".js") ? run(process.execPath, [NPM_CLI, ...flags], cwd) : run("npm", flags, cwd);
};

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

/** Installed packages: every directory holding a package.json below node_modules (nested copies included). */
async function installedPackages(nodeModules: string): Promise<string[]> {
  const files = await filesUnder(nodeModules);
  return files
    .filter((f) => f.endsWith("/package.json"))
    .map((f) => f.slice(0, -"/package.json".length))
    .filter((dir) => /(^|\/node_modules\/)(@[^/]+\/)?[^/@]+$/.test(dir) && !dir.startsWith(".") )
    .map((dir) => dir.replace(/^.*node_modules\//, ""))
    .sort();
}

async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  for (const file of await filesUnder(dir)) total += (await stat(join(dir, file))).size;
  return total;
}

/** The optional peers (and Node's types), as the application would add them; linked from this checkout: no network in tests. */
async function linkPeers(): Promise<void> {
  for (const dep of ["@xmpp", "ws", "acorn", "@msimerson", "@types/node"]) {
    const target = join(consumer, "node_modules", dep);
    if (await stat(target).then(() => true, () => false)) continue;
    await mkdir(dirname(target), { recursive: true });
    await symlink(join(ROOT, "node_modules", dep), target, "dir");
  }
}

let work: string;
let consumer: string;
let installed: string;
let tarball: string;
let packages: string[];
let installBytes: number;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "token-package-"));
  const staging = join(work, "staging");
  await mkdir(staging);
  // Built out of tree (the checkout's token/dist is never written by a test), then packed as `npm pack` would.
  const build = await run(process.execPath, [TSC, "-p", join(TOKEN_DIR, "tsconfig.build.json"), "--outDir", join(staging, "dist")], ROOT);
  if (build.code !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
  await cp(join(TOKEN_DIR, "package.json"), join(staging, "package.json"));
  await cp(join(TOKEN_DIR, "bin"), join(staging, "bin"), { recursive: true });
  const pack = await npm(["pack", "--ignore-scripts", "--json", "--pack-destination", work], staging);
  if (pack.code !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
  tarball = join(work, (JSON.parse(pack.stdout) as { filename: string }[])[0]?.filename ?? "");

  consumer = join(work, "app");
  await mkdir(consumer);
  await writeFile(join(consumer, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module" }));
  const install = await npm(["install", "--offline", tarball], consumer);
  if (install.code !== 0) throw new Error(`npm install --offline failed (is npm's cache filled by npm ci?):\n${install.stderr}`);
  installed = join(consumer, "node_modules", PACKAGE_NAME);
  packages = await installedPackages(join(consumer, "node_modules"));
  installBytes = await bytesUnder(join(consumer, "node_modules"));
}, 180_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("the packed token package", () => {
  it("installs into an empty application with the Node adapter only: no @pulumi/*, no XMPP stack, no install script", async () => {
    const size = (await stat(tarball)).size;
    console.log(`npm install ${PACKAGE_NAME}: ${packages.length} packages (${packages.join(", ")}), ${(installBytes / 1024 / 1024).toFixed(2)} MB in node_modules; tarball ${(size / 1024).toFixed(0)} kB`);
    expect(packages).toEqual([PACKAGE_NAME, "@hono/node-server", "hono"].sort());
    expect(packages.filter((p) => p.startsWith("@pulumi/") || p.startsWith("@xmpp/") || p === "ws" || p === "acorn")).toEqual([]);
    const manifest = JSON.parse(await readFile(join(installed, "package.json"), "utf8")) as { scripts?: Record<string, string> };
    expect(Object.keys(manifest.scripts ?? {}).filter((s) => /^(pre|post)?install$/.test(s))).toEqual([]);
    expect(installBytes).toBeLessThan(3 * 1024 * 1024); // measured 1.68 MB (it was 7.55 MB with zod)
  });

  it("ships JavaScript and declarations for every token/ source (shared module included), .js specifiers, no sources", async () => {
    const shipped = await filesUnder(installed);
    const sources = (await filesUnder(TOKEN_DIR)).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.startsWith("dist/") && !f.startsWith("node_modules/"));
    expect(sources.length).toBeGreaterThan(20);
    for (const source of sources) {
      const base = `dist/${source.slice(0, -".ts".length)}`;
      expect(shipped).toContain(`${base}.js`);
      expect(shipped).toContain(`${base}.d.ts`);
    }
    expect(shipped.filter((f) => !f.startsWith("dist/") && !f.startsWith("bin/"))).toEqual(["package.json"]);
    // bin/ holds the launcher, whose checkout branch imports ../cli.ts through tsx; dist/ must be plain JavaScript.
    const javascript = shipped.filter((f) => f.startsWith("dist/") && f.endsWith(".js"));
    for (const file of javascript) {
      const text = await readFile(join(installed, file), "utf8");
      expect({ file, tsSpecifiers: text.match(/(?:from |import\()\s*["'][^"']+\.ts["']/g) ?? [] }).toEqual({ file, tsSpecifiers: [] });
      expect({ file, pulumi: /["']@pulumi\//.test(text) }).toEqual({ file, pulumi: false });
    }
  });

  it("plain node imports the package and /shared as ESM, mints and verifies", async () => {
    await writeFile(
      join(consumer, "esm.mjs"),
      `import { mintToken, verifyToken } from "${PACKAGE_NAME}";
import { STACK_OUTPUTS, xmppNames } from "${PACKAGE_NAME}/shared";
const { JITSI_APP_ID: appId, JITSI_APP_SECRET: secret, JITSI_DOMAIN: domain } = process.env;
const token = await mintToken({ appId, secret, domain, room: "Team Room", user: { id: "u1", name: "Ada" }, moderator: true });
const { claims } = await verifyToken(token, secret, { appId, sub: domain, room: "team room" });
console.log(JSON.stringify({ resolved: import.meta.resolve("${PACKAGE_NAME}"), token, room: claims.room,
  affiliation: claims.context.user.affiliation, guest: xmppNames(domain).guest, output: STACK_OUTPUTS.appSecret }));
`,
    );
    const res = await run(process.execPath, ["esm.mjs"], consumer);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as { resolved: string; token: string; room: string; affiliation: string };
    expect(out.resolved).toBe(`file://${installed}/dist/index.js`);
    expect(out).toMatchObject({ room: "team%20room", affiliation: "owner", guest: `guest.${DOMAIN}`, output: "appSecret" });
    // The project's own (source) verifier accepts what the built package minted.
    await expect(verifyToken(out.token, SECRET, { appId: APP_ID, sub: DOMAIN, room: "Team Room" })).resolves.toMatchObject({ claims: { iss: APP_ID } });
  });

  it("plain node require()s the package (require(esm), Node >= 22.12), mints and verifies", async () => {
    await writeFile(
      join(consumer, "cjs.cjs"),
      `const { mintToken, verifyToken, FieldError } = require("${PACKAGE_NAME}");
const { JITSI_APP_ID: appId, JITSI_APP_SECRET: secret, JITSI_DOMAIN: domain } = process.env;
(async () => {
  const token = await mintToken({ appId, secret, domain, allRooms: true, user: { id: "u2", name: "Bob" } });
  const { claims } = await verifyToken(token, secret, { appId, sub: domain });
  console.log(JSON.stringify({ resolved: require.resolve("${PACKAGE_NAME}"), room: claims.room,
    affiliation: claims.context.user.affiliation, types: [typeof FieldError] }));
})().catch((e) => { console.error(e.message); process.exitCode = 1; });
`,
    );
    const res = await run(process.execPath, ["cjs.cjs"], consumer);
    expect(res.code, res.stderr).toBe(0);
    // Node 22 may print an ExperimentalWarning for require(esm); anything else on stderr is a failure.
    expect(res.stderr.split("\n").filter((l) => l.trim() !== "" && !/ExperimentalWarning|--trace-warnings/.test(l))).toEqual([]);
    expect(JSON.parse(res.stdout)).toEqual({ resolved: join(installed, "dist/index.js"), room: "*", affiliation: "member", types: ["function"] });
  });

  it("the installed jitsi-token bin runs the compiled CLI with plain node (no tsx installed)", async () => {
    const res = await run(join(consumer, "node_modules/.bin/jitsi-token"), ["mint", "--room", "Bin Room", "--user-id", "u3", "--user-name", "Cy"], consumer);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const { claims } = await verifyToken(res.stdout.trim(), SECRET, { appId: APP_ID, sub: DOMAIN, room: "bin room" });
    expect(claims.context.user).toMatchObject({ id: "u3", name: "Cy" });
  });

  it("without its optional peers the smoke test says what to install (exit 2); with them, /smoke loads", async () => {
    const missing = await run(join(consumer, "node_modules/.bin/jitsi-token"), ["smoke", "--url", "https://meet.example.test"], consumer);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("npm install @xmpp/client ws acorn @msimerson/stun");
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    await linkPeers();
    await writeFile(join(consumer, "smoke.mjs"), `import { runSmokeTest, formatText } from "${PACKAGE_NAME}/smoke";\nconsole.log(typeof runSmokeTest, typeof formatText);\n`);
    const res = await run(process.execPath, ["smoke.mjs"], consumer);
    expect(res.stderr).toBe("");
    expect(res.stdout.trim()).toBe("function function");
  });

  it("tsc type-checks a consumer through the package's exports (Node and bundler settings), declarations are real types", async () => {
    await writeFile(
      join(consumer, "consumer.ts"),
      `import { mintToken, verifyToken, type MintTokenOptions, type VerifiedToken } from "${PACKAGE_NAME}";
import { runSmokeTest, type SmokeOptions, type SmokeReport } from "${PACKAGE_NAME}/smoke";
import { PORTS } from "${PACKAGE_NAME}/shared";
const options: MintTokenOptions = { appId: "app", secret: "s", domain: "meet.example.com", room: "r", user: { id: "u", name: "n" } };
export const minted: Promise<string> = mintToken(options);
export const verified: Promise<VerifiedToken> = verifyToken("t", "s", { appId: "app" });
export const smoke: (o: SmokeOptions) => Promise<SmokeReport> = runSmokeTest;
export const https: 443 = PORTS.publicHttps;
// @ts-expect-error room is a string: fails to compile if the declarations degrade to any
export const wrong = mintToken({ ...options, room: 42 });
`,
    );
    await linkPeers();
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
