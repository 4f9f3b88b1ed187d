#!/usr/bin/env bash
# Writes one rendered file atomically with its owner and mode, as root. The content arrives on stdin (it may
# hold secrets), so it never appears on a command line or in the environment.
# env: JITSI_FILE_PATH, JITSI_FILE_MODE (octal, e.g. 0640), JITSI_FILE_OWNER, JITSI_FILE_GROUP,
#      JITSI_FILE_LINK (optional: symlink that must point at the file, e.g. sites-enabled → sites-available),
#      JITSI_FILE_SERVICE (optional: the service whose restart confirms this file; the file it replaces is kept as
#        the last good copy until restart-service.sh confirms or rolls back, see there),
#      JITSI_STATE_DIR (optional, default /var/lib/jitsi-provisioning).
set -euo pipefail
: "${JITSI_FILE_PATH:?}" "${JITSI_FILE_MODE:?}" "${JITSI_FILE_OWNER:?}" "${JITSI_FILE_GROUP:?}"
[[ "$JITSI_FILE_PATH" == /* ]] || { echo "install-file: path must be absolute: $JITSI_FILE_PATH" >&2; exit 2; }
[[ "$JITSI_FILE_MODE" =~ ^0?[0-7]{3,4}$ ]] || { echo "install-file: bad mode $JITSI_FILE_MODE" >&2; exit 2; }

dir=$(dirname "$JITSI_FILE_PATH")
# Only create what is missing: `install -d` would also reset the mode of an existing directory (the packages
# keep /etc/jitsi/jicofo and /etc/jitsi/videobridge at 0750).
[[ -d "$dir" ]] || install -d -m 0755 "$dir"
# Create the temporary file with the final owner and mode before any content is written to it, in the same
# directory so the final rename is atomic and readers never see a half-written or over-permissive file.
tmp=$(mktemp "$dir/.jitsi-install.XXXXXX")
trap 'rm -f "$tmp"' EXIT
chown "$JITSI_FILE_OWNER:$JITSI_FILE_GROUP" "$tmp"
chmod "$JITSI_FILE_MODE" "$tmp"
cat >"$tmp"

# Keep the last good copy (only the first replacement since the service was last confirmed healthy counts).
if [[ -n "${JITSI_FILE_SERVICE:-}" ]] && ! cmp -s "$tmp" "$JITSI_FILE_PATH"; then
  [[ "$JITSI_FILE_SERVICE" =~ ^[A-Za-z0-9@._-]+$ ]] || { echo "install-file: bad service $JITSI_FILE_SERVICE" >&2; exit 2; }
  pending="${JITSI_STATE_DIR:-/var/lib/jitsi-provisioning}/pending/$JITSI_FILE_SERVICE"
  key="$pending/$(printf '%s' "$JITSI_FILE_PATH" | sha256sum | cut -c1-16)"
  if [[ ! -e "$key.path" ]]; then
    install -d -m 0700 "$pending"
    # cp -a keeps owner and mode: secrets stay as narrow as the original, in a root-only directory.
    if [[ -e "$JITSI_FILE_PATH" ]]; then cp -a "$JITSI_FILE_PATH" "$key.orig"; fi
    printf '%s' "$JITSI_FILE_PATH" >"$key.path"
  fi
fi
mv -f "$tmp" "$JITSI_FILE_PATH"
trap - EXIT

if [[ -n "${JITSI_FILE_LINK:-}" ]]; then
  [[ -d "$(dirname "$JITSI_FILE_LINK")" ]] || install -d -m 0755 "$(dirname "$JITSI_FILE_LINK")"
  ln -sfn "$JITSI_FILE_PATH" "$JITSI_FILE_LINK"
fi
echo "install-file: $JITSI_FILE_PATH ($JITSI_FILE_MODE $JITSI_FILE_OWNER:$JITSI_FILE_GROUP)"
