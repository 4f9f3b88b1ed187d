#!/usr/bin/env bash
# The rehearsal host: run as `unshare --mount --net --pid --fork --propagation private namespace.sh WORK DRIVER...`.
# Builds a throwaway root (overlayfs over / on a tmpfs, so nothing reaches the real file system), with loopback
# as its only network, boots it like a fresh Ubuntu instance (user ubuntu with passwordless sudo, sshd, nginx),
# starts the fixtures the host would reach on the internet — Jitsi's apt repository (stand-in, HTTPS under its
# real name), an ACME CA (pebble) and public DNS (pebble-challtestsrv) — then runs DRIVER outside the chroot in
# the same network namespace. Everything ends with this script (PID 1 of the namespace).
#
# WORK holds: repo/www (build-repo.sh), id_ed25519.pub (the deployer's key). Writes WORK/ca.pem (throwaway CA).
# Environment: REHEARSAL_PUBLIC_IP (the Elastic IP the DNS A record points at; "public DNS" answers it for every name),
#              REHEARSAL_PRIVATE_IP (the instance's private address: coturn relays from it),
#              REHEARSAL_AWS_REGION (the region of the AWS endpoints the host reaches; their stand-ins run in DRIVER:
#              Secrets Manager at 127.0.0.5 under its regional name, instance metadata at 169.254.169.254).
set -euo pipefail
work=$1
shift

public_ip=${REHEARSAL_PUBLIC_IP:?}
private_ip=${REHEARSAL_PRIVATE_IP:?}
secrets_host="secretsmanager.${REHEARSAL_AWS_REGION:?}.amazonaws.com"
standins=$(cd "$(dirname "$0")" && pwd)/standins
log() { echo "rehearsal: $*" >&2; }

# --- network: loopback only. The Elastic IP is a loopback address here (AWS maps it to the instance); the
# repository's address 127.0.0.2:443 is forwarded to its server's port, since nginx takes *:443 on this host.
ip link set lo up
ip addr add "$public_ip/32" dev lo
ip addr add 169.254.169.254/32 dev lo
# The private address is on the instance's own interface on EC2 (ens5), and coturn binds its relays to it: coturn
# refuses a relay address on the loopback interface ("Cannot configure any meaningful IP listener address"), so it
# goes on one end of a veth pair that stays inside this namespace.
ip link add ens5 type veth peer name ens5-peer
ip link set ens5 up
ip link set ens5-peer up
ip addr add "$private_ip/32" dev ens5
nft -f - <<'NFT'
table ip rehearsal {
  chain output {
    type nat hook output priority -100;
    ip daddr 127.0.0.2 tcp dport 443 dnat to 127.0.0.2:8443;
    ip daddr 127.0.0.5 tcp dport 443 dnat to 127.0.0.5:8444;
    ip daddr 169.254.169.254 tcp dport 80 dnat to 169.254.169.254:8080;
  }
}
NFT

# --- throwaway TLS CA, trusted only inside the overlay
tls="$work/tls"
mkdir -p "$tls"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=rehearsal throwaway CA" -keyout "$tls/ca.key" -out "$work/ca.pem" 2>/dev/null
for name in download.jitsi.org pebble.rehearsal "$secrets_host"; do
  openssl req "${ec[@]}" -subj "/CN=$name" -keyout "$tls/$name.key" -out "$tls/$name.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$name" >"$tls/$name.ext"
  openssl x509 -req -in "$tls/$name.csr" -CA "$work/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
    -extfile "$tls/$name.ext" -out "$tls/$name.pem" 2>/dev/null
done

# --- the throwaway root
base="$work/root"
mkdir -p "$base"
mount -t tmpfs -o size=3g tmpfs "$base"
mkdir -p "$base/upper" "$base/work" "$base/merged"
mount -t overlay overlay -o "lowerdir=/,upperdir=$base/upper,workdir=$base/work" "$base/merged"
m="$base/merged"
mount -t proc proc "$m/proc"
mount --rbind /dev "$m/dev"
mount -t tmpfs tmpfs "$m/run"
mount -t tmpfs tmpfs "$m/tmp"
echo "$m" >"$work/merged"
in_root() { chroot "$m" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }

