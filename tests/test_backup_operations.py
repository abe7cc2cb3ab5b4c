"""The nightly backup runs on schedule, is verified, and alarms name the shard."""

from __future__ import annotations

import pytest

from config import load_stages
from constructs.backup_operations import RPO_HOURS, backup_document_content

STAGES = load_stages()


def functions(synthesized, stage):
    return synthesized.resources(stage, "Operations", "AWS::Lambda::Function")


def test_backup_document_embeds_the_repo_script_and_validates_parameters():
    content = backup_document_content()
    (step,) = content["mainSteps"]
    lines = step["inputs"]["runCommand"]

    assert step["action"] == "aws:runShellScript"
    assert int(step["inputs"]["timeoutSeconds"]) > 3600
    assert lines[0] == "#!/bin/bash"
    assert "BUCKET='{{ Bucket }}'" in lines[1]
    assert "set -Eeuo pipefail" in lines
    assert set(content["parameters"]) == {"Bucket", "Stage", "Shard", "PruneDays"}
    assert all("allowedPattern" in p for p in content["parameters"].values())


@pytest.mark.parametrize("stage", STAGES)
def test_orchestrator_and_verifier_run_on_the_configured_schedules(synthesized, stage):
    rules = synthesized.resources(stage, "Operations", "AWS::Events::Rule").values()
    schedules = {r["Properties"]["ScheduleExpression"]: r for r in rules}
    by_description = {
        f["Properties"]["Description"]: logical_id
        for logical_id, f in functions(synthesized, stage).items()
    }
    orchestrator = by_description[f"{stage}: start the nightly backup on each replica"]
    verifier = by_description[f"{stage}: check every shard's newest backup"]

    nightly = schedules[STAGES[stage].backup.schedule]
    verify = schedules[STAGES[stage].backup.verify_schedule]
    assert orchestrator in str(nightly["Properties"]["Targets"])
    assert verifier in str(verify["Properties"]["Targets"])


@pytest.mark.parametrize("stage", STAGES)
def test_functions_are_current_python_with_their_settings(synthesized, stage):
    for function in functions(synthesized, stage).values():
        props = function["Properties"]
        assert props["Runtime"] == "python3.14"
        assert props["Handler"] == "handler.handler"
        assert props["ReservedConcurrentExecutions"] == 1
        assert "DeadLetterConfig" in props
        assert props["Environment"]["Variables"]["STAGE"] == stage
        assert len(props["Layers"]) == 1


@pytest.mark.parametrize("stage", STAGES)
def test_each_shard_has_a_backup_age_alarm_that_fires_on_missing_data(
    synthesized, stage
):
    alarms = synthesized.resources(stage, "Operations", "AWS::CloudWatch::Alarm")
    age_alarms = [
        a["Properties"]
        for a in alarms.values()
        if a["Properties"].get("MetricName") == "BackupAgeHours"
    ]

    assert len(age_alarms) == STAGES[stage].mysql.shards
    shards = set()
    for alarm in age_alarms:
        assert alarm["Threshold"] == RPO_HOURS
        assert alarm["TreatMissingData"] == "breaching"
        assert len(alarm["AlarmActions"]) == 1
        dims = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert dims["Stage"] == stage
        shards.add(dims["Shard"])
    assert shards == {str(n) for n in range(STAGES[stage].mysql.shards)}


@pytest.mark.parametrize("stage", STAGES)
def test_function_errors_alarm_on_the_stage_topic(synthesized, stage):
    alarms = synthesized.resources(stage, "Operations", "AWS::CloudWatch::Alarm")
    errors = [
        a["Properties"]
        for a in alarms.values()
        if a["Properties"].get("MetricName") == "Errors"
    ]

    assert len(errors) == 2
    for alarm in errors:
        assert "Fn::ImportValue" in str(alarm["AlarmActions"])
