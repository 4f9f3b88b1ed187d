/**
 * Only root may reach the instance metadata service (infra/scripts/imds-root-only.sh), run for real: the shipped
 * script under bash with the real nft, in a network namespace of its own (the machine's firewall is never
 * touched) and a private mount namespace whose /etc is an overlay (what the script writes lands in the overlay's
 * upper directory, which the test reads). A listener on every local address stands in for the IMDS: the IMDS
 * addresses 169.254.169.254 and fd00:ec2::254, and the Amazon DNS resolver's 169.254.169.253, are put on lo.
 * systemd cannot run here: a stand-in systemctl records its calls; the boot path is played by running the unit's
 * own ExecStart= in a second, fresh network namespace. The program's step is checked under Pulumi's mocks.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCRIPTS, scriptCommand, scriptText } from "../../infra/scripts.ts";
import { baseConfig, byType, COMMAND, runProgram, type ProgramRun } from "./harness.ts";

const script = fileURLToPath(new URL(`../../infra/${SCRIPTS.imdsRootOnly}`, import.meta.url));
const RULES = "jitsi-imds-root-only.nft"; // under /etc
const UNIT = "systemd/system/jitsi-imds-root-only.service"; // under /etc

const canRun =
  process.getuid?.() === 0 &&
  ["unshare", "nft", "setpriv", "ip", "/usr/bin/python3"].every((tool) => spawnSync("bash", ["-c", `command -v ${tool}`]).status === 0);

const SCENARIO = fileURLToPath(new URL("imdsRootOnly.scenario.sh", import.meta.url));

const LISTEN = `import socket
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 80))
s.listen(64)
while True:
    c, _ = s.accept()
    c.close()
`;
/** Connects to ADDRESS:80; prints "connected" or the errno's name (exit 1). */
const PROBE = `import errno, socket, sys
host = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
s.settimeout(5)
try:
    s.connect((host, 80))
    print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))
    sys.exit(1)
`;

describe.runIf(canRun || process.env.CI === "true")("imds-root-only.sh (real nft in a network namespace)", () => {
  let dir: string;
  let out: Record<string, string>;
  let calls: string;
  let tables: [string, string];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "imds-root-only-"));
    chmodSync(dir, 0o755); // nobody runs the probe from here
    for (const sub of ["upper", "work", "bin"]) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, "listen.py"), LISTEN, { mode: 0o644 });
    writeFileSync(join(dir, "probe.py"), PROBE, { mode: 0o644 });
    writeFileSync(join(dir, "bin", "systemctl"), `#!/bin/sh\necho "systemctl $*" >>"${join(dir, "calls")}"\n`, { mode: 0o755 });
    const result = spawnSync("unshare", ["--mount", "--net", "--propagation", "private", "bash", SCENARIO, dir, script], {
      encoding: "utf8",
      timeout: 60_000,
    });
    if (result.status !== 0) throw new Error(`scenario failed (${String(result.status)}): ${result.stderr}${result.stdout}`);
    out = Object.fromEntries(
      result.stdout
        .split("\n")
        .filter((line) => line.includes("="))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    calls = execFileSync("cat", [join(dir, "calls")], { encoding: "utf8" });
    tables = [execFileSync("cat", [join(dir, "table.first")], { encoding: "utf8" }), execFileSync("cat", [join(dir, "table.second")], { encoding: "utf8" })];
  }, 90_000);

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("before the script, any user reaches the metadata address (the probe can succeed)", () => {
    expect(out["before.v4.root"]).toBe("connected");
    expect(out["before.v4.nobody"]).toBe("connected");
  });

  it("afterwards root still reaches the IMDS over IPv4 and IPv6; another uid is refused at once", () => {
    expect(out["first.code"]).toBe("0");
    expect(out["v4.root"]).toBe("connected");
    expect(out["v4.nobody"]).toBe("ECONNREFUSED");
    expect(out["v6.root"]).toBe("connected");
    expect(out["v6.nobody"]).toBe("ECONNREFUSED");
    expect(out["curl.nobody"]).toMatch(/Failed to connect to 169\.254\.169\.254 port 80 after \d+ ms/);
  });

  it("leaves the other link-local services (the Amazon DNS resolver) open to everyone", () => {
    expect(out["dns.root"]).toBe("connected");
    expect(out["dns.nobody"]).toBe("connected");
  });

  it("is idempotent: a second run succeeds and leaves exactly one, identical table", () => {
    expect(out["second.code"]).toBe("0");
    expect(tables[1]).toBe(tables[0]);
    expect(tables[0]).toContain("meta skuid != 0");
    expect(out.tables!.trim()).toBe("table inet jitsi_imds");
    expect(out["again.v4.root"]).toBe("connected");
    expect(out["again.v4.nobody"]).toBe("ECONNREFUSED");
  });

  it("writes only its rule file and unit, root-owned and not world-writable, and enables the unit", () => {
    expect(out.upper!.trim().split(" ").sort()).toEqual([`./${RULES}`, `./${UNIT}`]);
    expect(out[`stat.${RULES}`]).toBe("root:root 644");
    expect(out[`stat.${UNIT}`]).toBe("root:root 644");
    expect(calls.trim().split("\n")).toEqual([
      "systemctl daemon-reload",
      "systemctl enable --now jitsi-imds-root-only.service",
      "systemctl daemon-reload",
      "systemctl enable --now jitsi-imds-root-only.service",
    ]);
  });

  it("at boot, the unit's own command loads the rule into an empty namespace", () => {
    expect(out.execstart).toMatch(/^\/\S*nft -f \/etc\/jitsi-imds-root-only\.nft$/);
    expect(out["boot.before.nobody"]).toBe("connected");
    expect(out["boot.code"]).toBe("0");
    expect(out["boot.root"]).toBe("connected");
    expect(out["boot.nobody"]).toBe("ECONNREFUSED");
  });
});

describe("the rule in the program (mocked)", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(baseConfig());
  });

  it("the host's own step runs the script after prepare, and Jitsi's install (which creates the service accounts) waits for it", () => {
    const steps = byType(run, COMMAND);
    const step = steps.find((c) => c.name.endsWith("-imds-root-only"));
    expect(step?.inputs.create).toBe(scriptCommand(scriptText(SCRIPTS.imdsRootOnly)));
    expect(run.dependsOn.get(step!.name)).toEqual([steps.find((c) => c.name.endsWith("-prepare"))!.name]);
    expect(run.dependsOn.get(steps.find((c) => c.name.endsWith("-install"))!.name)).toEqual([step!.name]);
  });
});
