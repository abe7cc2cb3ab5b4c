#!/bin/bash
# Find a data disk, give it a labelled XFS file system once, and mount it.
# Safe to run at every boot: a disk already mounted or already labelled is
# left as it is.
#
# usage: mount-disk [--ephemeral] LABEL MOUNT_POINT WAIT_SECONDS CANDIDATE...
#
# CANDIDATE, tried in order until one exists:
#   /dev/NAME        a device path; Xen hosts (i2) show /dev/sdX as /dev/xvdX,
#                    so pass both spellings
#   ebs:VOLUME_ID    an EBS volume that a Nitro host shows as NVMe (by serial)
#   instance-store   the first NVMe instance-store disk of a Nitro host
#
# A disk with no file system is formatted. A disk with another file system is
# formatted only with --ephemeral (instance store, which a stop wipes and which
# some instance types deliver pre-formatted); otherwise the script stops, so a
# volume that holds someone's data is never overwritten.
#
# MOUNT_DISK_ROOT prefixes /sys and /dev so the search can be tested offline.
set -euo pipefail

ephemeral=false
if [[ ${1:-} == --ephemeral ]]; then
  ephemeral=true
  shift
fi
if (($# < 4)); then
  echo "usage: $0 [--ephemeral] LABEL MOUNT_POINT WAIT_SECONDS CANDIDATE..." >&2
  exit 64
fi
label=$1
mount_point=$2
wait_seconds=$3
shift 3
root=${MOUNT_DISK_ROOT:-}

is_device() {
  if [[ -n $root ]]; then [[ -e $1 ]]; else [[ -b $1 ]]; fi
}

nvme_matching() {
  local file=$1 wanted=$2 block
  for block in "$root"/sys/block/nvme*n1; do
    [[ -r $block/device/$file ]] || continue
    if [[ $(tr -d ' \n' <"$block/device/$file") == "$wanted" ]]; then
      echo "$root/dev/${block##*/}"
      return 0
    fi
  done
  return 1
}

find_device() {
  local candidate volume
  for candidate in "$@"; do
    case $candidate in
      ebs:*)
        volume=${candidate#ebs:}
        nvme_matching serial "${volume//-/}" && return 0
        ;;
      instance-store)
        nvme_matching model "AmazonEC2NVMeInstanceStorage" && return 0
        ;;
      /dev/*)
        if is_device "$root$candidate"; then
          echo "$root$candidate"
          return 0
        fi
        ;;
      *)
        echo "unknown candidate $candidate" >&2
        return 2
        ;;
    esac
  done
  return 1
}

if [[ ${MOUNT_DISK_FIND_ONLY:-} == 1 ]]; then
  find_device "$@"
  exit
fi

if mountpoint -q "$mount_point"; then
  echo "$mount_point is already mounted"
  exit 0
fi

deadline=$((SECONDS + wait_seconds))
until device=$(find_device "$@"); do
  if ((SECONDS >= deadline)); then
    echo "no disk among $* appeared within ${wait_seconds}s" >&2
    exit 1
  fi
  sleep 5
done

if findmnt -rn --source "$device" >/dev/null; then
  echo "$device is mounted elsewhere; refusing to touch it" >&2
  exit 1
fi

current_type=$(blkid -o value -s TYPE "$device" || true)
current_label=$(blkid -o value -s LABEL "$device" || true)
if [[ $current_label != "$label" ]]; then
  if [[ -n $current_type && $ephemeral != true ]]; then
    echo "$device holds a $current_type file system labelled" \
      "'$current_label', not '$label'; refusing to format it" >&2
    exit 1
  fi
  mkfs.xfs -f -L "$label" "$device"
fi

mkdir -p "$mount_point"
mount -o noatime "$device" "$mount_point"
echo "mounted $device ($label) at $mount_point"
