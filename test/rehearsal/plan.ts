/**
 * The host steps exactly as the program builds them, taken from a run under mocks (test/infra/harness.ts): for
 * each `remote.Command`, its command string, environment and stdin (secrets revealed: they travel on stdin), in an
 * order that honours every explicit `dependsOn` (ties in registration order, as the engine may run them).
 *
 * `changedSteps` plays Pulumi's update: a command runs again exactly when one of its inputs (command, environment,
 * stdin, triggers) differs from the previous run's.
 */
import { COMMAND, reveal, type ProgramRun } from "../infra/harness.ts";

export interface HostStep {
  /** Resource name, e.g. dev-install. */
  readonly name: string;
  readonly command: string;
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: string;
  /** Everything that makes the engine run it again (JSON of the revealed inputs). */
  readonly fingerprint: string;
}

/** Every host step of a run, in dependency order. */
export function hostSteps(run: ProgramRun): HostStep[] {
  const commands = run.resources.filter((r) => r.type === COMMAND);
  const names = new Set(commands.map((r) => r.name));
  const ordered: HostStep[] = [];
  const done = new Set<string>();
  const visit = (name: string, path: string[]): void => {
    if (done.has(name)) return;
    if (path.includes(name)) throw new Error(`dependency cycle: ${[...path, name].join(" → ")}`);
    for (const dep of run.dependsOn.get(name) ?? []) if (names.has(dep)) visit(dep, [...path, name]);
    const r = commands.find((c) => c.name === name)!;
    const env = (reveal(r.inputs.environment) ?? {}) as Record<string, unknown>;
    const plainEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(reveal(v))]));
    const triggers = ((reveal(r.inputs.triggers) ?? []) as unknown[]).map(reveal);
    const step: HostStep = {
      name,
      command: String(reveal(r.inputs.create)),
      env: plainEnv,
      stdin: r.inputs.stdin === undefined ? "" : String(reveal(r.inputs.stdin)),
      fingerprint: "",
    };
    ordered.push({ ...step, fingerprint: JSON.stringify([step.command, step.env, step.stdin, triggers]) });
    done.add(name);
  };
  for (const r of commands) visit(r.name, []);
  return ordered;
}

/** The steps of `next` the engine would run after `previous` was applied: new ones and those whose inputs changed. */
export function changedSteps(previous: readonly HostStep[], next: readonly HostStep[]): HostStep[] {
  const before = new Map(previous.map((s) => [s.name, s.fingerprint]));
  return next.filter((s) => before.get(s.name) !== s.fingerprint);
}
