"""Nightly MySQL backup: run the backup document on every running replica.

Replicas are found by their tags (stage, tier=mysql, role=replica, shard); the
shard tag is a shard number counted from 0. One SSM command is sent per shard
and polled until it ends or the Lambda is about to time out. A command still
running then is reported, not failed: the backup verifier, scheduled after the
backup window, is what proves the backup landed.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import boto3
from botocore.exceptions import ClientError
from platform_logging import Logger

# SSM's own bounds for SendCommand's TimeoutSeconds.
MIN_COMMAND_TIMEOUT_SECONDS = 30
MAX_COMMAND_TIMEOUT_SECONDS = 2_592_000
POLL_SECONDS = 15
# Kept back from the Lambda timeout to log the outcome and return.
SAFETY_MARGIN_SECONDS = 10
STDERR_TAIL_CHARS = 1000
RUNNING_STATUSES = frozenset({"Pending", "InProgress", "Delayed", "Cancelling"})
SEND_FAILED = "SendFailed"

log = Logger("backup-orchestrator")
_sleep = time.sleep


class NoReplicasFound(RuntimeError):
    """No running MySQL replica carries the stage's tags."""


class BackupRunFailed(RuntimeError):
    """At least one shard's backup command failed or could not be sent."""


class LambdaContext(Protocol):
    """The part of the Lambda context object the handler reads."""

    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class Settings:
    """What the function is told by its environment."""

    stage: str
    bucket: str
    document_name: str
    prune_days: int
    command_timeout_seconds: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and check the environment, naming any missing or bad variable."""
        return cls(
            stage=_text(env, "STAGE"),
            bucket=_text(env, "BACKUP_BUCKET"),
            document_name=_text(env, "SSM_DOCUMENT_NAME"),
            prune_days=_integer(env, "PRUNE_DAYS", 1, None),
            command_timeout_seconds=_integer(
                env,
                "COMMAND_TIMEOUT_SECONDS",
                MIN_COMMAND_TIMEOUT_SECONDS,
                MAX_COMMAND_TIMEOUT_SECONDS,
            ),
        )


@dataclass
class ShardRun:
    """One shard's backup command and what SSM last said about it."""

    shard: int
    instance_id: str
    command_id: str | None = None
    status: str = "Pending"
    status_details: str = ""
    response_code: int | None = None
    stderr_tail: str = ""

    @property
    def running(self) -> bool:
        """Whether SSM has not yet reported a final status."""
        return self.status in RUNNING_STATUSES


class Clients(NamedTuple):
    """The AWS clients the handler uses."""

    ec2: Any
    ssm: Any


def _text(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ValueError(f"environment variable {name} is missing or empty")
    return value


def _integer(env: Mapping[str, str], name: str, low: int, high: int | None) -> int:
    raw = _text(env, name)
    allowed = f"an integer from {low}" + (f" to {high}" if high else " up")
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is invalid; allowed: {allowed}") from None
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name}={raw!r} is invalid; allowed: {allowed}")
    return value


SETTINGS = Settings.from_env(os.environ)


@functools.cache
def aws() -> Clients:
    """Create the AWS clients once per execution environment."""
    return Clients(ec2=boto3.client("ec2"), ssm=boto3.client("ssm"))


def handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Back up every shard of the stage and summarise how each one ended."""
    log.bind(context)
    settings, clients = SETTINGS, aws()

    replicas, unusable = find_replicas(clients.ec2, settings.stage)
    if not replicas:
        log.error("no MySQL replicas found", stage=settings.stage, unusable=unusable)
        raise NoReplicasFound(
            f"no running instance tagged stage={settings.stage}, tier=mysql, "
            "role=replica and a shard number"
        )

    runs = [send_backup(clients.ssm, settings, s, i) for s, i in replicas.items()]
    wait_for(clients.ssm, runs, context)
    for run in runs:
        _log_outcome(run)

    summary = _summary(settings, runs, unusable)
    if summary["failed"] or unusable:
        raise BackupRunFailed(
            f"MySQL backup of stage {settings.stage} failed for shards "
            f"{summary['failed']}; instances with an unusable shard tag: {unusable}"
        )
    return summary


def find_replicas(ec2: Any, stage: str) -> tuple[dict[int, str], list[str]]:
    """Map each shard to one running replica, and list replicas without a shard."""
    filters = [
        {"Name": "tag:stage", "Values": [stage]},
        {"Name": "tag:tier", "Values": ["mysql"]},
        {"Name": "tag:role", "Values": ["replica"]},
        {"Name": "instance-state-name", "Values": ["running"]},
    ]
    candidates: dict[int, list[dict[str, Any]]] = {}
    unusable: list[str] = []
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
                shard = tags.get("shard", "")
                if not (shard.isascii() and shard.isdigit()):
                    log.error(
                        "replica has no usable shard tag",
                        instance_id=instance["InstanceId"],
                        shard_tag=shard,
                    )
                    unusable.append(instance["InstanceId"])
                    continue
                candidates.setdefault(int(shard), []).append(instance)

    chosen: dict[int, str] = {}
    for shard, instances in sorted(candidates.items()):
        # While a replica is being replaced the longest-running one is caught up.
        instances.sort(key=lambda i: (i["LaunchTime"], i["InstanceId"]))
        chosen[shard] = instances[0]["InstanceId"]
        if len(instances) > 1:
            log.warning(
                "shard has more than one running replica",
                shard=shard,
                chosen_instance_id=chosen[shard],
                other_instance_ids=[i["InstanceId"] for i in instances[1:]],
            )
    return chosen, unusable


def send_backup(ssm: Any, settings: Settings, shard: int, instance_id: str) -> ShardRun:
    """Start the backup document on one replica and return its run."""
    run = ShardRun(shard=shard, instance_id=instance_id)
    try:
        response = ssm.send_command(
            InstanceIds=[instance_id],
            DocumentName=settings.document_name,
            Parameters={
                "Bucket": [settings.bucket],
                "Stage": [settings.stage],
                "Shard": [str(shard)],
                "PruneDays": [str(settings.prune_days)],
            },
            TimeoutSeconds=settings.command_timeout_seconds,
            Comment=f"Nightly MySQL backup, {settings.stage} shard {shard}"[:100],
        )
    except ClientError as err:
        run.status = SEND_FAILED
        run.status_details = err.response["Error"]["Code"]
        return run
    run.command_id = response["Command"]["CommandId"]
    return run


def wait_for(ssm: Any, runs: list[ShardRun], context: LambdaContext) -> None:
    """Poll the running commands until all end or the time left runs out."""
    reserve_ms = (SAFETY_MARGIN_SECONDS + POLL_SECONDS) * 1000
    while True:
        for run in runs:
            if run.running:
                _refresh(ssm, run)
        if not any(run.running for run in runs):
            return
        if context.get_remaining_time_in_millis() < reserve_ms:
            return
        _sleep(POLL_SECONDS)


def _refresh(ssm: Any, run: ShardRun) -> None:
    try:
        invocation = ssm.get_command_invocation(
            CommandId=run.command_id, InstanceId=run.instance_id
        )
    except ClientError as err:
        # SSM answers this until the agent has registered the invocation.
        if err.response["Error"]["Code"] == "InvocationDoesNotExist":
            return
        raise
    run.status = invocation["Status"]
    run.status_details = invocation.get("StatusDetails", "")
    run.response_code = invocation.get("ResponseCode")
    run.stderr_tail = invocation.get("StandardErrorContent", "")[-STDERR_TAIL_CHARS:]


def _log_outcome(run: ShardRun) -> None:
    fields = {
        "shard": run.shard,
        "instance_id": run.instance_id,
        "command_id": run.command_id,
        "status": run.status,
        "status_details": run.status_details,
        "response_code": run.response_code,
    }
    if run.status == "Success":
        log.info("shard backup succeeded", **fields)
    elif run.running:
        log.warning("shard backup still running at handler exit", **fields)
    else:
        log.error("shard backup failed", stderr_tail=run.stderr_tail, **fields)


def _summary(
    settings: Settings, runs: list[ShardRun], unusable: list[str]
) -> dict[str, Any]:
    return {
        "stage": settings.stage,
        "document_name": settings.document_name,
        "shards": {
            str(run.shard): {
                "instance_id": run.instance_id,
                "command_id": run.command_id,
                "status": run.status,
                "status_details": run.status_details,
            }
            for run in runs
        },
        "succeeded": [run.shard for run in runs if run.status == "Success"],
        "running": [run.shard for run in runs if run.running],
        "failed": [r.shard for r in runs if r.status != "Success" and not r.running],
        "unusable_instances": unusable,
    }
