"""Customer managed KMS keys of a stage."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from config import StageConfig
from constructs import Construct


class PlatformKeys(Construct):
    """Rotating customer managed keys, each usable by the services that need it."""

    def __init__(self, scope: Construct, id: str, *, stage: StageConfig) -> None:
        super().__init__(scope, id)
        self.operational_logs = kms.Key(
            self,
            "OperationalLogsKey",
            alias=f"alias/{stage.name.lower()}/operational-logs",
            description=f"{stage.name}: CloudWatch Logs groups (flow logs, hosts)",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

        self._allow_cloudwatch_logs(self.operational_logs)

    @staticmethod
    def _allow_cloudwatch_logs(key: kms.Key) -> None:
        """CloudWatch Logs encrypts with the key only for log groups of this account."""
        stack = cdk.Stack.of(key)
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )
