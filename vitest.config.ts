import { defineConfig } from "vitest/config";

// Tests that start real Prosody, nginx, Java or pebble take seconds, not milliseconds.
// In CI a JSON report is written too (to $VITEST_JSON, one per Node version), so .ci/run can print the plain
// "N passed, N failed" summary line.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: process.env.CI ? ["default", ["json", { outputFile: process.env.VITEST_JSON ?? "test-results.json" }]] : ["default"],
  },
});
