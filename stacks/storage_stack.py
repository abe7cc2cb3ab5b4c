"""Storage stack (stateful): the stage's data buckets."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from config import StageConfig
from constructs import Construct
from constructs.platform_buckets import PlatformBuckets
from stacks.base import PlatformStack


class StorageStack(PlatformStack):
    """Holds uploads, static assets, release artifacts and backups."""

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
        super().__init__(scope, id, stage=stage, description="S3 buckets")
        self.buckets = PlatformBuckets(
            self,
            "Buckets",
            stage=stage,
            data_key=data_key,
            access_logs=access_logs,
            break_glass=break_glass,
        )
