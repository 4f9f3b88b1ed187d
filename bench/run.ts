/**
 * npm run bench: everything measured side by side in one run, medians of interleaved rounds.
 * 1. HS256 sign: this module's mintToken against jsonwebtoken.sign with a string secret (what the seed guide uses)
 *    and against the floor, a bare node:crypto HMAC over the same bytes (JSON + base64url + HMAC).
 * 2. HS256 verify: verifyToken against jsonwebtoken.verify and a bare HMAC check, split: verifyToken's decoding (the
 *    server's rules) and signature check; jsonwebtoken's attempt to parse the string secret as a public key
 *    (createPublicKey, which throws: its cost depends on the OpenSSL in Node); and for comparison the two costs of
 *    verifying with jose (decode header + payload; WebCrypto HMAC verify with a cached key), which verifyToken used
 *    before it moved to the server's own decoding rules and a synchronous node:crypto HMAC.
 * 3. The endpoint on node:http over loopback (autocannon, same connections and duration for each server, each in its
 *    own process, test/support/tokenServer.ts): a bare node:http server answering a fixed JSON body of the same size
 *    (the ceiling); the least any token endpoint does (read the body, JSON.parse, mint, answer: the floor of the
 *    work); the token endpoint through toNodeHandler (@hono/node-server) with its defaults and with
 *    overrideGlobalObjects: true; and createNodeTokenHandler (no Fetch objects). Also the server's CPU time per
 *    request (user + system, /proc), which neighbours on a shared machine disturb less than requests/s.
 * Benchmarks, not tests: they print figures and targets, they do not fail. Loopback only. ~2-3 min.
 * Env: BENCH_ROUNDS (default 5), BENCH_CASE_MS (default 1000), BENCH_HTTP_ROUNDS (3; 0 skips the HTTP part), BENCH_HTTP_SECONDS (5),
 * BENCH_CONNECTIONS (10), BENCH_SERVER_LOADER ("tsx" to run the servers under tsx instead of Node's own transform).
 */
import { spawn } from "node:child_process";
import { createHmac, createPublicKey, createSecretKey, timingSafeEqual, webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { decodeJwt, decodeProtectedHeader } from "jose";
import jwt from "jsonwebtoken";
import { mintToken, verifyToken } from "../token/index.ts";
import { decodeJws, verifyJwsSignature } from "../token/jws.ts";
import { hmacKey } from "../token/keys.ts";
import { BENCH_MINT, BENCH_SECRET, BENCH_SIGNING } from "./fixture.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CASE_MS = Number(process.env.BENCH_CASE_MS ?? 1000);
const HTTP_ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 3);
const HTTP_SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
/**
 * How the servers load TypeScript: Node's own transform by default, which adds nothing to the code, as the compiled
 * package (dist/) would run; BENCH_SERVER_LOADER=tsx for tsx, whose keepNames wraps every closure created per
 * request in an Object.defineProperty (about 4 µs of CPU per request of the token endpoint, measured).
 */
const SERVER_LOADER = process.env.BENCH_SERVER_LOADER === "tsx" ? ["--import", "tsx"] : ["--experimental-transform-types", "--no-warnings"];

type Op = () => unknown;

