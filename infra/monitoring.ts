/**
 * CloudWatch alarms on the server's EC2 status checks, the two health signals AWS measures without an agent:
 * - the *system* check (AWS's hardware, host or network under the instance) fails → EC2 **recovers** the instance
 *   onto healthy hardware: same instance id, private IP, Elastic IP association and EBS volumes, so DNS, the
 *   certificate and the Jitsi install all survive;
 * - the *instance* check (the guest: kernel, network config, exhausted memory) fails → EC2 **reboots** it.
 * And, when the host publishes it (`diskMetricPublisher`), one on disk use: the root file system at or above
 * 85 % for 10 minutes (infra/diskMetric.ts; EC2 measures no file-system metric, the host's own timer does).
 * With `alarmEmail`, every alarm (and its return to OK) is also sent to that address through an SNS topic.
 *
 * AWS: "Recover your instance" / "Create alarms that stop, terminate, reboot, or recover an instance" in the EC2
 * user guide (action ARNs `arn:<partition>:automate:<region>:ec2:recover` and `…:ec2:reboot`).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { emailProblem } from "jitsi-jwt-token/shared";
import { DISK_ALARM, DISK_METRIC_PERIOD_SECONDS, DISK_USED_METRIC, METRIC_NAMESPACE } from "./diskMetric.ts";

export interface JitsiMonitoringArgs {
  /** The instance the alarms watch and act on. */
  readonly instanceId: pulumi.Input<string>;
  /**
   * Optional e-mail address told about every alarm and its return to OK (an SNS topic with an e-mail
   * subscription; AWS sends a confirmation mail first, and nothing is delivered until it is confirmed).
   * Omitted: no topic, the alarms only recover or reboot.
   */
  readonly alarmEmail?: string;
  /**
   * The provisioning step that installs the disk-use publisher on this instance and has published once. Given:
   * the disk alarm is created after it. Omitted: no disk alarm (an alarm on a metric nobody publishes would only
   * ever report missing data).
   */
  readonly diskMetricPublisher?: pulumi.Resource;
  readonly tags?: Record<string, string>;
}

/** Minutes a status check must fail in a row before the alarm acts (1-minute periods). */
export const STATUS_CHECK_MINUTES = { system: 2, instance: 3 } as const;

export class JitsiMonitoring extends pulumi.ComponentResource {
  /** Recovers the instance when AWS's system status check fails. */
  readonly systemCheckAlarm: aws.cloudwatch.MetricAlarm;
  /** Reboots the instance when its own (guest) status check fails. */
  readonly instanceCheckAlarm: aws.cloudwatch.MetricAlarm;
  /** Root file system at or above DISK_ALARM.thresholdPercent; only with `diskMetricPublisher`. */
  readonly diskAlarm: aws.cloudwatch.MetricAlarm | undefined;
  /** The notification topic, only with `alarmEmail`. */
  readonly alarmTopic: aws.sns.Topic | undefined;

  /** @throws pulumi.RunError when `alarmEmail` is not an e-mail address (before anything is created). */
  constructor(name: string, args: JitsiMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    // The shared e-mail rule (jitsi-jwt-token/shared), the one the stack reader and JitsiServer apply.
    const wrong = args.alarmEmail === undefined ? undefined : emailProblem(args.alarmEmail);
    if (wrong !== undefined) throw new pulumi.RunError(`JitsiMonitoring ${name}: alarmEmail ${wrong} (got ${JSON.stringify(args.alarmEmail)})`);
    super("jitsi:index:JitsiMonitoring", name, {}, opts);

    // Region and partition of the provider this component runs with (not the machine's default).
    const region = aws.getRegionOutput({}, { parent: this }).region;
    const partition = aws.getPartitionOutput({}, { parent: this }).partition;
    const ec2Action = (action: "recover" | "reboot") => pulumi.interpolate`arn:${partition}:automate:${region}:ec2:${action}`;

    this.alarmTopic =
      args.alarmEmail === undefined ? undefined : new aws.sns.Topic(`${name}-alarms`, { tags: args.tags }, { parent: this });
    if (this.alarmTopic !== undefined) {
      new aws.sns.TopicSubscription(
        `${name}-alarms-email`,
        { topic: this.alarmTopic.arn, protocol: "email", endpoint: args.alarmEmail! },
        { parent: this },
      );
    }
    const notify = this.alarmTopic === undefined ? [] : [this.alarmTopic.arn];

    const statusAlarm = (suffix: string, metricName: string, minutes: number, action: pulumi.Output<string>, description: string) =>
      new aws.cloudwatch.MetricAlarm(
        `${name}-${suffix}`,
        {
          namespace: "AWS/EC2",
          metricName,
          dimensions: { InstanceId: args.instanceId },
          statistic: "Maximum",
          period: 60,
          evaluationPeriods: minutes,
          threshold: 1,
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          // No data (instance stopped, metrics delayed) is not a failure: act only on a reported failed check.
          treatMissingData: "missing",
          alarmDescription: description,
          alarmActions: [action, ...notify],
          okActions: notify,
          tags: args.tags,
        },
        { parent: this },
      );

    this.systemCheckAlarm = statusAlarm(
      "system-check",
      "StatusCheckFailed_System",
      STATUS_CHECK_MINUTES.system,
      ec2Action("recover"),
      `Jitsi server: AWS system status check failed ${STATUS_CHECK_MINUTES.system} minutes in a row; recovering the instance onto healthy hardware`,
    );
    this.instanceCheckAlarm = statusAlarm(
      "instance-check",
      "StatusCheckFailed_Instance",
      STATUS_CHECK_MINUTES.instance,
      ec2Action("reboot"),
      `Jitsi server: instance status check failed ${STATUS_CHECK_MINUTES.instance} minutes in a row; rebooting it`,
    );

    // Missing data counts as breaching: the publisher falling silent (timer stopped, CLI broken, role removed) must
    // not leave the operator believing the disk is fine. A stopped instance alarms too, which is honest; before
    // the first data point the alarm does not exist yet (created after the step that published once).
    const minutes = (DISK_METRIC_PERIOD_SECONDS * DISK_ALARM.periods) / 60;
    this.diskAlarm =
      args.diskMetricPublisher === undefined
        ? undefined
        : new aws.cloudwatch.MetricAlarm(
            `${name}-disk-used`,
            {
              namespace: METRIC_NAMESPACE,
              metricName: DISK_USED_METRIC,
              dimensions: { InstanceId: args.instanceId },
              statistic: "Maximum",
              period: DISK_METRIC_PERIOD_SECONDS,
              evaluationPeriods: DISK_ALARM.periods,
              threshold: DISK_ALARM.thresholdPercent,
              comparisonOperator: "GreaterThanOrEqualToThreshold",
              treatMissingData: "breaching",
              alarmDescription: `Jitsi server: root file system at least ${DISK_ALARM.thresholdPercent} % full for ${minutes} minutes, or no disk figure from the host for that long (docs/deploy.md, "Monitoring and logs")`,
              alarmActions: notify,
              okActions: notify,
              tags: args.tags,
            },
            { parent: this, dependsOn: [args.diskMetricPublisher] },
          );

    this.registerOutputs({ alarmTopicArn: this.alarmTopic?.arn });
  }
}
