#!/usr/bin/env bash
# Installs Jitsi Meet unattended from Jitsi's apt repository at a pinned version, as root.
# env:   JITSI_DOMAIN   public FQDN (also the XMPP domain)
#        JITSI_VERSION  version of the jitsi-meet metapackage, e.g. 2.0.10184-1
# stdin: debconf selections holding the service account passwords (secret; never on a command line).
# Idempotent: re-running with the same version changes nothing.
set -euo pipefail
: "${JITSI_DOMAIN:?JITSI_DOMAIN is required}" "${JITSI_VERSION:?JITSI_VERSION is required}"

export DEBIAN_FRONTEND=noninteractive
# confold: on upgrades keep the files this program rendered instead of the package's new defaults.
apt_get() {
  apt-get -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    -y -q "$@"
}
# The lock timeout does not cover the package lists lock, which apt-daily may hold right after boot.
apt_update() {
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    apt_get update && return 0
    echo "install-jitsi: apt-get update failed (attempt $attempt), retrying" >&2
    sleep 15
  done
  return 1
}

# Secret selections arrive on stdin; debconf keeps them root-only in its passwords database.
secret_selections=$(mktemp)
trap 'rm -f "$secret_selections"' EXIT
chmod 0600 "$secret_selections"
cat >"$secret_selections"
debconf-set-selections "$secret_selections"

# The real app secret lives only in the rendered Prosody config pushed later. jitsi-meet-tokens insists on one
# at install time, so it gets a throwaway value made here: a secret change never re-runs this step.
placeholder_secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
debconf-set-selections <<SELECTIONS
jitsi-videobridge2 jitsi-videobridge/jvb-hostname string ${JITSI_DOMAIN}
jitsi-meet-prosody jitsi-meet-prosody/jvb-hostname string ${JITSI_DOMAIN}
jitsi-meet-web-config jitsi-meet/cert-choice select Generate a new self-signed certificate
jitsi-meet-web-config jitsi-meet/email string
jitsi-meet-web-config jitsi-meet/jaas-choice boolean false
jitsi-meet-tokens jitsi-meet-tokens/appid string placeholder
jitsi-meet-tokens jitsi-meet-tokens/appsecret password ${placeholder_secret}
SELECTIONS

keyring=/usr/share/keyrings/jitsi-keyring.gpg
if [[ ! -s "$keyring" ]]; then
  apt_update
  apt_get install gnupg curl ca-certificates
  curl -fsSL https://download.jitsi.org/jitsi-key.gpg.key | gpg --dearmor --yes -o "$keyring"
fi
echo "deb [signed-by=$keyring] https://download.jitsi.org stable/" >/etc/apt/sources.list.d/jitsi-stable.list
apt_update

# nginx first so jitsi-meet-web-config configures it instead of pulling in apache2. Its stream module (a separate
# package on Debian and Ubuntu) carries TURN over TLS on 443; coturn is the distribution's, not Jitsi's
# jitsi-meet-turnserver (which would write its own /etc/turnserver.conf).
apt_get install nginx libnginx-mod-stream
apt_get install --no-install-recommends coturn
# The package starts coturn on its default configuration, which authenticates nobody: an open relay. It stays
# stopped until the rendered configuration is pushed (that push's restart step enables and starts it).
if ! grep -q 'rendered from templates/coturn.conf.hbs' /etc/turnserver.conf 2>/dev/null; then
  systemctl disable --now coturn
fi
# The metapackage pins its components (videobridge, jicofo, web, prosody config) to matching versions.
# No recommends: jitsi-meet-turnserver is not used (coturn above is configured by this program).
# On a re-run (a new jitsiVersion, or a roll-back) the packages are held (below): without
# --allow-change-held-packages, apt-get -y refuses with "Held packages were changed" (checked with apt 2.6).
apt_get install --no-install-recommends --allow-downgrades --allow-change-held-packages "jitsi-meet=${JITSI_VERSION}"
# jitsi-meet-tokens is built from the same source as jitsi-meet-web, so it must carry the same version.
web_version=$(dpkg-query -W -f='${Version}' jitsi-meet-web)
apt_get install --no-install-recommends --allow-downgrades --allow-change-held-packages "jitsi-meet-tokens=${web_version}"

# unattended-upgrades must not move the pin; upgrades happen by changing jitsiVersion.
apt-mark hold jitsi-meet jitsi-meet-web jitsi-meet-web-config jitsi-meet-prosody jitsi-meet-tokens \
  jicofo jitsi-videobridge2 >/dev/null
echo "install-jitsi: jitsi-meet ${JITSI_VERSION} installed"
