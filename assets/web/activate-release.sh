#!/bin/bash
# Point the service at an unpacked release, restart it, and succeed only once
# the release answers its health path: cfn-signal reports this exit status.
#
# usage: activate-release SERVICE INSTALL_DIR VERSION PORT HEALTH_PATH WAIT_SECONDS
set -euo pipefail

if (($# != 6)); then
  echo "usage: $0 SERVICE INSTALL_DIR VERSION PORT HEALTH_PATH WAIT_SECONDS" >&2
  exit 64
fi
service=$1
install_dir=$2
version=$3
port=$4
health_path=$5
wait_seconds=$6
release=$install_dir/releases/$version

if [[ ! -f $release/server.py ]]; then
  echo "release $version is not unpacked at $release" >&2
  exit 1
fi
if ! id -u "$service" >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /sbin/nologin "$service"
fi
chown -R root:root "$release"
chmod -R go-w "$release"

# Switch the link atomically so a restart never sees a half-written path.
ln -sfn "$release" "$install_dir/current.new"
mv -Tf "$install_dir/current.new" "$install_dir/current"

systemctl daemon-reload
systemctl enable "$service.service"
systemctl restart "$service.service"

deadline=$((SECONDS + wait_seconds))
until curl --silent --fail --noproxy '*' --max-time 2 \
  "http://127.0.0.1:$port$health_path" >/dev/null; do
  if ((SECONDS >= deadline)); then
    echo "release $version did not answer $health_path within ${wait_seconds}s" >&2
    journalctl --unit "$service.service" --no-pager --lines 50 >&2 || true
    exit 1
  fi
  sleep 2
done
echo "release $version of $service is healthy on port $port"
