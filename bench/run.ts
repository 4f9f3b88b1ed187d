/**
 * npm run bench: everything measured side by side in one run, medians of interleaved rounds.
 * 1. HS256 sign: this module's mintToken against jsonwebtoken.sign with a string secret (what the seed guide uses)
 *    and against the floor, a bare node:crypto HMAC over the same bytes (JSON + base64url + HMAC).
 * 2. HS256 verify: verifyToken against jsonwebtoken.verify and a bare HMAC check, and for comparison the two
 *    costs of verifying with jose (decode header + payload; WebCrypto HMAC verify with a cached key), which
 *    verifyToken used before it moved to the server's own decoding rules and a synchronous node:crypto HMAC.
 * 3. The endpoint on node:http over loopback (autocannon, same connections and duration for each server, each in its
 *    own process): a bare node:http server answering a fixed JSON body of the same size (the ceiling), the token
 *    endpoint through toNodeHandler (@hono/node-server) with its defaults, and with the opt-in fast path
 *    (overrideGlobalObjects: true).
 * Benchmarks, not tests: they print figures and targets, they do not fail. Loopback only. ~2-3 min.
 * Env: BENCH_ROUNDS (default 5), BENCH_CASE_MS (default 1000), BENCH_HTTP_ROUNDS (3; 0 skips the HTTP part), BENCH_HTTP_SECONDS (5),
 * BENCH_CONNECTIONS (10).
 */
import { spawn } from "node:child_process";
import { createHmac, createSecretKey, timingSafeEqual, webcrypto } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { decodeJwt, decodeProtectedHeader } from "jose";
import jwt from "jsonwebtoken";
import { mintToken, verifyToken } from "../token/index.ts";
import { BENCH_MINT, BENCH_SECRET, BENCH_SIGNING } from "./fixture.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CASE_MS = Number(process.env.BENCH_CASE_MS ?? 1000);
const HTTP_ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 3);
const HTTP_SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);

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
    [VERIFY.decode]: () => [decodeProtectedHeader(token), decodeJwt(token)],
    [VERIFY.signature]: () => webcrypto.subtle.verify("HMAC", cryptoKey, signature, signingInput),
  });
  return { sign, verify };
}

type ServerMode = "bare" | "token" | "token-fast";
const SERVER_NAMES: Record<ServerMode, string> = {
  bare: "bare node:http, fixed JSON body (ceiling)",
  token: "token endpoint, toNodeHandler (@hono/node-server), defaults",
  "token-fast": "token endpoint, toNodeHandler, overrideGlobalObjects: true",
};

async function startServer(mode: ServerMode): Promise<{ port: number; stop: () => void }> {
  const script = fileURLToPath(new URL("../test/support/tokenServer.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, TOKEN_SERVER_MODE: mode } });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`benchmark server exited with ${code}`)));
    child.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  return { port, stop: () => child.kill("SIGTERM") };
}

interface Load {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
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
    const result = await autocannon({ ...options, duration: HTTP_SECONDS });
    return { requestsPerSecond: result.requests.average, p99: result.latency.p99, p50: result.latency.p50, errors: result.errors, non2xx: result.non2xx };
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
  });
  return Object.fromEntries(modes.map((m) => [m, pick(samples[m])])) as Record<ServerMode, Load>;
}

const verdict = (ok: boolean) => (ok ? "PASS" : "MISS");
const started = Date.now();
console.log(`Node ${process.version}, ${cpus()[0]?.model ?? "cpu"} ×${cpus().length}; load average at start ${load()}`);
console.log(`${ROUNDS} rounds × ${CASE_MS} ms per case; HTTP ${HTTP_ROUNDS} rounds × ${HTTP_SECONDS} s, ${CONNECTIONS} connections; medians\n`);
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
console.log(`mintToken ÷ jsonwebtoken.sign: ${mintVsJwt.toFixed(1)}× (target ≥ 15×) ${verdict(mintVsJwt >= 15)}`);
console.log(`mintToken ÷ floor: ${mintVsFloor.toFixed(2)}× (target ≥ 0.50×) ${verdict(mintVsFloor >= 0.5)}`);
console.log(`verifyToken ÷ jsonwebtoken.verify: ${verifyVsJwt.toFixed(1)}× (target ≥ 10×) ${verdict(verifyVsJwt >= 10)}`);
console.log(`jose's path for comparison: decode ${vDecode.toFixed(1)} µs + WebCrypto signature ${vSig.toFixed(1)} µs, before any claim check`);
console.log(`load average after sign/verify: ${load()}\n`);

if (HTTP_ROUNDS === 0) process.exit(0); // BENCH_HTTP_ROUNDS=0: sign and verify only
const http = await httpLoad();
console.log(`| node:http, loopback, ${CONNECTIONS} connections, ${HTTP_SECONDS} s × ${HTTP_ROUNDS} | req/s | p50 | p99 | errors / non-2xx |\n|---|---:|---:|---:|---:|`);
for (const [mode, l] of Object.entries(http) as [ServerMode, Load][]) console.log(`| ${SERVER_NAMES[mode]} | ${fmt(l.requestsPerSecond)} | ${l.p50} ms | ${l.p99} ms | ${l.errors} / ${l.non2xx} |`);
console.log("");
for (const mode of ["token", "token-fast"] as const) {
  const share = http[mode].requestsPerSecond / http.bare.requestsPerSecond;
  const p99Ratio = http[mode].p99 / Math.max(http.bare.p99, 1);
  console.log(`${mode} ÷ bare node:http: ${(share * 100).toFixed(0)}% of req/s (target ≥ 60%) ${verdict(share >= 0.6)}; p99 ${p99Ratio.toFixed(1)}× (target ≤ 2×, bare p99 floored at 1 ms) ${verdict(p99Ratio <= 2)}`);
}
console.log(`fast path (overrideGlobalObjects: true) ÷ defaults: ${(http["token-fast"].requestsPerSecond / http.token.requestsPerSecond).toFixed(2)}×`);
const bad = Object.values(http).reduce((sum, l) => sum + l.errors + l.non2xx, 0);
console.log(`errors or non-2xx answers: ${bad === 0 ? "none" : bad}`);
console.log(`\nload average at the end ${load()}; total ${Math.round((Date.now() - started) / 1000)} s`);
