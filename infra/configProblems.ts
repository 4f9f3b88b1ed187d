/**
 * The infra side of the one error vocabulary (jitsi-jwt-token/shared's ProblemError): the same `code` and
 * `{path, message}` problems, as a `pulumi.RunError` so the Pulumi CLI prints the message without a stack trace —
 * these are user mistakes, not bugs.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Problem } from "jitsi-jwt-token/shared";

/** One problem with one setting: `path` is a Pulumi key (`jitsi:domain`) or a dotted field (`videobridges.count`). */
export type ConfigProblem = Problem;

/** Every problem of one validation, reported at once, without a stack trace. */
export class ConfigProblemsError extends pulumi.RunError {
  /** Stable identifier, as ProblemError's: "invalid-config". */
  readonly code: string = "invalid-config";
  readonly problems: readonly ConfigProblem[];
  constructor(heading: string, problems: readonly ConfigProblem[]) {
    super(`${heading}\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n")}`);
    this.problems = problems;
  }

  /** The JSON form ProblemError has. */
  toJSON(): { code: string; message: string; problems: ConfigProblem[] } {
    return { code: this.code, message: this.message, problems: [...this.problems] };
  }
}
