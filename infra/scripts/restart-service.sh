#!/usr/bin/env bash
# Restarts or reloads one systemd service after its files changed and waits until it is healthy, as root; or
# disables it for good (a signalling node whose media all goes to a bridge pool).
#
# Nothing half-applied: install-file.sh keeps the last good copy of every file it replaces (under
# JITSI_STATE_DIR/pending). If the config check, the restart or the health wait fails, this script puts those
# copies back, restarts the service on them, waits for it again and then fails naming the files, the service
# and its last log lines. On success the pending copies are dropped: the pushed files are the new last good.
#
# env: JITSI_SERVICE        systemd unit name
#      JITSI_ACTION         restart | reload | disable
#      JITSI_CONFIG_TEST    optional: "1" runs "<service> -t" (nginx); "prosody" runs `prosodyctl check config`
#                           and checks that every module the configuration loads exists on this host
#      JITSI_HEALTH_URL     optional: HTTP URL that answers 2xx once the service is up
#      JITSI_HEALTH_PORT    optional: local TCP port that accepts connections once the service is up
#      JITSI_BRIDGES_URL    optional: Jicofo's /stats URL; once healthy, wait (bounded) until Jicofo reports at
#                           least one operational bridge (bridge_selector.operational_bridge_count)
#      JITSI_SERVICE_FILES  optional: the service's rendered files, ":"-separated; stdin then holds the digest the
#                           program computed over them (path, mode, owner:group, content). A host whose files
#                           differ (rolled back after an earlier failure) is refused, never confirmed as deployed.
#      JITSI_HEALTH_STUN_PORT optional: local UDP port that answers a STUN Binding request (coturn), checked with
#                           coturn's turnutils_stunclient (bounded: it waits forever when nothing answers)
#      JITSI_HEALTH_TIMEOUT optional: seconds to wait (default 120)
#      JITSI_BRIDGES_TIMEOUT optional: seconds to wait for an operational bridge (default 90)
#      JITSI_STATE_DIR      optional: where install-file.sh keeps last good copies (default /var/lib/jitsi-provisioning)
#      PROSODY_CONFIG       optional: Prosody's main config (default /etc/prosody/prosody.cfg.lua)
#      PROSODY_SOURCE_DIR   optional: Prosody's installation (default /usr/lib/prosody; modules/ inside)
set -euo pipefail
: "${JITSI_SERVICE:?}" "${JITSI_ACTION:?}"
case "$JITSI_ACTION" in restart | reload | disable) ;; *) echo "restart-service: bad action $JITSI_ACTION" >&2; exit 2 ;; esac

if [[ "$JITSI_ACTION" == disable ]]; then
  systemctl disable --now "$JITSI_SERVICE"
  echo "restart-service: $JITSI_SERVICE stopped and disabled"
  exit 0
fi

state_dir=${JITSI_STATE_DIR:-/var/lib/jitsi-provisioning}
pending_dir="$state_dir/pending/$JITSI_SERVICE"
prosody_config=${PROSODY_CONFIG:-/etc/prosody/prosody.cfg.lua}
prosody_source=${PROSODY_SOURCE_DIR:-/usr/lib/prosody}

