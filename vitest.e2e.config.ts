import { defineConfig } from "vitest/config";
import { serverConditions } from "./vitest.config.ts";

// Opt-in: needs JITSI_PLUGINS_DIR pointing at an extracted copy of jitsi-meet's resources/prosody-plugins.
export default defineConfig({
  ssr: { resolve: { conditions: serverConditions } },
  test: {
    include: ["test/e2e/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
