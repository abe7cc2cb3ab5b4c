"""The stage's CloudTrail: every region, validated, encrypted, in S3 and Logs."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3

from config import StageConfig
from config.naming import bucket_name, log_group_name
from constructs import Construct
from constructs.nag import acknowledge
from constructs.secure_bucket import SecureBucket


class AuditTrail(Construct):
    """A multi-region trail whose files are validated, encrypted and retained."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage: StageConfig,
        key: kms.IKey,
        access_logs: s3.IBucket,
        data_event_buckets: list[str],
    ) -> None:
        super().__init__(scope, id)
        self.bucket = SecureBucket(
            self,
            "AuditBucket",
            bucket_name=bucket_name(stage, "audit"),
            encryption_key=key,
            access_logs=access_logs,
        ).bucket
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=log_group_name(stage, "cloudtrail"),
            encryption_key=key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.log_group.node.default_child.retention_in_days = stage.log_retention_days
        # The L2 writes the bucket policy CloudTrail needs (GetBucketAcl, and
        # PutObject on AWSLogs/<account>/* for the bucket owner) and makes the
        # trail depend on it, so the trail deploys first time.
        self.trail = cloudtrail.Trail(
            self,
            "Trail",
            bucket=self.bucket,
            encryption_key=key,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_file_validation=True,
            management_events=cloudtrail.ReadWriteType.ALL,
            send_to_cloud_watch_logs=True,
            cloud_watch_log_group=self.log_group,
        )

        acknowledge(
            self.trail.node.find_child("LogsRole")
            .node.find_child("DefaultPolicy")
            .node.default_child,
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "The CDK generates this policy for CloudTrail's delivery role; it "
            "allows writing to this trail's log group only.",
        )
        self.trail.add_s3_event_selector(
            [
                cloudtrail.S3EventSelector(
                    bucket=s3.Bucket.from_bucket_name(self, f"DataEvents{i}", name)
                )
                for i, name in enumerate(data_event_buckets)
            ],
            include_management_events=False,
            read_write_type=cloudtrail.ReadWriteType.ALL,
        )
