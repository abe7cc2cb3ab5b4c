#!/bin/bash
# Install one pinned Apache Solr release, verified against its SHA-512, with
# its home on the instance-store disk, then (re)start it under systemd.
# Idempotent: a release already unpacked is not downloaded again.
#
# usage: install-solr VERSION SHA512 INSTALL_ROOT SOLR_HOME
# Downloads go through the proxy named in the environment (http(s)_proxy).
set -euo pipefail

if (($# != 4)); then
  echo "usage: $0 VERSION SHA512 INSTALL_ROOT SOLR_HOME" >&2
  exit 64
fi
version=$1
sha512=$2
install_root=$3
solr_home=$4
release=$install_root/solr-$version
archive_url=https://archive.apache.org/dist/solr/solr/$version/solr-$version.tgz

if ! id -u solr >/dev/null 2>&1; then
  useradd --system --home-dir "$solr_home" --no-create-home \
    --shell /sbin/nologin solr
fi

if [[ ! -x $release/bin/solr ]]; then
  workdir=$(mktemp -d)
  trap 'rm -rf "$workdir"' EXIT
  curl --silent --show-error --fail --location --retry 5 \
    --output "$workdir/solr.tgz" "$archive_url"
  echo "$sha512  $workdir/solr.tgz" | sha512sum --check --strict -
  mkdir -p "$install_root"
  tar -xzf "$workdir/solr.tgz" -C "$install_root"
  chown -R root:root "$release"
fi
ln -sfn "$release" "$install_root/solr"

mkdir -p "$solr_home" /var/log/solr
if [[ ! -f $solr_home/solr.xml ]]; then
  cp "$release/server/solr/solr.xml" "$solr_home/solr.xml"
fi
chown -R solr:solr "$solr_home" /var/log/solr

systemctl daemon-reload
systemctl enable solr.service
systemctl restart solr.service
