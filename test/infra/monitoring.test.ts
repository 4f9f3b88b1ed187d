/**
 * The CloudWatch alarms (infra/monitoring.ts) as the real program registers them under mocks: the system check
 * recovers, the instance check reboots, both watch this instance, the disk alarm watches what the host publishes,
 * and `jitsi:alarmEmail` adds exactly one SNS topic with an e-mail subscription that every alarm notifies.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { DISK_ALARM, DISK_METRIC_PERIOD_SECONDS, DISK_USED_METRIC, METRIC_NAMESPACE } from "../../infra/diskMetric.ts";
import { JitsiMonitoring, STATUS_CHECK_MINUTES } from "../../infra/monitoring.ts";
import { baseConfig, byType, only, runProgram, TYPES, type ProgramRun } from "./harness.ts";

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const TOPIC = "aws:sns/topic:Topic";
const SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription";

const alarm = (run: ProgramRun, metricName: string) => {
  const found = byType(run, ALARM).filter((a) => a.inputs.metricName === metricName);
  expect(found, metricName).toHaveLength(1);
  return found[0]!.inputs;
};

describe("status-check alarms, no e-mail", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(baseConfig());
  });

  it("recovers the instance after the system status check fails twice in a row", () => {
    expect(alarm(run, "StatusCheckFailed_System")).toMatchObject({
      namespace: "AWS/EC2",
      dimensions: { InstanceId: `${only(run, TYPES.instance).name}-id` },
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: STATUS_CHECK_MINUTES.system,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "missing",
      alarmActions: ["arn:aws:automate:eu-central-1:ec2:recover"],
      okActions: [],
    });
  });

  it("reboots the instance after its own status check fails three times in a row", () => {
    expect(alarm(run, "StatusCheckFailed_Instance")).toMatchObject({
      dimensions: { InstanceId: `${only(run, TYPES.instance).name}-id` },
      evaluationPeriods: STATUS_CHECK_MINUTES.instance,
      alarmActions: ["arn:aws:automate:eu-central-1:ec2:reboot"],
      okActions: [],
    });
  });

  it("alarms when the root file system is 85 % full for 10 minutes, or the host stops reporting it", () => {
    expect(DISK_METRIC_PERIOD_SECONDS * DISK_ALARM.periods).toBe(600);
    expect(alarm(run, DISK_USED_METRIC)).toMatchObject({
      namespace: METRIC_NAMESPACE,
      dimensions: { InstanceId: `${only(run, TYPES.instance).name}-id` },
      statistic: "Maximum",
      period: DISK_METRIC_PERIOD_SECONDS,
      evaluationPeriods: DISK_ALARM.periods,
      threshold: 85,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "breaching",
      alarmActions: [],
      okActions: [],
    });
  });

  it("creates no SNS topic and no other alarm", () => {
    expect(byType(run, TOPIC)).toEqual([]);
    expect(byType(run, SUBSCRIPTION)).toEqual([]);
    expect(byType(run, ALARM)).toHaveLength(3);
  });
});

describe("with jitsi:alarmEmail", () => {
  it("mails every alarm and its return to OK through one topic with an e-mail subscription", async () => {
    const run = await runProgram({ ...baseConfig(), "jitsi:alarmEmail": "oncall@example.com" });
    const topic = only(run, TOPIC);
    const topicArn = `arn:aws:sns:eu-central-1:123456789012:${topic.name}`;
    expect(only(run, SUBSCRIPTION).inputs).toMatchObject({ topic: topicArn, protocol: "email", endpoint: "oncall@example.com" });
    expect(alarm(run, "StatusCheckFailed_System")).toMatchObject({
      alarmActions: ["arn:aws:automate:eu-central-1:ec2:recover", topicArn],
      okActions: [topicArn],
    });
    expect(alarm(run, "StatusCheckFailed_Instance")).toMatchObject({
      alarmActions: ["arn:aws:automate:eu-central-1:ec2:reboot", topicArn],
      okActions: [topicArn],
    });
    expect(alarm(run, DISK_USED_METRIC)).toMatchObject({ alarmActions: [topicArn], okActions: [topicArn] });
  });
});

describe("JitsiMonitoring used directly", () => {
  it("refuses an alarmEmail that is not an address, naming the field, before creating anything", () => {
    expect(() => new JitsiMonitoring("m", { instanceId: "i-0123", alarmEmail: "oncall" })).toThrow(pulumi.RunError);
    expect(() => new JitsiMonitoring("m", { instanceId: "i-0123", alarmEmail: "on call@example.com" })).toThrow(
      /JitsiMonitoring m: alarmEmail must be a plain e-mail address such as ops@example\.com .*\(got "on call@example.com"\)/,
    );
  });
});
