/**
 * Wall time of the full smoke matrix (discovery + 7 XMPP steps) against the local stack: real nginx with the
 * rendered site, real Prosody with the rendered config, the stand-in Jicofo. With JITSI_PLUGINS_DIR set, Jitsi's
 * real plugins judge the tokens (every step passes); without it, stock Prosody (three rejection steps are
 * reported failed, the timing is still the full matrix). Target: ≤ 5 s. Loopback only.
 *   npx tsx bench/smoke.ts            Env: BENCH_SMOKE_RUNS (default 5)
 */
import { startSmokeStack } from "../test/token/smoke/stack.ts";
import { runSmokeTest, type SmokeReport } from "../token/smoke/index.ts";

const RUNS = Number(process.env.BENCH_SMOKE_RUNS ?? 5);
const TARGET_MS = 5000;
const pluginsDir = process.env.JITSI_PLUGINS_DIR;

const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))] ?? 0;

const stack = await startSmokeStack(
  pluginsDir ? { jitsiPlugins: pluginsDir, jicofo: { openRoomsFor: "anyone", autoOwner: "none" } } : { jicofo: { openRoomsFor: "main-domain", autoOwner: "first-main-domain" } },
);
try {
  const reports: SmokeReport[] = [];
  for (let i = 0; i < RUNS; i++) reports.push(await runSmokeTest({ ...stack.reach, signing: stack.signing, timeoutMs: 30_000 }));
  const walls = reports.map((r) => r.durationMs);
  const perStep = new Map<string, number[]>();
  for (const r of reports) for (const s of r.steps) perStep.set(s.id, [...(perStep.get(s.id) ?? []), s.durationMs]);
  const last = reports.at(-1) as SmokeReport;
  console.log(`smoke matrix against ${pluginsDir ? "Prosody + Jitsi's plugins" : "stock Prosody (stand-ins)"}, ${RUNS} runs`);
  console.log(`  wall time: median ${quantile(walls, 0.5)} ms, min ${Math.min(...walls)} ms, max ${Math.max(...walls)} ms (target ≤ ${TARGET_MS} ms)`);
  for (const [id, ms] of perStep) console.log(`  ${id.padEnd(20)} median ${quantile(ms, 0.5)} ms`);
  console.log(`  last run: ${last.steps.filter((s) => s.status === "passed").length}/${last.steps.length} passed (ok=${String(last.ok)})`);
  if (quantile(walls, 0.5) > TARGET_MS) process.exitCode = 1;
} finally {
  await stack.stop();
}
