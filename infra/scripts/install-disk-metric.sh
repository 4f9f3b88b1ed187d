#!/bin/bash
# Installs the disk-use publisher: the AWS CLI (snap), /usr/local/sbin/jitsi-disk-metric (the text of
# disk-metric.sh, on stdin) and a systemd timer running it every 5 minutes; then publishes once, which proves that
# the instance role and the CLI work before the alarm is created.
#
# Why the snap: Ubuntu 24.04 packages no awscli (the .deb left the archive), and the CloudWatch agent is a .deb
# fetched from an S3 URL that we would have to verify ourselves. The aws-cli snap is published by AWS (verified
# publisher in the Snap Store) and snapd checks its signature assertions on install and refresh; snapd and its
# automatic refreshes are already on Canonical's AMIs. One metric does not need the agent.
set -euo pipefail

publisher=/usr/local/sbin/jitsi-disk-metric
unit=/etc/systemd/system/jitsi-disk-metric

[[ -x /snap/bin/aws ]] || snap install aws-cli --classic

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
[[ -s $tmp ]] || { echo "no publisher script on stdin" >&2; exit 1; }
install -m 0755 -o root -g root "$tmp" "$publisher"

cat >"$unit.service" <<'UNIT'
[Unit]
Description=Publish the root file system's used percentage to CloudWatch (JitsiMeet/DiskUsedPercent)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
# /snap/bin is not on systemd's default PATH; HOME is not set for a system service without User=, and the CLI
# (and snap run) look for their per-user directories under it.
Environment=PATH=/snap/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
ExecStart=/usr/local/sbin/jitsi-disk-metric
UNIT

cat >"$unit.timer" <<'UNIT'
[Unit]
Description=Publish disk use to CloudWatch every 5 minutes

[Timer]
OnBootSec=1min
OnUnitActiveSec=5min
AccuracySec=30s

[Install]
WantedBy=timers.target
UNIT

systemctl daemon-reload
systemctl enable --now jitsi-disk-metric.timer

# The role's credentials may take a little while to reach a running instance after its profile changed (IAM is
# eventually consistent): try for up to two minutes, then fail the step with the publisher's own messages.
for _ in $(seq 1 12); do
  if systemctl start jitsi-disk-metric.service; then
    echo "disk use published"
    exit 0
  fi
  sleep 10
done
journalctl -u jitsi-disk-metric.service -n 20 --no-pager >&2 || true
echo "could not publish disk use to CloudWatch (see above)" >&2
exit 1
