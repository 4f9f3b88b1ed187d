#!/usr/bin/env node
// Launcher for the jitsi-token CLI. An installed copy (under node_modules) runs the compiled dist/cli.js with plain
// Node; the package is built before it is packed. A checkout runs the TypeScript source through tsx, even when a
// dist/ from an earlier build is lying around: edited sources must never be shadowed by stale JavaScript.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const built = new URL("../dist/cli.js", import.meta.url);
const installed = fileURLToPath(import.meta.url).split(/[\\/]/).includes("node_modules");
let cli;
if (installed && existsSync(built)) {
  cli = await import(built.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  cli = await import("../cli.ts");
}
process.exitCode = await cli.runCli(process.argv.slice(2));
