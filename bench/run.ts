/**
 * npm run bench: HS256 mint and verify throughput (ops/s) of this module against jsonwebtoken with a string secret
 * (what the seed guide uses) and against node:crypto's HMAC as the floor; then the token endpoint's req/s and p99
 * on node:http over loopback with autocannon. Bounded: ~1 min. Loopback only.
 * Env: BENCH_ROUNDS (default 5), BENCH_CASE_MS (default 1000), BENCH_HTTP_SECONDS (default 10).
 */
import { spawn } from "node:child_process";
import { createHmac, createSecretKey, timingSafeEqual } from "node:crypto";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import jwt from "jsonwebtoken";
import { mintToken, verifyToken } from "../token/index.ts";
import { BENCH_MINT, BENCH_SECRET, BENCH_SIGNING } from "./fixture.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CASE_MS = Number(process.env.BENCH_CASE_MS ?? 1000);
const HTTP_SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 10);

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

async function signAndVerify(): Promise<{ sign: Record<string, number>; verify: Record<string, number> }> {
  const token = await mintToken(BENCH_MINT);
  const [h, p] = token.split(".") as [string, string];
  const claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Record<string, unknown>;
  // Same bytes from every implementation, or the comparison means nothing.
  const viaJsonwebtoken = jwt.sign(claims, BENCH_SECRET, { algorithm: "HS256" });
  if (viaJsonwebtoken !== token) throw new Error("jsonwebtoken produced a different token; the comparison would be unfair");
  const key = createSecretKey(Buffer.from(BENCH_SECRET));
  const floorSign = () => {
    const input = `${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
    return `${input}.${createHmac("sha256", key).update(input).digest("base64url")}`;
  };
  if (floorSign() !== token) throw new Error("the floor produced a different token");
  const floorVerify = () => {
    const dot = token.lastIndexOf(".");
    const expected = createHmac("sha256", key).update(token.slice(0, dot)).digest();
    if (!timingSafeEqual(expected, Buffer.from(token.slice(dot + 1), "base64url"))) throw new Error("bad");
    const payload = JSON.parse(Buffer.from(token.slice(token.indexOf(".") + 1, dot), "base64url").toString("utf8")) as { exp: number };
    if (payload.exp * 1000 <= Date.now()) throw new Error("expired");
  };
  const expectations = { appId: BENCH_SIGNING.appId, sub: BENCH_SIGNING.domain, room: BENCH_MINT.room };
  const sign = await measure({
    "node:crypto HMAC (floor)": floorSign,
    "jsonwebtoken.sign (string secret)": () => jwt.sign(claims, BENCH_SECRET, { algorithm: "HS256" }),
    "mintToken (validates options, await each)": () => mintToken(BENCH_MINT),
  });
  const verify = await measure({
    "node:crypto HMAC (floor)": floorVerify,
    "jsonwebtoken.verify (string secret)": () => jwt.verify(token, BENCH_SECRET, { algorithms: ["HS256"], issuer: BENCH_SIGNING.appId }),
    "verifyToken (jose, cached CryptoKey, await each)": () => verifyToken(token, BENCH_SECRET, expectations),
  });
  return { sign, verify };
}

async function startServer(): Promise<{ port: number; stop: () => void }> {
  const script = fileURLToPath(new URL("./handlerServer.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`benchmark server exited with ${code}`)));
    child.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  return { port, stop: () => child.kill("SIGTERM") };
}

async function handlerLoad(): Promise<{ requestsPerSecond: number; p99: number; p50: number; errors: number; non2xx: number }> {
  const server = await startServer();
  try {
    const options = {
      url: `http://127.0.0.1:${server.port}/api/jitsi/token`,
      method: "POST" as const,
      headers: { "content-type": "application/json", authorization: "Bearer bench-session" },
      body: JSON.stringify({ room: "Weekly Sync" }),
      connections: 10,
    };
    await autocannon({ ...options, duration: 2 }); // warm-up
    const result = await autocannon({ ...options, duration: HTTP_SECONDS });
    return { requestsPerSecond: result.requests.average, p99: result.latency.p99, p50: result.latency.p50, errors: result.errors, non2xx: result.non2xx };
  } finally {
    server.stop();
  }
}

const started = Date.now();
console.log(`Node ${process.version}, ${cpus()[0]?.model ?? "cpu"} ×${cpus().length}; ${ROUNDS} rounds × ${CASE_MS} ms per case, medians\n`);
const { sign, verify } = await signAndVerify();
const ratio = (table: Record<string, number>, a: string, b: string) => (table[a] ?? 0) / (table[b] ?? 1);
for (const [title, table] of [["HS256 sign (ops/s)", sign], ["HS256 verify (ops/s)", verify]] as const) {
  console.log(`| ${title} | median |\n|---|---:|`);
  for (const [name, value] of Object.entries(table)) console.log(`| ${name} | ${fmt(value)} |`);
  console.log("");
}
const mintVsJwt = ratio(sign, "mintToken (validates options, await each)", "jsonwebtoken.sign (string secret)");
const verifyVsJwt = ratio(verify, "verifyToken (jose, cached CryptoKey, await each)", "jsonwebtoken.verify (string secret)");
console.log(`mintToken ÷ jsonwebtoken.sign: ${mintVsJwt.toFixed(1)}× (target ≥ 5×) ${mintVsJwt >= 5 ? "PASS" : "MISS"}`);
console.log(`verifyToken ÷ jsonwebtoken.verify: ${verifyVsJwt.toFixed(1)}×`);
console.log(`mintToken ÷ floor: ${ratio(sign, "mintToken (validates options, await each)", "node:crypto HMAC (floor)").toFixed(2)}×\n`);

const http = await handlerLoad();
console.log(`| token endpoint (node:http, loopback, 10 connections, ${HTTP_SECONDS} s) | |\n|---|---:|`);
console.log(`| requests/s (mean) | ${fmt(http.requestsPerSecond)} |\n| latency p50 | ${http.p50} ms |\n| latency p99 | ${http.p99} ms |\n| errors / non-2xx | ${http.errors} / ${http.non2xx} |\n`);
const httpOk = http.requestsPerSecond >= 3000 && http.p99 < 10 && http.errors === 0 && http.non2xx === 0;
console.log(`handler target (≥ 3,000 req/s, p99 < 10 ms, no errors): ${httpOk ? "PASS" : "MISS"}`);
console.log(`\n(total ${Math.round((Date.now() - started) / 1000)} s)`);
