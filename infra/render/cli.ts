/**
 * `npm run render -- (--input FILE.json | --stack NAME) --out DIR`: writes every file the host would get under
 * DIR (at its host path, with its mode), for review and diff — like `helm template`. Owners and the service
 * each file restarts are listed in the summary (chown needs the host's users).
 */
import { execFile } from "node:child_process";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { EXIT_CODES, readArgs, UsageError } from "jitsi-jwt-token/shared";
import { StackConfigError } from "../config.ts";
import type { RenderedFile } from "../../templates/deployment.ts";
import { renderFiles } from "../../templates/render.ts";
import { readStackDeployment, StackReadError, type CommandRunner } from "./stackDeployment.ts";
import { DeploymentError } from "../../templates/validate.ts";

const USAGE = `usage: npm run render -- --input deployment.json --out DIR
       npm run render -- --stack NAME --out DIR
Writes every configuration file of the Jitsi host under DIR at its host path, with its file mode.
--input  a JSON Deployment (templates/deployment.ts); example: infra/render/example-deployment.json
--stack  a Pulumi stack: its config is read with the pulumi CLI; secrets, passwords and the private IP are
         rendered as PLACEHOLDER values
Exit codes: 0 ok, 1 the settings are invalid (every bad field named, nothing written), 2 usage or I/O error.`;

export interface CliIo {
  readonly run: CommandRunner;
  readonly cwd: string;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export const execFileRunner: CommandRunner = (command, args, options) =>
  new Promise((resolvePromise, reject) => {
    execFile(command, [...args], { cwd: options.cwd, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === "ENOENT") {
        reject(new UsageError(`the ${command} CLI is not on PATH; install it (https://www.pulumi.com/docs/install/), or render from a JSON file with --input`, "--stack"));
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

/** Why a file system call failed, in words (never a stack): EACCES → "permission denied". */
function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EROFS: "read-only file system",
    ENOTDIR: "a parent is not a directory",
    EISDIR: "is a directory",
    ENOSPC: "no space left on the device",
    ENOENT: "no such file or directory",
  };
  return (code !== undefined ? words[code] : undefined) ?? code ?? "failed";
}

async function writeRendered(outDir: string, files: readonly RenderedFile[]): Promise<void> {
  for (const file of files) {
    const target = join(outDir, file.path);
    try {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, file.content, { mode: file.mode });
      // writeFile's mode is filtered by the umask and ignored for an existing file; set it exactly.
      await chmod(target, file.mode);
    } catch (error) {
      throw new UsageError(`cannot write ${target}: ${reason(error)}`, "--out");
    }
  }
}

/**
 * Runs the render command.
 *
 * @param argv - the arguments after the command.
 * @param io - the pulumi CLI runner, working directory and output.
 * @returns the exit code (token/shared/cli.ts): 0 ok, 1 invalid settings (nothing written), 2 usage or I/O error.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values } = readArgs(argv, { input: { type: "string" }, stack: { type: "string" }, out: { type: "string" }, help: { type: "boolean" } });
    if (values.help === true) {
      io.out(USAGE);
      return EXIT_CODES.ok;
    }
    const input = typeof values.input === "string" ? values.input : undefined;
    const stack = typeof values.stack === "string" ? values.stack : undefined;
    const out = typeof values.out === "string" ? values.out : undefined;
    if ((input === undefined) === (stack === undefined)) throw new UsageError("give exactly one of --input FILE or --stack NAME");
    if (out === undefined) throw new UsageError("--out DIR is required");

    let deployment: unknown;
    if (input !== undefined) {
      let text: string;
      try {
        text = await readFile(resolve(io.cwd, input), "utf8");
      } catch (error) {
        throw new UsageError(`cannot read ${input}: ${reason(error)}`, "--input");
      }
      try {
        deployment = JSON.parse(text);
      } catch {
        throw new UsageError(`${input} is not valid JSON`, "--input");
      }
    } else {
      deployment = await readStackDeployment(stack ?? "", io.run, PROJECT_ROOT);
    }

    const files = renderFiles(deployment);
    const outDir = resolve(io.cwd, out);
    await writeRendered(outDir, files);
    io.out(`rendered ${String(files.length)} files under ${outDir}${stack === undefined ? "" : ` from stack ${stack}`}:`);
    for (const file of files) io.out(summaryLine(file));
    if (stack !== undefined) io.out("secrets, account passwords and the private IP are PLACEHOLDER values");
    return EXIT_CODES.ok;
  } catch (error) {
    if (error instanceof UsageError) {
      const path = error.problems[0]?.path;
      return fail(io, EXIT_CODES.usage, `${path !== undefined && path !== "arguments" ? `${path}: ` : ""}${error.message}${path === "arguments" ? `\n${USAGE}` : ""}`);
    }
    if (error instanceof StackReadError) return fail(io, EXIT_CODES.usage, error.message);
    if (error instanceof DeploymentError || error instanceof StackConfigError) return fail(io, EXIT_CODES.failed, error.message);
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
