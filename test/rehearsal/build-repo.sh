#!/usr/bin/env bash
# Builds the rehearsal's stand-in for Jitsi's stable apt repository (https://download.jitsi.org stable/): a flat
# repository signed with a throwaway GPG key, holding stand-in packages with the real names, version shapes and
# exact-version dependencies (jitsi-meet-debian-meta control-tmpl: jitsi-meet Pre-Depends jitsi-videobridge2 (= X),
# Depends jicofo (= Y), jitsi-meet-web, jitsi-meet-web-config, jitsi-meet-prosody (= Z)), in three releases, and the
# effects the provisioning relies on: service users and group, debconf questions, default config files written
# only when absent, the service accounts registered from the preseeded passwords, the package's own nginx site
# serving ACME challenges from /usr/share/jitsi-meet, jicofo's postinst editing jicofo.conf on upgrade, Prosody
# plugins in /usr/share/jitsi-meet/prosody-plugins.
#
# usage: build-repo.sh OUT_DIR MODULES_FILE STANDINS_DIR [PLUGINS_DIR]
#   MODULES_FILE  one Prosody module name per line: the plugins jitsi-meet-prosody ships (stand-in modules;
#                 a mod_NAME.lua beside the list is shipped instead of the no-op stand-in)
#   STANDINS_DIR  test/rehearsal/standins (service.py)
#   PLUGINS_DIR   opt-in: Jitsi's own resources/prosody-plugins (a jitsi-meet checkout, never committed here):
#                 shipped as they are instead of stand-ins, so the host check sees the real module set
# Writes OUT_DIR/www (the document root: jitsi-key.gpg.key, stable/) and OUT_DIR/gnupg (the throwaway key).
# shellcheck disable=SC2016 # maintainer scripts are written literally: their $ expand on the rehearsal host
set -euo pipefail
out=$1 modules=$2 standins=$3 real_plugins=${4:-}
www="$out/www"
repo="$www/stable"
build="$out/build"
mkdir -p "$repo" "$build"
export GNUPGHOME="$out/gnupg"
install -d -m 0700 "$GNUPGHOME"

# releases: meta-version jvb-version jicofo-version web-version (shapes as in Jitsi's repository)
releases=(
  "2.0.11031-1 2.3-260-g5f3a1c2e4-1 1.0-1160-1 1.0.9140-1"
  "2.0.11146-1 2.3-301-g8b7c6d5e4-1 1.0-1188-1 1.0.9310-1"
  "2.0.11248-1 2.3-312-ga29d97d13-1 1.0-1196-1 1.0.9396-1"
)

