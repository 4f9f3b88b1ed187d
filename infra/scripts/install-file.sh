#!/usr/bin/env bash
# Writes one rendered file atomically with its owner and mode, as root. The content arrives on stdin (it may
# hold secrets), so it never appears on a command line or in the environment.
# env: JITSI_FILE_PATH, JITSI_FILE_MODE (octal, e.g. 0640), JITSI_FILE_OWNER, JITSI_FILE_GROUP,
#      JITSI_FILE_LINK (optional: symlink that must point at the file, e.g. sites-enabled → sites-available).
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
mv -f "$tmp" "$JITSI_FILE_PATH"
trap - EXIT

if [[ -n "${JITSI_FILE_LINK:-}" ]]; then
  [[ -d "$(dirname "$JITSI_FILE_LINK")" ]] || install -d -m 0755 "$(dirname "$JITSI_FILE_LINK")"
  ln -sfn "$JITSI_FILE_PATH" "$JITSI_FILE_LINK"
fi
echo "install-file: $JITSI_FILE_PATH ($JITSI_FILE_MODE $JITSI_FILE_OWNER:$JITSI_FILE_GROUP)"