/** Sequential ops/s: one operation in flight at a time, as in a request handler. */
async function opsPerSecond(op: Op, ms: number): Promise<number> {
  let count = 0;
  const start = performance.now();
  const end = start + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) await op();
    count += 50;
  }
  return count / ((performance.now() - start) / 1000);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function measure(cases: Record<string, Op>): Promise<Record<string, number>> {
  for (const op of Object.values(cases)) await opsPerSecond(op, 300); // warm-up (JIT, key caches)
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  // Interleave rounds so drift (thermal, neighbours) hits every case alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, op] of Object.entries(cases)) samples[name]?.push(await opsPerSecond(op, CASE_MS));
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");
const µs = (opsPerSec: number) => 1e6 / opsPerSec;

const SIGN = { floor: "node:crypto HMAC (floor)", jwt: "jsonwebtoken.sign (string secret)", mint: "mintToken (validates options, await each)" };
const VERIFY = {
  floor: "node:crypto HMAC check (floor)",
  jwt: "jsonwebtoken.verify (string secret)",
  verify: "verifyToken (await each)",
  ownDecode: "  verifyToken: decode (the server's rules)",
  ownSignature: "  verifyToken: signature (node:crypto HMAC, cached key)",
  jwtKeyParse: "  jsonwebtoken: createPublicKey(string secret), throws",
  decode: "  jose path: decode header + payload",
  signature: "  jose path: signature (WebCrypto HMAC verify)",
};

async function signAndVerify(): Promise<{ sign: Record<string, number>; verify: Record<string, number> }> {
  const token = await mintToken(BENCH_MINT);
  const [h, p] = token.split(".") as [string, string];
  const claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Record<string, unknown>;
  // Same bytes from every implementation, or the comparison means nothing.
  if (jwt.sign(claims, BENCH_SECRET, { algorithm: "HS256" }) !== token) throw new Error("jsonwebtoken produced a different token; the comparison would be unfair");
  const key = createSecretKey(Buffer.from(BENCH_SECRET));
  const floorSign = () => {
    const input = `${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
    return `${input}.${createHmac("sha256", key).update(input).digest("base64url")}`;
  };
  if (floorSign() !== token) throw new Error("the floor produced a different token");
  const dot = token.lastIndexOf(".");
  const floorVerify = () => {
    const expected = createHmac("sha256", key).update(token.slice(0, dot)).digest();
    if (!timingSafeEqual(expected, Buffer.from(token.slice(dot + 1), "base64url"))) throw new Error("bad");
    const payload = JSON.parse(Buffer.from(token.slice(token.indexOf(".") + 1, dot), "base64url").toString("utf8")) as { exp: number };
    if (payload.exp * 1000 <= Date.now()) throw new Error("expired");
  };
  // The WebCrypto key jose verifies with, imported once (as verifyToken's key cache does on main).
  const cryptoKey = await webcrypto.subtle.importKey("raw", Buffer.from(BENCH_SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const signingInput = Buffer.from(token.slice(0, dot));
  const signature = Buffer.from(token.slice(dot + 1), "base64url");
  const expectations = { appId: BENCH_SIGNING.appId, sub: BENCH_SIGNING.domain, room: BENCH_MINT.room };
  const sign = await measure({
    [SIGN.floor]: floorSign,
    [SIGN.jwt]: () => jwt.sign(claims, BENCH_SECRET, { algorithm: "HS256" }),
    [SIGN.mint]: () => mintToken(BENCH_MINT),
  });
  const verify = await measure({
    [VERIFY.floor]: floorVerify,
    [VERIFY.jwt]: () => jwt.verify(token, BENCH_SECRET, { algorithms: ["HS256"], issuer: BENCH_SIGNING.appId }),
    [VERIFY.verify]: () => verifyToken(token, BENCH_SECRET, expectations),
    [VERIFY.ownDecode]: () => decodeJws(token),
    [VERIFY.ownSignature]: () => verifyJwsSignature("HS256", token.slice(0, dot), signature, { secret: hmacKey(BENCH_SECRET) }),
    [VERIFY.jwtKeyParse]: () => {
      try {
        createPublicKey(BENCH_SECRET);
      } catch {
        // what jsonwebtoken.verify does first with a string secret (verify.js), before createSecretKey
      }
    },
    [VERIFY.decode]: () => [decodeProtectedHeader(token), decodeJwt(token)],
    [VERIFY.signature]: () => webcrypto.subtle.verify("HMAC", cryptoKey, signature, signingInput),
  });
  return { sign, verify };
}

type ServerMode = "bare" | "mint-only" | "required" | "token" | "token-fast" | "token-node";
const SERVER_NAMES: Record<ServerMode, string> = {
  bare: "bare node:http, fixed JSON body (ceiling)",
  "mint-only": "node:http + JSON.parse + mint + JSON answer (floor of the work)",
  required: "floor + body time bound + meeting link (what the endpoint's guarantees require)",
  token: "token endpoint, toNodeHandler (@hono/node-server), defaults",
  "token-fast": "token endpoint, toNodeHandler, overrideGlobalObjects: true",
  "token-node": "token endpoint, createNodeTokenHandler (no Fetch objects)",
};
const ENDPOINTS = ["token", "token-fast", "token-node"] as const;

/** CPU time (user + system) a process has used so far, in µs (Linux /proc; undefined elsewhere). */
function cpuMicros(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // clock ticks, USER_HZ = 100
  } catch {
    return undefined;
  }
}

async function startServer(mode: ServerMode): Promise<{ port: number; pid: number | undefined; stop: () => void }> {
  const script = fileURLToPath(new URL("../test/support/tokenServer.ts", import.meta.url));
  const child = spawn(process.execPath, [...SERVER_LOADER, script], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, TOKEN_SERVER_MODE: mode } });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`benchmark server exited with ${code}`)));
    child.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  return { port, pid: child.pid, stop: () => child.kill("SIGTERM") };
}

interface Load {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** Server CPU time per request, µs (NaN when /proc is not there). */
  cpuPerRequest: number;
}

async function loadOnce(mode: ServerMode): Promise<Load> {
  const server = await startServer(mode);
  try {
    const options = {
      url: `http://127.0.0.1:${server.port}/api/jitsi/token`,
      method: "POST" as const,
      headers: { "content-type": "application/json", authorization: "Bearer bench-session" },
      body: JSON.stringify({ room: "Weekly Sync" }),
      connections: CONNECTIONS,
    };
    await autocannon({ ...options, duration: 2 }); // warm-up
    const cpuBefore = cpuMicros(server.pid);
    const result = await autocannon({ ...options, duration: HTTP_SECONDS });
    const cpuAfter = cpuMicros(server.pid);
    const cpuPerRequest = cpuBefore === undefined || cpuAfter === undefined ? Number.NaN : (cpuAfter - cpuBefore) / Math.max(result.requests.total, 1);
    return { requestsPerSecond: result.requests.average, p99: result.latency.p99, p50: result.latency.p50, errors: result.errors, non2xx: result.non2xx, cpuPerRequest };
  } finally {
    server.stop();
  }
}

