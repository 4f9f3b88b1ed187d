#!/bin/bash
# Publishes the used percentage of the root file system to CloudWatch (run by jitsi-disk-metric.timer).
# Namespace JitsiMeet, metric DiskUsedPercent, unit Percent, dimension InstanceId: the names infra/diskMetric.ts
# alarms on. Credentials: the instance role (allowed cloudwatch:PutMetricData in this namespace only), which the
# AWS CLI reads from the instance metadata service itself; instance id and region come from the same service
# (IMDSv2: a session token first). JITSI_IMDS_URL exists for the test's stand-in only.
set -euo pipefail

imds=${JITSI_IMDS_URL:-http://169.254.169.254}
token=$(curl -fsS --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "$imds/latest/api/token")
meta() { curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/$1"; }
instance=$(meta instance-id)
region=$(meta placement/region)
# df's own rounding (used / (used + available), rounded up), the figure an operator sees with `df -h /`.
used=$(df --output=pcent / | tail -n 1 | tr -dc '0-9')

[[ $instance =~ ^i-[0-9a-f]{8,17}$ ]] || { echo "unexpected instance id from the metadata service: ${instance:0:40}" >&2; exit 1; }
[[ $region =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]] || { echo "unexpected region from the metadata service: ${region:0:40}" >&2; exit 1; }
[[ $used =~ ^[0-9]{1,3}$ ]] || { echo "df printed no percentage for /" >&2; exit 1; }

aws cloudwatch put-metric-data --region "$region" --namespace JitsiMeet --metric-name DiskUsedPercent \
  --unit Percent --value "$used" --dimensions "InstanceId=$instance"