# Names: the repository, the CA and Secrets Manager by /etc/hosts; everything else through "public DNS" (challtestsrv, which
# answers every A query with the Elastic IP).
rm -f "$m/etc/hosts" "$m/etc/resolv.conf"
printf '127.0.0.1 localhost\n127.0.0.2 download.jitsi.org\n127.0.0.4 pebble.rehearsal\n127.0.0.5 %s\n' "$secrets_host" >"$m/etc/hosts"
printf 'nameserver 127.0.0.53\n' >"$m/etc/resolv.conf"
# Only Jitsi's (stand-in) repository: there is no other network.
mkdir -p "$m/root/apt-sources-offline"
find "$m/etc/apt/sources.list.d" -mindepth 1 -maxdepth 1 -exec mv {} "$m/root/apt-sources-offline/" \;
[[ -f "$m/etc/apt/sources.list" ]] && mv "$m/etc/apt/sources.list" "$m/root/apt-sources-offline/"
rm -f "$m/etc/apt/apt.conf.d/"*proxy* 2>/dev/null || true
cp "$work/ca.pem" "$m/usr/local/share/ca-certificates/rehearsal-ca.crt"
in_root update-ca-certificates >/dev/null 2>&1

# Stand-ins: systemd (none in a PID namespace), cloud-init, journald, snapd — where the real ones live (apt runs
# maintainer scripts with its own PATH, DPkg::Path).
install -m 0755 "$standins/systemctl" "$m/usr/bin/systemctl"
install -m 0755 "$standins/cloud-init" "$m/usr/bin/cloud-init"
install -m 0755 "$standins/journalctl" "$m/usr/bin/journalctl"
install -m 0755 "$standins/snap" "$m/usr/bin/snap"

# The AMI's login: user ubuntu, passwordless sudo, the deployer's key.
in_root useradd -m -s /bin/bash ubuntu
printf 'ubuntu ALL=(ALL) NOPASSWD:ALL\n' >"$m/etc/sudoers.d/90-cloud-init-users"
chmod 0440 "$m/etc/sudoers.d/90-cloud-init-users"
install -d -m 0700 -o "$(in_root id -u ubuntu)" -g "$(in_root id -g ubuntu)" "$m/home/ubuntu/.ssh"
install -m 0600 -o "$(in_root id -u ubuntu)" -g "$(in_root id -g ubuntu)" "$work/id_ed25519.pub" "$m/home/ubuntu/.ssh/authorized_keys"
rm -f "$m/etc/ssh/ssh_host_"*
in_root ssh-keygen -A >/dev/null
rm -f "$m/etc/ssh/sshd_config.d/"*.conf
install -d -m 0755 "$m/run/sshd"

# Boot: sshd and nginx (its default site) run, as on a fresh instance; Prosody is started by its package.
in_root systemctl start ssh
in_root systemctl start nginx

# --- fixtures on the "internet"
(cd "$work/repo/www" && exec python3 - "$tls" >"$work/repo.log" 2>&1 <<'PY') &
import http.server, ssl, sys
tls = sys.argv[1]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(f"{tls}/download.jitsi.org.pem", f"{tls}/download.jitsi.org.key")
server = http.server.ThreadingHTTPServer(("127.0.0.2", 8443), http.server.SimpleHTTPRequestHandler)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
PY
pebble-challtestsrv -dns01 127.0.0.53:53 -http01 "" -https01 "" -tlsalpn01 "" \
  -management 127.0.0.53:8055 -defaultIPv4 "$public_ip" -defaultIPv6 "" >"$work/challtestsrv.log" 2>&1 &
cat >"$tls/pebble.json" <<JSON
{"pebble": {"listenAddress": "127.0.0.4:14000", "managementListenAddress": "127.0.0.4:15000",
  "certificate": "$tls/pebble.rehearsal.pem", "privateKey": "$tls/pebble.rehearsal.key",
  "httpPort": 80, "tlsPort": 5001, "ocspResponderURL": "", "externalAccountBindingRequired": false,
  "certificateValidityPeriod": 7776000}}
JSON
PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
  pebble -config "$tls/pebble.json" -dnsserver 127.0.0.53:53 >"$work/pebble.log" 2>&1 &

for _ in $(seq 100); do
  if (exec 3<>/dev/tcp/127.0.0.1/22) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.2/8443) 2>/dev/null &&
    (exec 3<>/dev/tcp/127.0.0.4/14000) 2>/dev/null; then
    break
  fi
  sleep 0.1
done
log "host up (sshd, nginx), repository, pebble and DNS ready"
"$@"
