#!/usr/bin/env bash
# Sets the passwords of the service accounts Jicofo and the videobridge log in with (focus@auth.<domain>,
# jvb@auth.<domain>) in Prosody, as root, creating an account that is missing. The packages create both
# accounts only once, at first install, from the preseeded passwords; when a generated password changes later
# (stack recreated, imported, replaced), the rendered jicofo.conf/jvb.conf change and Prosody must follow, or
# both services are locked out.
# env:   JITSI_DOMAIN   public FQDN (the accounts live on auth.<domain>)
# stdin: one "<user> <password>" line per account (secret), user one of focus, jvb.
# The passwords never reach a command line: prosodyctl reads a new password twice from its standard input when
# that is not a terminal (util/human/io.lua read_password/getpass: `stty -echo` fails, io.read; the same in Prosody
# 0.12, which Ubuntu 24.04 ships, and 13), and printf is a shell builtin.
set -euo pipefail
: "${JITSI_DOMAIN:?JITSI_DOMAIN is required}"
[[ "$JITSI_DOMAIN" =~ ^[a-z0-9.-]+$ ]] || { echo "set-xmpp-passwords: bad domain $JITSI_DOMAIN" >&2; exit 2; }
config=${PROSODY_CONFIG:-/etc/prosody/prosody.cfg.lua}

count=0
while IFS=' ' read -r user password; do
  [[ -z "$user" ]] && continue
  [[ "$user" == focus || "$user" == jvb ]] || { echo "set-xmpp-passwords: unexpected account '$user'" >&2; exit 2; }
  [[ -n "$password" ]] || { echo "set-xmpp-passwords: empty password for $user" >&2; exit 2; }
  jid="$user@auth.$JITSI_DOMAIN"
  # prosodyctl passwd refuses an unknown account and adduser an existing one; both read the password the same way.
  # Asked with no password (stdin empty), passwd prompts for one only when the account exists, then cancels.
  probe=$(prosodyctl --config "$config" passwd "$jid" </dev/null 2>&1) || true
  if [[ "$probe" == *"Enter new password"* ]]; then verb=passwd; else verb=adduser; fi
  if ! output=$(printf '%s\n%s\n' "$password" "$password" | prosodyctl --config "$config" "$verb" "$jid" 2>&1); then
    echo "set-xmpp-passwords: prosodyctl $verb $jid failed: $(tr -d '\033' <<<"$output" | tail -n 3)" >&2
    exit 1
  fi
  echo "set-xmpp-passwords: $jid password set ($verb)"
  count=$((count + 1))
done
((count > 0)) || { echo "set-xmpp-passwords: no account on stdin" >&2; exit 2; }
