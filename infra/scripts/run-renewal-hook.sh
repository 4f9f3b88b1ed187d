#!/usr/bin/env bash
# Runs the rendered certbot deploy hook once, as certbot would after a renewal (without RENEWED_LINEAGE: for this
# deployment's certificate). certbot runs renewal-hooks/deploy/ only on renewals, so after the first issuance (or
# when TURN is turned on) this is what gives coturn its own copy of the certificate and key.
# env: JITSI_HOOK  the hook's path (token/shared/names.ts hostPaths().renewalHook)
set -euo pipefail
: "${JITSI_HOOK:?JITSI_HOOK is required}"
[[ "$JITSI_HOOK" == /etc/letsencrypt/renewal-hooks/deploy/* ]] || { echo "run-renewal-hook: JITSI_HOOK must be under /etc/letsencrypt/renewal-hooks/deploy, got '$JITSI_HOOK'" >&2; exit 2; }
unset RENEWED_LINEAGE
"$JITSI_HOOK"