# package NAME VERSION DIR [CONTROL-LINES...]: DIR holds the file tree; DIR/DEBIAN gets control (+ scripts present)
package() {
  local name=$1 version=$2 dir=$3
  shift 3
  mkdir -p "$dir/DEBIAN"
  {
    printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: Rehearsal <rehearsal@example.invalid>\n' "$name" "$version"
    (($# == 0)) || printf '%s\n' "$@"
    printf 'Description: rehearsal stand-in for %s\n' "$name"
  } >"$dir/DEBIAN/control"
  for script in preinst postinst prerm postrm; do [[ -f "$dir/DEBIAN/$script" ]] && chmod 0755 "$dir/DEBIAN/$script"; done
  dpkg-deb --root-owner-group -Zgzip --build "$dir" "$repo/${name}_${version}_all.deb" >/dev/null
}

# service_files DIR ROLE VERSION: the stand-in service (service.py) and its start command DIR/ROLE-stand-in
service_files() {
  local dir=$1 role=$2 version=$3 installed=${1#"$build"/*/}
  sed "1a # $role stand-in $version" "$standins/service.py" >"$dir/service.py"
  printf '#!/bin/sh\nexec /usr/bin/python3 /%s/service.py %s %s\n' "$installed" "$role" "$version" >"$dir/$role-stand-in"
  chmod 0755 "$dir/$role-stand-in"
}

# Maintainer-script helpers shared by every stand-in (the real packages have their own copies of these idioms).
common='set -e
. /usr/share/debconf/confmodule
ensure_user() { # user: system user in group jitsi, as the real postinsts create them
  getent group jitsi >/dev/null || addgroup --quiet --system jitsi
  id "$1" >/dev/null 2>&1 || adduser --quiet --system --ingroup jitsi --no-create-home --home /nonexistent "$1"
}'

for release in "${releases[@]}"; do
  read -r meta jvb jicofo web <<<"$release"

  # jitsi-videobridge2
  d="$build/jvb-$jvb"
  mkdir -p "$d/usr/share/jitsi-videobridge"
  service_files "$d/usr/share/jitsi-videobridge" jvb "$jvb"
  mkdir -p "$d/DEBIAN"
  printf 'Template: jitsi-videobridge/jvb-hostname\nType: string\nDescription: hostname\n\nTemplate: jitsi-videobridge/jvbsecret\nType: password\nDescription: jvb secret\n' >"$d/DEBIAN/templates"
  cat >"$d/DEBIAN/postinst" <<EOF
#!/bin/sh
$common
[ "\$1" = configure ] || exit 0
ensure_user jvb
db_get jitsi-videobridge/jvb-hostname; domain=\$RET
db_get jitsi-videobridge/jvbsecret; secret=\$RET
install -d -m 0750 -o jvb -g jitsi /etc/jitsi/videobridge
if [ ! -f /etc/jitsi/videobridge/jvb.conf ]; then
  cat >/etc/jitsi/videobridge/jvb.conf <<CONF
videobridge {
  apis { xmpp-client { configs { shard {
    HOSTNAME = "localhost"
    DOMAIN = "auth.\$domain"
    USERNAME = "jvb"
    PASSWORD = "\$secret"
    MUC_JIDS = "jvbbrewery@internal.auth.\$domain"
  } } } }
}
CONF
  chown jvb:jitsi /etc/jitsi/videobridge/jvb.conf; chmod 0640 /etc/jitsi/videobridge/jvb.conf
fi
systemctl restart jitsi-videobridge2
EOF
  printf '#!/bin/sh\n[ "$1" = remove ] && systemctl stop jitsi-videobridge2 || true\n' >"$d/DEBIAN/prerm"
  package jitsi-videobridge2 "$jvb" "$d" "Depends: python3"

  # jicofo
  d="$build/jicofo-$jicofo"
  mkdir -p "$d/usr/share/jicofo" "$d/DEBIAN"
  service_files "$d/usr/share/jicofo" jicofo "$jicofo"
  printf 'Template: jicofo/jicofo-authpassword\nType: password\nDescription: focus password\n' >"$d/DEBIAN/templates"
  cat >"$d/DEBIAN/postinst" <<EOF
#!/bin/sh
$common
[ "\$1" = configure ] || exit 0
ensure_user jicofo
db_get jitsi-videobridge/jvb-hostname; domain=\$RET
db_get jicofo/jicofo-authpassword; secret=\$RET
install -d -m 0750 -o jicofo -g jitsi /etc/jitsi/jicofo
if [ ! -f /etc/jitsi/jicofo/jicofo.conf ]; then
  cat >/etc/jitsi/jicofo/jicofo.conf <<CONF
jicofo {
  xmpp { client {
    domain = "auth.\$domain"
    username = "focus"
    password = "\$secret"
  } }
}
CONF
  chown jicofo:jitsi /etc/jitsi/jicofo/jicofo.conf; chmod 0640 /etc/jitsi/jicofo/jicofo.conf
elif [ -n "\$2" ]; then
  # As the real postinst edits jicofo.conf on upgrade (hocon set): the provisioning must put its file back.
  echo "# edited by the jicofo $jicofo postinst (upgrade from \$2)" >>/etc/jitsi/jicofo/jicofo.conf
fi
systemctl restart jicofo
EOF
  printf '#!/bin/sh\n[ "$1" = remove ] && systemctl stop jicofo || true\n' >"$d/DEBIAN/prerm"
  package jicofo "$jicofo" "$d" "Depends: python3"

  # jitsi-meet-web
  d="$build/web-$web"
  mkdir -p "$d/usr/share/jitsi-meet"
  printf '<!doctype html><title>Jitsi Meet %s (rehearsal stand-in)</title>\n' "$web" >"$d/usr/share/jitsi-meet/index.html"
  printf '%s\n' "$web" >"$d/usr/share/jitsi-meet/VERSION"
  package jitsi-meet-web "$web" "$d"

  # jitsi-meet-web-config: config.js, a self-signed certificate and the package's own nginx site
  d="$build/web-config-$web"
  mkdir -p "$d/DEBIAN"
  printf 'Template: jitsi-meet/cert-choice\nType: select\nChoices: a, b\nDescription: cert\n\nTemplate: jitsi-meet/email\nType: string\nDescription: email\n\nTemplate: jitsi-meet/jaas-choice\nType: boolean\nDescription: jaas\n' >"$d/DEBIAN/templates"
  cat >"$d/DEBIAN/postinst" <<EOF
#!/bin/sh
$common
[ "\$1" = configure ] || exit 0
db_get jitsi-videobridge/jvb-hostname; domain=\$RET
install -d -m 0755 /etc/jitsi/meet
[ -f "/etc/jitsi/meet/\$domain-config.js" ] || echo "var config = { hosts: { domain: '\$domain' } };" >"/etc/jitsi/meet/\$domain-config.js"
if [ ! -f "/etc/jitsi/meet/\$domain.crt" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=\$domain" \
    -keyout "/etc/jitsi/meet/\$domain.key" -out "/etc/jitsi/meet/\$domain.crt" 2>/dev/null
fi
if [ ! -f "/etc/nginx/sites-available/\$domain.conf" ]; then
  cat >"/etc/nginx/sites-available/\$domain.conf" <<SITE
server {
    listen 80;
    server_name \$domain;
    location ^~ /.well-known/acme-challenge/ { default_type "text/plain"; root /usr/share/jitsi-meet; }
    location / { return 301 https://\\\$host\\\$request_uri; }
}
server {
    listen 443 ssl;
    server_name \$domain;
    ssl_certificate /etc/jitsi/meet/\$domain.crt;
    ssl_certificate_key /etc/jitsi/meet/\$domain.key;
    root /usr/share/jitsi-meet;
}
SITE
  ln -sf "/etc/nginx/sites-available/\$domain.conf" "/etc/nginx/sites-enabled/\$domain.conf"
fi
systemctl is-active --quiet nginx && systemctl reload nginx || true
EOF
  package jitsi-meet-web-config "$web" "$d" "Depends: openssl"

  # jitsi-meet-prosody: plugins, the package's Prosody host config, the service accounts
  d="$build/prosody-$web"
  plugins="$d/usr/share/jitsi-meet/prosody-plugins"
  mkdir -p "$plugins" "$d/DEBIAN"
  modules_dir=$(dirname "$modules")
  if [[ -n "$real_plugins" ]]; then
    cp -r "$real_plugins/." "$plugins/"
  else
    while IFS= read -r module; do
      [[ -n "$module" ]] || continue
      if [[ -f "$modules_dir/mod_$module.lua" ]]; then
        cp "$modules_dir/mod_$module.lua" "$plugins/mod_$module.lua"
      else
        printf -- '-- rehearsal stand-in of Jitsi'"'"'s mod_%s (jitsi-meet-prosody %s)\nmodule:log("debug", "stand-in loaded");\n' "$module" "$web" >"$plugins/mod_$module.lua"
      fi
    done <"$modules"
  fi
  printf 'Template: jitsi-meet-prosody/jvb-hostname\nType: string\nDescription: hostname\n' >"$d/DEBIAN/templates"
  cat >"$d/DEBIAN/postinst" <<EOF
#!/bin/sh
$common
[ "\$1" = configure ] || exit 0
db_get jitsi-videobridge/jvb-hostname; domain=\$RET
config="/etc/prosody/conf.avail/\$domain.cfg.lua"
if [ ! -f "\$config" ]; then
  cat >"\$config" <<CONF
plugin_paths = { "/usr/share/jitsi-meet/prosody-plugins/" }
VirtualHost "\$domain"
    authentication = "jitsi-anonymous"
Component "conference.\$domain" "muc"
Component "internal.auth.\$domain" "muc"
VirtualHost "auth.\$domain"
    authentication = "internal_hashed"
CONF
  ln -sf "\$config" "/etc/prosody/conf.d/\$domain.cfg.lua"
fi
if [ ! -f "/etc/prosody/certs/auth.\$domain.key" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=auth.\$domain" \
    -keyout "/etc/prosody/certs/auth.\$domain.key" -out "/etc/prosody/certs/auth.\$domain.crt" 2>/dev/null
  chown root:prosody "/etc/prosody/certs/auth.\$domain.key"; chmod 0640 "/etc/prosody/certs/auth.\$domain.key"
fi
# The accounts, only at first install, from the preseeded passwords (as upstream: prosodyctl register).
db_get jicofo/jicofo-authpassword; focus=\$RET
db_get jitsi-videobridge/jvbsecret; jvb=\$RET
prosodyctl --quiet register focus "auth.\$domain" "\$focus" 2>/dev/null || true
prosodyctl --quiet register jvb "auth.\$domain" "\$jvb" 2>/dev/null || true
systemctl restart prosody
EOF
  package jitsi-meet-prosody "$web" "$d" "Depends: prosody, openssl"

  # jitsi-meet-tokens: insists on an app secret at install time, as the real one does
  d="$build/tokens-$web"
  mkdir -p "$d/DEBIAN"
  printf 'Template: jitsi-meet-tokens/appid\nType: string\nDescription: app id\n\nTemplate: jitsi-meet-tokens/appsecret\nType: password\nDescription: app secret\n' >"$d/DEBIAN/templates"
  cat >"$d/DEBIAN/postinst" <<EOF
#!/bin/sh
$common
[ "\$1" = configure ] || exit 0
db_get jitsi-meet-tokens/appsecret
[ -n "\$RET" ] || { echo "jitsi-meet-tokens: no application secret" >&2; exit 1; }
EOF
  package jitsi-meet-tokens "$web" "$d" "Depends: jitsi-meet-prosody"

  # the metapackage, exactly as control-tmpl pins its components
  d="$build/meta-$meta"
  mkdir -p "$d"
  package jitsi-meet "$meta" "$d" \
    "Pre-Depends: jitsi-videobridge2 (= $jvb)" \
    "Depends: jicofo (= $jicofo), jitsi-meet-web (= $web), jitsi-meet-web-config (= $web), jitsi-meet-prosody (= $web)" \
    "Recommends: jitsi-meet-turnserver (= $web)"
done

# The signed flat repository: stable/Packages, Release, InRelease; the key where Jitsi publishes its own.
gpg --batch --quiet --passphrase '' --quick-gen-key "Rehearsal stand-in repository <rehearsal@example.invalid>" ed25519 sign never
gpg --batch --armor --export >"$www/jitsi-key.gpg.key"
(cd "$www" && apt-ftparchive packages stable >stable/Packages && gzip -k9 stable/Packages)
apt-ftparchive -o APT::FTPArchive::Release::Origin=jitsi.org -o APT::FTPArchive::Release::Suite=stable release "$repo" >"$repo/Release"
gpg --batch --yes --clearsign -o "$repo/InRelease" "$repo/Release"
gpg --batch --yes -abs -o "$repo/Release.gpg" "$repo/Release"
gpgconf --kill gpg-agent
echo "build-repo: $(find "$repo" -name '*.deb' | wc -l) packages in ${#releases[@]} releases"
