#!/usr/bin/env node
// Launcher for the TypeScript CLI: registers tsx's loader, then runs token/cli.ts.
import { register } from "tsx/esm/api";

register();
const { runCli } = await import("../cli.ts");
process.exitCode = await runCli(process.argv.slice(2));
