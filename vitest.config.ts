import { defineConfig } from "vitest/config";

// Tests that start real Prosody, nginx, Java or pebble take seconds, not milliseconds.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
