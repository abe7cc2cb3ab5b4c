"""A shard's newest backup in S3, with the checksum the host uploaded beside it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from scripts.restore import DrillFailed, error_code, error_text

CHECKSUM_SUFFIX = ".sha256"
# Classes whose objects cannot be read until they are restored from the archive.
ARCHIVED = frozenset({"GLACIER", "DEEP_ARCHIVE"})
_CHECKSUM_LINE = re.compile(r"^([0-9a-f]{64})  (\S+)\n?$")
_STAMP = "%Y-%m-%dT%H%M%SZ"


@dataclass(frozen=True)
class Backup:
    """One backup object and the digest its checksum object gives for it."""

    bucket: str
    region: str
    key: str
    size_bytes: int
    sha256: str
    taken_at: datetime

    @property
    def url(self) -> str:
        """The object's s3:// address."""
        return f"s3://{self.bucket}/{self.key}"


def bucket_region(s3: Any, bucket: str) -> str:
    """The region a bucket lives in."""
    try:
        location = s3.get_bucket_location(Bucket=bucket)["LocationConstraint"]
    except ClientError as err:
        raise DrillFailed(f"cannot locate bucket {bucket}: {error_text(err)}") from None
    # us-east-1 answers with no constraint; the oldest eu-west-1 buckets with "EU".
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(
        location, location
    )


def newest_backup(s3: Any, bucket: str, region: str, stage: str, shard: int) -> Backup:
    """Find the shard's newest backup and check that its checksum object is whole."""
    prefix = f"mysql/{stage}/{shard}/"
    name = re.compile(
        rf"^{re.escape(prefix)}\d{{4}}-\d{{2}}-\d{{2}}/"
        rf"mysql-{re.escape(stage)}-{shard}-"
        r"(\d{4}-\d{2}-\d{2}T\d{6}Z)\.sql\.zst$"
    )
    objects: dict[str, dict[str, Any]] = {}
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix
        )
        for page in pages:
            objects.update({item["Key"]: item for item in page.get("Contents", [])})
    except ClientError as err:
        raise DrillFailed(
            f"cannot list s3://{bucket}/{prefix}: {error_text(err)}"
        ) from None

    backups = sorted(key for key in objects if name.match(key))
    if not backups:
        raise DrillFailed(
            f"no backup of {stage} shard {shard} in s3://{bucket}/{prefix}"
        )
    # The UTC stamp in the name orders backups; LastModified would not, because
    # in the DR replica it is the time the object was replicated.
    key = backups[-1]
    checksum_key = key + CHECKSUM_SUFFIX
    if checksum_key not in objects:
        raise DrillFailed(
            f"checksum object s3://{bucket}/{checksum_key} is missing: the newest "
            "backup is incomplete or still uploading"
        )
    for item in (objects[key], objects[checksum_key]):
        _require_readable(s3, bucket, item)

    return Backup(
        bucket=bucket,
        region=region,
        key=key,
        size_bytes=objects[key]["Size"],
        sha256=_checksum(s3, bucket, checksum_key, key.rsplit("/", 1)[-1]),
        taken_at=datetime.strptime(name.match(key).group(1), _STAMP).replace(
            tzinfo=UTC
        ),
    )


def _require_readable(s3: Any, bucket: str, item: dict[str, Any]) -> None:
    if item.get("StorageClass") not in ARCHIVED:
        return
    try:
        head = s3.head_object(Bucket=bucket, Key=item["Key"])
    except ClientError as err:
        raise DrillFailed(
            f"cannot read s3://{bucket}/{item['Key']}: {error_code(err)}"
        ) from None
    if 'ongoing-request="false"' in head.get("Restore", ""):
        return
    raise DrillFailed(
        f"s3://{bucket}/{item['Key']} is archived in {item['StorageClass']}; "
        "restore it first (aws s3api restore-object, Expedited takes minutes) "
        "and run the drill again when the restore has completed"
    )


def _checksum(s3: Any, bucket: str, checksum_key: str, backup_name: str) -> str:
    try:
        body = s3.get_object(Bucket=bucket, Key=checksum_key)["Body"].read(4096)
    except ClientError as err:
        raise DrillFailed(
            f"cannot read s3://{bucket}/{checksum_key}: {error_code(err)}"
        ) from None
    match = _CHECKSUM_LINE.match(body.decode("utf-8", errors="replace"))
    if not match or match.group(2) != backup_name:
        raise DrillFailed(
            f"checksum object s3://{bucket}/{checksum_key} is not a sha256sum line "
            f"for {backup_name}"
        )
    return match.group(1)
