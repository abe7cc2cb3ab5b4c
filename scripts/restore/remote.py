"""The restore on the host: assets/mysql/restore.sh sent through SSM Run Command.

The command carries the repository's own scripts, so a drill always proves the
restore.sh of the checkout it runs from. What the script prints on stdout (one
line of JSON) is the drill's evidence; see the script's header for its shape.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from scripts.restore import Deadline, DrillFailed, error_code, error_text
from scripts.restore.backups import Backup

ROOT = Path(__file__).resolve().parents[2]
RESTORE_SCRIPT = ROOT / "assets" / "mysql" / "restore.sh"
MOUNT_SCRIPT = ROOT / "assets" / "common" / "mount-disk.sh"
DOCUMENT = "AWS-RunShellScript"
WORK_DIR = "/restore"
SCRATCH_LABEL = "restore"
# The instance-store SSD under each name a Xen or a Nitro host gives it.
SCRATCH_DISKS = ("/dev/xvdb", "/dev/sdb", "instance-store")
SCRATCH_WAIT_SECONDS = 120
DELIVERY_SECONDS = 600
HOST_PHASES = ("download", "verify", "start", "load", "count")
RUNNING = frozenset({"Pending", "InProgress", "Delayed", "Cancelling"})
TABLE_NAME = re.compile(r"^[A-Za-z0-9_$]{1,64}\.[A-Za-z0-9_$]{1,64}$")
AGENT_POLL_SECONDS = 10.0
COMMAND_POLL_SECONDS = 15.0
STDERR_TAIL_CHARS = 2000

_sleep = time.sleep


@dataclass(frozen=True)
class RestoreResult:
    """What restore.sh reported: the object, its digest, timings and row counts."""

    backup: str
    size_bytes: int
    sha256: str
    seconds: dict[str, float]
    tables: dict[str, int]


def restore_commands(backup: Backup, tables: tuple[str, ...]) -> list[str]:
    """Shell lines that mount the scratch SSD and run restore.sh on it."""
    env = {
        "BUCKET": backup.bucket,
        "REGION": backup.region,
        "BACKUP_KEY": backup.key,
        "TABLES": " ".join(tables),
        "WORK_DIR": WORK_DIR,
    }
    assignments = " ".join(
        f"{name}={shlex.quote(value)}" for name, value in env.items()
    )
    disks = " ".join(SCRATCH_DISKS)
    return [
        "set -eu",
        "bin=$(mktemp -d)",
        f'echo {_encoded(MOUNT_SCRIPT)} | base64 --decode >"$bin/mount-disk"',
        f'echo {_encoded(RESTORE_SCRIPT)} | base64 --decode >"$bin/restore"',
        # stdout is kept for restore.sh's JSON alone.
        f'bash "$bin/mount-disk" --ephemeral {SCRATCH_LABEL} {WORK_DIR} '
        f"{SCRATCH_WAIT_SECONDS} {disks} >&2",
        f'env {assignments} bash "$bin/restore"',
    ]


def send_when_ready(
    ssm: Any,
    instance_id: str,
    commands: list[str],
    *,
    execution_seconds: int,
    comment: str,
    deadline: Deadline,
) -> str:
    """Send the command as soon as the host's SSM agent has registered."""
    while True:
        try:
            response = ssm.send_command(
                InstanceIds=[instance_id],
                DocumentName=DOCUMENT,
                Parameters={
                    "commands": commands,
                    "executionTimeout": [str(execution_seconds)],
                },
                TimeoutSeconds=DELIVERY_SECONDS,
                Comment=comment[:100],
            )
            return response["Command"]["CommandId"]
        except ClientError as err:
            # SSM knows a new host only once its agent has registered.
            if error_code(err) != "InvalidInstanceId":
                raise DrillFailed(
                    f"sending the restore command failed: {error_text(err)}"
                ) from None
        if deadline.passed:
            raise DrillFailed(
                f"the SSM agent of {instance_id} did not register within "
                f"{deadline.seconds:.0f} s; is the SSM endpoint reachable?"
            )
        _sleep(AGENT_POLL_SECONDS)


def wait_for_command(
    ssm: Any, command_id: str, instance_id: str, deadline: Deadline
) -> dict[str, Any]:
    """Poll the command until it ends, and return its invocation."""
    while True:
        try:
            invocation = ssm.get_command_invocation(
                CommandId=command_id, InstanceId=instance_id
            )
        except ClientError as err:
            # Answered until the agent has picked the command up.
            if error_code(err) != "InvocationDoesNotExist":
                raise DrillFailed(
                    f"reading the restore command failed: {error_text(err)}"
                ) from None
            invocation = {"Status": "Pending"}
        if invocation["Status"] not in RUNNING:
            return invocation
        if deadline.passed:
            raise DrillFailed(
                f"the restore command {command_id} was still "
                f"{invocation['Status']} after {deadline.seconds:.0f} s"
            )
        _sleep(COMMAND_POLL_SECONDS)


def failure_reason(invocation: dict[str, Any]) -> str:
    """One line on how a command that did not succeed ended."""
    lines = invocation.get("StandardErrorContent", "").strip().splitlines()
    last = lines[-1] if lines else "it wrote nothing on stderr"
    return (
        f"the restore command ended {invocation['Status']} "
        f"(exit {invocation.get('ResponseCode', 'unknown')}): {last}"
    )


def parse_result(stdout: str) -> RestoreResult:
    """Read the JSON line restore.sh printed last."""
    lines = stdout.strip().splitlines()
    try:
        data = json.loads(lines[-1])
        return RestoreResult(
            backup=str(data["backup"]),
            size_bytes=int(data["bytes"]),
            sha256=str(data["sha256"]),
            seconds={name: float(data["seconds"][name]) for name in HOST_PHASES},
            tables={str(name): int(rows) for name, rows in data["tables"].items()},
        )
    except (IndexError, ValueError, KeyError, TypeError, AttributeError):
        shown = f"its last line: {lines[-1][:200]!r}" if lines else "stdout was empty"
        raise DrillFailed(
            f"restore.sh printed no result the drill can read ({shown})"
        ) from None


def check_result(
    result: RestoreResult, backup: Backup, tables: tuple[str, ...]
) -> None:
    """Fail unless the host restored this very backup and every table has rows."""
    if result.backup != backup.url:
        raise DrillFailed(f"the host restored {result.backup}, not {backup.url}")
    if result.sha256 != backup.sha256:
        raise DrillFailed(
            f"the host read sha256 {result.sha256}; the checksum object says "
            f"{backup.sha256}"
        )
    for table in tables:
        if table not in result.tables:
            raise DrillFailed(f"restore.sh reported no row count for {table}")
        if result.tables[table] <= 0:
            raise DrillFailed(f"table {table} was restored with no rows")


def stderr_tail(invocation: dict[str, Any]) -> str:
    """The end of what the command wrote on stderr, for the report."""
    return invocation.get("StandardErrorContent", "")[-STDERR_TAIL_CHARS:]


def _encoded(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")
