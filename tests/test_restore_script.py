"""The host restore script, run for real with fake aws and MySQL on PATH.

zstd and sha256sum are the real ones; `aws` copies out of a folder per bucket,
`mysqld` and `mysqladmin` stand in for a scratch server, and `mysql` records
what is loaded and answers row counts from FAKE_COUNTS.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scripts.restore import DrillFailed
from scripts.restore.backups import Backup
from scripts.restore.remote import check_result, parse_result

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "assets" / "mysql" / "restore.sh"
BUCKET = "slack-test-backups-111111111111-us-west-2"
NAME = "mysql-Test-2-2025-01-01T030000Z.sql.zst"
KEY = f"mysql/Test/2/2025-01-01/{NAME}"
DUMP = (
    "-- MySQL dump 10.13\n"
    "CREATE TABLE messages (id bigint PRIMARY KEY);\n"
    "INSERT INTO messages VALUES (1),(2),(3);\n"
    "-- Dump completed on 2025-01-01  3:00:00\n"
)

# Understands `aws s3 cp [--flag [VALUE]] s3://BUCKET/KEY FILE`.
FAKE_AWS = """#!/usr/bin/env bash
echo "$*" >>"$FAKE_LOG/aws.calls"
words=()
while (($#)); do
    case $1 in
        --region) shift ;;
        --*) ;;
        *) words+=("$1") ;;
    esac
    shift
done
[[ ${words[0]} == s3 && ${words[1]} == cp ]] || exit 2
source="$FAKE_BUCKETS/${words[2]#s3://}"
if [[ ! -f $source ]]; then
    echo "fatal error: An error occurred (404) when calling HeadObject" >&2
    exit 1
fi
cp "$source" "${words[3]}"
"""
# Initialises a data directory, or runs as a server until it is stopped.
FAKE_MYSQLD = """#!/usr/bin/env bash
echo "$*" >>"$FAKE_LOG/mysqld.calls"
for arg; do
    case $arg in
        --datadir=*) data_dir=${arg#*=} ;;
        --initialize-insecure) initialize=1 ;;
    esac
done
if [[ ${initialize:-} == 1 ]]; then
    mkdir -p "$data_dir/mysql"
    exit 0
