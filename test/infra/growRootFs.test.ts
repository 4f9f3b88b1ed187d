/**
 * grow-root-fs.sh (issue 9, defect 8): a larger diskSizeGb grows the root partition and file system of the running
 * instance. growpart, resize2fs and a resizable EBS disk cannot run in this container (no partition device nodes,
 * online resize2fs refused), so those tools, findmnt, lsblk and blockdev are stand-ins that record their calls and
 * answer like the real ones on an EC2 Nitro instance; the script itself runs for real under bash. The program's
 * step (env, trigger, order) is checked under Pulumi's mocks.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCRIPTS } from "../../infra/scripts.ts";
import { baseConfig, COMMAND, runProgram, type ProgramRun } from "./harness.ts";

const script = fileURLToPath(new URL(`../../infra/${SCRIPTS.growRootFs}`, import.meta.url));
const GIB = 1024 * 1024 * 1024;
const dirs: string[] = [];

interface Host {
  /** What `findmnt -n -o SOURCE|FSTYPE /` answers. */
  readonly source: string;
  readonly fstype: string;
  /** Partition number in sysfs; undefined: / is not a partition. */
  readonly partition?: number;
  /** Disk sizes blockdev reports, one per call (the last repeats). */
  readonly sizes: number[];
  /** growpart's answer: exit code and output. */
  readonly growpart?: { readonly code: number; readonly output: string };
}

function run(host: Host, env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), "grow-root-fs-"));
  dirs.push(dir);
  const bin = join(dir, "bin");
  const sys = join(dir, "sys");
  const calls = join(dir, "calls");
  mkdirSync(bin);
  mkdirSync(sys);
  writeFileSync(calls, "");
  const part = host.source.split("/").pop()!;
  if (host.partition !== undefined) {
    mkdirSync(join(sys, part));
    writeFileSync(join(sys, part, "partition"), `${String(host.partition)}\n`);
  }
  writeFileSync(join(dir, "sizes"), host.sizes.join("\n") + "\n");
  const tool = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\necho "${name} $*" >>"${calls}"\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  tool("findmnt", `case "$*" in *SOURCE*) echo "${host.source}" ;; *FSTYPE*) echo "${host.fstype}" ;; esac`);
  tool("lsblk", 'echo "nvme0n1"');
  // Each call takes the next size; the last one repeats.
  tool("blockdev", `f="${join(dir, "sizes")}"; head -n1 "$f"; [ "$(wc -l <"$f")" -gt 1 ] && sed -i 1d "$f"; true`);
  tool("growpart", `echo "${host.growpart?.output ?? "CHANGED: partition=1 start=2048"}"; exit ${String(host.growpart?.code ?? 0)}`);
  tool("resize2fs", "echo resized");
  tool("xfs_growfs", "echo grown");
  const result = spawnSync("bash", [script], {
    encoding: "utf8",
    env: { PATH: `${bin}:/usr/bin:/bin`, JITSI_SYS_BLOCK: sys, JITSI_RESIZE_POLL: "0.1", ...env },
  });
  return { code: result.status, output: result.stdout + result.stderr, calls: readFileSync(calls, "utf8").trim().split("\n").filter(Boolean) };
}

const ec2 = (sizes: number[], growpart?: Host["growpart"]): Host => ({ source: "/dev/nvme0n1p1", fstype: "ext4", partition: 1, sizes, growpart });

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("grow-root-fs.sh", () => {
  it("grows the partition, then the ext4 file system, once the kernel sees the configured size", () => {
    const r = run(ec2([20 * GIB, 20 * GIB, 40 * GIB]), { JITSI_DISK_SIZE_GB: "40" });
    expect(r.code, r.output).toBe(0);
    expect(r.calls.filter((c) => c.startsWith("blockdev")).length).toBe(3);
    expect(r.calls).toContain("growpart /dev/nvme0n1 1");
    expect(r.calls).toContain("resize2fs /dev/nvme0n1p1");
  });

  it("is idempotent: growpart's NOCHANGE (exit 1) is not a failure", () => {
    const r = run(ec2([40 * GIB], { code: 1, output: "NOCHANGE: partition 1 is size 83884032. it cannot be grown" }), { JITSI_DISK_SIZE_GB: "40" });
    expect(r.code, r.output).toBe(0);
    expect(r.calls).toContain("resize2fs /dev/nvme0n1p1");
  });

  it("grows XFS with xfs_growfs", () => {
    const r = run({ ...ec2([40 * GIB]), fstype: "xfs" }, { JITSI_DISK_SIZE_GB: "40" });
    expect(r.code, r.output).toBe(0);
    expect(r.calls).toContain("xfs_growfs /");
  });

  it("fails naming the sizes when the volume never reaches the configured size within the bound", () => {
    const r = run(ec2([20 * GIB]), { JITSI_DISK_SIZE_GB: "40", JITSI_RESIZE_WAIT: "1" });
    expect(r.code).toBe(1);
    expect(r.output).toContain(`/dev/nvme0n1 is ${String(20 * GIB)} bytes, not the 40 GiB configured`);
    expect(r.calls.some((c) => c.startsWith("growpart"))).toBe(false);
  });

  it("fails with growpart's own words when it really fails", () => {
    const r = run(ec2([40 * GIB], { code: 2, output: "FAILED: failed to get start and end for /dev/nvme0n1p1" }), { JITSI_DISK_SIZE_GB: "40" });
    expect(r.code).toBe(1);
    expect(r.output).toContain("growpart /dev/nvme0n1 1 failed: FAILED: failed to get start and end");
    expect(r.calls.some((c) => c.startsWith("resize2fs"))).toBe(false);
  });

  it("leaves a root that is not a partition alone (an overlay, a whole-disk file system)", () => {
    const r = run({ source: "overlay", fstype: "overlay", sizes: [0] }, { JITSI_DISK_SIZE_GB: "20" });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain("not a disk partition: nothing to grow");
    expect(r.calls.some((c) => /^(growpart|resize2fs|blockdev)/.test(c))).toBe(false);
  });

  it("refuses a size that is not a whole number", () => {
    const r = run(ec2([40 * GIB]), { JITSI_DISK_SIZE_GB: "40; reboot" });
    expect(r.code).toBe(2);
    expect(r.calls).toEqual([]);
  });
});

describe("the grow-root-fs step", () => {
  let base: ProgramRun;
  let larger: ProgramRun;
  beforeAll(async () => {
    base = await runProgram(baseConfig());
    larger = await runProgram({ ...baseConfig(), "jitsi:diskSizeGb": "60" });
  });

  const growStep = (run: ProgramRun) => run.resources.find((r) => r.type === COMMAND && r.name.endsWith("-grow-root-fs"))!;

  it("runs after prepare with the configured size, and again when diskSizeGb changes", () => {
    const step = growStep(base);
    expect(step).toBeDefined();
    expect(step.inputs.environment).toEqual({ JITSI_DISK_SIZE_GB: "20" });
    expect(String(step.inputs.create)).toContain("grow-root-fs");
    const grown = growStep(larger);
    expect(grown.inputs.environment).toEqual({ JITSI_DISK_SIZE_GB: "60" });
    expect(JSON.stringify(grown.inputs.triggers)).not.toBe(JSON.stringify(step.inputs.triggers));
  });
});
