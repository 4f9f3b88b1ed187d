import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// Tests that start real Prosody, nginx, Java or pebble take seconds, not milliseconds.
// In CI a JSON report is written too (to $VITEST_JSON, one per Node version), so .ci/run can print the plain
// "N passed, N failed" summary line.
// The `jitsi-jwt-source` condition resolves the workspace package jitsi-jwt-token to its TypeScript sources (as
// tsconfig.json's customConditions does for tsc), so tests never run a stale dist/.
// "module" is left out: some packages (@opentelemetry/api) ship a "module" build plain Node cannot load.
export const serverConditions = ["jitsi-jwt-source", ...defaultServerConditions.filter((c) => c !== "module")];

export default defineConfig({
  ssr: { resolve: { conditions: serverConditions } },
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: process.env.CI ? ["default", ["json", { outputFile: process.env.VITEST_JSON ?? "test-results.json" }]] : ["default"],
  },
});