fi
echo $$ >"$FAKE_LOG/server.pid"
[[ $FAKE_SERVER == crash ]] && exit 1
[[ $FAKE_SERVER == up ]] && touch "$FAKE_LOG/server.up"
exec sleep 60
"""
FAKE_MYSQLADMIN = """#!/usr/bin/env bash
[[ $* == *ping* && -e $FAKE_LOG/server.up ]]
"""
# Loads stdin when given no statement; answers COUNT(*) from FAKE_COUNTS.
FAKE_MYSQL = """#!/usr/bin/env bash
echo "$*" >>"$FAKE_LOG/mysql.calls"
for arg; do
    case $arg in --execute=*) query=${arg#*=} ;; esac
done
if [[ -z ${query:-} ]]; then
    cat >>"$FAKE_LOG/loaded.sql"
    if [[ $FAKE_LOAD_FAIL == 1 ]]; then
        echo "ERROR 1064 (42000) at line 2: You have an error in your SQL syntax" >&2
        exit 1
    fi
    exit 0
fi
table=${query#SELECT COUNT(\\*) FROM }
table=${table//\\`/}
for pair in $FAKE_COUNTS; do
    if [[ ${pair%=*} == "$table" ]]; then
        echo "${pair#*=}"
        exit 0
    fi
done
echo "ERROR 1146 (42S02): Table '$table' doesn't exist" >&2
exit 1
"""


@dataclass
class Host:
    """A fake restore host: bin folder, scratch folder, bucket folder, logs."""

    tmp: Path
    env: dict[str, str]

    @property
    def log(self) -> Path:
        """Where the fakes record how they were called."""
        return self.tmp / "log"

    @property
    def work_dir(self) -> Path:
        """The scratch folder standing in for the mounted instance store."""
        return self.tmp / "work"

    def put(self, key: str, body: bytes) -> None:
        """Place an object in the fake bucket."""
        path = self.tmp / "buckets" / BUCKET / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)

    def run(self, **overrides: str) -> subprocess.CompletedProcess[str]:
        """Run the real script with this host's environment and overrides."""
        return subprocess.run(
            ["bash", str(SCRIPT)],
            env=self.env | overrides,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def calls(self, program: str) -> list[str]:
        """Every command line a fake program was called with."""
        path = self.log / f"{program}.calls"
        return path.read_text().splitlines() if path.exists() else []

    def server_is_gone(self) -> bool:
        """Whether the scratch server the script started has exited."""
        pid = int((self.log / "server.pid").read_text())
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def compressed(text: str) -> bytes:
    """The text as zstd compresses it, as backup.sh uploads a dump."""
    return subprocess.run(
        ["zstd", "--quiet", "--stdout"], input=text.encode(), capture_output=True
    ).stdout


@pytest.fixture
def host(tmp_path: Path) -> Host:
    """A fake host whose bucket holds one good backup and its checksum."""
    bin_dir = tmp_path / "bin"
    for folder in (bin_dir, tmp_path / "log", tmp_path / "work"):
        folder.mkdir()
    fakes = {
        "aws": FAKE_AWS,
        "mysqld": FAKE_MYSQLD,
        "mysqladmin": FAKE_MYSQLADMIN,
        "mysql": FAKE_MYSQL,
    }
    for name, text in fakes.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "LC_ALL": "C",
        "BUCKET": BUCKET,
        "REGION": "us-west-2",
        "BACKUP_KEY": KEY,
        "TABLES": "slack.messages slack.users",
        "WORK_DIR": str(tmp_path / "work"),
        # tmp_path is no mount point; the mount check has its own test.
        "REQUIRE_MOUNT": "0",
        "MYSQL_USER": getpass.getuser(),
        "START_SECONDS": "5",
        "FAKE_LOG": str(tmp_path / "log"),
        "FAKE_BUCKETS": str(tmp_path / "buckets"),
        "FAKE_SERVER": "up",
        "FAKE_LOAD_FAIL": "0",
        "FAKE_COUNTS": "slack.messages=3 slack.users=2",
    }
    fake = Host(tmp=tmp_path, env=env)
    body = compressed(DUMP)
    fake.put(KEY, body)
    fake.put(f"{KEY}.sha256", f"{hashlib.sha256(body).hexdigest()}  {NAME}\n".encode())
    return fake


def backup_of(host: Host) -> Backup:
    """The Backup the drill would have found for the fake bucket's object."""
    body = (host.tmp / "buckets" / BUCKET / KEY).read_bytes()
    return Backup(
        bucket=BUCKET,
        region="us-west-2",
        key=KEY,
        size_bytes=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        taken_at=datetime(2025, 1, 1, 3, tzinfo=UTC),
    )


def test_a_good_backup_is_loaded_and_its_row_counts_printed_as_json(host: Host):
    result = host.run()

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    body = (host.tmp / "buckets" / BUCKET / KEY).read_bytes()
    assert report["backup"] == f"s3://{BUCKET}/{KEY}"
    assert report["bytes"] == len(body)
    assert report["sha256"] == hashlib.sha256(body).hexdigest()
    assert report["tables"] == {"slack.messages": 3, "slack.users": 2}
    assert set(report["seconds"]) == {"download", "verify", "start", "load", "count"}
    assert all(seconds >= 0 for seconds in report["seconds"].values())
    assert (host.log / "loaded.sql").read_text() == DUMP


def test_backup_and_checksum_are_read_from_the_given_region(host: Host):
    host.run()

    downloads = host.calls("aws")
    assert len(downloads) == 2
    assert all("--region us-west-2" in call for call in downloads)
    assert downloads[0].endswith(
        f"s3://{BUCKET}/{KEY}.sha256 {host.work_dir}/{NAME}.sha256"
    )


def test_the_scratch_server_has_no_tcp_port_and_runs_with_gtids(host: Host):
    host.run()

    server = host.calls("mysqld")[-1].split()
    for option in (
        "--no-defaults",
        "--skip-networking",
        "--gtid-mode=ON",
        "--enforce-gtid-consistency=ON",
        "--plugin-load-add=auth_socket.so",
    ):
        assert option in server
    assert f"--datadir={host.work_dir}/mysql-data" in server


def test_the_scratch_server_is_stopped_when_the_script_ends(host: Host):
    result = host.run()

    assert result.returncode == 0, result.stderr
    assert host.server_is_gone()


def test_a_checksum_mismatch_fails_loudly_and_loads_nothing(host: Host):
    host.put(f"{KEY}.sha256", f"{'0' * 64}  {NAME}\n".encode())

    result = host.run()

    assert result.returncode != 0
    assert "checksum mismatch" in result.stderr
    assert "0" * 64 in result.stderr
    assert result.stdout == ""
    assert host.calls("mysqld") == []
    assert not (host.log / "loaded.sql").exists()


def test_a_checksum_object_for_another_file_is_refused(host: Host):
    body = (host.tmp / "buckets" / BUCKET / KEY).read_bytes()
    digest = hashlib.sha256(body).hexdigest()
    host.put(f"{KEY}.sha256", f"{digest}  mysql-Test-2-older.sql.zst\n".encode())

    result = host.run()

    assert result.returncode != 0
    assert "is not a sha256sum line for" in result.stderr
    assert host.calls("mysqld") == []


def test_a_missing_checksum_object_fails_before_the_backup_is_downloaded(host: Host):
    (host.tmp / "buckets" / BUCKET / f"{KEY}.sha256").unlink()

    result = host.run()

    assert result.returncode != 0
    assert "download of the checksum object" in result.stderr
    assert len(host.calls("aws")) == 1
    assert not (host.work_dir / NAME).exists()


def test_a_table_with_no_rows_is_reported_for_the_drill_to_judge(host: Host):
    result = host.run(FAKE_COUNTS="slack.messages=0 slack.users=2")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tables"]["slack.messages"] == 0


def test_a_table_missing_from_the_backup_fails_naming_it(host: Host):
    result = host.run(TABLES="slack.messages slack.reactions")

    assert result.returncode != 0
    assert "counting rows of slack.reactions failed" in result.stderr
    assert "doesn't exist" in result.stderr
    assert result.stdout == ""


def test_a_dump_that_does_not_load_fails_loudly(host: Host):
    result = host.run(FAKE_LOAD_FAIL="1")

    assert result.returncode != 0
    assert f"loading {NAME} failed" in result.stderr
    assert "ERROR 1064" in result.stderr
    assert result.stdout == ""
    assert host.server_is_gone()


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ("crash", "the scratch server exited while starting"),
        ("hang", "the scratch server did not start within 1 s"),
    ],
)
def test_a_scratch_server_that_does_not_start_fails_loudly(host: Host, server, message):
    result = host.run(FAKE_SERVER=server, START_SECONDS="1")

    assert result.returncode != 0
    assert message in result.stderr
    assert not (host.log / "loaded.sql").exists()
    assert host.server_is_gone()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BUCKET", ""),
        ("REGION", "us-west-2; reboot"),
        ("BACKUP_KEY", "../../etc/shadow"),
        ("BACKUP_KEY", "mysql/Test/2/2025-01-01/notes.txt"),
        ("TABLES", ""),
        ("TABLES", "slack.messages;DROP"),
        ("TABLES", "`slack`.messages"),
        ("START_SECONDS", "0"),
    ],
)
def test_a_bad_setting_is_refused_by_name_before_any_download(host: Host, name, value):
    result = host.run(**{name: value})

    assert result.returncode != 0
    assert f"{name}" in result.stderr
    assert host.calls("aws") == []


