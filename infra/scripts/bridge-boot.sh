#!/bin/bash
# First boot of a pool videobridge (run once by cloud-init, as root): install the bridge at the deployment's
# pinned version, put the rendered jvb.conf in place, hook the per-instance identity into the bridge's start and
# start the drain watcher. Every deployment-specific value comes from the pool env file that user data writes;
# it holds no secret (the XMPP password is fetched by the identity script at each bridge start).
set -euo pipefail

POOL_ENV=${POOL_ENV:-/etc/jitsi-bridge/pool.env}
# shellcheck source=/dev/null
. "$POOL_ENV"

export DEBIAN_FRONTEND=noninteractive

log() { echo "jitsi-bridge-boot: $*" >&2; }

# retry TRIES COMMAND...: package mirrors and the snap store hiccup during first boot.
retry() {
  local tries=$1 n=1
  shift
  until "$@"; do
    if [ "$n" -ge "$tries" ]; then
      return 1
    fi
    n=$((n + 1))
    sleep 5
  done
}

# The AWS CLI is not on Ubuntu images. Canonical's AMIs ship snapd (the SSM agent is a snap there) and AWS
# publishes CLI v2 as a classic snap, so no extra repository or pip is needed.
if ! command -v aws >/dev/null 2>&1; then
  retry 5 snap install aws-cli --classic
fi

# Jitsi's apt repository, keyring as the handbook sets it up.
retry 5 curl -fsSL "$JITSI_APT_KEY_URL" -o /run/jitsi-key.gpg.key
gpg --batch --yes --dearmor -o /usr/share/keyrings/jitsi-keyring.gpg /run/jitsi-key.gpg.key
rm -f /run/jitsi-key.gpg.key
echo "deb [signed-by=/usr/share/keyrings/jitsi-keyring.gpg] $JITSI_APT_REPO stable/" >/etc/apt/sources.list.d/jitsi-stable.list
retry 5 apt-get update

# One pin for the whole deployment: the jitsi-meet metapackage depends on exactly one jitsi-videobridge2 version,
# and Jicofo refuses to mix bridge versions in a conference.
jvb_version=$(apt-cache show "jitsi-meet=$JITSI_VERSION" |
  sed -n 's/.*jitsi-videobridge2 (= \([^)]*\)).*/\1/p' | head -n 1)
if [ -z "$jvb_version" ]; then
  log "jitsi-meet=$JITSI_VERSION is not in Jitsi's repository: cannot tell which jitsi-videobridge2 to install"
  exit 1
fi

echo "jitsi-videobridge2 jitsi-videobridge/jvb-hostname string $XMPP_DOMAIN" | debconf-set-selections

# The rendered jvb.conf goes in before the package: postinst writes its default only when the file is absent,
# and the first start then already uses ours.
install -d -m 0750 "$(dirname "$JVB_CONF")"
install -m 0644 "$STAGED_JVB_CONF" "$JVB_CONF"

# Identity before every start (root, via "+"), so a stop/start that changes the public IP or a rotated password
# is picked up. systemd reads EnvironmentFile= after ExecStartPre= has run.
install -d -m 0755 "/etc/systemd/system/$BRIDGE_SERVICE.service.d"
cat >"/etc/systemd/system/$BRIDGE_SERVICE.service.d/pool-identity.conf" <<UNIT
[Service]
ExecStartPre=+$IDENTITY_SCRIPT
EnvironmentFile=-$IDENTITY_ENV
UNIT

cat >/etc/systemd/system/jitsi-bridge-drain.service <<UNIT
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

retry 3 apt-get install -y --no-install-recommends "jitsi-videobridge2=$jvb_version" jq curl
# Unattended upgrades must not move one bridge ahead of the others.
apt-mark hold jitsi-videobridge2

systemctl enable --now jitsi-bridge-drain.service
systemctl enable "$BRIDGE_SERVICE"
systemctl restart "$BRIDGE_SERVICE"
log "bridge $jvb_version started"
