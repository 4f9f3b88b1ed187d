#!/usr/bin/env bash
# Restarts or reloads one systemd service after its files changed, then waits until it is healthy, as root;
# or disables it for good (a signalling node whose media all goes to a bridge pool).
# env: JITSI_SERVICE        systemd unit name
#      JITSI_ACTION         restart | reload | disable
#      JITSI_CONFIG_TEST    optional: "1" runs "<service> -t" first, so a bad config never takes a running server down
#      JITSI_HEALTH_URL     optional: HTTP URL that answers 2xx once the service is healthy
#      JITSI_HEALTH_PORT    optional: local TCP port that accepts connections once the service is up
#      JITSI_HEALTH_STUN_PORT optional: local UDP port that answers a STUN Binding request (coturn), checked with
#                           coturn's turnutils_stunclient (bounded: it waits forever when nothing answers)
#      JITSI_HEALTH_TIMEOUT optional: seconds to wait (default 120)
set -euo pipefail
: "${JITSI_SERVICE:?}" "${JITSI_ACTION:?}"
case "$JITSI_ACTION" in restart | reload | disable) ;; *) echo "restart-service: bad action $JITSI_ACTION" >&2; exit 2 ;; esac

if [[ "$JITSI_ACTION" == disable ]]; then
  systemctl disable --now "$JITSI_SERVICE"
  echo "restart-service: $JITSI_SERVICE stopped and disabled"
  exit 0
fi

if [[ "${JITSI_CONFIG_TEST:-}" == 1 ]]; then
  "$JITSI_SERVICE" -t
fi
# Enabled as well: coturn is installed disabled until its configuration is pushed, and must come back after a reboot.
systemctl enable --quiet "$JITSI_SERVICE"
systemctl "$JITSI_ACTION" "$JITSI_SERVICE"

deadline=$((SECONDS + ${JITSI_HEALTH_TIMEOUT:-120}))
healthy() {
  systemctl is-active --quiet "$JITSI_SERVICE" || { last_error="unit not active"; return 1; }
  if [[ -n "${JITSI_HEALTH_PORT:-}" ]]; then
    (exec 3<>"/dev/tcp/127.0.0.1/$JITSI_HEALTH_PORT") 2>/dev/null || { last_error="port $JITSI_HEALTH_PORT closed"; return 1; }
  fi
  if [[ -n "${JITSI_HEALTH_STUN_PORT:-}" ]]; then
    timeout 5 turnutils_stunclient -p "$JITSI_HEALTH_STUN_PORT" 127.0.0.1 2>&1 | grep -q 'UDP reflexive addr' ||
      { last_error="no STUN answer on udp/$JITSI_HEALTH_STUN_PORT"; return 1; }
  fi
  if [[ -n "${JITSI_HEALTH_URL:-}" ]]; then
    # Quiet while polling; the last failure is shown if the wait times out.
    last_error=$(curl -fsS -o /dev/null --max-time 5 "$JITSI_HEALTH_URL" 2>&1) || return 1
  fi
}
last_error=""
until healthy; do
  if ((SECONDS >= deadline)); then
    echo "restart-service: $JITSI_SERVICE not healthy after ${JITSI_HEALTH_TIMEOUT:-120}s (last: $last_error)" >&2
    journalctl -u "$JITSI_SERVICE" -n 30 --no-pager >&2 || true
    exit 1
  fi
  sleep 2
done
echo "restart-service: $JITSI_SERVICE ${JITSI_ACTION}ed and healthy"