def test_a_work_dir_that_is_not_a_mounted_volume_is_refused(host: Host):
    result = host.run(REQUIRE_MOUNT="1")

    assert result.returncode != 0
    assert "is not a mounted volume" in result.stderr
    assert host.calls("aws") == []


def test_a_host_that_already_holds_a_restore_is_refused(host: Host):
    (host.work_dir / "mysql-data").mkdir()

    result = host.run()

    assert result.returncode != 0
    assert "already holds a restore" in result.stderr
    assert host.calls("aws") == []


def test_what_the_script_prints_is_what_the_drill_accepts(host: Host):
    result = host.run()

    restored = parse_result(result.stdout)
    check_result(restored, backup_of(host), ("slack.messages", "slack.users"))
    assert restored.tables == {"slack.messages": 3, "slack.users": 2}


def test_an_empty_table_in_the_scripts_output_fails_the_drill(host: Host):
    result = host.run(FAKE_COUNTS="slack.messages=3 slack.users=0")

    restored = parse_result(result.stdout)
    with pytest.raises(DrillFailed, match="slack.users was restored with no rows"):
        check_result(restored, backup_of(host), ("slack.messages", "slack.users"))


def test_script_passes_shellcheck():
    shellcheck = Path(sys.executable).parent / "shellcheck"
    if not shellcheck.exists():
        pytest.fail("shellcheck is not installed; it comes with requirements-dev.txt")

    result = subprocess.run(
        [str(shellcheck), "--severity=style", str(SCRIPT)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout
