#!/bin/bash
# First boot of a pool videobridge (run once by cloud-init, as root): install the bridge at the deployment's
# pinned version, put the rendered jvb.conf in place, hook the per-instance identity into the bridge's start and
# start the drain watcher. Every deployment-specific value comes from the pool env file that user data writes;
# it holds no secret (the XMPP password is fetched by the identity script at each bridge start).
set -euo pipefail

POOL_ENV=${POOL_ENV:-/etc/jitsi-bridge/pool.env}
# shellcheck source=/dev/null
. "$POOL_ENV"
# Tests write under a scratch root instead of the real file system; on an instance it is empty.
ROOT=${BRIDGE_ROOT:-}
RETRY_SECONDS=${RETRY_SECONDS:-15}
IMDS_ENDPOINT=${IMDS_ENDPOINT:-http://169.254.169.254}

export DEBIAN_FRONTEND=noninteractive

log() { echo "jitsi-bridge-boot: $*" >&2; }

# The group's launch hook holds a new bridge out of service until this script says CONTINUE (its XMPP client is
# connected); any failure says ABANDON at once, so the group replaces the instance (no answer: the hook's
# heartbeat runs out, default ABANDON).
imds() {
  local token
  token=$(curl -fsS --max-time 5 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" "$IMDS_ENDPOINT/latest/api/token")
  curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$IMDS_ENDPOINT/latest/meta-data/$1"
}
complete_launch() {
  [ -n "${LAUNCH_HOOK:-}" ] || return 0
  aws autoscaling complete-lifecycle-action --region "$(imds placement/region)" \
    --auto-scaling-group-name "$ASG_NAME" --lifecycle-hook-name "$LAUNCH_HOOK" \
    --instance-id "$(imds instance-id)" --lifecycle-action-result "$1" ||
    log "could not complete the launch hook with $1; its heartbeat timeout decides"
}
on_exit() {
  local status=$?
  if [ "$status" -ne 0 ]; then complete_launch ABANDON; fi
}
trap on_exit EXIT

# apt as on the signalling node: wait for the lock (unattended-upgrades holds it for minutes after boot).
apt_get() { apt-get -o DPkg::Lock::Timeout=600 -y -q "$@"; }

# retry TRIES COMMAND...: package mirrors and the snap store hiccup during first boot.
retry() {
  local tries=$1 n=1
  shift
  until "$@"; do
    if [ "$n" -ge "$tries" ]; then
      return 1
    fi
    n=$((n + 1))
    sleep "$RETRY_SECONDS"
  done
}

# The AWS CLI is not on Ubuntu images. Canonical's AMIs ship snapd (the SSM agent is a snap there) and AWS
# publishes CLI v2 as a classic snap, so no extra repository or pip is needed.
if ! command -v aws >/dev/null 2>&1; then
  retry 5 snap install aws-cli --classic
fi

# Jitsi's apt repository, keyring as the handbook sets it up.
keyring=/usr/share/keyrings/jitsi-keyring.gpg
install -d -m 0755 "$ROOT/run" "$ROOT$(dirname "$keyring")" "$ROOT/etc/apt/sources.list.d"
retry 5 curl -fsSL "$JITSI_APT_KEY_URL" -o "$ROOT/run/jitsi-key.gpg.key"
gpg --batch --yes --dearmor -o "$ROOT$keyring" "$ROOT/run/jitsi-key.gpg.key"
rm -f "$ROOT/run/jitsi-key.gpg.key"
echo "deb [signed-by=$keyring] $JITSI_APT_REPO stable/" >"$ROOT/etc/apt/sources.list.d/jitsi-stable.list"
retry 10 apt_get update

# One pin for the whole deployment: the jitsi-meet metapackage depends on exactly one jitsi-videobridge2 version,
# and Jicofo refuses to mix bridge versions in a conference.
# (apt-cache fails for an unknown version; the message below says what that means.)
record=$(apt-cache show "jitsi-meet=$JITSI_VERSION" 2>/dev/null) || record=""
jvb_version=$(sed -n 's/.*jitsi-videobridge2 (= \([^)]*\)).*/\1/p' <<<"$record" | head -n 1)
if [ -z "$jvb_version" ]; then
  log "jitsi-meet=$JITSI_VERSION is not in Jitsi's repository: cannot tell which jitsi-videobridge2 to install"
  exit 1
fi

echo "jitsi-videobridge2 jitsi-videobridge/jvb-hostname string $XMPP_DOMAIN" | debconf-set-selections

# The rendered jvb.conf goes in before the package: postinst writes its default only when the file is absent,
# and the first start then already uses ours. No secret in it; the bridge (user jvb) must read it.
install -d -m 0750 "$ROOT$(dirname "$JVB_CONF")"
install -m 0644 "$STAGED_JVB_CONF" "$ROOT$JVB_CONF"

# Identity before every start (root, via "+"), so a stop/start that changes the public IP or a rotated password
# is picked up. systemd reads EnvironmentFile= after ExecStartPre= has run.
units="$ROOT/etc/systemd/system"
install -d -m 0755 "$units/$BRIDGE_SERVICE.service.d"
cat >"$units/$BRIDGE_SERVICE.service.d/pool-identity.conf" <<UNIT
[Service]
ExecStartPre=+$IDENTITY_SCRIPT
EnvironmentFile=-$IDENTITY_ENV
UNIT

cat >"$units/jitsi-bridge-drain.service" <<UNIT
[Unit]
Description=Drain this videobridge before its Auto Scaling Group terminates the instance
After=$BRIDGE_SERVICE.service

[Service]
ExecStart=$DRAIN_SCRIPT
Restart=on-failure
RestartSec=5

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload

retry 3 apt_get install --no-install-recommends "jitsi-videobridge2=$jvb_version" jq curl
# Unattended upgrades must not move one bridge ahead of the others.
apt-mark hold jitsi-videobridge2

systemctl enable --now jitsi-bridge-drain.service
systemctl enable "$BRIDGE_SERVICE"
systemctl restart "$BRIDGE_SERVICE"

# The videobridge's health check does not notice a failed XMPP login (jitsi-videobridge JvbHealthChecker.kt
# leaves "check if XmppConnection is configured and connected" as a TODO); its statistics do: muc_clients_connected
# (VideobridgeStatisticsShim.kt) on /colibri/stats, served because the pool's jvb.conf enables the COLIBRI REST API
# (Stats.java is @EnabledByConfig(RestApis.COLIBRI)). A bridge that cannot log in fails its boot, bounded.
stats_url=${JVB_STATS_URL:-http://127.0.0.1:8080/colibri/stats}
xmpp_wait=${XMPP_WAIT_SECONDS:-300}
deadline=$((SECONDS + xmpp_wait))
connected=""
until [ "${connected:-0}" -ge 1 ] 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    log "bridge $jvb_version started but its XMPP client is not connected to $XMPP_DOMAIN after ${xmpp_wait}s (muc_clients_connected=${connected:-unknown}); check the password in $PASSWORD_PARAMETER and that the signalling node accepts 5222 from the pool"
    exit 1
  fi
  sleep "${XMPP_POLL_SECONDS:-5}"
  connected=$(curl -fsS --max-time 5 "$stats_url" 2>/dev/null | jq -r '.muc_clients_connected // 0' 2>/dev/null) || connected=0
done
log "bridge $jvb_version started, XMPP client connected"
complete_launch CONTINUE
