#!/usr/bin/env bash
# Takes TURN off the host when jitsi:turn is false: removes the nginx stream proxy's file (rendered only with
# TURN), so the site takes the HTTPS port back at nginx's next reload, and stops and disables coturn, which must
# never run on the package's default configuration (no authentication: an open relay). Idempotent, and harmless
# on a host that never had TURN.
# env: JITSI_STREAM_FILE  the stream file's path (token/shared/names.ts hostPaths().nginxStream)
set -euo pipefail
: "${JITSI_STREAM_FILE:?JITSI_STREAM_FILE is required}"
[[ "$JITSI_STREAM_FILE" == /etc/nginx/* ]] || { echo "turn-off: JITSI_STREAM_FILE must be under /etc/nginx, got '$JITSI_STREAM_FILE'" >&2; exit 2; }

rm -f -- "$JITSI_STREAM_FILE"
if systemctl cat coturn.service >/dev/null 2>&1; then
  systemctl disable --now coturn
fi
echo "turn-off: no stream proxy, coturn stopped and disabled"
