"""Prove that a MySQL shard's newest backup restores, and time how long it takes.

`make restore-drill STAGE=Prod SHARD=0` finds the shard's newest backup and its
checksum in S3, launches a throwaway host the way the stage's MySQL hosts are
launched (isolated subnet, MySQL tier group, IMDSv2, tagged
purpose=restore-drill), runs assets/mysql/restore.sh on it through SSM Run
Command, checks the checksum and that the named tables have rows, and
terminates the host. Every phase is timed; their sum up to the checked row
counts is the measured RTO of one shard. The JSON report is written to
build/restore-drill-<stage>-<shard>.json; docs/runbook-disaster-recovery.md
explains how to read it.

Exit status: 0 the backup restored; 1 the drill failed (one line on stderr says
why); 2 bad arguments or configuration; 130 stopped by a signal.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a file: python scripts/restore_drill.py
    sys.path.insert(0, str(ROOT))

# These imports need ROOT on sys.path first.
from config import DEFAULT_CONFIG_PATH, ConfigError, load_stages  # noqa: E402
from config.naming import bucket_name  # noqa: E402
from scripts.restore import Deadline, DrillFailed, backups, host, remote  # noqa: E402

PROG = "restore-drill"
# The application's largest tables; an empty one after a restore means the
# backup is not what production holds. Keep in step with the schema.
DEFAULT_TABLES = ("slack.messages", "slack.channels", "slack.users")
DEFAULT_RESTORE_HOURS = 6
MAX_RESTORE_HOURS = 48  # Run Command's limit for executionTimeout
DEFAULT_AGENT_MINUTES = 20
LAUNCH_SECONDS = 600
COMMAND_MARGIN_SECONDS = remote.DELIVERY_SECONDS + 300
# Phases up to the checked row counts make up the RTO; terminating does not.
RTO_PHASES = ("find_backup", "plan", "launch", "agent", "restore")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,31}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


class UsageError(Exception):
    """The arguments or the configuration do not allow a drill."""


class Interrupted(Exception):
    """A signal asked the drill to stop."""


@dataclass(frozen=True)
class Drill:
    """What one drill restores, from where, onto which stage's infrastructure."""

    stage: str
    shard: int
    bucket: str
    region: str | None
    home_region: str
    host_stage: str
    tables: tuple[str, ...]
    default_instance_type: str
    instance_type: str | None
    image_id: str | None
    instance_profile: str | None
    restore_seconds: int
    agent_seconds: int
    report_path: Path
    dry_run: bool
    keep: bool


@dataclass
class Report:
    """Everything the drill found and measured, written whether it passed or not."""

    drill: Drill
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    phases: dict[str, float] = field(default_factory=dict)
    backup: backups.Backup | None = None
    plan: host.LaunchPlan | None = None
    instance: dict[str, Any] = field(default_factory=dict)
    command_id: str | None = None
    result: remote.RestoreResult | None = None
    stderr_tail: str = ""
    terminated: bool = False
    failure: str | None = None
    cleanup_failure: str | None = None

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time one phase, also when it fails."""
        start = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = round(time.monotonic() - start, 3)

    @property
    def ok(self) -> bool:
        """Whether the backup restored and the host is gone (or kept on request)."""
        return self.failure is None and self.cleanup_failure is None

    @property
    def reason(self) -> str:
        """The one-line reason of a failed drill."""
        return "; and ".join(r for r in (self.failure, self.cleanup_failure) if r)

    @property
    def rto_seconds(self) -> float | None:
        """Seconds from the start of the drill to the checked row counts."""
        if self.failure or not all(name in self.phases for name in RTO_PHASES):
            return None
        return round(sum(self.phases[name] for name in RTO_PHASES), 3)

    def as_json(self) -> dict[str, Any]:
        """The report file's content."""
        drill, backup, plan = self.drill, self.backup, self.plan
        return {
            "stage": drill.stage,
            "shard": drill.shard,
            "ok": self.ok,
            "failure": self.reason or None,
            "started_at": self.started_at.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "source": backup
            and {
                "bucket": backup.bucket,
                "region": backup.region,
                "key": backup.key,
                "bytes": backup.size_bytes,
                "sha256": backup.sha256,
                "taken_at": backup.taken_at.isoformat(),
                "age_hours": round(
                    (self.started_at - backup.taken_at).total_seconds() / 3600, 2
                ),
            },
            "host": plan
            and {
                "stage": drill.host_stage,
                "region": plan.region,
                "launched_from": plan.source,
                "instance_id": self.instance.get("InstanceId"),
                "instance_type": self.instance.get("InstanceType"),
                "image_id": self.instance.get("ImageId"),
                "subnet_id": self.instance.get("SubnetId"),
                "availability_zone": self.instance.get("Placement", {}).get(
                    "AvailabilityZone"
                ),
                "kept": drill.keep,
                "terminated": self.terminated,
            },
            "command_id": self.command_id,
            "phases_seconds": self.phases,
            "host_phases_seconds": self.result and self.result.seconds,
            "rto_seconds": self.rto_seconds,
            "tables": self.result and self.result.tables,
            "stderr_tail": self.stderr_tail,
        }