async function httpLoad(): Promise<Record<ServerMode, Load>> {
  const modes = Object.keys(SERVER_NAMES) as ServerMode[];
  const samples = Object.fromEntries(modes.map((m) => [m, [] as Load[]])) as Record<ServerMode, Load[]>;
  for (let round = 0; round < HTTP_ROUNDS; round++) for (const mode of modes) samples[mode].push(await loadOnce(mode));
  const pick = (runs: Load[]): Load => ({
    requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    errors: runs.reduce((s, r) => s + r.errors, 0),
    non2xx: runs.reduce((s, r) => s + r.non2xx, 0),
    cpuPerRequest: median(runs.map((r) => r.cpuPerRequest)),
  });
  return Object.fromEntries(modes.map((m) => [m, pick(samples[m])])) as Record<ServerMode, Load>;
}

const verdict = (ok: boolean) => (ok ? "PASS" : "MISS");
const started = Date.now();
console.log(`Node ${process.version} (OpenSSL ${process.versions.openssl}), ${cpus()[0]?.model ?? "cpu"} ×${cpus().length}; load average at start ${load()}`);
console.log(`${ROUNDS} rounds × ${CASE_MS} ms per case; HTTP ${HTTP_ROUNDS} rounds × ${HTTP_SECONDS} s, ${CONNECTIONS} connections, servers run with ${SERVER_LOADER.join(" ")}; medians\n`);
const { sign, verify } = await signAndVerify();
for (const [title, table] of [["HS256 sign (ops/s)", sign], ["HS256 verify (ops/s)", verify]] as const) {
  console.log(`| ${title} | median | µs/op |\n|---|---:|---:|`);
  for (const [name, value] of Object.entries(table)) console.log(`| ${name} | ${fmt(value)} | ${µs(value).toFixed(1)} |`);
  console.log("");
}
const r = (table: Record<string, number>, a: string, b: string) => (table[a] ?? 0) / (table[b] ?? 1);
const mintVsJwt = r(sign, SIGN.mint, SIGN.jwt);
const mintVsFloor = r(sign, SIGN.mint, SIGN.floor);
const verifyVsJwt = r(verify, VERIFY.verify, VERIFY.jwt);
const [vDecode, vSig] = [µs(verify[VERIFY.decode] ?? 1), µs(verify[VERIFY.signature] ?? 1)];
const [ownDecode, ownSig, jwtParse] = [µs(verify[VERIFY.ownDecode] ?? 1), µs(verify[VERIFY.ownSignature] ?? 1), µs(verify[VERIFY.jwtKeyParse] ?? 1)];
const [ownTotal, jwtTotal] = [µs(verify[VERIFY.verify] ?? 1), µs(verify[VERIFY.jwt] ?? 1)];
console.log(`mintToken ÷ jsonwebtoken.sign: ${mintVsJwt.toFixed(1)}× (target ≥ 15×) ${verdict(mintVsJwt >= 15)}`);
console.log(`mintToken ÷ floor: ${mintVsFloor.toFixed(2)}× (target ≥ 0.50×) ${verdict(mintVsFloor >= 0.5)}`);
console.log(`verifyToken ÷ jsonwebtoken.verify: ${verifyVsJwt.toFixed(1)}× (target ≥ 10×) ${verdict(verifyVsJwt >= 10)}`);
console.log(`verifyToken ${ownTotal.toFixed(1)} µs = decode ${ownDecode.toFixed(1)} + signature ${ownSig.toFixed(1)} + claim checks and the rest ${(ownTotal - ownDecode - ownSig).toFixed(1)}`);
console.log(`jsonwebtoken.verify ${jwtTotal.toFixed(1)} µs, of which ${jwtParse.toFixed(1)} µs is its failing createPublicKey on the string secret (OpenSSL ${process.versions.openssl})`);
console.log(`jose's path for comparison: decode ${vDecode.toFixed(1)} µs + WebCrypto signature ${vSig.toFixed(1)} µs, before any claim check`);
console.log(`load average after sign/verify: ${load()}\n`);

