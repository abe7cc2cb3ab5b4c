"""Customer managed KMS keys of a stage, with policies the using services need."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from config import StageConfig
from constructs import Construct

_USE_KEY = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
]


class PlatformKeys(Construct):
    """Three rotating keys: audit logs, application data, operational logs."""

    def __init__(self, scope: Construct, id: str, *, stage: StageConfig) -> None:
        super().__init__(scope, id)
        self.audit = self._key("AuditKey", stage, "audit", "CloudTrail and its logs")
        self.data = self._key("DataKey", stage, "data", "EBS volumes, backups, uploads")
        self.operations = self._key(
            "OperationsKey", stage, "operations", "log groups and the alarm topic"
        )

        for key in (self.audit, self.operations):
            self._allow_cloudwatch_logs(key)
        self._allow_ec2_auto_scaling(self.data)
        self.operations.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmsAndEventsToPublishToTheEncryptedTopic",
                principals=[
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                    iam.ServicePrincipal("events.amazonaws.com"),
                ],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stage.account}},
            )
        )

    def _key(self, id: str, stage: StageConfig, alias: str, use: str) -> kms.Key:
        return kms.Key(
            self,
            id,
            alias=f"alias/{stage.name.lower()}/{alias}",
            description=f"{stage.name}: {use}",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    @staticmethod
    def _allow_cloudwatch_logs(key: kms.Key) -> None:
        """CloudWatch Logs may use the key only for log groups of this account."""
        stack = cdk.Stack.of(key)
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=_USE_KEY,
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

    @staticmethod
    def _allow_ec2_auto_scaling(key: kms.Key) -> None:
        """Without this grant, Auto Scaling cannot launch encrypted volumes."""
        stack = cdk.Stack.of(key)
        service_linked_role = iam.ArnPrincipal(
            stack.format_arn(
                service="iam",
                region="",
                resource="role",
                resource_name="aws-service-role/autoscaling.amazonaws.com/"
                "AWSServiceRoleForAutoScaling",
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAutoScalingToUseTheKeyForVolumes",
                principals=[service_linked_role],
                actions=_USE_KEY,
                resources=["*"],
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAutoScalingToGrantTheKeyToEc2",
                principals=[service_linked_role],
                actions=["kms:CreateGrant"],
                resources=["*"],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
