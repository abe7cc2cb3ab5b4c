"""Replicate the backups bucket into the DR region's bucket, with time control."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from config.model import DisasterRecoveryConfig
from config.naming import bucket_name
from constructs import Construct
from constructs.nag import acknowledge_all

REPLICA_KEY_ALIAS = "alias/dr/backups"
# S3 Replication Time Control replicates 99.99% of objects within this time.
REPLICATION_TIME_MINUTES = 15


class BackupReplication(Construct):
    """Every new backup object is copied, re-encrypted, to the DR bucket."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        source: s3.Bucket,
        source_name: str,
        source_key: kms.IKey,
        target: DisasterRecoveryConfig,
    ) -> None:
        super().__init__(scope, id)
        partition = cdk.Stack.of(self).partition
        # Names, not references: the DR stage lives in another region.
        # The policy names the source bucket too: the bucket waits for the
        # policy, so a reference back to the bucket would be a cycle.
        source_bucket = f"arn:{partition}:s3:::{source_name}"
        target_bucket = f"arn:{partition}:s3:::{bucket_name(target, 'backups')}"
        target_key_alias = (
            f"arn:{partition}:kms:{target.region}:{target.account}:{REPLICA_KEY_ALIAS}"
        )
        target_keys = f"arn:{partition}:kms:{target.region}:{target.account}:key/*"
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("s3.amazonaws.com"),
            description="Replicates backups to the DR region",
        )
        policy = iam.ManagedPolicy(
            self,
            "Policy",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    actions=["s3:GetReplicationConfiguration", "s3:ListBucket"],
                    resources=[source_bucket],
                ),
                iam.PolicyStatement(
                    actions=[
                        "s3:GetObjectVersionForReplication",
                        "s3:GetObjectVersionAcl",
                        "s3:GetObjectVersionTagging",
                        "s3:GetObjectRetention",
                        "s3:GetObjectLegalHold",
                    ],
                    resources=[f"{source_bucket}/*"],
                ),
                iam.PolicyStatement(
                    actions=[
                        "s3:ReplicateObject",
                        "s3:ReplicateDelete",
                        "s3:ReplicateTags",
                    ],
                    resources=[f"{target_bucket}/*"],
                ),
                iam.PolicyStatement(
                    actions=["kms:Decrypt"], resources=[source_key.key_arn]
                ),
                iam.PolicyStatement(
                    actions=["kms:Encrypt", "kms:GenerateDataKey"],
                    resources=[target_keys],
                    conditions={
                        "ForAnyValue:StringEquals": {
                            "kms:ResourceAliases": REPLICA_KEY_ALIAS
                        }
                    },
                ),
            ],
        )

        source.node.default_child.replication_configuration = {
            "role": self.role.role_arn,
            "rules": [
                {
                    "id": "BackupsToDisasterRecovery",
                    "status": "Enabled",
                    "priority": 1,
                    "filter": {"prefix": "mysql/"},
                    "deleteMarkerReplication": {"status": "Disabled"},
                    "sourceSelectionCriteria": {
                        "sseKmsEncryptedObjects": {"status": "Enabled"}
                    },
                    "destination": {
                        "bucket": target_bucket,
                        "storageClass": "STANDARD_IA",
                        "encryptionConfiguration": {
                            "replicaKmsKeyId": target_key_alias
                        },
                        "replicationTime": {
                            "status": "Enabled",
                            "time": {"minutes": REPLICATION_TIME_MINUTES},
                        },
                        "metrics": {
                            "status": "Enabled",
                            "eventThreshold": {"minutes": REPLICATION_TIME_MINUTES},
                        },
                    },
                }
            ],
        }
        source.node.default_child.node.add_dependency(policy)

        reason = (
            "Replication reads every backup version and writes it into the DR "
            "bucket; the key wildcard is pinned to the DR alias by the "
            "kms:ResourceAliases condition."
        )
        acknowledge_all(
            policy.node.default_child,
            [
                (f"AwsSolutions-IAM5[Resource::{resource}]", reason)
                for resource in (
                    f"{source_bucket}/*",
                    f"{target_bucket}/*",
                    target_keys,
                )
            ],
        )
