/**
 * Deploying from a hosted CI runner (issue 9, defect 11): the workflow adds the runner's own /32 to
 * jitsi:adminCidrs before `pulumi up` and removes it in an always-run step. The two steps' shell runs here for
 * real (bash, jq) against stand-ins for `pulumi` (a config store) and `curl` (the runner's address).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { load } from "js-yaml";
import { afterAll, describe, expect, it } from "vitest";

interface Step {
  readonly name?: string;
  readonly id?: string;
  readonly if?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly env?: Record<string, string>;
  readonly with?: Record<string, unknown>;
}
const workflow = load(readFileSync(fileURLToPath(new URL("../../.github/workflows/smoke.yml", import.meta.url)), "utf8")) as {
  jobs: { deploy: { steps: Step[] } };
};
const steps = workflow.jobs.deploy.steps;
const index = (match: (s: Step) => boolean) => steps.findIndex(match);
const addStep = steps[index((s) => s.id === "runner-cidr")]!;
const removeStep = steps[index((s) => s.name === "Remove this runner's SSH access again")]!;

const dir = mkdtempSync(join(tmpdir(), "ci-workflow-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const store = join(dir, "adminCidrs.json");
const calls = join(dir, "calls.log");
writeFileSync(join(dir, "curl"), "#!/bin/sh\necho ${RUNNER_IP}\n");
writeFileSync(
  join(dir, "pulumi"),
  `#!/bin/bash\necho "pulumi $*" >>"${calls}"\ncase "$1 $2" in\n  "config get") cat "${store}" ;;\n  "config set") printf '%s' "$6" >"${store}" ;;\nesac\n`,
);
chmodSync(join(dir, "curl"), 0o755);
chmodSync(join(dir, "pulumi"), 0o755);

function run(script: string, env: Record<string, string>) {
  return spawnSync("bash", ["-e", "-c", script], {
    encoding: "utf8",
    env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ""}`, STACK: "acme/jitsi/prod", ...env },
  });
}

describe("CI workflow: the runner's SSH access lives exactly as long as the job", () => {
  it("adds the runner's /32 before pulumi up and removes it in an always-run step after it", () => {
    const up = index((s) => s.uses?.startsWith("pulumi/actions") === true && s.with?.command === "up");
    expect(index((s) => s === addStep)).toBeLessThan(up);
    // Last in the deploying job (the smoke job runs on another runner and needs no SSH).
    expect(index((s) => s === removeStep)).toBe(steps.length - 1);
    expect(index((s) => s === removeStep)).toBeGreaterThan(up);
    expect(removeStep.if).toMatch(/^always\(\) && steps\.runner-cidr\.outputs\.before != ''$/);
  });

  it("the two steps' shell: the list gains exactly the runner's /32, then is restored and applied", () => {
    writeFileSync(store, '["203.0.113.7/32","2001:db8::/48"]');
    const output = join(dir, "github-output");
    writeFileSync(output, "");
    const added = run(addStep.run!, { RUNNER_IP: "198.51.100.23", GITHUB_OUTPUT: output });
    expect(added.stderr).toBe("");
    expect(added.status).toBe(0);
    expect(JSON.parse(readFileSync(store, "utf8"))).toEqual(["198.51.100.23/32", "2001:db8::/48", "203.0.113.7/32"]);
    const before = /^before=(.*)$/m.exec(readFileSync(output, "utf8"))![1]!;

    const removed = run(removeStep.run!, { BEFORE: before });
    expect(removed.status).toBe(0);
    expect(JSON.parse(readFileSync(store, "utf8"))).toEqual(["203.0.113.7/32", "2001:db8::/48"]);
    expect(readFileSync(calls, "utf8").trim().split("\n").at(-1)).toBe("pulumi up --yes --skip-preview --stack acme/jitsi/prod");
  });

  it("stops before pulumi up when the runner's address cannot be told", () => {
    writeFileSync(store, '["203.0.113.7/32"]');
    const failed = run(addStep.run!, { RUNNER_IP: "<html>rate limited</html>", GITHUB_OUTPUT: join(dir, "out2") });
    expect(failed.status).toBe(1);
    expect(failed.stdout).toContain("cannot tell this runner's public IPv4 address");
    expect(JSON.parse(readFileSync(store, "utf8"))).toEqual(["203.0.113.7/32"]);
  });
});