if (HTTP_ROUNDS === 0) process.exit(0); // BENCH_HTTP_ROUNDS=0: sign and verify only
const http = await httpLoad();
console.log(`| node:http, loopback, ${CONNECTIONS} connections, ${HTTP_SECONDS} s × ${HTTP_ROUNDS} | req/s | % of bare | p50 | p99 | server CPU/request | errors / non-2xx |\n|---|---:|---:|---:|---:|---:|---:|`);
for (const [mode, l] of Object.entries(http) as [ServerMode, Load][]) {
  const share = (100 * l.requestsPerSecond) / http.bare.requestsPerSecond;
  console.log(`| ${SERVER_NAMES[mode]} | ${fmt(l.requestsPerSecond)} | ${share.toFixed(0)}% | ${l.p50} ms | ${l.p99} ms | ${Number.isNaN(l.cpuPerRequest) ? "-" : `${l.cpuPerRequest.toFixed(1)} µs`} | ${l.errors} / ${l.non2xx} |`);
}
console.log("");
for (const mode of ENDPOINTS) {
  const share = http[mode].requestsPerSecond / http.bare.requestsPerSecond;
  const p99Ratio = http[mode].p99 / Math.max(http.bare.p99, 1);
  console.log(`${mode} ÷ bare node:http: ${(share * 100).toFixed(0)}% of req/s (target ≥ 60%) ${verdict(share >= 0.6)}; p99 ${p99Ratio.toFixed(1)}× (target ≤ 2×, bare p99 floored at 1 ms) ${verdict(p99Ratio <= 2)}`);
}
const floorShare = http["mint-only"].requestsPerSecond / http.bare.requestsPerSecond;
console.log(`floor of the work (body + JSON.parse + mint + answer, nothing else) ÷ bare: ${(floorShare * 100).toFixed(0)}%`);
const requiredShare = http.required.requestsPerSecond / http.bare.requestsPerSecond;
console.log(`floor + body time bound + link ÷ bare: ${(requiredShare * 100).toFixed(0)}%; createNodeTokenHandler ÷ that: ${((http["token-node"].requestsPerSecond / http.required.requestsPerSecond) * 100).toFixed(0)}%`);
console.log(`createNodeTokenHandler ÷ toNodeHandler defaults: ${(http["token-node"].requestsPerSecond / http.token.requestsPerSecond).toFixed(2)}×; overrideGlobalObjects ÷ defaults: ${(http["token-fast"].requestsPerSecond / http.token.requestsPerSecond).toFixed(2)}×`);
const bad = Object.values(http).reduce((sum, l) => sum + l.errors + l.non2xx, 0);
console.log(`errors or non-2xx answers: ${bad === 0 ? "none" : bad}`);
console.log(`\nload average at the end ${load()}; total ${Math.round((Date.now() - started) / 1000)} s`);
