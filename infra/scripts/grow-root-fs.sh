#!/usr/bin/env bash
# Grows the root partition and its file system to the size of the EBS volume, as root; idempotent.
#
# cloud-init grows the root file system only at boot. A larger diskSizeGb modifies the volume of the running
# instance in place, so this step (re-run whenever diskSizeGb changes) waits until the kernel sees the new size,
# then grows the partition (growpart, cloud-guest-utils) and the file system (resize2fs for ext4, Ubuntu's
# default; xfs_growfs for XFS). Nothing happens when they already fill the volume.
#
# env: JITSI_DISK_SIZE_GB    the configured volume size in GiB (diskSizeGb)
#      JITSI_RESIZE_WAIT     optional: seconds to wait for the kernel to see the new size (default 300)
#      JITSI_RESIZE_POLL     optional: seconds between size checks (default 5)
#      JITSI_SYS_BLOCK       optional: the kernel's block-device directory (default /sys/class/block; tests)
set -euo pipefail
: "${JITSI_DISK_SIZE_GB:?}"
[[ "$JITSI_DISK_SIZE_GB" =~ ^[0-9]+$ ]] || { echo "grow-root-fs: JITSI_DISK_SIZE_GB must be a whole number, got '$JITSI_DISK_SIZE_GB'" >&2; exit 2; }
wanted=$((JITSI_DISK_SIZE_GB * 1024 * 1024 * 1024))

source=$(findmnt -n -o SOURCE /)
fstype=$(findmnt -n -o FSTYPE /)
part=$(basename "$source")
sys_block=${JITSI_SYS_BLOCK:-/sys/class/block}
# On EC2 / is a partition of the root volume; anything else (an overlay, a whole-disk file system) has no
# partition to grow.
if [[ ! -e "$sys_block/$part/partition" ]]; then
  echo "grow-root-fs: / is on $source ($fstype), not a disk partition: nothing to grow"
  exit 0
fi
disk=$(lsblk -n -o PKNAME "$source" | head -n1)
[[ -n "$disk" ]] || { echo "grow-root-fs: cannot tell the disk of $source" >&2; exit 1; }
number=$(cat "$sys_block/$part/partition")

# An EBS modification becomes visible to the kernel a little after the API accepts it.
deadline=$((SECONDS + ${JITSI_RESIZE_WAIT:-300}))
until (($(blockdev --getsize64 "/dev/$disk") >= wanted)); do
  if ((SECONDS >= deadline)); then
    echo "grow-root-fs: /dev/$disk is $(blockdev --getsize64 "/dev/$disk") bytes, not the ${JITSI_DISK_SIZE_GB} GiB configured, after ${JITSI_RESIZE_WAIT:-300}s" >&2
    exit 1
  fi
  sleep "${JITSI_RESIZE_POLL:-5}"
done

# growpart exits 1 with NOCHANGE when the partition already fills the disk.
rc=0
out=$(growpart "/dev/$disk" "$number" 2>&1) || rc=$?
if ((rc != 0)) && [[ "$out" != *NOCHANGE* ]]; then
  echo "grow-root-fs: growpart /dev/$disk $number failed: $out" >&2
  exit 1
fi
case "$fstype" in
  ext4 | ext3 | ext2) resize2fs "$source" ;;
  xfs) xfs_growfs / ;;
  *) echo "grow-root-fs: cannot grow a $fstype root file system" >&2; exit 1 ;;
esac
echo "grow-root-fs: / on $source ($fstype) fills /dev/$disk ($(df -h --output=size / | tail -n1 | tr -d ' '))"
