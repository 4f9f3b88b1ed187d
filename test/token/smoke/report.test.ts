import { describe, expect, it } from "vitest";
import { certificateExpiry } from "../../../token/smoke/discover.ts";
import { parseResolvePins } from "../../../token/smoke/network.ts";
import { formatJunit, formatText } from "../../../token/smoke/report.ts";
import type { SmokeReport } from "../../../token/smoke/types.ts";

const REPORT: SmokeReport = {
  url: "https://meet.example.com",
  ok: false,
  startedAt: "2026-01-01T00:00:00.000Z",
  durationMs: 1234,
  room: "smoke-0a1b2c3d",
  steps: [
    { id: "discovery", title: "HTTPS certificate and /config.js", status: "passed", durationMs: 12, detail: "XMPP domain meet.example.com", warnings: ["expires in 3 day(s)"] },
    { id: "guest", title: "guest", status: "skipped", durationMs: 0, detail: "guests are disabled", warnings: [] },
    { id: "reject-expired", title: "expired", status: "failed", durationMs: 40, detail: "the server let it in <as> \"participant\" & more\u0001", warnings: [] },
    { id: "reject-no-token", title: "no token", status: "passed", durationMs: 30, detail: "refused at sasl", serverReason: "not-allowed: token required", warnings: [] },
  ],
};

describe("smoke report formats", () => {
  it("JUnit: one test case per step with failure/skipped elements, counts, escaped text", () => {
    const xml = formatJunit(REPORT);
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="jitsi-smoke" tests="4" failures="1" skipped="1"/);
    expect(xml.match(/<testcase /g)).toHaveLength(4);
    expect(xml).toContain(`<testcase classname="jitsi-smoke" name="reject-expired" time="0.040">`);
    expect(xml).toContain(`<failure message="the server let it in &lt;as&gt; &quot;participant&quot; &amp; more">`);
    expect(xml).toContain(`<skipped message="guests are disabled"/>`);
    expect(xml).toContain("server said: not-allowed: token required");
    expect(xml).not.toContain("\u0001");
  });

  it("text: a line per step, the server's words, warnings, and the verdict", () => {
    const text = formatText(REPORT);
    expect(text).toContain("PASS  HTTPS certificate and /config.js [12 ms]");
    expect(text).toContain("      warning: expires in 3 day(s)");
    expect(text).toContain("      server said: not-allowed: token required");
    expect(text.trim().split("\n").at(-1)).toBe("FAILED: 1 step(s) failed (1234 ms)");
  });

  it("warns when the certificate expires within 14 days, not before", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    expect(certificateExpiry("Jan 14 00:00:00 2026 GMT", now)).toMatchObject({ daysLeft: 13, warning: expect.stringContaining("expires in 13 day(s)") });
    expect(certificateExpiry("Jan 16 00:00:00 2026 GMT", now)).toEqual({ daysLeft: 15 });
    expect(certificateExpiry("Dec 25 00:00:00 2025 GMT", now).warning).toContain("expires in -7 day(s)");
    expect(certificateExpiry("garbage", now).warning).toContain("unreadable");
  });

  it("--resolve pins: HOST:IP only", () => {
    expect(parseResolvePins(["meet.example.com:203.0.113.7", "v6.example.com:[2001:db8::1]"])).toEqual({ "meet.example.com": "203.0.113.7", "v6.example.com": "2001:db8::1" });
    expect(() => parseResolvePins(["meet.example.com"])).toThrow(/expected HOST:IP-ADDRESS/);
    expect(() => parseResolvePins(["meet.example.com:not-an-ip"])).toThrow(/expected HOST:IP-ADDRESS/);
  });
});
