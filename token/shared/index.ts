/**
 * `jitsi-jwt-token/shared`: the names and rules every part of the project shares — XMPP names, ports, host paths,
 * service names, URL paths, stack output names (and the field rules of the settings). Dependency-free: the
 * renderer (templates/) depends on nothing else, the token module on itself only, the Pulumi program (infra/) on
 * both. Importing this subpath loads no signing code.
 */
export * from "./names.ts";
export { STACK_OUTPUTS, type StackOutputName } from "./stackOutputs.ts";
export { FieldError, ProblemError, type Problem } from "./errors.ts";
export * from "./rules.ts";
export { EXIT_CODES, readArgs, UsageError, type ArgValues, type ExitCode, type OptionsConfig } from "./cli.ts";
export { pulumiFailureMessage } from "./pulumiCli.ts";
