#!/bin/bash
# Drain watcher of a pool videobridge (a systemd service). Polls the instance metadata for the Auto Scaling
# Group's decision to terminate this instance; then runs Jitsi's graceful shutdown — the bridge takes no new
# conferences and exits once its participants have left — for at most DRAIN_TIMEOUT_SECONDS, stops the bridge
# and tells the group to go on with the termination. The lifecycle hook's heartbeat timeout is a little longer
# than that bound, so termination also proceeds if this script dies.
set -euo pipefail

POOL_ENV=${POOL_ENV:-/etc/jitsi-bridge/pool.env}
# shellcheck source=/dev/null
. "$POOL_ENV"
# Tests point these at local stand-ins.
IMDS_ENDPOINT=${IMDS_ENDPOINT:-http://169.254.169.254}
GRACEFUL_SHUTDOWN=${GRACEFUL_SHUTDOWN:-/usr/share/jitsi-videobridge/graceful_shutdown.sh}
POLL_SECONDS=${POLL_SECONDS:-5}

log() { echo "jitsi-bridge-drain: $*" >&2; }

imds() {
  local token
  token=$(curl -fsS --max-time 5 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" "$IMDS_ENDPOINT/latest/api/token")
  curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$IMDS_ENDPOINT/latest/meta-data/$1"
}

spot_notice_handled=false
while :; do
  state=$(imds autoscaling/target-lifecycle-state 2>/dev/null) || state=""
  if [ "$state" = "Terminated" ]; then
    break
  fi
  # A Spot interruption gives two minutes, too little to wait for conferences: leave the brewery at once so
  # Jicofo moves them to the other bridges instead of waiting for this one to time out.
  if [ "$spot_notice_handled" = false ] && imds spot/instance-action >/dev/null 2>&1; then
    log "spot interruption notice: stopping the bridge now"
    systemctl stop "$BRIDGE_SERVICE" || true
    spot_notice_handled=true
  fi
  sleep "$POLL_SECONDS"
done

log "termination requested: graceful shutdown, waiting at most ${DRAIN_TIMEOUT_SECONDS}s for conferences to end"
if timeout "$DRAIN_TIMEOUT_SECONDS" "$GRACEFUL_SHUTDOWN" -s; then
  log "bridge drained"
else
  log "bridge not drained in time (or the shutdown API refused): stopping it; Jicofo moves what is left"
fi
systemctl stop "$BRIDGE_SERVICE" || true

instance_id=$(imds instance-id)
region=$(imds placement/region)
for attempt in 1 2 3 4 5; do
  if aws autoscaling complete-lifecycle-action --region "$region" \
    --auto-scaling-group-name "$ASG_NAME" --lifecycle-hook-name "$LIFECYCLE_HOOK" \
    --instance-id "$instance_id" --lifecycle-action-result CONTINUE; then
    log "lifecycle action completed"
    exit 0
  fi
  [ "$attempt" -lt 5 ] && sleep 5
done
log "could not complete the lifecycle action; the hook's heartbeat timeout ends the wait"
exit 1
