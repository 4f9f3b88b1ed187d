#!/usr/bin/env bash
# Runs first, as root, on a fresh instance: waits until cloud-init has finished (apt locks, host keys, users),
# then lets sshd accept the environment variables that later provisioning steps pass as parameters.
# stdin: one line, the AcceptEnv patterns (non-secret), e.g. "JITSI_* DOMAIN EMAIL".
set -euo pipefail

read -r accept_env || true
if [[ -z "${accept_env:-}" || ! "$accept_env" =~ ^[A-Za-z0-9_*\ ]+$ ]]; then
  echo "prepare-host: expected AcceptEnv patterns on stdin (letters, digits, _, *, spaces)" >&2
  exit 2
fi

# `--wait` returns non-zero when cloud-init reported a recoverable error; the host is still usable then.
cloud-init status --wait >/dev/null || echo "prepare-host: cloud-init finished with warnings" >&2

dropin=/etc/ssh/sshd_config.d/60-jitsi-provisioning.conf
printf '# Written by the Jitsi Pulumi program: parameters of its remote commands (never secrets).\nAcceptEnv %s\n' \
  "$accept_env" >"$dropin.tmp"
chmod 0644 "$dropin.tmp"
mv -f "$dropin.tmp" "$dropin"
sshd -t
# Existing sessions survive a reload; new ones (the next provisioning step) see the new AcceptEnv.
systemctl try-reload-or-restart ssh.service
echo "prepare-host: ready"
