"""The mock holds each key and log group as its template declares it.

A log group's KMS key is not compared: moto's CloudFormation drops it
(tests/moto/unsupported.py names the test that covers it instead).
"""

from __future__ import annotations

import json

from tests.moto.harness import Deployed


def found(resources: list[Deployed]) -> list[Deployed]:
    """The resources, refusing to check nothing."""
    assert resources, "no resource of this type in any template"
    return resources


def test_each_kms_key_is_enabled_with_its_declared_rotation_and_policy(
    moto_deployment,
):
    for key in found(moto_deployment.resources("AWS::KMS::Key")):
        kms = key.client("kms")
        metadata = kms.describe_key(KeyId=key.physical_id)["KeyMetadata"]
        rotation = kms.get_key_rotation_status(KeyId=key.physical_id)
        policy = kms.get_key_policy(KeyId=key.physical_id, PolicyName="default")

        assert metadata["KeyState"] == "Enabled", key.path
        assert metadata["Description"] == key.declared("Description", ""), key.path
        assert rotation["KeyRotationEnabled"] == key.declared(
            "EnableKeyRotation", False
        ), key.path
        assert json.loads(policy["Policy"]) == key.declared("KeyPolicy"), key.path


def test_each_alias_names_its_declared_key(moto_deployment):
    for alias in found(moto_deployment.resources("AWS::KMS::Alias")):
        aliases = alias.client("kms").list_aliases()["Aliases"]
        (held,) = [a for a in aliases if a["AliasName"] == alias.declared("AliasName")]
        target = alias.declared("TargetKeyId")

        assert target.endswith(held["TargetKeyId"]), alias.path


def test_each_log_group_keeps_events_as_long_as_declared(moto_deployment):
    for group in found(moto_deployment.resources("AWS::Logs::LogGroup")):
        held = group.client("logs").describe_log_groups(
            logGroupNamePrefix=group.physical_id
        )["logGroups"]
        (held,) = [g for g in held if g["logGroupName"] == group.physical_id]

        assert (
            group.declared("LogGroupName", held["logGroupName"])
            == (held["logGroupName"])
        )
        assert held.get("retentionInDays") == group.declared("RetentionInDays"), (
            group.path
        )
