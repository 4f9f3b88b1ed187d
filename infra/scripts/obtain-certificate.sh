#!/usr/bin/env bash
# Obtains (or keeps) the site's TLS certificate with certbot, as root: waits until the public name resolves to
# the Elastic IP, checks that the local nginx serves the ACME webroot on port 80, then runs an HTTP-01 webroot
# issuance. Re-runs are idempotent: certbot keeps a certificate that is not yet due, unless the ACME server
# changed (the staging switch), which re-issues from the new one. Renewal is certbot's own timer; its deploy
# hooks (renewal-hooks/deploy/, pushed later as a rendered file) reload what uses the certificate.
#
# env (set by the Pulumi program):
#   DOMAIN        public FQDN the certificate is for
#   EMAIL         ACME account contact
#   EXPECTED_IP   the Elastic IP the DNS A record must point at before the CA is asked to validate
#   ACME_SERVER   ACME directory URL (Let's Encrypt production or staging)
# env (optional):
#   EXTRA_DOMAINS space-separated further names on the same certificate (turn.<domain> when TURN is on); each
#                 must resolve to EXPECTED_IP and be served the ACME webroot like DOMAIN
# env (optional; production defaults, tests point them at a temp dir and local servers):
#   CERTBOT_CONFIG_DIR [/etc/letsencrypt]  CERTBOT_WORK_DIR [/var/lib/letsencrypt]
#   CERTBOT_LOGS_DIR [/var/log/letsencrypt]
#   ACME_WEBROOT [/var/www/acme]   directory nginx serves /.well-known/acme-challenge/ from (names.ts acmeWebroot)
#   ACME_BOOTSTRAP_ROOT [/usr/share/jitsi-meet]  where the jitsi-meet package's own nginx site serves challenges
#                 from, until the rendered site replaces it; linked to the webroot when nginx does not serve it
#   ACME_DEFAULT_ROOT [/var/www/html]  root of the distribution's default nginx site, which answers port-80 names
#                 no other site claims (an EXTRA_DOMAINS name before the rendered site is live); linked like the
#                 bootstrap root when such a name is not served otherwise
#   ACME_HTTP_PORT [80]  port on 127.0.0.1 where nginx serves the webroot (for the pre-flight check)
#   DNS_RESOLVER  [first nameserver of /etc/resolv.conf]  "address" or "address:port" to check the A record with
#   DNS_PROGRESS_SECONDS [30]  how often the DNS wait says it is still waiting (an idle SSH session may be cut)
#   DNS_WAIT_SECONDS [1200]  how long to wait for the A record: a resolver that cached "no such name" from
#                 before the record existed keeps it for the zone's SOA TTL (900 s in a default Route53 zone)
#   RENEWAL_TIMER [certbot.timer]  systemd timer that renews; empty: leave renewal scheduling alone
#   REQUESTS_CA_BUNDLE  read by certbot itself: CA bundle for the ACME server's TLS (tests: the test CA)
# env (optional; the certificate store, infra/certificateStore.ts):
#   JITSI_CERT_STORE_ARN  ARN of the Secrets Manager secret that keeps the lineage across replaced instances;
#                 stdin then carries the store client (certificate-store.py), installed as JITSI_CERT_STORE_CLIENT
#                 [/usr/local/sbin/jitsi-certificate-store]. Unset: no store, as before.
#   JITSI_CERT_STORE_ENDPOINT  Secrets Manager endpoint URL (tests: a loopback stand-in)
# Nothing here is secret: the ACME account key and the certificate key are created by certbot (or restored by the
# store client), root-only, and never pass through this script.
set -euo pipefail

die() { echo "obtain-certificate: $*" >&2; exit 2; }

