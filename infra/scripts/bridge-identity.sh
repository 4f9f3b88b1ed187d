#!/bin/bash
# Runs as root before every start of a pool videobridge: writes the per-instance values the rendered jvb.conf
# reads from its environment — private and public IPv4 (static NAT mapping), a MUC nickname unique in the
# brewery (the instance id) and the XMPP password, fetched from SSM Parameter Store through the instance role.
# The output is root-only on tmpfs; systemd hands it to the bridge as its environment.
set -euo pipefail

POOL_ENV=${POOL_ENV:-/etc/jitsi-bridge/pool.env}
# shellcheck source=/dev/null
. "$POOL_ENV"
# Tests point these at a local stand-in; on EC2 they are the instance metadata service.
IMDS_ENDPOINT=${IMDS_ENDPOINT:-http://169.254.169.254}

fail() {
  echo "jitsi-bridge-identity: $*" >&2
  exit 1
}

# IMDSv2 (the launch template requires it): a session token first, then the value.
imds() {
  local token
  token=$(curl -fsS --max-time 5 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" "$IMDS_ENDPOINT/latest/api/token")
  curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$IMDS_ENDPOINT/latest/meta-data/$1"
}

ipv4() {
  [[ $1 =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]]
}

private_ip=$(imds local-ipv4) || fail "no private IPv4 in instance metadata"
# Only present when the subnet/launch template gives the instance a public address; media needs it.
public_ip=$(imds public-ipv4) || fail "no public IPv4 in instance metadata: put the pool in public subnets"
instance_id=$(imds instance-id) || fail "no instance id in instance metadata"
region=$(imds placement/region) || fail "no region in instance metadata"
ipv4 "$private_ip" || fail "private address is not IPv4"
ipv4 "$public_ip" || fail "public address is not IPv4"
[[ $instance_id =~ ^i-[0-9a-f]+$ ]] || fail "unexpected instance id"

# The password only ever lives in this shell's memory and the root-only file; never on a command line.
password=""
for attempt in 1 2 3 4 5 6; do
  # A fresh instance profile can take a few seconds to be usable.
  if password=$(aws ssm get-parameter --region "$region" --name "$PASSWORD_PARAMETER" \
    --with-decryption --query Parameter.Value --output text); then
    break
  fi
  [ "$attempt" -lt 6 ] || fail "cannot read $PASSWORD_PARAMETER from SSM Parameter Store"
  sleep 5
done
# systemd environment files take single-quoted values verbatim, except a quote or a line break.
if [ -z "$password" ] || [[ $password == *"'"* ]] || [[ $password == *$'\n'* ]]; then
  fail "the password in $PASSWORD_PARAMETER is empty or holds a quote or line break"
fi

umask 077
install -d -m 0700 "$(dirname "$IDENTITY_ENV")"
tmp=$(mktemp "$IDENTITY_ENV.XXXXXX")
trap 'rm -f "$tmp"' EXIT
{
  printf "%s='%s'\n" "$ENV_PRIVATE_IP" "$private_ip"
  printf "%s='%s'\n" "$ENV_PUBLIC_IP" "$public_ip"
  printf "%s='%s'\n" "$ENV_NICKNAME" "$instance_id"
  printf "%s='%s'\n" "$ENV_PASSWORD" "$password"
} >"$tmp"
mv -f "$tmp" "$IDENTITY_ENV"
trap - EXIT
