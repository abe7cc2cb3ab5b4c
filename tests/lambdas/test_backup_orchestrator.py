"""The nightly orchestrator: finds replicas by tag and runs the backup on each."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

STAGE = "Test"


@pytest.fixture
def settings(orchestrator: ModuleType, unique, monkeypatch: pytest.MonkeyPatch):
    """Unique bucket and document names for this test."""
    value = dataclasses.replace(
        orchestrator.SETTINGS,
        stage=STAGE,
        bucket=unique("backups"),
        document_name=unique("MysqlBackup"),
        prune_days=5,
    )
    monkeypatch.setattr(orchestrator, "SETTINGS", value)
    return value


@pytest.fixture
def launch(aws: None) -> Callable[..., str]:
    """Start an instance with the given tags and return its id."""
    ec2 = boto3.client("ec2")

    def start(**tags: str) -> str:
        instance = ec2.run_instances(
            ImageId="ami-12345678",
            InstanceType="i2.xlarge",
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
                }
            ],
        )["Instances"][0]
        return instance["InstanceId"]

    return start


def replica(launch: Callable[..., str], shard: int, stage: str = STAGE) -> str:
    """Start a MySQL replica of one shard and return its id."""
    return launch(stage=stage, tier="mysql", role="replica", shard=str(shard))


@pytest.fixture
def sent(orchestrator: ModuleType, monkeypatch: pytest.MonkeyPatch):
    """Record each SendCommand request the handler makes, then let moto answer."""
    # moto 5.2.5 lists every instance of the account in a command sent with
    # InstanceIds and no Targets, so its ListCommands cannot show who was asked.
    ssm = orchestrator.aws().ssm
    real, requests = ssm.send_command, []

    def send_command(**kwargs: Any) -> dict[str, Any]:
        requests.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(ssm, "send_command", send_command)
    return requests


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The JSON lines the handler wrote since the last read."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_every_shard_replica_gets_one_backup_command(
    orchestrator, settings, launch, context, sent
):
    replicas = {shard: replica(launch, shard) for shard in (0, 1, 2)}

    summary = orchestrator.handler({}, context)

    assert summary["succeeded"] == [0, 1, 2]
    assert summary["failed"] == summary["running"] == []
    assert sorted(r["InstanceIds"] for r in sent) == sorted(
        [i] for i in replicas.values()
    )
    by_instance = {r["InstanceIds"][0]: r for r in sent}
    for shard, instance_id in replicas.items():
        request = by_instance[instance_id]
        assert request["DocumentName"] == settings.document_name
        assert request["TimeoutSeconds"] == settings.command_timeout_seconds
        assert request["Parameters"] == {
            "Bucket": [settings.bucket],
            "Stage": [STAGE],
            "Shard": [str(shard)],
            "PruneDays": ["5"],
        }


def test_primaries_stopped_replicas_and_other_stages_are_left_alone(
    orchestrator, settings, launch, context, sent
):
    chosen = replica(launch, 0)
    launch(stage=STAGE, tier="mysql", role="primary", shard="0")
    replica(launch, 0, stage="Other")
    launch(stage=STAGE, tier="redis", role="replica", shard="1")
    stopped = replica(launch, 1)
    boto3.client("ec2").stop_instances(InstanceIds=[stopped])

    summary = orchestrator.handler({}, context)

    assert list(summary["shards"]) == ["0"]
    assert [r["InstanceIds"] for r in sent] == [[chosen]]


def test_one_structured_line_per_shard_carries_the_request_id(
    orchestrator, settings, launch, context, capsys
):
    for shard in (0, 1):
        replica(launch, shard)
    capsys.readouterr()

    orchestrator.handler({}, context)

    outcomes = [
        line
        for line in log_lines(capsys)
        if line["message"] == "shard backup succeeded"
    ]
    assert sorted(line["shard"] for line in outcomes) == [0, 1]
    assert {line["correlation_id"] for line in outcomes} == {context.aws_request_id}
    assert all(line["status"] == "Success" and line["command_id"] for line in outcomes)


def test_no_replicas_raises_so_the_errors_alarm_fires(
    orchestrator, settings, launch, context, sent
):
    launch(stage=STAGE, tier="mysql", role="primary", shard="0")

    with pytest.raises(orchestrator.NoReplicasFound, match="stage=Test"):
        orchestrator.handler({}, context)
    assert sent == []


def test_a_failed_command_raises_after_every_shard_is_reported(
    orchestrator, settings, launch, context, monkeypatch, capsys
):
    failing = replica(launch, 1)
    replica(launch, 0)
    ssm = orchestrator.aws().ssm
    real = ssm.get_command_invocation

    def invocation(**kwargs: str) -> dict[str, Any]:
        answer = real(**kwargs)
        if kwargs["InstanceId"] == failing:
            answer |= {
                "Status": "Failed",
                "StatusDetails": "Failed",
                "ResponseCode": 1,
                "StandardErrorContent": "mysql-backup: error: dump failed",
            }
        return answer

    monkeypatch.setattr(ssm, "get_command_invocation", invocation)
    capsys.readouterr()

    with pytest.raises(orchestrator.BackupRunFailed, match=r"shards \[1\]"):
        orchestrator.handler({}, context)

    lines = log_lines(capsys)
    failed = [line for line in lines if line["message"] == "shard backup failed"]
    assert [(line["shard"], line["level"]) for line in failed] == [(1, "ERROR")]
    assert failed[0]["stderr_tail"] == "mysql-backup: error: dump failed"
    assert any(line["message"] == "shard backup succeeded" for line in lines)


def test_a_command_that_cannot_be_sent_fails_its_shard_with_the_error_code(
    orchestrator, settings, launch, context, capsys
):
    replica(launch, 0)
    capsys.readouterr()

    with Stubber(orchestrator.aws().ssm) as stub:
        stub.add_client_error("send_command", service_error_code="InvalidInstanceId")
        with pytest.raises(orchestrator.BackupRunFailed, match=r"shards \[0\]"):
            orchestrator.handler({}, context)
        stub.assert_no_pending_responses()

    failed = [
        line for line in log_lines(capsys) if line["message"] == "shard backup failed"
    ]
    assert [(f["status"], f["status_details"]) for f in failed] == [
        ("SendFailed", "InvalidInstanceId")
    ]


def test_polling_stops_before_the_lambda_times_out_and_reports_running_shards(
    orchestrator, settings, launch, context, monkeypatch
):
    replica(launch, 0)
    ssm = orchestrator.aws().ssm
    monkeypatch.setattr(
        ssm,
        "get_command_invocation",
        lambda **kwargs: {"Status": "InProgress", "StatusDetails": "InProgress"},
    )
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        context.remaining_ms -= int(seconds * 1000)

    monkeypatch.setattr(orchestrator, "_sleep", sleep)
    context.remaining_ms = 90_000

    summary = orchestrator.handler({}, context)

    assert summary["running"] == [0]
    assert summary["failed"] == []
    margin_ms = orchestrator.SAFETY_MARGIN_SECONDS * 1000
    poll_ms = orchestrator.POLL_SECONDS * 1000
    assert margin_ms <= context.remaining_ms < margin_ms + poll_ms
    assert naps and set(naps) == {orchestrator.POLL_SECONDS}


def test_an_invocation_not_yet_registered_is_polled_again(
    orchestrator, settings, launch, context, monkeypatch
):
    replica(launch, 0)
    ssm = orchestrator.aws().ssm
    real = ssm.get_command_invocation
    calls: list[str] = []

    def invocation(**kwargs: str) -> dict[str, Any]:
        calls.append(kwargs["CommandId"])
        if len(calls) == 1:
            error = {"Error": {"Code": "InvocationDoesNotExist", "Message": "n/a"}}
            raise ClientError(error, "GetCommandInvocation")
        return real(**kwargs)

    monkeypatch.setattr(ssm, "get_command_invocation", invocation)
    monkeypatch.setattr(orchestrator, "_sleep", lambda seconds: None)

    summary = orchestrator.handler({}, context)

    assert summary["succeeded"] == [0]
    assert len(calls) == 2


def test_a_replica_without_a_shard_number_fails_the_run(
    orchestrator, settings, launch, context, sent
):
    replica(launch, 0)
    bad = launch(stage=STAGE, tier="mysql", role="replica", shard="first")

    with pytest.raises(orchestrator.BackupRunFailed, match=bad):
        orchestrator.handler({}, context)
    assert len(sent) == 1


def test_two_replicas_of_one_shard_get_a_single_command(
    orchestrator, settings, launch, context, sent
):
    replica(launch, 0)
    replica(launch, 0)

    summary = orchestrator.handler({}, context)

    assert summary["succeeded"] == [0]
    assert len(sent) == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PRUNE_DAYS", "0"),
        ("PRUNE_DAYS", "seven"),
        ("COMMAND_TIMEOUT_SECONDS", "10"),
        ("STAGE", ""),
    ],
)
def test_bad_environment_is_refused_by_name(orchestrator, name, value):
    env = {
        "STAGE": STAGE,
        "BACKUP_BUCKET": "b",
        "SSM_DOCUMENT_NAME": "d",
        "PRUNE_DAYS": "7",
        "COMMAND_TIMEOUT_SECONDS": "600",
    } | {name: value}

    with pytest.raises(ValueError, match=name):
        orchestrator.Settings.from_env(env)
