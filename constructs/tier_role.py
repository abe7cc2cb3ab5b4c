"""The instance role of one tier: Session Manager, its own logs, its own data."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs

from config import StageConfig
from config.naming import log_group_name
from constructs import Construct
from constructs.nag import acknowledge_all

# What the SSM agent needs for Session Manager and Run Command, instead of SSH.
SSM_AGENT_ACTIONS = [
    "ssm:UpdateInstanceInformation",
    "ssm:ListAssociations",
    "ssm:ListInstanceAssociations",
    "ssm:UpdateInstanceAssociationStatus",
    "ssm:DescribeDocument",
    "ssm:GetDocument",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
]
CLOUDWATCH_AGENT_NAMESPACE = "CWAgent"


@dataclass(frozen=True)
class BucketAccess:
    """Objects under a prefix of a bucket, or one exact key; read-only unless write."""

    bucket_name: str
    prefix: str
    write: bool = False
    exact_key: bool = False


class TierRole(Construct):
    """A role allowing exactly what one tier's hosts do; each host profile wears it."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage: StageConfig,
        tier: str,
        data_key: kms.IKey,
        log_key: kms.IKey,
        buckets: tuple[BucketAccess, ...] = (),
        parameter_paths: tuple[str, ...] = (),
    ) -> None:
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=log_group_name(stage, tier),
            encryption_key=log_key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.log_group.node.default_child.retention_in_days = stage.log_retention_days
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description=f"{stage.name} {tier} hosts",
        )
        log_streams = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{log_group_name(stage, tier)}:*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        statements = [
            iam.PolicyStatement(actions=SSM_AGENT_ACTIONS, resources=["*"]),
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={
                    "StringEquals": {"cloudwatch:namespace": CLOUDWATCH_AGENT_NAMESPACE}
                },
            ),
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_streams],
            ),
            # cfn-init reads, and cfn-signal signals, this stack only.
            iam.PolicyStatement(
                actions=[
                    "cloudformation:DescribeStackResource",
                    "cloudformation:SignalResource",
                ],
                resources=[stack.stack_id],
            ),
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[data_key.key_arn],
            ),
        ]
        wildcard_resources = ["*", log_streams]
        for access in buckets:
            wildcard = "" if access.exact_key else "*"
            objects = (
                f"arn:{stack.partition}:s3:::{access.bucket_name}/{access.prefix}"
                f"{wildcard}"
            )
            actions = ["s3:GetObject"] + (["s3:PutObject"] if access.write else [])
            statements.append(iam.PolicyStatement(actions=actions, resources=[objects]))
            if not access.exact_key:
                wildcard_resources.append(objects)
        for path in parameter_paths:
            parameters = stack.format_arn(
                service="ssm", resource="parameter", resource_name=f"{path}/*"
            )
            statements.append(
                iam.PolicyStatement(
                    actions=["ssm:GetParameter", "ssm:GetParameters"],
                    resources=[parameters],
                )
            )
            wildcard_resources.append(parameters)

        self.policy = iam.ManagedPolicy(
            self, "Policy", statements=statements, roles=[self.role]
        )

        reason = (
            "SSM agent and CloudWatch PutMetricData accept no resource ARN; "
            "other wildcards end a path this tier owns (its log streams, "
            "its bucket prefix, its parameters)."
        )
        acknowledge_all(
            self.policy.node.default_child,
            [(f"AwsSolutions-IAM5[Resource::{r}]", reason) for r in wildcard_resources],
        )
