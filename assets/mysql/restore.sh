#!/usr/bin/env bash
# Restore one nightly MySQL backup into a throwaway server on this host and
# count the rows of named tables: the proof that the backup restores.
#
# Run as root by the restore drill (scripts/restore_drill.py) through SSM Run
# Command, on a fresh host that serves nothing. All input comes from the
# environment:
#   BUCKET         bucket holding the backup (the stage's, or the DR replica)
#   REGION         the bucket's region
#   BACKUP_KEY     key of the .sql.zst backup; its checksum is BACKUP_KEY.sha256
#   TABLES         tables to count, separated by spaces, each DATABASE.TABLE
#   WORK_DIR       scratch directory for the download and the server's data
#                  (default /restore)
#   REQUIRE_MOUNT  1 (default) refuses to run unless WORK_DIR is a mount point,
#                  so a restore can never fill the root volume
#   MYSQL_USER     OS user the scratch server runs as (default mysql)
#   START_SECONDS  how long the scratch server may take to accept a connection
#                  (default 300)
#
# On success stdout carries one line of JSON and nothing else:
#   {"backup": "s3://BUCKET/KEY", "bytes": N, "sha256": "HEX",
#    "seconds": {"download": S, "verify": S, "start": S, "load": S, "count": S},
#    "tables": {"DATABASE.TABLE": ROWS, ...}}
# Progress and errors go to stderr, and any failure exits non-zero. A table with
# no rows is reported, not refused: the drill decides what a pass is.
#
# The scratch server has no TCP port (socket only) and is stopped on exit.
set -Eeuo pipefail

readonly PROG=mysql-restore

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

trap 'die "line $LINENO: \"$BASH_COMMAND\" exited with status $?"' ERR

require() {
    local name=$1 value=$2 pattern=$3 allowed=$4
    [[ $value =~ $pattern ]] || die "$name='$value' is invalid; allowed: $allowed"
}

# Whole microseconds since the epoch, whatever the locale's decimal mark.
now_us() {
    printf '%s' "${EPOCHREALTIME//[!0-9]/}"
}

