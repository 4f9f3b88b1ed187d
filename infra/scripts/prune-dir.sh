#!/usr/bin/env bash
# Removes every file in one directory that the rendered set no longer contains, as root. Used for the RS256
# public keys: a key dropped from the stack config must stop being served, or Prosody would keep accepting it.
# env:   JITSI_PRUNE_DIR  absolute directory this program owns exclusively
# stdin: the file names to keep, one per line (not secret: public key file names)
set -euo pipefail
: "${JITSI_PRUNE_DIR:?}"
[[ "$JITSI_PRUNE_DIR" == /?* && "$JITSI_PRUNE_DIR" != *..* ]] || { echo "prune-dir: bad directory $JITSI_PRUNE_DIR" >&2; exit 2; }

declare -A keep=()
while IFS= read -r name; do
  [[ -n "$name" ]] && keep["$name"]=1
done

[[ -d "$JITSI_PRUNE_DIR" ]] || { echo "prune-dir: $JITSI_PRUNE_DIR absent, nothing to prune"; exit 0; }
shopt -s nullglob dotglob
for file in "$JITSI_PRUNE_DIR"/*; do
  name=${file##*/}
  if [[ -f "$file" && -z "${keep[$name]:-}" ]]; then
    rm -f -- "$file"
    echo "prune-dir: removed $name"
  fi
done
