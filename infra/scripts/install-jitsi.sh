#!/usr/bin/env bash
# Installs Jitsi Meet unattended from Jitsi's apt repository at a pinned version, as root.
# env:   JITSI_DOMAIN   public FQDN (also the XMPP domain)
#        JITSI_VERSION  version of the jitsi-meet metapackage, e.g. 2.0.11248-1
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

# The metapackage pins its components to exact versions: Pre-Depends jitsi-videobridge2 (= X), Depends jicofo
# (= Y), jitsi-meet-web, jitsi-meet-web-config, jitsi-meet-prosody (= Z) (jitsi/jitsi-meet-debian-meta
# control-tmpl). apt only tries each dependency's newest candidate, so `jitsi-meet=<pin>` alone fails as soon as
# the repository has a newer release: name every package with the version the pinned metapackage asks for.
record=$(apt-cache show "jitsi-meet=${JITSI_VERSION}" 2>/dev/null) || record=""
if [[ -z "$record" ]]; then
  available=$(apt-cache madison jitsi-meet 2>/dev/null | awk '{print $3}' | head -n 5 | tr '\n' ' ')
  echo "install-jitsi: jitsi-meet ${JITSI_VERSION} is not in Jitsi's stable repository (newest there: ${available:-none}); set jitsiVersion to one of them" >&2
  exit 1
fi
fields=$(awk '/^$/ {exit} /^(Pre-Depends|Depends):/ {on=1; sub(/^[^:]*:/, ""); printf "%s,", $0; next} /^ / && on {printf "%s,", $0; next} {on=0}' <<<"$record")
declare -A want=([jitsi-meet]="$JITSI_VERSION")
exact='^[[:space:]]*([a-z0-9][a-z0-9.+-]*)[[:space:]]*[(]=[[:space:]]*([^)[:space:]]+)[[:space:]]*[)]'
IFS=',' read -ra deps <<<"$fields"
for dep in "${deps[@]}"; do
  if [[ "$dep" =~ $exact ]]; then
    want[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
  fi
done
for component in jitsi-videobridge2 jicofo jitsi-meet-web jitsi-meet-web-config jitsi-meet-prosody; do
  [[ -n "${want[$component]:-}" ]] || { echo "install-jitsi: jitsi-meet ${JITSI_VERSION} does not pin $component to a version" >&2; exit 1; }
done
# jitsi-meet-tokens is built from the same source as jitsi-meet-web, so it must carry the same version.
want[jitsi-meet-tokens]=${want[jitsi-meet-web]}

packages=()
for name in "${!want[@]}"; do packages+=("$name=${want[$name]}"); done
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort)
installed=$(dpkg-query -W -f='${Package}=${Version} ${db:Status-Status}\n' "${!want[@]}" 2>/dev/null | awk '$2 == "installed" {print $1}' | sort || true)
if [[ "$installed" == "$(printf '%s\n' "${packages[@]}")" ]]; then
  echo "install-jitsi: jitsi-meet ${JITSI_VERSION} already installed (${packages[*]})"
else
  # An upgrade or downgrade moves every held package together: all of them are named at their new version, so
  # apt may change the holds (never anything else held) and no component is left at the old release.
  # No recommends: jitsi-meet-turnserver is not used (coturn above is configured by this program).
  apt_get install --no-install-recommends --allow-downgrades --allow-change-held-packages "${packages[@]}"
  echo "install-jitsi: installed ${packages[*]}"
fi

# unattended-upgrades must not move the pin; upgrades happen by changing jitsiVersion.
apt-mark hold "${!want[@]}" >/dev/null

# Nothing may restart Prosody, Jicofo or the videobridge outside a deployment: a restart ends every conference.
# unattended-upgrades skips held packages, but Prosody comes from Ubuntu's archive and its postinst restarts it;
# needrestart (Ubuntu 24.04 restarts services automatically after library and Java updates) gets an override.
cat >/etc/apt/apt.conf.d/51jitsi-unattended-upgrades <<'APT'
// Written by the Jitsi Pulumi program: a Prosody upgrade restarts it and ends every conference.
// Upgrade it in a maintenance window: apt-get install --only-upgrade prosody
Unattended-Upgrade::Package-Blacklist { "prosody"; };
APT
install -d -m 0755 /etc/needrestart/conf.d
cat >/etc/needrestart/conf.d/60-jitsi.conf <<'PERL'
# Written by the Jitsi Pulumi program: restarting these ends every conference; a deployment restarts them.
$nrconf{override_rc}{qr(^prosody\.service$)} = 0;
$nrconf{override_rc}{qr(^jicofo\.service$)} = 0;
$nrconf{override_rc}{qr(^jitsi-videobridge2\.service$)} = 0;
PERL
echo "install-jitsi: jitsi-meet ${JITSI_VERSION} installed and held"
