#!/usr/bin/env node
// Launcher for the jitsi-token CLI. An installed package runs the compiled dist/token/cli.js with plain Node
// (built by `npm run build`, which `prepare` runs on install). A dev checkout without dist/ runs the TypeScript
// source through tsx's loader instead, so the CLI works before the first build.
import { existsSync } from "node:fs";

const built = new URL("../../dist/token/cli.js", import.meta.url);
let cli;
if (existsSync(built)) {
  cli = await import(built.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  cli = await import("../cli.ts");
}
process.exitCode = await cli.runCli(process.argv.slice(2));
