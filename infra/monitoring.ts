/**
 * CloudWatch alarms on the server's EC2 status checks, the two health signals AWS measures without an agent:
 * - the *system* check (AWS's hardware, host or network under the instance) fails → EC2 **recovers** the instance
 *   onto healthy hardware: same instance id, private IP, Elastic IP association and EBS volumes, so DNS, the
 *   certificate and the Jitsi install all survive;
 * - the *instance* check (the guest: kernel, network config, exhausted memory) fails → EC2 **reboots** it.
 * With `alarmEmail`, both alarms (and their return to OK) are also sent to that address through an SNS topic.
 *
 * Not here: disk use. EC2 publishes no file-system metric; it needs the CloudWatch agent on the host and an
 * instance role allowed to put metrics (docs/deploy.md, "Monitoring").
 *
 * AWS: "Recover your instance" / "Create alarms that stop, terminate, reboot, or recover an instance" in the EC2
 * user guide (action ARNs `arn:<partition>:automate:<region>:ec2:recover` and `…:ec2:reboot`).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { EMAIL_PATTERN } from "./config.ts";

export interface JitsiMonitoringArgs {
  /** The instance the alarms watch and act on. */
  readonly instanceId: pulumi.Input<string>;
  /**
   * Optional e-mail address told about every alarm and its return to OK (an SNS topic with an e-mail
   * subscription; AWS sends a confirmation mail first, and nothing is delivered until it is confirmed).
   * Omitted: no topic, the alarms only recover or reboot.
   */
  readonly alarmEmail?: string;
  readonly tags?: Record<string, string>;
}

/** Minutes a status check must fail in a row before the alarm acts (1-minute periods). */
export const STATUS_CHECK_MINUTES = { system: 2, instance: 3 } as const;

export class JitsiMonitoring extends pulumi.ComponentResource {
  /** Recovers the instance when AWS's system status check fails. */
  readonly systemCheckAlarm: aws.cloudwatch.MetricAlarm;
  /** Reboots the instance when its own (guest) status check fails. */
  readonly instanceCheckAlarm: aws.cloudwatch.MetricAlarm;
  /** The notification topic, only with `alarmEmail`. */
  readonly alarmTopic: aws.sns.Topic | undefined;

  /** @throws pulumi.RunError when `alarmEmail` is not an e-mail address (before anything is created). */
  constructor(name: string, args: JitsiMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    if (args.alarmEmail !== undefined && !EMAIL_PATTERN.test(args.alarmEmail)) {
      throw new pulumi.RunError(`JitsiMonitoring ${name}: alarmEmail must be an e-mail address like ops@example.com (got ${JSON.stringify(args.alarmEmail)})`);
    }
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

    this.registerOutputs({ alarmTopicArn: this.alarmTopic?.arn });
  }
}
