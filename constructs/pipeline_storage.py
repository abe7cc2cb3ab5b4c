"""What the delivery pipeline keeps: artifacts, the deployed assembly, build logs."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs

from config.model import StageConfig
from config.naming import bucket_name, log_group_name
from constructs import Construct
from constructs.keys import PlatformKeys
from constructs.secure_bucket import SecureBucket

ACCESS_LOG_BUCKET_REASON = (
    "This is the pipeline's access-log bucket itself; logging it into itself "
    "would loop."
)


class PipelineStorage(Construct):
    """A rotating key, a logged artifact bucket and an encrypted build log group."""

    def __init__(self, scope: Construct, id: str, *, home: StageConfig) -> None:
        super().__init__(scope, id)
        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/{home.name.lower()}/pipeline",
            description=f"{home.name}: pipeline artifacts and build logs",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        # S3 delivers server access logs only into S3-managed encryption.
        self.access_logs = SecureBucket(
            self,
            "AccessLogs",
            bucket_name=bucket_name(home, "pipeline-logs"),
            encryption_key=None,
            access_logs=None,
            acknowledgements=[
                ("AwsSolutions-S1", ACCESS_LOG_BUCKET_REASON),
                ("NIST.800.53.R5-S3BucketLoggingEnabled", ACCESS_LOG_BUCKET_REASON),
                (
                    "NIST.800.53.R5-S3DefaultEncryptionKMS",
                    "S3 server access logs can be delivered only to a bucket with "
                    "SSE-S3.",
                ),
            ],
        ).bucket
        self.artifacts = SecureBucket(
            self,
            "Artifacts",
            bucket_name=bucket_name(home, "pipeline"),
            encryption_key=self.key,
            access_logs=self.access_logs,
        ).bucket
        self.build_logs = logs.LogGroup(
            self,
            "BuildLogs",
            log_group_name=log_group_name(home, "pipeline"),
            encryption_key=self.key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.build_logs.node.default_child.retention_in_days = home.log_retention_days

        # The stage keys' policy for CloudWatch Logs, reused rather than restated.
        PlatformKeys._allow_cloudwatch_logs(self.key)
