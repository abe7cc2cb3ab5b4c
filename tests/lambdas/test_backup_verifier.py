"""The verifier: each shard's newest backup is recent, big enough and checksummed."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

STAGE = "Test"
BODY = b"compressed dump bytes, longer than the floor"


@pytest.fixture
def settings(verifier: ModuleType, unique, monkeypatch: pytest.MonkeyPatch):
    """Two shards, a unique bucket (created) and a unique metric namespace."""
    value = dataclasses.replace(
        verifier.SETTINGS,
        stage=STAGE,
        bucket=unique("backups"),
        shards=2,
        rpo_hours=26.0,
        min_backup_bytes=16,
        namespace=f"Test/{unique('Backups')}",
    )
    boto3.client("s3").create_bucket(Bucket=value.bucket)
    monkeypatch.setattr(verifier, "SETTINGS", value)
    return value


def put_backup(
    settings, shard: int, body: bytes = BODY, checksum: str | None = "valid"
) -> str:
    """Upload a backup (and its checksum object) the way the host script does."""
    s3 = boto3.client("s3")
    name = f"mysql-{STAGE}-{shard}-2025-01-02T030000Z.sql.zst"
    key = f"mysql/{STAGE}/{shard}/2025-01-02/{name}"
    s3.put_object(Bucket=settings.bucket, Key=key, Body=body)
    if checksum == "valid":
        checksum = f"{hashlib.sha256(body).hexdigest()}  {name}\n"
    if checksum is not None:
        s3.put_object(Bucket=settings.bucket, Key=key + ".sha256", Body=checksum)
    return key


def published_ages(settings) -> dict[str, float]:
    """The latest BackupAgeHours per shard, as CloudWatch has it."""
    cloudwatch, now = boto3.client("cloudwatch"), datetime.now(UTC)
    ages = {}
    for shard in range(settings.shards):
        points = cloudwatch.get_metric_statistics(
            Namespace=settings.namespace,
            MetricName="BackupAgeHours",
            Dimensions=[
                {"Name": "Stage", "Value": STAGE},
                {"Name": "Shard", "Value": str(shard)},
            ],
            StartTime=now - timedelta(hours=1),
            EndTime=now + timedelta(hours=1),
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
        if points:
            ages[str(shard)] = max(point["Maximum"] for point in points)
    return ages


def problems(capsys: pytest.CaptureFixture[str]) -> dict[int, list[str]]:
    """Each failed shard's problems, from the verifier's log lines."""
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return {
        line["shard"]: line["problems"]
        for line in lines
        if line["message"] == "shard backup failed verification"
    }


def test_fresh_complete_backups_pass_and_publish_their_age(verifier, settings, context):
    for shard in (0, 1):
        put_backup(settings, shard)

    report = verifier.handler({}, context)

    assert report["failed_shards"] == []
    assert [s["ok"] for s in report["shards"]] == [True, True]
    assert [s["size_bytes"] for s in report["shards"]] == [len(BODY)] * 2
    ages = published_ages(settings)
    assert set(ages) == {"0", "1"}
    assert all(0 <= age < 1 for age in ages.values())


def test_a_missing_backup_fails_and_publishes_a_huge_age(
    verifier, settings, context, capsys
):
    put_backup(settings, 0)
    # Shard 10 is not shard 1: prefixes end with a slash.
    put_backup(settings, 10)
    capsys.readouterr()

    with pytest.raises(verifier.BackupVerificationFailed, match=r"shards \[1\]"):
        verifier.handler({}, context)

    assert problems(capsys)[1] == [
        f"no backup under s3://{settings.bucket}/mysql/{STAGE}/1/"
    ]
    ages = published_ages(settings)
    assert ages["1"] == verifier.NO_BACKUP_AGE_HOURS
    assert ages["0"] < settings.rpo_hours


def test_a_backup_older_than_the_rpo_is_stale(
    verifier, settings, context, capsys, monkeypatch
):
    for shard in (0, 1):
        put_backup(settings, shard)
    later = datetime.now(UTC) + timedelta(hours=30)
    monkeypatch.setattr(verifier, "now", lambda: later)
    capsys.readouterr()

    with pytest.raises(verifier.BackupVerificationFailed, match=r"\[0, 1\]"):
        verifier.handler({}, context)

    [problem] = problems(capsys)[0]
    assert "h old; RPO is 26.0 h" in problem
    assert all(29.9 < age < 30.1 for age in published_ages(settings).values())


def test_a_backup_below_the_size_floor_fails(verifier, settings, context, capsys):
    put_backup(settings, 0)
    put_backup(settings, 1, body=b"tiny")
    capsys.readouterr()

    with pytest.raises(verifier.BackupVerificationFailed, match=r"shards \[1\]"):
        verifier.handler({}, context)

    assert problems(capsys)[1] == ["newest backup is 4 bytes; floor is 16"]


def test_a_backup_without_its_checksum_object_fails(
    verifier, settings, context, capsys
):
    put_backup(settings, 0)
    key = put_backup(settings, 1, checksum=None)
    capsys.readouterr()

    with pytest.raises(verifier.BackupVerificationFailed, match=r"shards \[1\]"):
        verifier.handler({}, context)

    assert problems(capsys)[1] == [f"checksum object {key}.sha256 is missing"]


@pytest.mark.parametrize(
    "checksum",
    ["", "not a checksum\n", f"{'0' * 64}  some-other-backup.sql.zst\n"],
)
def test_a_checksum_object_that_does_not_name_the_backup_fails(
    verifier, settings, context, checksum
):
    put_backup(settings, 0)
    put_backup(settings, 1, checksum=checksum)

    with pytest.raises(verifier.BackupVerificationFailed, match=r"shards \[1\]"):
        verifier.handler({}, context)


def test_a_bucket_that_does_not_exist_is_an_error_not_a_pass(
    verifier, settings, context, unique, monkeypatch
):
    gone = dataclasses.replace(settings, bucket=unique("missing"))
    monkeypatch.setattr(verifier, "SETTINGS", gone)

    with pytest.raises(ClientError) as error:
        verifier.handler({}, context)

    assert error.value.response["Error"]["Code"] == "NoSuchBucket"


def test_the_newest_of_several_backups_is_the_one_checked(verifier, settings):
    s3 = boto3.client("s3")
    now = datetime(2025, 1, 3, 4, tzinfo=UTC)

    def item(key: str, hours_ago: float, size: int = 100) -> dict[str, Any]:
        return {
            "Key": f"mysql/{STAGE}/0/{key}",
            "LastModified": now - timedelta(hours=hours_ago),
            "Size": size,
        }

    listing = {
        "Contents": [
            item("2025-01-01/a.sql.zst", 49),
            item("2025-01-01/a.sql.zst.sha256", 49),
            item("2025-01-03/c.sql.zst", 1),
            item("2025-01-02/b.sql.zst", 25),
            item("2025-01-02/b.sql.zst.sha256", 25),
        ],
        "IsTruncated": False,
        "KeyCount": 5,
    }
    with Stubber(s3) as stub:
        stub.add_response(
            "list_objects_v2",
            listing,
            {"Bucket": settings.bucket, "Prefix": f"mysql/{STAGE}/0/"},
        )
        report = verifier.check_shard(s3, settings, 0, now)

    assert report.key == f"mysql/{STAGE}/0/2025-01-03/c.sql.zst"
    assert report.age_hours == 1.0
    assert report.problems == [f"checksum object {report.key}.sha256 is missing"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SHARDS", "0"),
        ("SHARDS", "four"),
        ("MIN_BACKUP_BYTES", "-1"),
        ("RPO_HOURS", "0"),
        ("RPO_HOURS", "soon"),
        ("METRIC_NAMESPACE", ""),
    ],
)
def test_bad_environment_is_refused_by_name(verifier_module, name, value):
    env = {
        "STAGE": STAGE,
        "BACKUP_BUCKET": "b",
        "SHARDS": "2",
        "MIN_BACKUP_BYTES": "16",
        "METRIC_NAMESPACE": "N",
    } | {name: value}

    with pytest.raises(ValueError, match=name):
        verifier_module.Settings.from_env(env)


def test_rpo_defaults_to_26_hours(verifier_module):
    env = {
        "STAGE": STAGE,
        "BACKUP_BUCKET": "b",
        "SHARDS": "2",
        "MIN_BACKUP_BYTES": "16",
        "METRIC_NAMESPACE": "N",
    }

    assert verifier_module.Settings.from_env(env).rpo_hours == 26.0
