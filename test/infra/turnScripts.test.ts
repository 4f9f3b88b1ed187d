/**
 * The TURN host scripts, run by the real bash with `systemctl` recorded on PATH (systemd cannot run here):
 * turn-off.sh removes the stream file and disables coturn; both refuse a path outside their directory; and
 * restart-service.sh's STUN health wait against real coturn.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCRIPTS } from "../../infra/scripts.ts";
import { startLoopbackCoturn, type LoopbackCoturn } from "../support/coturn.ts";
import { freePort } from "../support/ports.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "turn-scripts-"));
  await writeFile(join(dir, "systemctl"), `#!/bin/sh\nprintf '%s\\n' "systemctl $*" >> '${join(dir, "calls")}'\n`);
  await chmod(join(dir, "systemctl"), 0o755);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function runScript(script: string, env: Record<string, string>): Promise<{ code: number; output: string; calls: string[] }> {
  const path = fileURLToPath(new URL(`../../infra/${script}`, import.meta.url));
  return new Promise((resolve) => {
    execFile("bash", [path], { env: { PATH: `${dir}:/usr/bin:/bin`, ...env } }, async (error, stdout, stderr) => {
      const calls = (await readFile(join(dir, "calls"), "utf8").catch(() => "")).split("\n").filter(Boolean);
      await rm(join(dir, "calls"), { force: true });
      resolve({ code: error === null ? 0 : Number(error.code), output: stdout + stderr, calls });
    });
  });
}

describe("turn-off.sh", () => {
  it("removes the stream file (absent is fine) and stops and disables coturn", async () => {
    const file = `/etc/nginx/modules-enabled/absent-${randomBytes(4).toString("hex")}.conf`;
    const result = await runScript(SCRIPTS.turnOff, { JITSI_STREAM_FILE: file });
    expect(result.code).toBe(0);
    expect(result.calls).toEqual(["systemctl cat coturn.service", "systemctl disable --now coturn"]);
    expect(result.output).toContain("coturn stopped and disabled");
  });

  it("refuses to remove anything outside /etc/nginx", async () => {
    const victim = join(dir, "keep.conf");
    await writeFile(victim, "x");
    const result = await runScript(SCRIPTS.turnOff, { JITSI_STREAM_FILE: victim });
    expect(result.code).toBe(2);
    expect(result.output).toContain("JITSI_STREAM_FILE must be under /etc/nginx");
    expect(await readFile(victim, "utf8")).toBe("x");
    expect(result.calls).toEqual([]);
  });
});

describe("run-renewal-hook.sh", () => {
  it("runs only a hook in certbot's deploy directory", async () => {
    const elsewhere = join(dir, "hook.sh");
    await writeFile(elsewhere, "#!/bin/sh\ntouch ran\n");
    await chmod(elsewhere, 0o755);
    const result = await runScript(SCRIPTS.runRenewalHook, { JITSI_HOOK: elsewhere });
    expect(result.code).toBe(2);
    expect(result.output).toContain("JITSI_HOOK must be under /etc/letsencrypt/renewal-hooks/deploy");
  });
});

describe("restart-service.sh health wait for coturn (STUN Binding on its UDP port)", () => {
  let coturn: LoopbackCoturn;
  beforeAll(async () => {
    coturn = await startLoopbackCoturn({ turn: { secret: "healthTurnSecret0123456789abcdefghijklmn", vpcCidr: "10.0.0.0/16" }, publicIp: "198.51.100.90" });
  }, 30_000);
  afterAll(async () => {
    await coturn?.stop();
  });

  it("is healthy once real coturn answers a STUN Binding", async () => {
    const result = await runScript(SCRIPTS.restartService, {
      JITSI_SERVICE: "coturn",
      JITSI_ACTION: "restart",
      JITSI_HEALTH_STUN_PORT: String(coturn.udp.port),
      JITSI_HEALTH_TIMEOUT: "10",
    });
    expect(result.output).toContain("restart-service: coturn restarted and healthy");
    expect(result.code).toBe(0);
    expect(result.calls).toEqual(["systemctl enable --quiet coturn", "systemctl restart coturn", "systemctl is-active --quiet coturn"]);
  });

  it("times out naming the silent port when nothing answers STUN", async () => {
    const silent = await freePort();
    const result = await runScript(SCRIPTS.restartService, {
      JITSI_SERVICE: "coturn",
      JITSI_ACTION: "restart",
      JITSI_HEALTH_STUN_PORT: String(silent),
      JITSI_HEALTH_TIMEOUT: "1",
    });
    expect(result.code).toBe(1);
    expect(result.output).toContain(`coturn: not healthy after 1s (last: no STUN answer on udp/${String(silent)})`);
  }, 20_000);
});
