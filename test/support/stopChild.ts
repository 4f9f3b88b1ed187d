import type { ChildProcess } from "node:child_process";

/**
 * Stops a test's child process: `signal` first (the program's graceful stop), SIGKILL if it is still running
 * 5 s later. Resolves once it has exited, so its ports are free for the next test.
 */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}