# Every module a Prosody configuration loads (global, per host, component modules), that no plugin path nor
# Prosody's own modules directory provides, one name per line. Read with Prosody's own config loader, in the Lua
# Prosody runs on (its interpreter line), so Include and per-host inheritance are exactly Prosody's.
missing_prosody_modules() {
  local lua
  lua=$(head -n1 "$(command -v prosody)" | grep -oE 'lua5\.[0-9]' | head -n1) || true
  "${lua:-lua5.4}" - "$prosody_config" "$prosody_source" <<'LUA'
local config_file, source = arg[1], arg[2]
package.path = source .. "/?.lua;" .. package.path
package.cpath = source .. "/?.so;" .. package.cpath
local configmanager = require "core.configmanager"
local ok, _, err = configmanager.load(config_file)
if not ok then io.stderr:write("cannot read ", config_file, ": ", tostring(err), "\n"); os.exit(2) end
local function exists(path) local f = io.open(path, "r"); if f then f:close(); return true end return false end
local missing, seen = {}, {}
for host, options in pairs(configmanager.getconfig()) do
  local paths = {}
  for _, p in ipairs(options.plugin_paths or {}) do paths[#paths + 1] = p end
  paths[#paths + 1] = source .. "/modules"
  local names = {}
  for _, name in ipairs(options.modules_enabled or {}) do names[#names + 1] = name end
  if options.component_module and options.component_module ~= "component" then names[#names + 1] = options.component_module end
  for _, name in ipairs(names) do
    local found = false
    for _, dir in ipairs(paths) do
      -- The places Prosody's own loader looks (util/pluginloader.lua load_resource).
      local file = "mod_" .. name .. ".lua"
      for _, rel in ipairs({ "mod_" .. name .. "/" .. name .. "/" .. file, "mod_" .. name .. "/" .. file, name .. "/" .. file, file }) do
        if exists(dir .. "/" .. rel) then found = true; break end
      end
      if found then break end
    end
    if not found and not seen[name] then
      seen[name] = true
      missing[#missing + 1] = name .. " (" .. (host == "*" and "global" or host) .. ")"
    end
  end
end
table.sort(missing)
for _, m in ipairs(missing) do print(m) end
LUA
}

config_test() {
  case "${JITSI_CONFIG_TEST:-}" in
    "") ;;
    1) "$JITSI_SERVICE" -t ;;
    prosody)
      # Exit 1: the files cannot be read; 2: read, with advice printed above (kept: Jitsi's own config has some).
      local rc=0 missing
      prosodyctl --config "$prosody_config" check config || rc=$?
      if ((rc != 0 && rc != 2)); then
        echo "restart-service: prosodyctl check config failed (exit $rc)" >&2
        return 1
      fi
      # Prosody skips a module it cannot find and starts anyway: a missing token or polls module would
      # silently turn a feature off, so it is an error here.
      missing=$(missing_prosody_modules) || { echo "restart-service: cannot read Prosody's configuration" >&2; return 1; }
      if [[ -n "$missing" ]]; then
        echo "restart-service: Prosody's configuration loads modules this host does not have: $(tr '\n' ' ' <<<"$missing")" >&2
        echo "restart-service: install a jitsi-meet release that ships them (jitsiVersion) or drop them from the configuration" >&2
        return 1
      fi
      ;;
    *) echo "restart-service: bad JITSI_CONFIG_TEST ${JITSI_CONFIG_TEST}" >&2; return 2 ;;
  esac
}

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

# Jicofo counts a bridge operational once it joined the brewery MUC and reported healthy stats (jicofo
# JicofoServices.kt getStats → BridgeSelector.kt stats "operational_bridge_count").
bridges_operational() {
  local stats count
  stats=$(curl -fsS --max-time 5 "$JITSI_BRIDGES_URL" 2>&1) || { last_error=$stats; return 1; }
  count=$(python3 -c 'import json,sys; print(int(json.load(sys.stdin).get("bridge_selector", {}).get("operational_bridge_count", 0)))' <<<"$stats" 2>/dev/null) ||
    count=0
  ((count >= 1)) || { last_error="Jicofo reports $count operational bridges"; return 1; }
}

# wait_for CHECK TIMEOUT: polls CHECK every 2 s; false once TIMEOUT seconds passed.
wait_for() {
  local deadline=$((SECONDS + $2))
  last_error=""
  until "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 2
  done
}

apply_and_wait() {
  # Enabled as well: coturn is installed disabled until its configuration is pushed, and must come back after a reboot.
  systemctl enable --quiet "$JITSI_SERVICE" || { last_error="systemctl enable failed"; return 1; }
  systemctl "$JITSI_ACTION" "$JITSI_SERVICE" || { last_error="systemctl $JITSI_ACTION failed"; return 1; }
  wait_for healthy "${JITSI_HEALTH_TIMEOUT:-120}" ||
    { last_error="not healthy after ${JITSI_HEALTH_TIMEOUT:-120}s (last: $last_error)"; return 1; }
  if [[ -n "${JITSI_BRIDGES_URL:-}" ]]; then
    wait_for bridges_operational "${JITSI_BRIDGES_TIMEOUT:-90}" ||
      { last_error="no operational bridge after ${JITSI_BRIDGES_TIMEOUT:-90}s (last: $last_error)"; return 1; }
  fi
}

# The files of this service replaced since its last good state, as "path<TAB>backup" lines (backup "-": the
# file did not exist before). install-file.sh writes an entry the first time it replaces a file.
pending_files() {
  [[ -d "$pending_dir" ]] || return 0
  local entry
  for entry in "$pending_dir"/*.path; do
    [[ -e "$entry" ]] || continue
    printf '%s\t%s\n' "$(cat "$entry")" "${entry%.path}.orig"
  done
}

last_logs() {
  echo "--- last log lines of $JITSI_SERVICE:" >&2
  journalctl -u "$JITSI_SERVICE" -n 30 --no-pager >&2 2>/dev/null || true
}

roll_back() {
  local reason=$1 path backup changed=()
  while IFS=$'\t' read -r path backup; do
    changed+=("$path")
    if [[ -e "$backup" || -L "$backup" ]]; then
      cp -a "$backup" "$path.jitsi-rollback" && mv -f "$path.jitsi-rollback" "$path"
    else
      rm -f -- "$path"
    fi
  done < <(pending_files)
  if ((${#changed[@]} == 0)); then
    echo "restart-service: $JITSI_SERVICE: $reason; no pushed file of it to roll back" >&2
    last_logs
    exit 1
  fi
  echo "restart-service: $JITSI_SERVICE: $reason with ${changed[*]}; rolled back to the last good files" >&2
  local again="running again on them"
  if [[ "$2" == restart ]]; then
    apply_and_wait || again="and still failing on them ($last_error)"
  fi
  rm -rf -- "$pending_dir"
  echo "restart-service: FAILED: ${changed[*]} broke $JITSI_SERVICE ($reason); $JITSI_SERVICE is $again" >&2
  last_logs
  exit 1
}

# The digest of the files as they are on this host, as the program computes it (provision.ts digest()).
files_digest() {
  local path
  local -a paths
  IFS=':' read -ra paths <<<"$JITSI_SERVICE_FILES"
  for path in "${paths[@]}"; do
    [[ -f "$path" ]] || { echo "missing $path"; return; }
    printf '%s\0%s\0%s:%s\0' "$path" "$((8#$(stat -c %a "$path")))" "$(stat -c %U "$path")" "$(stat -c %G "$path")"
    cat "$path"
    printf '\0'
  done | sha256sum | cut -d' ' -f1
}
if [[ -n "${JITSI_SERVICE_FILES:-}" ]]; then
  read -r expected_digest || expected_digest=""
  if [[ "$(files_digest)" != "$expected_digest" ]]; then
    echo "restart-service: $JITSI_SERVICE: its files on this host are not the ones this deployment rendered (${JITSI_SERVICE_FILES//:/ }); an earlier failed restart rolled them back to the last good ones. Fix the configuration and run pulumi up again: the changed files are pushed anew" >&2
    exit 1
  fi
fi

# A failed check leaves the running service untouched: only the files go back. A failed restart restarts again.
config_test || roll_back "configuration check failed" files-only
apply_and_wait || roll_back "$last_error" restart
rm -rf -- "$pending_dir"
echo "restart-service: $JITSI_SERVICE ${JITSI_ACTION}ed and healthy"