def main(argv: list[str] | None = None, session: boto3.Session | None = None) -> int:
    """Run one drill; `session` lets tests hand in a session wired to a mock."""
    try:
        drill = build_drill(parse_args(argv))
    except UsageError as err:
        _say(f"{PROG}: {err}", error=True)
        return 2
    # A stopped drill still terminates its host: the signal becomes an exception.
    previous = {
        s: signal.signal(s, _interrupt) for s in (signal.SIGTERM, signal.SIGHUP)
    }
    report, code = Report(drill=drill), 0
    try:
        run(drill, session or boto3.Session(), report)
    except DrillFailed as err:
        report.failure = str(err)
    except (Interrupted, KeyboardInterrupt):
        report.failure, code = "stopped by a signal", 130
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    if drill.dry_run:
        _print_plan(report)
    else:
        drill.report_path.parent.mkdir(parents=True, exist_ok=True)
        drill.report_path.write_text(json.dumps(report.as_json(), indent=2) + "\n")
        _print_summary(report)
    if not report.ok:
        _say(f"{PROG}: failed: {report.reason}", error=True)
        return code or 1
    return 0


def run(drill: Drill, session: boto3.Session, report: Report) -> None:
    """Find, launch, restore, check; the host is terminated unless kept."""
    with report.phase("find_backup"):
        lookup = session.client("s3", region_name=drill.region or drill.home_region)
        region = backups.bucket_region(lookup, drill.bucket)
        if drill.region and region != drill.region:
            raise DrillFailed(
                f"bucket {drill.bucket} is in {region}, but the host would launch in "
                f"{drill.region}; an isolated subnet reaches S3 only in its own "
                f"region. Run the drill in {region}"
            )
        s3 = session.client("s3", region_name=region)
        report.backup = backup = backups.newest_backup(
            s3, drill.bucket, region, drill.stage, drill.shard
        )
    ec2 = session.client("ec2", region_name=region)
    with report.phase("plan"):
        report.plan = plan = host.plan_launch(
            ec2,
            region=region,
            host_stage=drill.host_stage,
            shard=drill.shard,
            instance_type=drill.instance_type,
            default_instance_type=drill.default_instance_type,
            image_id=drill.image_id,
            instance_profile=drill.instance_profile,
        )
    tags = {
        "Name": f"{PROG}-{drill.stage}-{drill.shard}",
        "purpose": host.PURPOSE,
        "stage": drill.host_stage,
        "restore-of": f"{drill.stage} shard {drill.shard}",
    }
    if drill.dry_run:
        host.launch(ec2, plan, tags, dry_run=True)
        return

    instance_id = None
    try:
        with report.phase("launch"):
            report.instance = host.launch(ec2, plan, tags)
            instance_id = report.instance["InstanceId"]
            host.wait_until_running(ec2, instance_id, Deadline(LAUNCH_SECONDS))
        ssm = session.client("ssm", region_name=region)
        with report.phase("agent"):
            report.command_id = remote.send_when_ready(
                ssm,
                instance_id,
                remote.restore_commands(backup, drill.tables),
                execution_seconds=drill.restore_seconds,
                comment=f"Restore drill: {drill.stage} shard {drill.shard}",
                deadline=Deadline(drill.agent_seconds),
            )
        with report.phase("restore"):
            invocation = remote.wait_for_command(
                ssm,
                report.command_id,
                instance_id,
                Deadline(drill.restore_seconds + COMMAND_MARGIN_SECONDS),
            )
            report.stderr_tail = remote.stderr_tail(invocation)
            if invocation["Status"] != "Success":
                raise DrillFailed(remote.failure_reason(invocation))
            report.result = remote.parse_result(
                invocation.get("StandardOutputContent", "")
            )
            remote.check_result(report.result, backup, drill.tables)
    finally:
        if instance_id and not drill.keep:
            with report.phase("terminate"):
                try:
                    host.terminate(ec2, instance_id)
                    report.terminated = True
                except DrillFailed as err:
                    report.cleanup_failure = str(err)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; see --help."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__.split("\n\n")[0].replace("\n", " "),
    )
    parser.add_argument("--stage", required=True, help="stage whose backup to restore")
    parser.add_argument("--shard", required=True, type=int, help="shard, from 0")
    parser.add_argument(
        "--tables",
        help="comma-separated DATABASE.TABLE names that must have rows "
        f"(default: {','.join(DEFAULT_TABLES)})",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--from-replica",
        action="store_true",
        help="restore from the stage's DR replica bucket, onto the DR stage, in "
        "the DR region (the DR rehearsal)",
    )
    source.add_argument(
        "--source-bucket", help="bucket to restore from (default: the stage's backups)"
    )
    parser.add_argument(
        "--region",
        help="region of the bucket and the host (default: the bucket's region); "
        "the drill refuses a bucket in another region",
    )
    parser.add_argument(
        "--host-stage",
        help="stage tag of the VPC and MySQL tier that launch the host (default: "
        "--stage, or its DR stage with --from-replica)",
    )
    parser.add_argument("--instance-type", help="default: the MySQL tier's")
    parser.add_argument("--image-id", help="default: the MySQL tier's image")
    parser.add_argument(
        "--instance-profile", help="name or ARN (default: the MySQL tier's)"
    )
    parser.add_argument(
        "--restore-hours",
        type=int,
        default=DEFAULT_RESTORE_HOURS,
        help=f"longest the restore may run (default {DEFAULT_RESTORE_HOURS})",
    )
    parser.add_argument(
        "--agent-minutes",
        type=int,
        default=DEFAULT_AGENT_MINUTES,
        help="longest the new host may take to register with SSM "
        f"(default {DEFAULT_AGENT_MINUTES})",
    )
    parser.add_argument("--report", type=Path, help="where to write the JSON report")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="find the backup and launch settings, let EC2 check the launch, "
        "start nothing",
    )
    parser.add_argument(
        "--keep", action="store_true", help="leave the host running for inspection"
    )
    return parser.parse_args(argv)