: "${DOMAIN:?DOMAIN is required (public FQDN)}" "${EMAIL:?EMAIL is required (ACME account contact)}"
: "${EXPECTED_IP:?EXPECTED_IP is required (the Elastic IP)}" "${ACME_SERVER:?ACME_SERVER is required (ACME directory URL)}"
config_dir=${CERTBOT_CONFIG_DIR:-/etc/letsencrypt}
work_dir=${CERTBOT_WORK_DIR:-/var/lib/letsencrypt}
logs_dir=${CERTBOT_LOGS_DIR:-/var/log/letsencrypt}
webroot=${ACME_WEBROOT:-/var/www/acme}
bootstrap_root=${ACME_BOOTSTRAP_ROOT:-/usr/share/jitsi-meet}
default_root=${ACME_DEFAULT_ROOT:-/var/www/html}
http_port=${ACME_HTTP_PORT:-80}
dns_wait=${DNS_WAIT_SECONDS:-1200}
renewal_timer=${RENEWAL_TIMER-certbot.timer}

[[ "$DOMAIN" =~ ^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])$ ]] ||
  die "DOMAIN must be a lower-case FQDN like meet.example.com, got '$DOMAIN'"
read -r -a extra_domains <<<"${EXTRA_DOMAINS:-}"
for name in "${extra_domains[@]}"; do
  [[ "$name" =~ ^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])$ ]] ||
    die "EXTRA_DOMAINS must hold lower-case FQDNs like turn.meet.example.com, got '$name'"
