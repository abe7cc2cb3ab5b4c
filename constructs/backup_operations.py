"""Nightly MySQL backups through sc1 to S3, verified, with alarms per shard."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm

from config import StageConfig
from config.naming import bucket_name
from constructs import Construct
from constructs.ops_function import LAMBDA_SRC, RUNTIME, OpsFunction

BACKUP_SCRIPT = Path(__file__).resolve().parent.parent / "assets/mysql/backup.sh"
METRIC_NAMESPACE = "SlackPlatform/Backups"
RPO_HOURS = 26
# A dump can take hours on a large shard; Run Command's default is one hour.
BACKUP_TIMEOUT_SECONDS = 6 * 3600
COMMAND_DELIVERY_SECONDS = 600
DOCUMENT_PARAMETERS = {
    "Bucket": r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
    "Stage": r"^[A-Za-z0-9-]{1,32}$",
    "Shard": r"^(0|[1-9][0-9]{0,5})$",
    "PruneDays": r"^[1-9][0-9]{0,3}$",
}


def backup_document_content() -> dict:
    """The SSM Command document: the repo's backup.sh with its parameters exported."""
    exports = " ".join(
        f"{name}='{{{{ {param} }}}}'"
        for name, param in (
            ("BUCKET", "Bucket"), ("STAGE", "Stage"), ("SHARD", "Shard"),
            ("PRUNE_DAYS", "PruneDays"),
        )
    )  # fmt: skip
    script = BACKUP_SCRIPT.read_text(encoding="utf-8").splitlines()
    return {
        "schemaVersion": "2.2",
        "description": "Nightly MySQL backup of one replica onto /backup, then S3",
        "parameters": {
            name: {"type": "String", "allowedPattern": pattern}
            for name, pattern in DOCUMENT_PARAMETERS.items()
        },
        "mainSteps": [
            {
                "action": "aws:runShellScript",
                "name": "Backup",
                "inputs": {
                    "timeoutSeconds": str(BACKUP_TIMEOUT_SECONDS),
                    "runCommand": ["#!/bin/bash", f"export {exports}", *script],
                },
            }
        ],
    }


class BackupOperations(Construct):
    """Runs the backup on every shard's replica nightly and proves it landed."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage: StageConfig,
        data_key: kms.IKey,
        log_key: kms.IKey,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        bucket = bucket_name(stage, "backups")
        backups = f"arn:{stack.partition}:s3:::{bucket}"
        prefix = f"mysql/{stage.name}/"
        self.document = ssm.CfnDocument(
            self,
            "BackupDocument",
            document_type="Command",
            content=backup_document_content(),
            update_method="NewVersion",
        )
        layer = lambda_.LayerVersion(
            self,
            "LoggingLayer",
            code=lambda_.Code.from_asset(str(LAMBDA_SRC / "common")),
            compatible_runtimes=[RUNTIME],
            description="Structured JSON logging with correlation ids",
        )
        common = {"layers": [layer], "log_key": log_key,
                  "log_retention_days": stage.log_retention_days}  # fmt: skip
        document_arn = stack.format_arn(
            service="ssm", resource="document", resource_name=self.document.ref
        )
        instances = stack.format_arn(
            service="ec2", resource="instance", resource_name="*"
        )
        self.orchestrator = OpsFunction(
            self,
            "Orchestrator",
            source="backup_orchestrator",
            description=f"{stage.name}: start the nightly backup on each replica",
            timeout=cdk.Duration.minutes(15),
            environment={
                "STAGE": stage.name,
                "BACKUP_BUCKET": bucket,
                "SSM_DOCUMENT_NAME": self.document.ref,
                "PRUNE_DAYS": str(stage.backup.local_copies_days),
                "COMMAND_TIMEOUT_SECONDS": str(COMMAND_DELIVERY_SECONDS),
            },
            statements=[
                iam.PolicyStatement(actions=["ec2:DescribeInstances"], resources=["*"]),
                iam.PolicyStatement(
                    actions=["ssm:SendCommand"], resources=[document_arn, instances]
                ),
                iam.PolicyStatement(
                    actions=["ssm:GetCommandInvocation"], resources=["*"]
                ),
            ],
            **common,
        )
        self.verifier = OpsFunction(
            self,
            "Verifier",
            source="backup_verifier",
            description=f"{stage.name}: check every shard's newest backup",
            timeout=cdk.Duration.minutes(5),
            environment={
                "STAGE": stage.name,
                "BACKUP_BUCKET": bucket,
                "SHARDS": str(stage.mysql.shards),
                "RPO_HOURS": str(RPO_HOURS),
                "MIN_BACKUP_BYTES": str(stage.backup.min_backup_bytes),
                "METRIC_NAMESPACE": METRIC_NAMESPACE,
            },
            statements=[
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[backups],
                    conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
                ),
                iam.PolicyStatement(
                    actions=["s3:GetObject"], resources=[f"{backups}/{prefix}*"]
                ),
                iam.PolicyStatement(
                    actions=["kms:Decrypt"], resources=[data_key.key_arn]
                ),
                iam.PolicyStatement(
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={
                        "StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}
                    },
                ),
            ],
            **common,
        )

        for rule_id, schedule, function in (
            ("NightlyBackup", stage.backup.schedule, self.orchestrator),
            ("VerifyBackups", stage.backup.verify_schedule, self.verifier),
        ):
            events.Rule(
                self,
                rule_id,
                schedule=events.Schedule.expression(schedule),
                targets=[targets.LambdaFunction(function.function, retry_attempts=2)],
            )
        self._alarm(topic, stage)

        self.orchestrator.acknowledge_wildcards(
            {
                "*": (
                    "DescribeInstances and GetCommandInvocation accept no resource ARN."
                ),
                instances: (
                    "Replicas are found by tag at run time; the command is limited "
                    "to the backup document."
                ),
            }
        )
        self.verifier.acknowledge_wildcards(
            {
                "*": (
                    "PutMetricData accepts no resource ARN; it is limited by namespace."
                ),
                f"{backups}/{prefix}*": "The verifier reads only this stage's backups.",
            }
        )

    def _alarm(self, topic: sns.ITopic, stage: StageConfig) -> None:
        notify = actions.SnsAction(topic)
        daily, hourly = cdk.Duration.days(1), cdk.Duration.hours(1)
        for shard in range(stage.mysql.shards):
            age = cloudwatch.Metric(
                namespace=METRIC_NAMESPACE,
                metric_name="BackupAgeHours",
                dimensions_map={"Stage": stage.name, "Shard": str(shard)},
                statistic="Maximum",
                period=daily,
            )
            cloudwatch.Alarm(
                self,
                f"BackupAgeShard{shard}",
                alarm_description=(
                    f"{stage.name} MySQL shard {shard}: newest backup older than "
                    f"{RPO_HOURS} h, or no verification ran"
                ),
                metric=age,
                threshold=RPO_HOURS,
                evaluation_periods=1,
                comparison_operator=(
                    cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
                ),
                treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            ).add_alarm_action(notify)
        for name, function in (("Orchestrator", self.orchestrator),
                               ("Verifier", self.verifier)):  # fmt: skip
            cloudwatch.Alarm(
                self,
                f"{name}Errors",
                alarm_description=f"{stage.name}: backup {name.lower()} failed",
                metric=function.function.metric_errors(period=hourly),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=(
                    cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
                ),
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ).add_alarm_action(notify)