def build_drill(args: argparse.Namespace) -> Drill:
    """Check the arguments against the configuration and fill in the defaults."""
    try:
        stages = load_stages(args.config)
    except ConfigError as err:
        raise UsageError(str(err)) from None
    stage = stages.get(args.stage)
    if stage is None:
        raise UsageError(
            f"--stage {args.stage!r} is not in {args.config}; allowed: "
            f"{', '.join(stages)}"
        )
    if not 0 <= args.shard < stage.mysql.shards:
        raise UsageError(
            f"--shard {args.shard} is invalid; allowed: 0 to "
            f"{stage.mysql.shards - 1} ({stage.name} has {stage.mysql.shards})"
        )
    tables = tuple(args.tables.split(",")) if args.tables else DEFAULT_TABLES
    for table in tables:
        if not remote.TABLE_NAME.match(table):
            raise UsageError(
                f"--tables entry {table!r} is invalid; allowed: DATABASE.TABLE of "
                "letters, digits, _ and $"
            )
    if args.region and not _REGION.match(args.region):
        raise UsageError(f"--region {args.region!r} is not a region name")
    if args.host_stage and not _NAME.match(args.host_stage):
        raise UsageError(f"--host-stage {args.host_stage!r} is not a stage name")
    if not 1 <= args.restore_hours <= MAX_RESTORE_HOURS:
        raise UsageError(f"--restore-hours must be 1 to {MAX_RESTORE_HOURS}")
    if not 1 <= args.agent_minutes <= 120:
        raise UsageError("--agent-minutes must be 1 to 120")

    bucket, host_stage = bucket_name(stage, "backups"), stage.name
    if args.from_replica:
        replica = stage.disaster_recovery
        if replica is None:
            raise UsageError(
                f"--from-replica: {stage.name} has no backup.replica_region in "
                f"{args.config}"
            )
        bucket, host_stage = bucket_name(replica, "backups"), replica.name
    return Drill(
        stage=stage.name,
        shard=args.shard,
        bucket=args.source_bucket or bucket,
        region=args.region,
        home_region=stage.region,
        host_stage=args.host_stage or host_stage,
        tables=tables,
        default_instance_type=stage.mysql.instance_type,
        instance_type=args.instance_type,
        image_id=args.image_id,
        instance_profile=args.instance_profile,
        restore_seconds=args.restore_hours * 3600,
        agent_seconds=args.agent_minutes * 60,
        report_path=args.report
        or ROOT / "build" / f"{PROG}-{stage.name}-{args.shard}.json",
        dry_run=args.dry_run,
        keep=args.keep,
    )


