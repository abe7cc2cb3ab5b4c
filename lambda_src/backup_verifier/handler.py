"""Backup verifier: prove every MySQL shard has a recent, whole backup in S3.

Shards are numbered 0 to SHARDS-1. A shard's backups live under
mysql/<stage>/<shard>/<YYYY-MM-DD>/ as `<name>.sql.zst` with a checksum object
`<name>.sql.zst.sha256` beside it, which the host uploads last. For each shard
the newest backup must be younger than the RPO, at least the size floor, and
have a well-formed checksum object. BackupAgeHours is published per shard so
an alarm fires on age alone, even when this function itself cannot run.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

import boto3
from botocore.exceptions import ClientError
from platform_logging import Logger

BACKUP_SUFFIX = ".sql.zst"
CHECKSUM_SUFFIX = ".sha256"
METRIC_NAME = "BackupAgeHours"
# Published when a shard has no backup at all, far above any RPO.
NO_BACKUP_AGE_HOURS = 100_000.0
DEFAULT_RPO_HOURS = 26.0
_CHECKSUM_LINE = re.compile(r"^([0-9a-f]{64})  (\S+)\n?$")

log = Logger("backup-verifier")


class BackupVerificationFailed(RuntimeError):
    """At least one shard's newest backup is missing, stale, small or unchecked."""


class LambdaContext(Protocol):
    """The part of the Lambda context object the handler reads."""

    aws_request_id: str


@dataclass(frozen=True)
class Settings:
    """What the function is told by its environment."""

    stage: str
    bucket: str
    shards: int
    rpo_hours: float
    min_backup_bytes: int
    namespace: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and check the environment, naming any missing or bad variable."""
        rpo = _text(env, "RPO_HOURS", str(DEFAULT_RPO_HOURS))
        try:
            rpo_hours = float(rpo)
        except ValueError:
            rpo_hours = 0.0
        if not 0 < rpo_hours < NO_BACKUP_AGE_HOURS:
            raise ValueError(
                f"RPO_HOURS={rpo!r} is invalid; allowed: a number of hours "
                f"above 0 and below {NO_BACKUP_AGE_HOURS:.0f}"
            )
        return cls(
            stage=_text(env, "STAGE"),
            bucket=_text(env, "BACKUP_BUCKET"),
            shards=_integer(env, "SHARDS", 1),
            rpo_hours=rpo_hours,
            min_backup_bytes=_integer(env, "MIN_BACKUP_BYTES", 1),
            namespace=_text(env, "METRIC_NAMESPACE"),
        )


@dataclass
class ShardReport:
    """What was found for one shard and what is wrong with it."""

    shard: int
    key: str | None = None
    size_bytes: int | None = None
    age_hours: float = NO_BACKUP_AGE_HOURS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the shard's newest backup passed every check."""
        return not self.problems


class Clients(NamedTuple):
    """The AWS clients the handler uses."""

    s3: Any
    cloudwatch: Any


def _text(env: Mapping[str, str], name: str, default: str | None = None) -> str:
    value = env.get(name, "").strip() or default
    if not value:
        raise ValueError(f"environment variable {name} is missing or empty")
    return value


def _integer(env: Mapping[str, str], name: str, low: int) -> int:
    raw = _text(env, name)
    if not (raw.isascii() and raw.isdigit()) or int(raw) < low:
        raise ValueError(f"{name}={raw!r} is invalid; allowed: an integer from {low}")
    return int(raw)


SETTINGS = Settings.from_env(os.environ)


@functools.cache
def aws() -> Clients:
    """Create the AWS clients once per execution environment."""
    return Clients(s3=boto3.client("s3"), cloudwatch=boto3.client("cloudwatch"))


def now() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


def handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Check every shard's newest backup, publish its age and report on all."""
    log.bind(context)
    settings, clients = SETTINGS, aws()
    checked_at = now()

    reports = [
        check_shard(clients.s3, settings, shard, checked_at)
        for shard in range(settings.shards)
    ]
    publish_ages(clients.cloudwatch, settings, reports)

    for report in reports:
        fields = asdict(report)
        if report.ok:
            log.info("shard backup verified", **fields)
        else:
            log.error("shard backup failed verification", **fields)
    failed = [report.shard for report in reports if not report.ok]
    result = {
        "stage": settings.stage,
        "bucket": settings.bucket,
        "checked_at": checked_at.isoformat(),
        "rpo_hours": settings.rpo_hours,
        "shards": [asdict(report) | {"ok": report.ok} for report in reports],
        "failed_shards": failed,
    }
    if failed:
        raise BackupVerificationFailed(
            f"MySQL backups of stage {settings.stage} failed verification "
            f"for shards {failed}"
        )
    return result


def check_shard(
    s3: Any, settings: Settings, shard: int, checked_at: datetime
) -> ShardReport:
    """Find one shard's newest backup and list everything wrong with it."""
    report = ShardReport(shard=shard)
    prefix = f"mysql/{settings.stage}/{shard}/"
    keys: set[str] = set()
    newest: dict[str, Any] | None = None
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=settings.bucket, Prefix=prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                keys.add(item["Key"])
                if item["Key"].endswith(BACKUP_SUFFIX) and (
                    newest is None or item["LastModified"] > newest["LastModified"]
                ):
                    newest = item
    except ClientError as err:
        log.error(
            "cannot list backups",
            bucket=settings.bucket,
            prefix=prefix,
            error_code=err.response["Error"]["Code"],
        )
        raise

    if newest is None:
        report.problems.append(f"no backup under s3://{settings.bucket}/{prefix}")
        return report

    report.key, report.size_bytes = newest["Key"], newest["Size"]
    age = (checked_at - newest["LastModified"]).total_seconds() / 3600
    report.age_hours = round(max(age, 0.0), 2)
    if report.age_hours > settings.rpo_hours:
        report.problems.append(
            f"newest backup is {report.age_hours} h old; RPO is {settings.rpo_hours} h"
        )
    if report.size_bytes < settings.min_backup_bytes:
        report.problems.append(
            f"newest backup is {report.size_bytes} bytes; floor is "
            f"{settings.min_backup_bytes}"
        )
    checksum_key = report.key + CHECKSUM_SUFFIX
    if checksum_key not in keys:
        report.problems.append(f"checksum object {checksum_key} is missing")
    elif not _checksum_names(s3, settings.bucket, checksum_key, report.key):
        report.problems.append(
            f"checksum object {checksum_key} is not a sha256 line for the backup"
        )
    return report


def _checksum_names(s3: Any, bucket: str, checksum_key: str, backup_key: str) -> bool:
    body = s3.get_object(Bucket=bucket, Key=checksum_key)["Body"].read(4096)
    match = _CHECKSUM_LINE.match(body.decode("utf-8", errors="replace"))
    return bool(match) and match.group(2) == backup_key.rsplit("/", 1)[-1]


def publish_ages(
    cloudwatch: Any, settings: Settings, reports: list[ShardReport]
) -> None:
    """Publish BackupAgeHours for every shard, by stage and shard."""
    metrics = [
        {
            "MetricName": METRIC_NAME,
            "Dimensions": [
                {"Name": "Stage", "Value": settings.stage},
                {"Name": "Shard", "Value": str(report.shard)},
            ],
            "Value": report.age_hours,
            "Unit": "None",
        }
        for report in reports
    ]
    # PutMetricData takes at most 1000 values per call.
    for start in range(0, len(metrics), 1000):
        cloudwatch.put_metric_data(
            Namespace=settings.namespace, MetricData=metrics[start : start + 1000]
        )
