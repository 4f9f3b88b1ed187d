/**
 * What a change touches. Same config twice → identical inputs everywhere. Changing the app secret, the guest
 * switch or a template changes only file-push and service-restart commands; the instance, its Elastic IP and the
 * DNS record keep identical inputs (so Pulumi has nothing to replace).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { RenderedFile } from "../../templates/deployment.ts";
import { hostPaths } from "jitsi-jwt-token/shared";
import { baseConfig, COMMAND, runProgram, TYPES, type ProgramRun, type RunOptions } from "./harness.ts";

const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;

/** Resources whose inputs differ between two runs (added or removed ones count too). */
function changed(a: ProgramRun, b: ProgramRun): string[] {
  const before = new Map(a.resources.map((r) => [key(r), JSON.stringify(r.inputs)]));
  const after = new Map(b.resources.map((r) => [key(r), JSON.stringify(r.inputs)]));
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((k) => before.get(k) !== after.get(k)).sort();
}

const isPushOrRestart = (k: string) => k.startsWith(`${COMMAND}::`) && /-(file|service)-/.test(k);
const INFRASTRUCTURE = [TYPES.instance, TYPES.eip, TYPES.eipAssociation, TYPES.record, TYPES.securityGroup, TYPES.keyPair];

let baseline: ProgramRun;
beforeAll(async () => {
  baseline = await runProgram(baseConfig());
});

describe("determinism", () => {
  it("running twice with the same config registers identical resources with identical inputs", async () => {
    const again = await runProgram(baseConfig());
    expect(again.resources.map(key)).toEqual(baseline.resources.map(key));
    expect(changed(baseline, again)).toEqual([]);
    expect(JSON.stringify(again.outputs)).toBe(JSON.stringify(baseline.outputs));
  });
});

const jicofoConf = hostPaths("meet.example.com").jicofoConf;
const editJicofoTemplate: RunOptions = {
  editRendered: (files: RenderedFile[]) =>
    files.map((f) => (f.path === jicofoConf ? { ...f, content: `${f.content}\n# template edited\n` } : f)),
};

const CHANGES: [string, Record<string, string>, RunOptions, RegExp[]][] = [
  ["the app secret", { "jitsi:appSecret": "another-app-secret-0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d" }, {}, [/-service-prosody$/]],
  ["the guest switch", { "jitsi:guests": "false" }, {}, [/-service-prosody$/]],
  ["a template", {}, editJicofoTemplate, [/-file-etc-jitsi-jicofo-jicofo-conf$/, /-service-jicofo$/]],
];

describe.each(CHANGES)("changing %s", (_label, overrides, options, mustChange) => {
  let diff: string[];
  beforeAll(async () => {
    diff = changed(baseline, await runProgram({ ...baseConfig(), ...overrides }, options));
  });

  it("changes only file-push and restart commands", () => {
    expect(diff.length).toBeGreaterThan(0);
    expect(diff.filter((k) => !isPushOrRestart(k))).toEqual([]);
    for (const pattern of mustChange) expect(diff.some((k) => pattern.test(k)), String(pattern)).toBe(true);
  });

  it("leaves the instance, Elastic IP, DNS record, security group and key pair untouched", () => {
    for (const type of INFRASTRUCTURE) {
      expect(diff.filter((k) => k.startsWith(`${type}::`)), type).toEqual([]);
    }
  });
});

describe("a template change", () => {
  it("re-runs only that file's push and its own service's restart", async () => {
    const diff = changed(baseline, await runProgram(baseConfig(), editJicofoTemplate));
    expect(diff.map((k) => k.split("::")[1]!.replace(/^dev-/, ""))).toEqual(["file-etc-jitsi-jicofo-jicofo-conf", "service-jicofo"]);
  });
});
