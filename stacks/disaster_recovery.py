"""The DR stage: a key and a replica bucket for backups, in a second region."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from config import StageConfig
from config.naming import bucket_name
from constructs import Construct
from constructs.backup_replication import REPLICA_KEY_ALIAS
from constructs.secure_bucket import SecureBucket

ACCESS_RECORDED_BY_TRAIL = (
    "Object-level access to the replica is recorded as CloudTrail data events by "
    "the source stage's multi-region trail."
)


class DisasterRecoveryStack(cdk.Stack):
    """Receives the replicated backups; deploy it before the source stage."""

    def __init__(self, scope: Construct, id: str, *, source: StageConfig) -> None:
        target = source.disaster_recovery
        super().__init__(
            scope,
            id,
            env=cdk.Environment(account=target.account, region=target.region),
            description=f"{target.name}: replica of {source.name} backups",
            termination_protection=source.termination_protection,
        )
        self.key = kms.Key(
            self,
            "BackupsKey",
            alias=REPLICA_KEY_ALIAS,
            description=f"{target.name}: replicated {source.name} backups",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.bucket = SecureBucket(
            self,
            "Backups",
            bucket_name=bucket_name(target, "backups"),
            encryption_key=self.key,
            access_logs=None,
            # This bucket is itself the replica of the source region's backups.
            replicated=False,
            acknowledgements=[
                ("AwsSolutions-S1", ACCESS_RECORDED_BY_TRAIL),
                ("NIST.800.53.R5-S3BucketLoggingEnabled", ACCESS_RECORDED_BY_TRAIL),
            ],
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ArchiveThenExpire",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER,
                            transition_after=cdk.Duration.days(
                                source.backup.archive_after_days
                            ),
                        )
                    ],
                    expiration=cdk.Duration.days(source.backup.retention_days),
                    noncurrent_version_expiration=cdk.Duration.days(1),
                )
            ],
        ).bucket


class DisasterRecoveryStage(cdk.Stage):
    """A stage of its own (e.g. ProdDR), deployed before the stage it protects."""

    def __init__(self, scope: Construct, *, source: StageConfig) -> None:
        target = source.disaster_recovery
        super().__init__(
            scope,
            target.name,
            env=cdk.Environment(account=target.account, region=target.region),
        )
        self.backups = DisasterRecoveryStack(self, "Backups", source=source)
        cdk.Tags.of(self).add("stage", target.name)
