"""Security stack: keys, audit trail, alarms, engineer access, log bucket."""

from __future__ import annotations

from config import StageConfig
from config.naming import bucket_name
from constructs import Construct
from constructs.alarm_topic import AlarmTopic
from constructs.audit_trail import AuditTrail
from constructs.ebs_default_encryption import EbsDefaultEncryption
from constructs.engineer_access import EngineerAccess
from constructs.keys import PlatformKeys
from constructs.secure_bucket import SecureBucket
from constructs.security_monitoring import SecurityMonitoring
from stacks.base import PlatformStack

# Buckets whose object-level reads and writes the trail records.
DATA_EVENT_BUCKETS = ("uploads", "backups")
LOGGING_ITSELF = (
    "This is the access-log bucket itself; logging it into itself would loop."
)


class SecurityStack(PlatformStack):
    """Holds what every other stack relies on: keys, logging, audit, access."""

    def __init__(self, scope: Construct, id: str, *, stage: StageConfig) -> None:
        super().__init__(
            scope, id, stage=stage, description="keys, audit trail, alarms, access"
        )
        self.keys = PlatformKeys(self, "Keys", stage=stage)
        # Load balancer access-log delivery accepts only S3-managed encryption.
        self.logs_bucket = SecureBucket(
            self,
            "LogsBucket",
            bucket_name=bucket_name(stage, "logs"),
            encryption_key=None,
            access_logs=None,
            acknowledgements=[
                ("AwsSolutions-S1", LOGGING_ITSELF),
                ("NIST.800.53.R5-S3BucketLoggingEnabled", LOGGING_ITSELF),
                (
                    "NIST.800.53.R5-S3DefaultEncryptionKMS",
                    "Load balancer access-log delivery supports only SSE-S3 on its "
                    "bucket.",
                ),
            ],
        ).bucket
        self.alarms = AlarmTopic(
            self, "Alarms", key=self.keys.operations, email=stage.alarm_email
        )
        self.audit = AuditTrail(
            self,
            "Audit",
            stage=stage,
            key=self.keys.audit,
            access_logs=self.logs_bucket,
            data_event_buckets=[bucket_name(stage, p) for p in DATA_EVENT_BUCKETS]
            + (
                [bucket_name(stage.disaster_recovery, "backups")]
                if stage.disaster_recovery
                else []
            ),
        )
        SecurityMonitoring(
            self,
            "Monitoring",
            trail_log_group=self.audit.log_group,
            topic=self.alarms.topic,
            stage_name=stage.name,
        )
        self.access = EngineerAccess(self, "Access", stage_name=stage.name)
        EbsDefaultEncryption(
            self,
            "EbsDefaultEncryption",
            key=self.keys.data,
            log_key=self.keys.operations,
            log_retention_days=stage.log_retention_days,
        )
