/**
 * The root file system's used percentage, the one host metric EC2 cannot measure without help: a systemd timer on
 * the host (infra/scripts/disk-metric.sh, installed by scripts/install-disk-metric.sh) publishes it with
 * `aws cloudwatch put-metric-data` under the instance's own role, and JitsiMonitoring alarms on it.
 * The names here are the contract between the two; the host script carries the same literals (a test runs it and
 * compares).
 */

/** CloudWatch namespace of this project's own metrics; the instance role may put metrics into this one only. */
export const METRIC_NAMESPACE = "JitsiMeet";

/** Used space of `/` in percent (df's figure, whole numbers), dimension `InstanceId`, unit `Percent`. */
export const DISK_USED_METRIC = "DiskUsedPercent";

/** How often the host publishes, and the alarm period (seconds): five minutes keeps it to ~8,600 requests a month. */
export const DISK_METRIC_PERIOD_SECONDS = 300;

/** The alarm: used percentage at or above `thresholdPercent` in `periods` periods in a row (10 minutes). */
export const DISK_ALARM = { thresholdPercent: 85, periods: 2 } as const;
