#!/bin/bash
# Prepare the cache on the instance-store disk and (re)start Squid with the
# rendered configuration; fails if the configuration does not parse.
#
# usage: init-squid CACHE_DIR
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 CACHE_DIR" >&2
  exit 64
fi
cache_dir=$1

mkdir -p "$cache_dir"
chown squid:squid "$cache_dir"
squid -k parse
if [[ ! -d $cache_dir/00 ]]; then
  squid -z --foreground
fi
systemctl enable squid.service
systemctl restart squid.service
