/**
 * No secret value (app secret, focus/jvb passwords, SSH private key) appears in plain text in any resource input
 * — commands, environments, user data, tags, triggers — or in a non-secret stack output. The scan walks every
 * input of every registered resource; secret-wrapped values are the only place secrets may live.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { allStrings, baseConfig, byType, COMMAND, MOCK, plainStrings, reveal, runProgram, type ProgramRun, rsaPublicKeyPem } from "./harness.ts";

const PEM = rsaPublicKeyPem();

interface Scenario {
  readonly label: string;
  readonly config: Record<string, string>;
  readonly secrets: (run: ProgramRun) => string[];
}

// The TURN secret too: jitsi:turn is on by default.
const passwords = ["dev-focus-password", "dev-jvb-password", "dev-turn-secret"].map(MOCK.password);
const sshKey = MOCK.privateKey("dev-ssh");

const SCENARIOS: Scenario[] = [
  {
    label: "HS256 with a configured app secret",
    config: baseConfig(),
    secrets: () => [baseConfig()["jitsi:appSecret"]!, ...passwords, sshKey],
  },
  {
    label: "HS256 with a generated app secret, guests off",
    config: (() => {
      const c: Record<string, string> = { ...baseConfig(), "jitsi:guests": "false" };
      delete c["jitsi:appSecret"];
      return c;
    })(),
    secrets: () => [MOCK.password("dev-app-secret"), ...passwords, sshKey],
  },
  {
    label: "RS256 with public keys",
    config: (() => {
      const c: Record<string, string> = { ...baseConfig(), "jitsi:tokenAlgorithm": "RS256", "jitsi:tokenPublicKeys": JSON.stringify({ k1: PEM }) };
      delete c["jitsi:appSecret"];
      return c;
    })(),
    secrets: () => [...passwords, sshKey],
  },
];

/** Fragments long enough to be unmistakable: the whole value and its key-material line. */
const needles = (secret: string) => [secret, ...secret.split("\n").filter((line) => line.length >= 16 && !line.startsWith("-----"))];

describe.each(SCENARIOS)("secrets stay secret: $label", (scenario) => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(scenario.config);
  });

  it("no resource input holds a secret outside a secret wrapper", () => {
    const leaks: string[] = [];
    for (const resource of run.resources) {
      for (const { path, text } of plainStrings(resource.inputs)) {
        for (const secret of scenario.secrets(run)) {
          if (needles(secret).some((n) => text.includes(n))) leaks.push(`${resource.type} ${resource.name} ${path}`);
        }
      }
    }
    expect(leaks).toEqual([]);
  });

  it("command strings and environments are plain and secret-free; secrets travel only on stdin", () => {
    for (const cmd of byType(run, COMMAND)) {
      expect(typeof cmd.inputs.create, cmd.name).toBe("string");
      const env = (cmd.inputs.environment ?? {}) as Record<string, unknown>;
      for (const value of Object.values(env)) expect(typeof value, cmd.name).toBe("string");
      const visible = [cmd.inputs.create as string, ...Object.values(env).map(String)].join("\n");
      for (const secret of scenario.secrets(run)) expect(visible).not.toContain(secret);
    }
  });

  it("non-secret outputs hold no secret", () => {
    for (const [name, output] of Object.entries(run.outputs)) {
      if (output.secret) continue;
      const text = JSON.stringify(output.value) ?? "";
      for (const secret of scenario.secrets(run)) expect(text, name).not.toContain(secret);
    }
  });

  it("the scan is not vacuous: every secret does reach the host, wrapped", () => {
    const wrapped = run.resources.flatMap((r) => allStrings(r.inputs)).join("\n");
    for (const secret of scenario.secrets(run)) {
      if (secret === sshKey) continue; // the key is the connection's, checked below
      expect(wrapped).toContain(secret);
    }
    const connection = reveal(byType(run, COMMAND)[0]!.inputs.connection) as Record<string, unknown>;
    expect(reveal(connection.privateKey)).toBe(sshKey);
  });
});
