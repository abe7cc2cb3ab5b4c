"""Buckets carry the properties their data needs; backups replicate to the DR region."""

from __future__ import annotations

import pytest

from config import load_stages

STAGES = load_stages()


def bucket(synthesized, stage: str, purpose: str, stack: str = "Storage") -> dict:
    config = STAGES[stage]
    name = f"slack-{stage.lower()}-{purpose}-{config.account}-{config.region}"
    (found,) = [
        r
        for r in synthesized.resources(stage, stack, "AWS::S3::Bucket").values()
        if r["Properties"]["BucketName"] == name
    ]
    return found


def policy_of(synthesized, stage: str, purpose: str) -> list[dict]:
    resources = synthesized.template(stage, "Storage")["Resources"]
    config = STAGES[stage]
    name = f"slack-{stage.lower()}-{purpose}-{config.account}-{config.region}"
    (logical_id,) = [
        k
        for k, r in resources.items()
        if r["Type"] == "AWS::S3::Bucket" and r["Properties"]["BucketName"] == name
    ]
    (policy,) = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::S3::BucketPolicy"
        and r["Properties"]["Bucket"] == {"Ref": logical_id}
    ]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def test_bucket_names_fit_in_63_characters_in_every_region(synthesized):
    for _stage, _stack, template in synthesized.all_templates():
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::S3::Bucket":
                assert len(resource["Properties"]["BucketName"]) <= 63


@pytest.mark.parametrize("stage", STAGES)
def test_uploads_are_versioned_kms_encrypted_with_cors_and_lifecycle(
    synthesized, stage
):
    props = bucket(synthesized, stage, "uploads")["Properties"]
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    (cors,) = props["CorsConfiguration"]["CorsRules"]
    (rule,) = props["LifecycleConfiguration"]["Rules"]

    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert cors["AllowedOrigins"] == [f"https://{STAGES[stage].domain_name}"]
    assert set(cors["AllowedMethods"]) == {"GET", "PUT", "POST"}
    assert rule["Transitions"][0]["StorageClass"] == "STANDARD_IA"
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == (
        STAGES[stage].storage.noncurrent_version_days
    )


@pytest.mark.parametrize("stage", STAGES)
def test_backups_are_locked_archived_and_expire_after_retention(synthesized, stage):
    backup = STAGES[stage].backup
    found = bucket(synthesized, stage, "backups")
    props = found["Properties"]
    (rule,) = props["LifecycleConfiguration"]["Rules"]

    assert found["DeletionPolicy"] == "Retain"
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Mode": "GOVERNANCE",
        "Days": backup.object_lock_days,
    }
    assert rule["Transitions"] == [
        {"StorageClass": "GLACIER", "TransitionInDays": backup.archive_after_days}
    ]
    assert rule["ExpirationInDays"] == backup.retention_days
    assert "DataKey" in str(props["BucketEncryption"])


@pytest.mark.parametrize("stage", STAGES)
def test_only_break_glass_may_delete_backups(synthesized, stage):
    statements = policy_of(synthesized, stage, "backups")
    (deny,) = [
        s for s in statements if s.get("Sid") == "OnlyBreakGlassMayDeleteBackups"
    ]

    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == {"AWS": "*"}
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion"} <= set(deny["Action"])
    assert "BreakGlass" in str(deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"])


def test_prod_backups_replicate_to_the_dr_bucket_with_time_control(synthesized):
    replica = STAGES["Prod"].disaster_recovery
    props = bucket(synthesized, "Prod", "backups")["Properties"]
    (rule,) = props["ReplicationConfiguration"]["Rules"]
    destination = rule["Destination"]

    assert destination["Bucket"] == (
        f"arn:aws:s3:::slack-proddr-backups-{replica.account}-{replica.region}"
    )
    assert destination["ReplicationTime"] == {
        "Status": "Enabled",
        "Time": {"Minutes": 15},
    }
    assert destination["Metrics"]["Status"] == "Enabled"
    assert destination["EncryptionConfiguration"]["ReplicaKmsKeyID"].endswith(
        ":alias/dr/backups"
    )
    assert rule["SourceSelectionCriteria"] == {
        "SseKmsEncryptedObjects": {"Status": "Enabled"}
    }


def test_dev_has_no_replication_and_no_dr_stage(synthesized):
    assert (
        "ReplicationConfiguration"
        not in bucket(synthesized, "Dev", "backups")["Properties"]
    )
    assert "DevDR" not in synthesized.templates


def test_dr_stage_holds_a_rotating_key_and_the_replica_bucket_in_its_region(
    synthesized,
):
    replica = STAGES["Prod"].disaster_recovery
    resources = synthesized.template(replica.name, "Backups")["Resources"]
    (key,) = [r for r in resources.values() if r["Type"] == "AWS::KMS::Key"]
    (alias,) = [r for r in resources.values() if r["Type"] == "AWS::KMS::Alias"]
    (replica_bucket,) = [
        r for r in resources.values() if r["Type"] == "AWS::S3::Bucket"
    ]

    assert key["Properties"]["EnableKeyRotation"] is True
    assert alias["Properties"]["AliasName"] == "alias/dr/backups"
    assert replica_bucket["Properties"]["BucketName"].endswith(f"-{replica.region}")
    assert (
        replica_bucket["Properties"]["VersioningConfiguration"]["Status"] == "Enabled"
    )


@pytest.mark.parametrize("stage", STAGES)
def test_every_data_bucket_logs_access_to_the_logs_bucket(synthesized, stage):
    for purpose in ("uploads", "static", "artifacts", "backups"):
        logging = bucket(synthesized, stage, purpose)["Properties"][
            "LoggingConfiguration"
        ]
        assert "LogsBucket" in str(logging["DestinationBucketName"])
