"""The stage's data buckets: uploads, static assets, release artifacts, backups."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from config import StageConfig
from config.naming import bucket_name
from constructs import Construct
from constructs.backup_replication import BackupReplication
from constructs.secure_bucket import SecureBucket

# Deleting a backup or loosening its protection is reserved for break-glass.
# (Lifecycle changes stay allowed: deployments manage the retention rules.)
PROTECTED_BACKUP_ACTIONS = [
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:BypassGovernanceRetention",
]


class PlatformBuckets(Construct):
    """Private, encrypted, retained buckets with the lifecycles their data needs."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage: StageConfig,
        data_key: kms.IKey,
        access_logs: s3.IBucket,
        break_glass: iam.IRole,
    ) -> None:
        super().__init__(scope, id)
        days = cdk.Duration.days
        storage, backup = stage.storage, stage.backup
        self.uploads = SecureBucket(
            self,
            "Uploads",
            bucket_name=bucket_name(stage, "uploads"),
            encryption_key=data_key,
            access_logs=access_logs,
            cors=[
                s3.CorsRule(
                    allowed_methods=[
                        s3.HttpMethods.GET,
                        s3.HttpMethods.PUT,
                        s3.HttpMethods.POST,
                    ],
                    allowed_origins=[f"https://{stage.domain_name}"],
                    allowed_headers=["*"],
                    max_age=3000,
                )
            ],
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="CheaperTierAndOldVersions",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=days(
                                storage.uploads_infrequent_access_days
                            ),
                        )
                    ],
                    noncurrent_version_expiration=days(storage.noncurrent_version_days),
                    abort_incomplete_multipart_upload_after=days(7),
                )
            ],
        ).bucket
        # Served by the web tier behind the load balancer, never publicly.
        self.static = SecureBucket(
            self,
            "Static",
            bucket_name=bucket_name(stage, "static"),
            encryption_key=data_key,
            access_logs=access_logs,
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=days(storage.noncurrent_version_days)
                )
            ],
        ).bucket
        self.artifacts = SecureBucket(
            self,
            "Artifacts",
            bucket_name=bucket_name(stage, "artifacts"),
            encryption_key=data_key,
            access_logs=access_logs,
        ).bucket
        replicated = stage.disaster_recovery is not None
        self.backups = SecureBucket(
            self,
            "Backups",
            bucket_name=bucket_name(stage, "backups"),
            encryption_key=data_key,
            access_logs=access_logs,
            replicated=replicated,
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.governance(
                days(backup.object_lock_days)
            ),
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ArchiveThenExpire",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER,
                            transition_after=days(backup.archive_after_days),
                        )
                    ],
                    expiration=days(backup.retention_days),
                    noncurrent_version_expiration=days(1),
                )
            ],
        ).bucket

        self.backups.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyBreakGlassMayDeleteBackups",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=PROTECTED_BACKUP_ACTIONS,
                resources=[self.backups.bucket_arn, self.backups.arn_for_objects("*")],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": break_glass.role_arn}},
            )
        )
        if stage.disaster_recovery:
            BackupReplication(
                self,
                "Replication",
                source=self.backups,
                source_name=bucket_name(stage, "backups"),
                source_key=data_key,
                target=stage.disaster_recovery,
            )
