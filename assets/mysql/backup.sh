#!/usr/bin/env bash
# Nightly backup of one MySQL replica: dump, compress, checksum, upload, prune.
#
# Run as root by the backup SSM Command document (aws:runShellScript). All input
# comes from environment variables:
#   BUCKET         S3 bucket that receives the backup; its default encryption
#                  (SSE-KMS) applies, so no key is named here
#   STAGE          stage name, e.g. Prod (letters, digits, hyphens)
#   SHARD          shard number, counted from 0
#   PRUNE_DAYS     local copies older than this many days are deleted (1 or more)
#   BACKUP_DIR     staging directory on the sc1 volume (default /backup)
#   REQUIRE_MOUNT  1 (default) refuses to run unless BACKUP_DIR is a mount point,
#                  so a missing sc1 volume can never fill the root volume
#
# Result, where NAME is mysql-STAGE-SHARD-<UTC start, YYYY-MM-DDTHHMMSSZ>:
#   s3://BUCKET/mysql/STAGE/SHARD/YYYY-MM-DD/NAME.sql.zst
#   s3://BUCKET/mysql/STAGE/SHARD/YYYY-MM-DD/NAME.sql.zst.sha256  (sha256sum -c)
# The checksum object is uploaded last: its presence means the dump is complete.
#
# Why mysqldump and not xtrabackup: the client ships with MySQL on every host,
# so nothing else has to match the server's exact version, and a logical dump
# restores onto any MySQL the restore drill starts. --single-transaction reads
# one InnoDB snapshot without table locks, and it runs on the replica, so the
# primary is never touched. A dump takes hours once a shard holds hundreds of
# GiB; when one no longer fits the backup window, switch that tier to xtrabackup.
#
# mysqldump logs in as the OS root user over the local socket (auth_socket, see
# my.cnf), so no database password is passed, stored or printed here.
set -Eeuo pipefail

readonly PROG=mysql-backup

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

trap 'die "line $LINENO: \"$BASH_COMMAND\" exited with status $?"' ERR

require() {
    local name=$1 value=$2 pattern=$3 allowed=$4
    [[ $value =~ $pattern ]] || die "$name='$value' is invalid; allowed: $allowed"
}

require BUCKET "${BUCKET:-}" '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' 'an S3 bucket name'
require STAGE "${STAGE:-}" '^[A-Za-z0-9-]{1,32}$' 'letters, digits and hyphens'
require SHARD "${SHARD:-}" '^(0|[1-9][0-9]{0,5})$' 'a shard number counted from 0'
require PRUNE_DAYS "${PRUNE_DAYS:-}" '^[1-9][0-9]{0,3}$' 'a whole number of days from 1'
BACKUP_DIR=${BACKUP_DIR:-/backup}
REQUIRE_MOUNT=${REQUIRE_MOUNT:-1}

for tool in mysqldump zstd sha256sum aws flock find; do
    command -v "$tool" >/dev/null || die "required command '$tool' is not installed"
done
[[ -d $BACKUP_DIR && -w $BACKUP_DIR ]] ||
    die "BACKUP_DIR=$BACKUP_DIR is not a writable directory"
if [[ $REQUIRE_MOUNT == 1 ]] && ! mountpoint -q "$BACKUP_DIR"; then
    die "BACKUP_DIR=$BACKUP_DIR is not a mounted volume; is the sc1 volume attached?"
fi

# A second run on the same host (a retried command) must not dump alongside.
exec 9>"$BACKUP_DIR/.mysql-backup.lock"
flock -n 9 || die "another backup is already running on this host"

started=$(date -u +%Y-%m-%dT%H%M%SZ)
name="mysql-$STAGE-$SHARD-$started.sql.zst"
backup="$BACKUP_DIR/$name"
partial="$backup.partial"
prefix="s3://$BUCKET/mysql/$STAGE/$SHARD/${started%%T*}"
trap 'rm -f -- "$partial"' EXIT

# The dump is compressed and hashed as it streams, so the slow sc1 volume is
# written once. --source-data=2 (the MySQL 8.0.26+ name of --master-data) notes
# the replica's binlog position in a comment; reading it holds a global read
# lock for an instant, on this replica only. The GTID set is written as well.
if ! digest=$(
    mysqldump --single-transaction --quick --source-data=2 --all-databases \
        --routines --triggers --events --hex-blob --comments |
        zstd --quiet --threads=0 --stdout |
        tee -- "$partial" |
        sha256sum
); then
    die "dump failed: mysqldump, zstd or the write to $BACKUP_DIR exited non-zero"
fi

# Reading the file back proves it decompresses; mysqldump ends every finished
# dump with a "-- Dump completed" line, so its absence means a cut-short dump.
tail_bytes=$(zstd --quiet --decompress --stdout -- "$partial" | tail -c 512) ||
    die "compressed dump $partial does not decompress"
[[ -n $tail_bytes ]] || die "mysqldump produced an empty dump"
[[ ${tail_bytes##*$'\n'} == "-- Dump completed"* ]] ||
    die "dump is incomplete: it does not end with mysqldump's completion line"

mv -- "$partial" "$backup"
printf '%s  %s\n' "${digest%% *}" "$name" >"$backup.sha256"

aws s3 cp --only-show-errors "$backup" "$prefix/$name" ||
    die "upload of $backup to $prefix/ failed"
aws s3 cp --only-show-errors "$backup.sha256" "$prefix/$name.sha256" ||
    die "upload of $backup.sha256 to $prefix/ failed"
size=$(stat -c %s "$backup")
echo "uploaded $prefix/$name ($size bytes)"

# Only after a successful upload, and only this script's own files.
find "$BACKUP_DIR" -maxdepth 1 -type f -name 'mysql-*.sql.zst*' \
    -mmin +$((PRUNE_DAYS * 24 * 60)) -print -delete |
    sed 's/^/pruned /'
