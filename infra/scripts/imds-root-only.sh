#!/bin/bash
# Lets only root reach the EC2 instance metadata service (IMDS) on this host, now and after every boot.
#
# Why: the instance role's credentials come from the IMDS, and IMDSv2 with a hop limit of 1 keeps containers out,
# not local users. Without this, any local account (prosody, jicofo, jvb, www-data, turnserver, ...) could take the
# role's credentials and read the certificate store (TLS and ACME account keys, root-only on disk). Everything on
# this host that needs the IMDS runs as root: cloud-init, snapd and the SSM agent, the disk-use publisher (systemd,
# no User=), the certificate store client (the certificate step under sudo, certbot's deploy hook). The
# videobridge does not ask the IMDS (jvb.conf turns ice4j's AWS harvester off). EC2 Instance Connect (its key lookup runs as ec2-instance-connect)
# stops working; SSH with the deployment's key does not depend on it.
#
# How: AWS's "Limit access to the Instance Metadata Service" (EC2 User Guide,
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-limiting-access.html) does this with an
# iptables owner match. Here it is an nftables table of its own (nothing else on the host is touched), on the
# output hook at priority -150: before the NAT hook (-100), so it sees the address a process asked for even when
# a DNAT rule rewrites it. A socket whose owner is not uid 0 gets a TCP reset (or an ICMP administratively
# prohibited), so a refused client fails at once instead of waiting for a timeout. Only the IMDS addresses are
# matched: the Amazon DNS resolver (.253) and time service (.123) stay open to everyone.
#
# Runs as root, by the host provisioning: its own step, before Jitsi's packages create their users.
# Idempotent: the file replaces the table atomically.
set -euo pipefail

rules=/etc/jitsi-imds-root-only.nft
unit=jitsi-imds-root-only.service

if ! command -v nft >/dev/null 2>&1; then
  # Ubuntu's server images ship nftables; install it if an image does not.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -q install nftables
fi
nft_bin=$(command -v nft)

tmp=$(mktemp "$rules.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp" <<'NFT'
#!/usr/sbin/nft -f
# Written by the Jitsi Pulumi program (infra/scripts/imds-root-only.sh): only root may reach the EC2 instance
# metadata service. Loaded at boot by jitsi-imds-root-only.service. Re-run the script instead of editing.
table inet jitsi_imds
delete table inet jitsi_imds
table inet jitsi_imds {
  chain output {
    type filter hook output priority -150; policy accept;
    ip daddr 169.254.169.254 meta skuid != 0 counter jump refuse
    ip6 daddr fd00:ec2::254 meta skuid != 0 counter jump refuse
  }
  chain refuse {
    meta l4proto tcp reject with tcp reset
    reject with icmpx admin-prohibited
  }
}
NFT
# Checked before anything is replaced: a rule the kernel refuses leaves the old file and table in place.
"$nft_bin" --check -f "$tmp"
chown root:root "$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$rules"
trap - EXIT
"$nft_bin" -f "$rules"

# At boot before any network is configured and after Ubuntu's own nftables.service (whose /etc/nftables.conf
# starts with "flush ruleset"), if that is ever enabled.
install -d -m 0755 /etc/systemd/system
tmp=$(mktemp "/etc/systemd/system/$unit.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp" <<UNIT
[Unit]
Description=Only root may reach the EC2 instance metadata service (Jitsi)
DefaultDependencies=no
Wants=network-pre.target
Before=network-pre.target shutdown.target
After=nftables.service
Conflicts=shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=$nft_bin -f $rules

[Install]
WantedBy=sysinit.target
UNIT
chown root:root "$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "/etc/systemd/system/$unit"
trap - EXIT

systemctl daemon-reload
systemctl enable --now "$unit"
echo "imds-root-only: only root may reach the instance metadata service"
