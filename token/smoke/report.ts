/** The report's three faces: text for people, JSON for scripts, JUnit XML for CI test tabs. */
import type { SmokeReport, StepResult } from "./types.ts";

const MARK: Record<StepResult["status"], string> = { passed: "PASS", failed: "FAIL", skipped: "SKIP" };

export function formatText(report: SmokeReport): string {
  const lines = [`Jitsi smoke test of ${report.url} (room ${report.room})`];
  for (const step of report.steps) {
    lines.push(`${MARK[step.status]}  ${step.title} [${step.durationMs} ms]`);
    lines.push(`      ${step.detail}`);
    if (step.serverReason) lines.push(`      server said: ${step.serverReason}`);
    for (const warning of step.warnings) lines.push(`      warning: ${warning}`);
  }
  const failed = report.steps.filter((s) => s.status === "failed").length;
  lines.push(report.ok ? `OK: all steps passed in ${report.durationMs} ms` : `FAILED: ${failed} step(s) failed (${report.durationMs} ms)`);
  return lines.join("\n");
}

export function formatJson(report: SmokeReport): string {
  return JSON.stringify(report, null, 2);
}

/** XML 1.0 text: escapes markup and drops characters XML cannot carry at all. */
function xmlText(value: string): string {
  return value
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** One <testsuite> named after the host, one <testcase> per step (classname jitsi-smoke). */
export function formatJunit(report: SmokeReport): string {
  const failures = report.steps.filter((s) => s.status === "failed").length;
  const skipped = report.steps.filter((s) => s.status === "skipped").length;
  const cases = report.steps.map((step) => {
    const body = [step.detail, step.serverReason ? `server said: ${step.serverReason}` : "", ...step.warnings.map((w) => `warning: ${w}`)].filter(Boolean).join("\n");
    const open = `    <testcase classname="jitsi-smoke" name="${xmlText(step.id)}" time="${seconds(step.durationMs)}">`;
    if (step.status === "failed") return `${open}\n      <failure message="${xmlText(step.serverReason ?? step.detail)}">${xmlText(body)}</failure>\n    </testcase>`;
    if (step.status === "skipped") return `${open}\n      <skipped message="${xmlText(step.detail)}"/>\n    </testcase>`;
    return `${open}\n      <system-out>${xmlText(body)}</system-out>\n    </testcase>`;
  });
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="jitsi-smoke" tests="${report.steps.length}" failures="${failures}" skipped="${skipped}" time="${seconds(report.durationMs)}">`,
    `  <testsuite name="${xmlText(report.url)}" tests="${report.steps.length}" failures="${failures}" skipped="${skipped}" errors="0" time="${seconds(report.durationMs)}" timestamp="${xmlText(report.startedAt)}">`,
    ...cases,
    `  </testsuite>`,
    `</testsuites>`,
    "",
  ].join("\n");
}
