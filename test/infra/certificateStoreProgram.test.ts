/**
 * The certificate store in the program, under mocks: one secret with no value resource, outside the instance; the
 * instance role may use that one secret only; the certificate step gets its ARN, the client on stdin and waits for
 * the role's access; and at preview one line says whether a fresh instance would need a new certificate, read
 * from the secret's tags (absent, fitting, stale, other names, other ACME server).
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ACME_DIRECTORIES } from "../../infra/provision.ts";
import { instanceStorePolicy, issuanceNotice, RENEW_BEFORE_DAYS, STORE_TAGS, storedFromTags } from "../../infra/certificateStore.ts";
import { SCRIPTS, scriptText } from "../../infra/scripts.ts";
import { baseConfig, byType, COMMAND, only, runProgram, type ProgramRun } from "./harness.ts";

const SECRET = "aws:secretsmanager/secret:Secret";
const DOMAIN = "meet.example.com";
const NAMES = [DOMAIN, `turn.${DOMAIN}`];
const DAY_MS = 86_400_000;

describe("the store in the program (mocked)", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(baseConfig());
  });

  it("is one secret with no value resource, tagged for the preview lookup, keeping the host's tags on refresh", () => {
    const secret = only(run, SECRET);
    expect(byType(run, "aws:secretsmanager/secretVersion:SecretVersion")).toEqual([]);
    expect(secret.inputs.secretString).toBeUndefined();
    expect(secret.inputs.tags).toMatchObject({ [STORE_TAGS.store]: "jitsi/dev/dev", "jitsi:deployment": "dev" });
    expect(secret.inputs.recoveryWindowInDays).toBe(7);
    const ignored = run.lifecycle.get(secret.name)?.ignoreChanges ?? [];
    for (const key of [STORE_TAGS.names, STORE_TAGS.notAfter, STORE_TAGS.acmeServer]) expect(ignored).toContain(`tags["${key}"]`);
  });

  it("the instance role may read, write and tag that one secret only", () => {
    const secret = only(run, SECRET);
    const arn = secret.state.arn as string;
    const policy = byType(run, "aws:iam/rolePolicy:RolePolicy").find((p) => p.name === "dev-certificate-store-access")!;
    expect(policy.inputs.role).toBe(`${only(run, "aws:iam/role:Role").name}-id`);
    const statements = JSON.parse(policy.inputs.policy as string).Statement as { Action: string | string[]; Resource: string; Condition?: unknown }[];
    expect(statements.every((s) => s.Resource === arn)).toBe(true);
    expect(statements.flatMap((s) => s.Action).sort()).toEqual(["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:TagResource"]);
    expect(statements.find((s) => s.Action === "secretsmanager:TagResource")?.Condition).toEqual({
      "ForAllValues:StringEquals": { "aws:TagKeys": [STORE_TAGS.names, STORE_TAGS.notAfter, STORE_TAGS.acmeServer] },
    });
    expect(JSON.stringify(statements)).not.toContain("*");
  });

  it("reaches the certificate step as a non-secret ARN, with the client on stdin, after the role's access", () => {
    const step = byType(run, COMMAND).find((c) => c.name.endsWith("-certificate"))!;
    const environment = step.inputs.environment as Record<string, string>;
    expect(environment.JITSI_CERT_STORE_ARN).toBe(only(run, SECRET).state.arn);
    expect(step.inputs.create).toContain("--preserve-env=DOMAIN,EMAIL,EXPECTED_IP,ACME_SERVER,EXTRA_DOMAINS,JITSI_CERT_STORE_ARN");
    expect(step.inputs.stdin).toBe(scriptText(SCRIPTS.certificateStore));
    expect(run.dependsOn.get(step.name)).toContain("dev-certificate-store-access");
  });

  it("is not a child of the instance: replacing the VM keeps it", () => {
    // Children of the host component would be named after it and registered under it; the store is a sibling.
    const secret = only(run, SECRET);
    const instance = only(run, "aws:ec2/instance:Instance");
    expect(run.dependsOn.get(secret.name) ?? []).not.toContain(instance.name);
    expect(JSON.stringify(secret.inputs)).not.toContain(`${instance.name}-id`);
  });
});

describe("the preview notice (mocked invokes)", () => {
  type Spy = { mock: { calls: unknown[][] } };
  let info: Spy;
  let warn: Spy;
  const lines = (spy: Spy) => spy.mock.calls.map((c) => String(c[0])).filter((l) => l.includes("certificate"));
  const capture = () => {
    info = vi.spyOn(console, "log");
    warn = vi.spyOn(console, "warn");
  };
  afterEach(() => vi.restoreAllMocks());
  const tags = (names: string[], days: number, server: string = ACME_DIRECTORIES.production) => ({
    [STORE_TAGS.store]: "jitsi/dev/dev",
    [STORE_TAGS.names]: names.join(" "),
    [STORE_TAGS.notAfter]: new Date(Date.now() + days * DAY_MS).toISOString().replace(/\.\d+Z$/, "Z"),
    [STORE_TAGS.acmeServer]: server,
  });

  it("nothing stored (a first deployment, or a destroyed and re-created stack): one warning, expected on a first deployment, naming the limit", async () => {
    capture();
    const run = await runProgram(baseConfig());
    expect(run.calls.filter((c) => c.token === "aws:secretsmanager/getSecrets:getSecrets")).toHaveLength(1);
    expect(lines(warn)).toEqual([expect.stringMatching(/No certificate for meet\.example\.com turn\.meet\.example\.com is in the certificate store: .*new one/)]);
    expect(lines(warn)[0]).toContain("Expected on a first deployment; after a destroyed and re-created stack");
    expect(lines(warn)[0]).toContain("5 certificates per exact set of names per 7 days");
    expect(lines(info)).toEqual([]);
  });

  it("a stored certificate that fits: nothing to say", async () => {
    capture();
    await runProgram(baseConfig(), { certificateStoreTags: tags(NAMES, 60) });
    expect([...lines(info), ...lines(warn)]).toEqual([]);
  });

  it("stale (inside the renewal window), TURN toggled, staging switched: one warning naming the reason and the limit", async () => {
    const cases: [Record<string, string>, Record<string, string>, RegExp][] = [
      [baseConfig(), tags(NAMES, 10), /expires .* within certbot's 30-day renewal window/],
      [{ ...baseConfig(), "jitsi:turn": "false" }, tags(NAMES, 60), /is for meet\.example\.com turn\.meet\.example\.com, the configuration asks for meet\.example\.com\b/],
      [{ ...baseConfig(), "jitsi:letsEncryptStaging": "true" }, tags(NAMES, 60), /comes from .*acme-v02.*asks for .*acme-staging-v02.*letsEncryptStaging changed/],
    ];
    for (const [config, stored, reason] of cases) {
      capture();
      await runProgram(config, { certificateStoreTags: stored });
      expect(lines(warn)).toEqual([expect.stringMatching(reason)]);
      expect(lines(warn)[0]).toContain("5 certificates per exact set of names per 7 days");
      vi.restoreAllMocks();
    }
  });

  it("a lookup the deployer may not make: one warning, and the program still runs", async () => {
    capture();
    const run = await runProgram(baseConfig(), { certificateStoreLookupFails: true });
    expect(byType(run, SECRET)).toHaveLength(1);
    // (The mocks pass the invoke's error on without its message; under the engine the line carries AWS's reason.)
    expect(lines(warn)).toEqual([expect.stringMatching(/Could not read what the certificate store holds \(.+\); a replaced instance may need a new certificate/)]);
    expect(lines(info)).toEqual([]);
  });

  it("a secret the host has not written yet counts as nothing stored", async () => {
    capture();
    await runProgram(baseConfig(), { certificateStoreTags: { [STORE_TAGS.store]: "jitsi/dev/dev" } });
    expect(lines(warn)).toEqual([expect.stringMatching(/is in the certificate store: .*Expected on a first deployment/)]);
    expect(lines(info)).toEqual([]);
  });
});

describe("issuanceNotice and the tag contract", () => {
  const wanted = { names: NAMES, acmeServer: ACME_DIRECTORIES.production };
  const now = new Date("2026-11-29T12:00:00Z");

  it("restores (no notice) at exactly the window's edge plus one second, warns inside it", () => {
    const edge = new Date(now.getTime() + RENEW_BEFORE_DAYS * DAY_MS);
    const at = (t: Date) => issuanceNotice({ names: [...NAMES].reverse(), notAfter: t.toISOString(), acmeServer: wanted.acmeServer }, wanted, now);
    expect(at(new Date(edge.getTime() + 1000))).toBeUndefined();
    expect(at(new Date(edge.getTime() - 1000))?.level).toBe("warn");
  });

  it("an unreadable expiry warns rather than passing", () => {
    expect(issuanceNotice({ names: NAMES, notAfter: "soon", acmeServer: wanted.acmeServer }, wanted, now)?.message).toContain("unreadable");
  });

  it("reads the host's tags, and needs all three", () => {
    expect(storedFromTags({ [STORE_TAGS.names]: "a.example b.example", [STORE_TAGS.notAfter]: "2027-01-01T00:00:00Z", [STORE_TAGS.acmeServer]: "https://x/dir" })).toEqual({
      names: ["a.example", "b.example"],
      notAfter: "2027-01-01T00:00:00Z",
      acmeServer: "https://x/dir",
    });
    expect(storedFromTags({ [STORE_TAGS.names]: "a.example" })).toBeUndefined();
  });

  it("the host client writes exactly these tag keys", () => {
    const client = scriptText(SCRIPTS.certificateStore);
    expect(client).toContain(`TAG_NAMES = "${STORE_TAGS.names}"`);
    expect(client).toContain(`TAG_NOT_AFTER = "${STORE_TAGS.notAfter}"`);
    expect(client).toContain(`TAG_SERVER = "${STORE_TAGS.acmeServer}"`);
    expect(JSON.parse(instanceStorePolicy("arn:x")).Statement[1].Condition["ForAllValues:StringEquals"]["aws:TagKeys"]).toHaveLength(3);
  });
});
