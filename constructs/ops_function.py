"""A small operations Lambda: own role, encrypted logs, dead letters, one at a time."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs

from constructs import Construct
from constructs.nag import acknowledge, acknowledge_all

LAMBDA_SRC = Path(__file__).resolve().parent.parent / "lambda_src"
RUNTIME = lambda_.Runtime.PYTHON_3_14
DEAD_LETTER_RETENTION = cdk.Duration.days(14)


class OpsFunction(Construct):
    """A Lambda from lambda_src/<name>/ with only the permissions its caller lists."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        source: str,
        description: str,
        environment: dict[str, str],
        statements: list[iam.PolicyStatement],
        layers: list[lambda_.ILayerVersion],
        log_key: kms.IKey,
        log_retention_days: int,
        timeout: cdk.Duration,
    ) -> None:
        super().__init__(scope, id)
        self.log_group = logs.LogGroup(
            self, "LogGroup", encryption_key=log_key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )  # fmt: skip
        self.log_group.node.default_child.retention_in_days = log_retention_days
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=log_key,
            enforce_ssl=True,
            retention_period=DEAD_LETTER_RETENTION,
        )
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=description,
        )  # fmt: skip
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(LAMBDA_SRC / source)),
            description=description,
            environment=environment,
            layers=layers,
            # Grants the CDK would add go inline; every permission is below instead.
            role=self.role.without_policy_updates(),
            log_group=self.log_group,
            timeout=timeout,
            memory_size=256,
            reserved_concurrent_executions=1,
            dead_letter_queue=self.dead_letters,
            tracing=lambda_.Tracing.DISABLED,
        )

        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            roles=[self.role],
            statements=[
                *statements,
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[self.log_group.log_group_arn],
                ),
                iam.PolicyStatement(
                    actions=["sqs:SendMessage"], resources=[self.dead_letters.queue_arn]
                ),
                iam.PolicyStatement(
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[log_key.key_arn],
                ),
            ],
        )
        self.function.node.add_dependency(self.policy)

        acknowledge(
            self.function.node.default_child,
            "NIST.800.53.R5-LambdaInsideVPC",
            "The function calls only AWS APIs (EC2, SSM, S3, CloudWatch) and "
            "reaches no host in the VPC.",
        )
        dead_letters = "This queue is itself the function's dead-letter queue."
        acknowledge_all(
            self.dead_letters.node.default_child,
            [
                ("AwsSolutions-SQS3", dead_letters),
                ("NIST.800.53.R5-SQSQueueDLQ", dead_letters),
            ],
        )

    def acknowledge_wildcards(self, reasons: dict[str, str]) -> None:
        """Record why each wildcard resource in this function's policy is needed."""
        acknowledge_all(
            self.policy.node.default_child,
            [
                (f"AwsSolutions-IAM5[Resource::{resource}]", reason)
                for resource, reason in reasons.items()
            ],
        )
