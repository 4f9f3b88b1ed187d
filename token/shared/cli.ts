/**
 * The command-line convention every command of the project follows (`jitsi-token` and its subcommands, the
 * render command): one argument reader, one usage error, one exit-code table.
 *
 * | code | meaning                                                                                          |
 * |------|--------------------------------------------------------------------------------------------------|
 * | 0    | done; every check passed                                                                         |
 * | 1    | the command ran and its subject failed a check (token refused, smoke step failed, settings invalid) |
 * | 2    | the command could not run as asked: usage, or its own configuration (JITSI_*, --stack, files)    |
 *
 * Positional arguments are never repeated in a message: a pasted token or secret lands there by mistake.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ProblemError } from "./errors.ts";

/** Exit codes of every command. */
export const EXIT_CODES = { ok: 0, failed: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** How a command was called or configured is wrong (exit 2). `path` names the flag, variable or argument. */
export class UsageError extends ProblemError {
  override readonly name: string = "UsageError";
  constructor(message: string, path = "arguments") {
    super("usage", [{ path, message }]);
    this.message = message;
  }
}

export type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;
export type ArgValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * Reads `argv` against `options` (node:util parseArgs, strict). Positional arguments are counted, never shown.
 *
 * @param argv - the arguments after the command name.
 * @param options - parseArgs option declarations.
 * @param positionals - how many positional arguments the command takes (default none) and what they are.
 * @returns the option values and the positional arguments.
 * @throws UsageError for an unknown option, a missing option value or a wrong number of arguments.
 * @example readArgs(["--room", "a", "TOKEN"], { room: { type: "string" } }, { max: 1, what: "a token" })
 */
export function readArgs(
  argv: readonly string[],
  options: OptionsConfig,
  positionals: { readonly min?: number; readonly max?: number; readonly what?: string } = {},
): { values: ArgValues; positionals: string[] } {
  let parsed: { values: ArgValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true }) as { values: ArgValues; positionals: string[] };
  } catch (error) {
    // parseArgs names the option (`Unknown option '--x'`, `Option '--room <value>' argument missing`), never a value.
    throw new UsageError(error instanceof Error ? error.message : "bad arguments");
  }
  const min = positionals.min ?? 0;
  const max = positionals.max ?? 0;
  const count = parsed.positionals.length;
  if (count < min || count > max) {
    const wanted = max === 0 ? "takes no arguments besides its options" : `takes ${min === max ? String(max) : `${min} to ${max}`} argument(s): ${positionals.what ?? "see --help"}`;
    throw new UsageError(`${wanted}; got ${count} (not repeated here: an argument may be a pasted secret)`);
  }
  return parsed;
}