# Seconds, to the millisecond, since a now_us reading.
seconds_since() {
    local ms=$((($(now_us) - $1) / 1000))
    printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

table_pattern='^[A-Za-z0-9_$]{1,64}\.[A-Za-z0-9_$]{1,64}$'
key_pattern='^mysql/[A-Za-z0-9-]{1,32}/(0|[1-9][0-9]{0,5})/[0-9]{4}-[0-9]{2}-[0-9]{2}/'
key_pattern+='mysql-[A-Za-z0-9-]+-[0-9]+-[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{6}Z'
key_pattern+='\.sql\.zst$'

require BUCKET "${BUCKET:-}" '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' 'an S3 bucket name'
require REGION "${REGION:-}" '^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$' 'an AWS region name'
require BACKUP_KEY "${BACKUP_KEY:-}" "$key_pattern" \
    'a backup key, mysql/STAGE/SHARD/DATE/mysql-STAGE-SHARD-STAMP.sql.zst'
read -r -a tables <<<"${TABLES:-}"
((${#tables[@]} > 0)) || die "TABLES is empty; allowed: DATABASE.TABLE names"
for table in "${tables[@]}"; do
    require TABLES "$table" "$table_pattern" \
        'DATABASE.TABLE names of letters, digits, _ and $'
done
WORK_DIR=${WORK_DIR:-/restore}
REQUIRE_MOUNT=${REQUIRE_MOUNT:-1}
MYSQL_USER=${MYSQL_USER:-mysql}
START_SECONDS=${START_SECONDS:-300}
require START_SECONDS "$START_SECONDS" '^[1-9][0-9]{0,4}$' 'a whole number of seconds'

for tool in aws zstd sha256sum mysqld mysql mysqladmin flock; do
    command -v "$tool" >/dev/null || die "required command '$tool' is not installed"
done
id -u "$MYSQL_USER" >/dev/null 2>&1 || die "MYSQL_USER=$MYSQL_USER is not a user"
[[ -d $WORK_DIR && -w $WORK_DIR ]] ||
    die "WORK_DIR=$WORK_DIR is not a writable directory"
if [[ $REQUIRE_MOUNT == 1 ]] && ! mountpoint -q "$WORK_DIR"; then
    die "WORK_DIR=$WORK_DIR is not a mounted volume; was the scratch disk mounted?"
fi

# A retried command must not restore into the server of the first attempt.
exec 9>"$WORK_DIR/.mysql-restore.lock"
flock -n 9 || die "another restore is already running on this host"
data_dir=$WORK_DIR/mysql-data
run_dir=$WORK_DIR/mysql-run
[[ ! -e $data_dir ]] || die "$data_dir exists: this host already holds a restore"

name=${BACKUP_KEY##*/}
backup=$WORK_DIR/$name
source_url="s3://$BUCKET/$BACKUP_KEY"

started=$(now_us)
echo "downloading $source_url and its checksum" >&2
aws s3 cp --only-show-errors --region "$REGION" "$source_url.sha256" "$backup.sha256" ||
    die "download of the checksum object $source_url.sha256 failed"
aws s3 cp --only-show-errors --region "$REGION" "$source_url" "$backup" ||
    die "download of $source_url failed"
download_s=$(seconds_since "$started")

started=$(now_us)
read -r expected listed <"$backup.sha256" || true
[[ ${expected:-} =~ ^[0-9a-f]{64}$ && ${listed:-} == "$name" ]] ||
    die "checksum object $source_url.sha256 is not a sha256sum line for $name"
actual=$(sha256sum <"$backup")
actual=${actual%% *}
[[ $actual == "$expected" ]] ||
    die "checksum mismatch: $source_url has sha256 $actual;" \
        "its checksum object says $expected"
verify_s=$(seconds_since "$started")
bytes=$(stat -c %s "$backup")

started=$(now_us)
install -d -m 0750 -o "$MYSQL_USER" "$data_dir" "$run_dir"
socket=$run_dir/mysqld.sock
client=(mysql --no-defaults --socket="$socket" --user=root)
# GTIDs on, because the dump sets gtid_purged; auth_socket loaded, because the
# dump restores root@localhost identified with it (see my.cnf). No TCP port.
server=(
    mysqld --no-defaults --user="$MYSQL_USER" --datadir="$data_dir"
    --socket="$socket" --pid-file="$run_dir/mysqld.pid" --tmpdir="$run_dir"
    --log-error="$run_dir/mysqld.log" --skip-networking --secure-file-priv=NULL
    --gtid-mode=ON --enforce-gtid-consistency=ON --plugin-load-add=auth_socket.so
    --innodb-dedicated-server=ON
)
"${server[@]}" --initialize-insecure ||
    die "initialising the scratch server failed; see $run_dir/mysqld.log"
# Its own output is kept off stdout, which carries only the JSON result, and
# away from Run Command's pipes, which would otherwise wait for the server.
"${server[@]}" </dev/null >>"$run_dir/mysqld.out" 2>&1 &
server_pid=$!
trap 'kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" || true' EXIT
deadline=$((SECONDS + START_SECONDS))
until mysqladmin --no-defaults --socket="$socket" --user=root ping >/dev/null 2>&1; do
    kill -0 "$server_pid" 2>/dev/null ||
        die "the scratch server exited while starting; see $run_dir/mysqld.log"
    ((SECONDS < deadline)) ||
        die "the scratch server did not start within $START_SECONDS s;" \
            "see $run_dir/mysqld.log"
    # A ping is cheap; polling often starts the load as soon as the server is up.
    sleep 0.2
done
start_s=$(seconds_since "$started")

started=$(now_us)
echo "loading $name into the scratch server" >&2
if ! zstd --quiet --decompress --stdout -- "$backup" | "${client[@]}"; then
    die "loading $name failed: zstd or mysql exited non-zero (mysql's error is above)"
fi
load_s=$(seconds_since "$started")

started=$(now_us)
counts=()
for table in "${tables[@]}"; do
    quoted="\`${table%%.*}\`.\`${table#*.}\`"
    rows=$("${client[@]}" --batch --skip-column-names \
        --execute="SELECT COUNT(*) FROM $quoted") ||
        die "counting rows of $table failed: is it in the backup?"
    [[ $rows =~ ^[0-9]+$ ]] || die "counting rows of $table returned '$rows'"
    counts+=("\"$table\": $rows")
done
count_s=$(seconds_since "$started")

joined=$(printf ', %s' "${counts[@]}")
printf '{"backup": "%s", "bytes": %d, "sha256": "%s", ' "$source_url" "$bytes" "$actual"
printf '"seconds": {"download": %s, "verify": %s, "start": %s, "load": %s, ' \
    "$download_s" "$verify_s" "$start_s" "$load_s"
printf '"count": %s}, "tables": {%s}}\n' "$count_s" "${joined:2}"
