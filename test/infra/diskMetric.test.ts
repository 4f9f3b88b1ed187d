/**
 * Disk use, end to end as far as it runs here: the instance role the program gives the host (only
 * cloudwatch:PutMetricData, only in our namespace), the step that installs the publisher, and the publisher
 * itself run for real against a stand-in instance metadata service (IMDSv2, token required) and a stand-in `aws`
 * that records its arguments, compared with the names the alarm watches and with this machine's own `df`.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DISK_USED_METRIC, METRIC_NAMESPACE } from "../../infra/diskMetric.ts";
import { SCRIPTS, scriptText } from "../../infra/scripts.ts";
import { freePort } from "../support/ports.ts";
import { baseConfig, byType, COMMAND, only, runProgram, TYPES, type ProgramRun } from "./harness.ts";

const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const PROFILE = "aws:iam/instanceProfile:InstanceProfile";

describe("the instance role (mocked program)", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(baseConfig());
  });

  it("is assumable by EC2 only and may put metrics only into the project's namespace (its other policy: certificateStoreProgram.test.ts)", () => {
    const role = only(run, ROLE);
    expect(JSON.parse(role.inputs.assumeRolePolicy as string)).toEqual({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
    expect(role.inputs.managedPolicyArns).toBeUndefined();
    const policies = byType(run, ROLE_POLICY);
    expect(policies.map((p) => p.name).sort()).toEqual(["dev-certificate-store-access", "dev-put-metrics"]);
    const policy = policies.find((p) => p.name === "dev-put-metrics")!;
    expect(policy.inputs.role).toBe(`${role.name}-id`);
    expect(JSON.parse(policy.inputs.policy as string).Statement).toEqual([
      {
        Effect: "Allow",
        Action: "cloudwatch:PutMetricData",
        Resource: "*",
        Condition: { StringEquals: { "cloudwatch:namespace": METRIC_NAMESPACE } },
      },
    ]);
  });

  it("reaches the instance through its instance profile", () => {
    const profile = only(run, PROFILE);
    expect(profile.inputs.role).toBe(only(run, ROLE).name);
    expect(only(run, TYPES.instance).inputs.iamInstanceProfile).toBe(profile.name);
  });

  it("installs the publisher after the host is prepared, its text on stdin, and the disk alarm waits for it", () => {
    const steps = byType(run, COMMAND).filter((c) => c.name.endsWith("-disk-metric"));
    expect(steps).toHaveLength(1);
    const step = steps[0]!;
    expect(step.inputs.stdin).toBe(scriptText(SCRIPTS.diskMetric));
    expect(step.inputs.create).toContain("snap install aws-cli --classic");
    expect(run.dependsOn.get(step.name)).toEqual([expect.stringMatching(/-prepare$/)]);
    const alarm = byType(run, "aws:cloudwatch/metricAlarm:MetricAlarm").find((a) => a.inputs.metricName === DISK_USED_METRIC);
    expect(alarm).toBeDefined();
    expect(run.dependsOn.get(alarm!.name)).toEqual([step.name]);
  });
});

describe("disk-metric.sh, run for real against stand-ins", () => {
  const TOKEN = "imds-session-token";
  const dir = mkdtempSync(join(tmpdir(), "jitsi-disk-"));
  const record = join(dir, "aws-args");
  let server: Server;
  let imdsUrl: string;
  const seen: string[] = [];
  const answers: Record<string, string> = {};
  const standardAnswers = {
    "/latest/meta-data/instance-id": "i-0123456789abcdef0",
    "/latest/meta-data/placement/region": "eu-central-1",
  };

  beforeAll(async () => {
    // IMDSv2 as EC2 serves it: PUT for a token, every GET must present it.
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.method === "PUT" && req.url === "/latest/api/token" && req.headers["x-aws-ec2-metadata-token-ttl-seconds"]) {
        res.end(TOKEN);
        return;
      }
      if (req.method !== "GET" || req.headers["x-aws-ec2-metadata-token"] !== TOKEN) {
        res.statusCode = 401;
        res.end();
        return;
      }
      res.statusCode = answers[req.url ?? ""] === undefined ? 404 : 200;
      res.end(answers[req.url ?? ""] ?? "");
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    imdsUrl = `http://127.0.0.1:${port}`;
    // The stand-in for the AWS CLI: one argument per line.
    writeFileSync(join(dir, "aws"), `#!/bin/bash\nprintf '%s\\n' "$@" >"${record}"\n`);
    chmodSync(join(dir, "aws"), 0o755);
  });
  afterAll(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const publish = (env: NodeJS.ProcessEnv) =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn("bash", [fileURLToPath(new URL(`../../infra/${SCRIPTS.diskMetric}`, import.meta.url))], {
        env: { PATH: `${dir}:${process.env.PATH}`, ...env },
      });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("close", (status) => resolve({ status, stderr }));
    });

  it("puts df's used percentage of / under the alarm's namespace, metric and InstanceId, in the instance's region", async () => {
    rmSync(record, { force: true });
    Object.assign(answers, standardAnswers);
    const result = await publish({ JITSI_IMDS_URL: imdsUrl });
    expect(result).toEqual({ status: 0, stderr: "" });
    const dfPercent = execFileSync("df", ["--output=pcent", "/"], { encoding: "utf8" }).trim().split("\n").pop()!.replace(/\D/g, "");
    expect(readFileSync(record, "utf8").split("\n").filter(Boolean)).toEqual([
      "cloudwatch",
      "put-metric-data",
      "--region",
      "eu-central-1",
      "--namespace",
      METRIC_NAMESPACE,
      "--metric-name",
      DISK_USED_METRIC,
      "--unit",
      "Percent",
      "--value",
      dfPercent,
      "--dimensions",
      "InstanceId=i-0123456789abcdef0",
    ]);
    expect(seen).toContain("PUT /latest/api/token");
  });

  it("refuses an instance id or region that is not one, before calling AWS", async () => {
    for (const [path, value, field] of [
      ["/latest/meta-data/instance-id", "i-0123 --namespace Other", "instance id"],
      ["/latest/meta-data/placement/region", "<html>", "region"],
    ] as const) {
      rmSync(record, { force: true });
      Object.assign(answers, standardAnswers, { [path]: value });
      const result = await publish({ JITSI_IMDS_URL: imdsUrl });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`unexpected ${field} from the metadata service`);
      expect(() => readFileSync(record)).toThrow();
    }
  });

  it("publishes nothing and fails when the metadata service does not answer", async () => {
    rmSync(record, { force: true });
    const closedPort = await freePort();
    const result = await publish({ JITSI_IMDS_URL: `http://127.0.0.1:${closedPort}` });
    expect(result.status).not.toBe(0);
    expect(() => readFileSync(record)).toThrow();
  });
});
