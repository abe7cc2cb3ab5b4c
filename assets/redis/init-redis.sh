#!/bin/bash
# Bind Redis to this host's private address, prepare its data directory on the
# instance-store disk, and (re)start it.
#
# usage: init-redis SERVICE USER CONFIG_DIR DATA_DIR
set -euo pipefail

if (($# != 4)); then
  echo "usage: $0 SERVICE USER CONFIG_DIR DATA_DIR" >&2
  exit 64
fi
service=$1
user=$2
config_dir=$3
data_dir=$4

private_address=$(hostname -I | awk '{print $1}')
if [[ -z $private_address ]]; then
  echo "this host has no IPv4 address to bind to" >&2
  exit 1
fi
echo "bind 127.0.0.1 -::1 $private_address" >"$config_dir/bind.conf"

mkdir -p "$data_dir"
chown "$user:$user" "$data_dir"
chmod 0750 "$data_dir"

systemctl enable "$service.service"
systemctl restart "$service.service"
