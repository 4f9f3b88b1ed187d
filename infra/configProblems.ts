import * as pulumi from "@pulumi/pulumi";

/** One problem with one setting, worded for the person who set it. */
export interface ConfigProblem {
  /** The setting as its owner writes it: a Pulumi key (`jitsi:domain`) or a dotted field (`videobridges.count`). */
  readonly key: string;
  readonly message: string;
}

/**
 * Every problem of one validation, reported at once. A `pulumi.RunError`, so the CLI prints the message without a
 * stack trace: these are user mistakes, not bugs.
 */
export class ConfigProblemsError extends pulumi.RunError {
  readonly problems: readonly ConfigProblem[];
  constructor(heading: string, problems: readonly ConfigProblem[]) {
    super(`${heading}\n${problems.map((p) => `  - ${p.key}: ${p.message}`).join("\n")}`);
    this.problems = problems;
  }
}