done
all_domains=("$DOMAIN" "${extra_domains[@]}")
[[ "$EMAIL" =~ ^[^@[:space:]]+@[^@[:space:]]+$ ]] || die "EMAIL must be an address like admin@example.com, got '$EMAIL'"
[[ "$EXPECTED_IP" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]] || die "EXPECTED_IP must be an IPv4 address, got '$EXPECTED_IP'"
[[ "$ACME_SERVER" =~ ^https://[^[:space:]]+$ ]] || die "ACME_SERVER must be an https:// directory URL, got '$ACME_SERVER'"
[[ "$http_port" =~ ^[0-9]{1,5}$ ]] || die "ACME_HTTP_PORT must be a port number, got '$http_port'"
[[ "$dns_wait" =~ ^[0-9]+$ ]] || die "DNS_WAIT_SECONDS must be a whole number of seconds, got '$dns_wait'"
for dir in "$config_dir" "$work_dir" "$logs_dir" "$webroot" "$bootstrap_root" "$default_root"; do
  [[ "$dir" == /* ]] || die "directories must be absolute paths, got '$dir'"
done

if ! command -v certbot >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends certbot
fi

# A-record addresses of $2 as answered by resolver $1 ("address[:port]"; empty: /etc/resolv.conf's first
# nameserver), one per line; nothing on timeout or error. A plain UDP query so a test resolver on a high port
# works and no extra package (dig) is needed: python3 comes with certbot.
resolve_a() {
  python3 - "$1" "$2" <<'PY'
import random, socket, struct, sys

server, name = sys.argv[1], sys.argv[2]
if not server:
    with open("/etc/resolv.conf") as conf:
        server = next((l.split()[1] for l in conf if l.split()[:1] == ["nameserver"] and len(l.split()) > 1), "127.0.0.1")
if server.startswith("["):
    host, _, port = server[1:].partition("]:")
elif server.count(":") == 1:
    host, _, port = server.partition(":")
else:
    host, port = server, ""
host = host.split("%")[0]
query_id = random.randrange(1 << 16)
question = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
family = socket.AF_INET6 if ":" in host else socket.AF_INET
with socket.socket(family, socket.SOCK_DGRAM) as sock:
    sock.settimeout(2)
    try:
        sock.sendto(struct.pack(">HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + question, (host, int(port or 53)))
        reply = sock.recv(4096)
    except (OSError, ValueError):
        sys.exit(0)

def skip_name(offset):
    while reply[offset] != 0:
        if reply[offset] & 0xC0 == 0xC0:
            return offset + 2
        offset += reply[offset] + 1
    return offset + 1

try:
    answer_id, flags, _, answers, _, _ = struct.unpack(">HHHHHH", reply[:12])
    if answer_id != query_id or flags & 0x000F:
        sys.exit(0)
    offset = 12 + len(question)
    for _ in range(answers):
        offset = skip_name(offset)
        rtype, _, _, length = struct.unpack(">HHIH", reply[offset:offset + 10])
        offset += 10
        if rtype == 1 and length == 4:
            print(socket.inet_ntoa(reply[offset:offset + 4]))
        offset += length
except (IndexError, struct.error):
    pass  # a malformed or truncated reply counts as "not yet"
PY
}

# Let's Encrypt validates against public DNS: asking before the record is visible would fail the order and
# count against the CA's failed-validation limit.
deadline=$((SECONDS + dns_wait))
progress_every=${DNS_PROGRESS_SECONDS:-30}
[[ "$progress_every" =~ ^[0-9]+$ ]] || die "DNS_PROGRESS_SECONDS must be a whole number of seconds, got '$progress_every'"
next_progress=$((SECONDS + progress_every))
for name in "${all_domains[@]}"; do
  while :; do
    addresses=$(resolve_a "${DNS_RESOLVER:-}" "$name" | tr '\n' ' ') || addresses=""
    [[ " $addresses" == *" $EXPECTED_IP "* ]] && break
    if ((SECONDS >= deadline)); then
      die "DNS: $name resolves to '${addresses% }' (resolver ${DNS_RESOLVER:-from /etc/resolv.conf}), not $EXPECTED_IP, after ${dns_wait}s; check the Route53 A record and the zone's NS delegation"
    fi
    # A quiet SSH session may be cut by a NAT on the way (the wait can last the zone's negative-cache TTL).
    if ((SECONDS >= next_progress)); then
      echo "obtain-certificate: waiting for $name to resolve to $EXPECTED_IP (now: '${addresses% }'), $((deadline - SECONDS))s left"
      next_progress=$((SECONDS + progress_every))
    fi
    sleep 2
  done
  echo "obtain-certificate: $name resolves to $EXPECTED_IP"
done

# Pre-flight: the CA fetches http://$DOMAIN/.well-known/acme-challenge/<token>. Prove nginx serves the webroot
# for that name before spending an ACME validation on it.
challenge_dir="$webroot/.well-known/acme-challenge"
install -d -m 0755 "$challenge_dir"
probe_webroot() {
  local host=${1:-$DOMAIN} name body
  name="preflight-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  printf '%s' "$name" >"$challenge_dir/$name"
  body=$(python3 - "$http_port" "$host" "/.well-known/acme-challenge/$name" <<'PY' || true
import http.client, sys
port, host, path = sys.argv[1:4]
try:
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=5)
    conn.request("GET", path, headers={"Host": host})
    response = conn.getresponse()
    if response.status == 200:
        sys.stdout.write(response.read().decode("ascii", "replace"))
except OSError:
    pass
PY
)
  rm -f "$challenge_dir/$name"
  [[ "$body" == "$name" ]]
}
# Links <root>/.well-known/acme-challenge to the webroot's challenge directory, unless something is there already.
link_challenges() {
  local legacy="$1/.well-known/acme-challenge"
  if [[ -d "$1" && ! -e "$legacy" && ! -L "$legacy" ]]; then
    install -d -m 0755 "$1/.well-known"
    ln -s "$challenge_dir" "$legacy"
    echo "obtain-certificate: linked $legacy to $challenge_dir for the site serving it"
  fi
}
if ! probe_webroot; then
  # First deployment: the certificate step runs before the rendered nginx site is pushed (that site names the
  # certificate files), so the jitsi-meet package's site is live and serves challenges from its own root.
  # Point that location at our webroot; the rendered site serves the webroot directly and ignores the link.
  link_challenges "$bootstrap_root"
  probe_webroot || die "nginx on 127.0.0.1:$http_port does not serve $challenge_dir/ at /.well-known/acme-challenge/ for Host $DOMAIN; is nginx running with the site?"
fi
for name in "${extra_domains[@]}"; do
  # Before the rendered site (whose port 80 answers these names too), the distribution's default site does.
  probe_webroot "$name" || link_challenges "$default_root"
  probe_webroot "$name" || die "nginx on 127.0.0.1:$http_port does not serve $challenge_dir/ for Host $name; the site's port-80 server_name must include it"
done
echo "obtain-certificate: nginx serves the ACME webroot $webroot"

# A replaced instance: restore the lineage the previous one kept in the store, if it is for exactly these names
# and this ACME server and not expired; certbot below then keeps it (--keep-until-expiring) instead of spending
# one of Let's Encrypt's 5 certificates per set of names per week. The client prints why it restores nothing.
store_client=${JITSI_CERT_STORE_CLIENT:-/usr/local/sbin/jitsi-certificate-store}
if [[ -n "${JITSI_CERT_STORE_ARN:-}" ]]; then
  [[ "$store_client" == /* ]] || die "JITSI_CERT_STORE_CLIENT must be an absolute path, got '$store_client'"
  # Ubuntu 24.04 packages no AWS CLI; boto3 is in universe (the client reads the instance role through IMDSv2).
  if ! /usr/bin/python3 -c 'import boto3' 2>/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends python3-boto3
  fi
  client_text=$(mktemp)
  trap 'rm -f "$client_text"' EXIT
  cat >"$client_text"
  [[ -s "$client_text" ]] || die "JITSI_CERT_STORE_ARN is set but no store client came on stdin"
  install -D -m 0755 -o root -g root "$client_text" "$store_client"
  "$store_client" configure --config-dir "$config_dir" || die "could not configure the certificate store"
  "$store_client" restore --config-dir "$config_dir" ||
    die "could not read the certificate store; not asking $ACME_SERVER for a new certificate, which would count against its limits (re-run once the store is readable)"
fi

# The staging switch: a lineage from another ACME server is re-issued from the requested one, even if it is
# not yet due (--break-my-certs allows a deliberate switch back to staging).
force=()
renewal_conf="$config_dir/renewal/$DOMAIN.conf"
if [[ -f "$renewal_conf" ]]; then
  previous_server=$(sed -n 's/^server *= *//p' "$renewal_conf" | head -n 1)
  if [[ -n "$previous_server" && "$previous_server" != "$ACME_SERVER" ]]; then
    echo "obtain-certificate: ACME server changed from $previous_server; re-issuing from $ACME_SERVER"
    force=(--force-renewal --break-my-certs)
  fi
fi

certbot certonly --webroot --webroot-path "$webroot" \
  --cert-name "$DOMAIN" --domains "$(IFS=,; echo "${all_domains[*]}")" \
  --server "$ACME_SERVER" --email "$EMAIL" --agree-tos --no-eff-email \
  --non-interactive --keep-until-expiring "${force[@]}" \
  --config-dir "$config_dir" --work-dir "$work_dir" --logs-dir "$logs_dir" ||
  die "certbot could not obtain a certificate for $DOMAIN from $ACME_SERVER (its reason is above; details in $logs_dir/letsencrypt.log)"

if [[ -n "$renewal_timer" ]] && command -v systemctl >/dev/null; then
  systemctl enable --now "$renewal_timer"
fi

certificate="$config_dir/live/$DOMAIN/cert.pem"
[[ -s "$certificate" ]] || die "certbot finished but $certificate is missing"
echo "obtain-certificate: $(openssl x509 -in "$certificate" -noout -subject -issuer -enddate | tr '\n' ' ')"

# Keep what certbot now holds (a new issuance, or a renewal of a due one) for the next replaced instance.
if [[ -n "${JITSI_CERT_STORE_ARN:-}" ]]; then
  "$store_client" store --config-dir "$config_dir" ||
    die "the certificate is in place, but storing it failed; a replaced instance would need a new one (re-run to store it)"
fi