def _print_plan(report: Report) -> None:
    drill, backup, plan = report.drill, report.backup, report.plan
    _say(f"{PROG} {drill.stage} shard {drill.shard}: dry run, nothing launched")
    if backup:
        _say(f"  backup  {backup.url} ({_size(backup.size_bytes)})")
    if plan:
        subnets = ", ".join(plan.subnet_ids)
        _say(
            f"  host    {plan.instance_type or 'template type'} from {plan.source}, "
            f"{drill.host_stage} VPC {plan.vpc_id}, subnets {subnets}"
        )
    if report.ok:
        _say("  EC2 accepted the launch request (DryRunOperation)")


def _print_summary(report: Report) -> None:
    drill, data = report.drill, report.as_json()
    verdict = "passed" if report.ok else "FAILED"
    _say(f"{PROG} {drill.stage} shard {drill.shard}: {verdict}")
    if report.backup:
        source = data["source"]
        _say(
            f"  backup  {report.backup.url} ({_size(report.backup.size_bytes)}, "
            f"{source['age_hours']} h old)"
        )
    if report.instance:
        state = "terminated" if report.terminated else "NOT terminated"
        if drill.keep:
            state = "kept running"
        instance_id, region = report.instance["InstanceId"], data["host"]["region"]
        _say(f"  host    {instance_id} in {region}, {state}")
    phases = " | ".join(f"{name} {s:.1f}s" for name, s in report.phases.items())
    _say(f"  phases  {phases}")
    if report.result:
        steps = ", ".join(f"{k} {v:.1f}s" for k, v in report.result.seconds.items())
        rows = ", ".join(f"{k}={v}" for k, v in report.result.tables.items())
        _say(f"  on host {steps}")
        _say(f"  rows    {rows}")
    if report.rto_seconds is not None:
        _say(
            f"  RTO     {report.rto_seconds:.1f} s ({report.rto_seconds / 60:.1f} min)"
        )
    _say(f"  report  {drill.report_path}")
    if drill.keep and report.instance:
        instance_id = report.instance["InstanceId"]
        _say(f"  inspect aws ssm start-session --target {instance_id}")
        _say(f"  remove  aws ec2 terminate-instances --instance-ids {instance_id}")


def _size(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def _say(line: str, *, error: bool = False) -> None:
    # A command-line report, for the person running the drill.
    print(line, file=sys.stderr if error else sys.stdout, flush=True)  # noqa: T201


def _interrupt(signum: int, frame: object) -> None:
    raise Interrupted(signal.Signals(signum).name)


if __name__ == "__main__":
    sys.exit(main())
