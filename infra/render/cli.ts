/**
 * `npm run render -- (--input FILE.json | --stack NAME) --out DIR`: writes every file the host would get under
 * DIR (at its host path, with its mode), for review and diff — like `helm template`. Owners and the service
 * each file restarts are listed in the summary (chown needs the host's users).
 */
import { execFile } from "node:child_process";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { StackConfigError } from "../config.ts";
import type { RenderedFile } from "../../templates/deployment.ts";
import { renderFiles } from "../../templates/render.ts";
import { readStackDeployment, StackReadError, type CommandRunner } from "./stackDeployment.ts";
import { DeploymentError } from "../../templates/validate.ts";

const USAGE = `usage: npm run render -- --input deployment.json --out DIR
       npm run render -- --stack NAME --out DIR
Writes every configuration file of the Jitsi host under DIR at its host path, with its file mode.
--input  a JSON Deployment (templates/deployment.ts)
--stack  a Pulumi stack: its config is read with the pulumi CLI; secrets, passwords and the private IP are
         rendered as PLACEHOLDER values`;

export interface CliIo {
  readonly run: CommandRunner;
  readonly cwd: string;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** A mistake of the person running the command: printed as is, no stack trace. */
class UsageError extends Error {}

const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export const execFileRunner: CommandRunner = (command, args, options) =>
  new Promise((resolvePromise, reject) => {
    execFile(command, [...args], { cwd: options.cwd, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === "ENOENT") {
        reject(new UsageError(`the ${command} CLI is not on PATH; install it, or render from a JSON file with --input`));
        return;
      }
      resolvePromise({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });

function summaryLine(file: RenderedFile): string {
  const mode = file.mode.toString(8).padStart(4, "0");
  const effect = file.effect === null ? "no restart" : `${file.effect.action} ${file.effect.service}`;
  return `  ${mode} ${`${file.owner}:${file.group}`.padEnd(14)} ${file.path}${file.secret ? "  [secret]" : ""}  (${effect})`;
}

async function writeRendered(outDir: string, files: readonly RenderedFile[]): Promise<void> {
  for (const file of files) {
    const target = join(outDir, file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.content, { mode: file.mode });
    // writeFile's mode is filtered by the umask and ignored for an existing file; set it exactly.
    await chmod(target, file.mode);
  }
}

/** Runs the command; resolves with the exit code (0 ok, 1 invalid input, 2 usage). */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    let values: { input?: string; stack?: string; out?: string; help?: boolean };
    try {
      ({ values } = parseArgs({
        args: [...argv],
        options: { input: { type: "string" }, stack: { type: "string" }, out: { type: "string" }, help: { type: "boolean" } },
        strict: true,
      }));
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (values.help === true) {
      io.out(USAGE);
      return 0;
    }
    if ((values.input === undefined) === (values.stack === undefined)) throw new UsageError("give exactly one of --input FILE or --stack NAME");
    if (values.out === undefined) throw new UsageError("--out DIR is required");

    let input: unknown;
    if (values.input !== undefined) {
      let text: string;
      try {
        text = await readFile(resolve(io.cwd, values.input), "utf8");
      } catch {
        return fail(io, 1, `--input: cannot read ${values.input}`);
      }
      try {
        input = JSON.parse(text);
      } catch {
        return fail(io, 1, `--input: ${values.input} is not valid JSON`);
      }
    } else {
      input = await readStackDeployment(values.stack ?? "", io.run, PROJECT_ROOT);
    }

    const files = renderFiles(input);
    const outDir = resolve(io.cwd, values.out);
    await writeRendered(outDir, files);
    io.out(`rendered ${String(files.length)} files under ${outDir}${values.stack === undefined ? "" : ` from stack ${values.stack}`}:`);
    for (const file of files) io.out(summaryLine(file));
    if (values.stack !== undefined) io.out("secrets, account passwords and the private IP are PLACEHOLDER values");
    return 0;
  } catch (error) {
    if (error instanceof UsageError) return fail(io, 2, `${error.message}\n${USAGE}`);
    if (error instanceof DeploymentError || error instanceof StackConfigError || error instanceof StackReadError) {
      return fail(io, 1, error.message);
    }
    throw error;
  }
}

function fail(io: CliIo, code: number, message: string): number {
  io.err(`render: ${message}`);
  return code;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await main(process.argv.slice(2), {
    run: execFileRunner,
    cwd: process.cwd(),
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
  process.exitCode = code;
}
