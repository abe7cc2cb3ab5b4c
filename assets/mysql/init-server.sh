#!/bin/bash
# Install one pinned MySQL Community Server release, create its data directory
# on the instance-store disk once, start it, and let only the OS root user log
# in as the MySQL root user (through the socket). Idempotent.
#
# usage: init-server VERSION DATA_DIR TMP_DIR DATA_UNIT
#   VERSION    e.g. 8.4.3; the repository follows its major.minor series
#   DATA_UNIT  the systemd unit that mounts the disk DATA_DIR lives on
set -euo pipefail

if (($# != 4)); then
  echo "usage: $0 VERSION DATA_DIR TMP_DIR DATA_UNIT" >&2
  exit 64
fi
version=$1
data_dir=$2
tmp_dir=$3
data_unit=$4
series=${version%.*}

if [[ ! $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "MySQL version '$version' is not of the form MAJOR.MINOR.PATCH" >&2
  exit 64
fi

cat >/etc/yum.repos.d/mysql-community.repo <<REPO
[mysql-community]
name=MySQL $series Community Server
baseurl=https://repo.mysql.com/yum/mysql-$series-community/el/9/\$basearch/
enabled=1
gpgcheck=1
gpgkey=https://repo.mysql.com/RPM-GPG-KEY-mysql-2023
REPO
if ! rpm -q "mysql-community-server-$version" >/dev/null; then
  dnf install --assumeyes "mysql-community-server-$version"
fi

# mysqld must not start before its data disk is mounted, at any boot.
mkdir -p /etc/systemd/system/mysqld.service.d
cat >/etc/systemd/system/mysqld.service.d/data-disk.conf <<UNIT
[Unit]
Requires=$data_unit
After=$data_unit
UNIT
systemctl daemon-reload

mkdir -p "$tmp_dir"
chown mysql:mysql "$tmp_dir"
chmod 0750 "$tmp_dir"
if [[ ! -d $data_dir/mysql ]]; then
  mkdir -p "$data_dir"
  chown mysql:mysql "$data_dir"
  chmod 0750 "$data_dir"
  mysqld --initialize-insecure --user=mysql
fi

systemctl enable mysqld.service
systemctl restart mysqld.service

# Local account changes stay out of the binary log, so a replica never holds
# transactions its primary lacks.
mysql --user=root <<'SQL'
SET @read_only = @@GLOBAL.super_read_only;
SET GLOBAL super_read_only = OFF;
SET SESSION sql_log_bin = 0;
ALTER USER 'root'@'localhost' IDENTIFIED WITH auth_socket;
SET GLOBAL super_read_only = @read_only;
SQL
