#!/bin/bash
# The scenario of imdsRootOnly.test.ts, run as root inside `unshare --mount --net --propagation private`:
#   imdsRootOnly.scenario.sh DIR SCRIPT
# DIR holds upper/ and work/ (the overlay over /etc), bin/systemctl (a recorder), listen.py and probe.py; SCRIPT is
# infra/scripts/imds-root-only.sh. Port 80 is the IMDS's own; this namespace is new and empty, so nothing else can
# hold it. Prints key=value lines.
set -euo pipefail
dir=$1 script=$2
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$dir/upper,workdir=$dir/work" /etc
ip link set lo up
ip addr add 169.254.169.254/32 dev lo
ip addr add 169.254.169.253/32 dev lo
ip -6 addr add fd00:ec2::254/128 dev lo nodad
/usr/bin/python3 "$dir/listen.py" &
listener=$!
trap 'kill $listener' EXIT
for _ in $(seq 50); do /usr/bin/python3 "$dir/probe.py" 169.254.169.254 >/dev/null && break; sleep 0.1; done
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
probe() { # probe KEY ADDRESS: root and nobody
  echo "$1.root=$(/usr/bin/python3 "$dir/probe.py" "$2")"
  echo "$1.nobody=$("${nobody[@]}" /usr/bin/python3 "$dir/probe.py" "$2")"
}
probe before.v4 169.254.169.254
PATH="$dir/bin:$PATH" bash "$script" >"$dir/first.out" 2>&1 && echo "first.code=0" || echo "first.code=$?"
probe v4 169.254.169.254
probe v6 fd00:ec2::254
probe dns 169.254.169.253
echo "curl.nobody=$("${nobody[@]}" curl -sS --max-time 5 -X PUT http://169.254.169.254/latest/api/token 2>&1 | tr -d '\n')"
nft -s list table inet jitsi_imds >"$dir/table.first"
PATH="$dir/bin:$PATH" bash "$script" >"$dir/second.out" 2>&1 && echo "second.code=0" || echo "second.code=$?"
nft -s list table inet jitsi_imds >"$dir/table.second"
echo "tables=$(nft list tables | tr '\n' ' ')"
probe again.v4 169.254.169.254
for f in "$dir"/upper/jitsi-imds-root-only.nft "$dir"/upper/systemd/system/jitsi-imds-root-only.service; do echo "stat.${f#"$dir"/upper/}=$(stat -c '%U:%G %a' "$f")"; done
echo "upper=$(cd "$dir/upper" && find . -type f | sort | tr '\n' ' ')"
# Boot: a fresh network namespace (no table) and the unit's own command.
exec_start=$(sed -n 's/^ExecStart=//p' /etc/systemd/system/jitsi-imds-root-only.service)
echo "execstart=$exec_start"
# shellcheck disable=SC2016 # the inner script expands its own arguments; $2 is the ExecStart= command line, split on purpose
unshare --net bash -c '
  ip link set lo up; ip addr add 169.254.169.254/32 dev lo
  /usr/bin/python3 "$1/listen.py" & trap "kill $!" EXIT
  for _ in $(seq 50); do /usr/bin/python3 "$1/probe.py" 169.254.169.254 >/dev/null && break; sleep 0.1; done
  echo "boot.before.nobody=$(setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 "$1/probe.py" 169.254.169.254)"
  $2 && echo "boot.code=0"
  echo "boot.root=$(/usr/bin/python3 "$1/probe.py" 169.254.169.254)"
  echo "boot.nobody=$(setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 "$1/probe.py" 169.254.169.254)"
' boot "$dir" "$exec_start"
