/**
 * The one error vocabulary of the project. Every error a user can cause carries a stable `code` and a list of
 * `problems`, each naming where (`path`: an option, a variable, a flag, a stack key such as `jitsi:domain`, or a
 * dotted field such as `videobridges.count`) and what is allowed. The CLI prints the problems, the token endpoint
 * answers them as JSON (`{ "error": { "code", "message", "problems": [{ "path", "message" }] } }`), the Pulumi
 * program reports them without a stack trace. Messages never contain a secret value.
 */

/** One problem with one input, worded for the person who supplied it. */
export interface Problem {
  /** Where: an option, environment variable, flag, stack key or dotted field. */
  readonly path: string;
  /** What is wrong and what is allowed; never the offending secret. */
  readonly message: string;
}

/** Base of every user-facing error: a stable machine-readable `code` plus every problem found at once. */
export class ProblemError extends Error {
  override readonly name: string = "ProblemError";
  constructor(
    /** Stable identifier, e.g. "invalid-input", "usage", "token-rejected". */
    readonly code: string,
    readonly problems: readonly Problem[],
    heading?: string,
  ) {
    super(heading === undefined ? problems.map((p) => `${p.path}: ${p.message}`).join("; ") : `${heading}\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n")}`);
  }

  /** The JSON form the token endpoint answers with. */
  toJSON(): { code: string; message: string; problems: Problem[] } {
    return { code: this.code, message: this.message, problems: [...this.problems] };
  }
}

/** A single bad input (an option, variable or flag): the common case of ProblemError, code "invalid-input". */
export class FieldError extends ProblemError {
  override readonly name: string = "FieldError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super("invalid-input", [{ path: field, message }]);
  }
}
