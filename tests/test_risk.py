"""`make risk`: risky changes between two assemblies, classified and waivable."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts import risk
from scripts.assembly import read_assembly, write_assembly
from scripts.risk import (
    DiffEngineProcess,
    Finding,
    ToolError,
    cdk_diff_engine,
    compare,
    load_waivers,
    main,
)

STAGE = json.loads((Path(__file__).parent / "fixtures/review/stage.json").read_text())


@pytest.fixture(scope="module")
def engine():
    """One diff engine process for the module; `main` tests start their own."""
    with DiffEngineProcess() as process:
        yield process


def templates() -> dict[str, dict]:
    return {f"Dev/{name}": copy.deepcopy(t) for name, t in STAGE.items()}


def write(path: Path, stacks: dict[str, dict], **kwargs) -> Path:
    return write_assembly(path, stacks, **kwargs)


def risks(
    tmp_path: Path, change: Callable[[dict], None], engine, **kwargs
) -> list[Finding]:
    """Findings of `current = change(base)` on the hand-made stage."""
    base = templates()
    current = templates()
    change(current)
    findings, _engine = compare(
        read_assembly(write(tmp_path / "base", base, **kwargs.get("base", {}))),
        read_assembly(write(tmp_path / "current", current, **kwargs.get("now", {}))),
        engine,
    )
    return findings


def kinds(findings: list[Finding]) -> set[tuple[str, str, str]]:
    return {(f.stack, f.logical_id, f.kind) for f in findings}


def resources(stacks: dict, stack: str) -> dict:
    return stacks[f"Dev/{stack}"]["Resources"]


def test_identical_assemblies_print_nothing_risky_and_exit_zero(tmp_path, capsys):
    base = write(tmp_path / "base", templates())
    current = write(tmp_path / "current", templates())

    status = main(["--base", str(base), "--current", str(current)])

    out = capsys.readouterr().out
    assert status == 0
    assert "RISK" not in out
    assert "0 risky change(s) not waived" in out


def test_moving_a_mysql_host_to_another_zone_replaces_it(engine, tmp_path):
    def move(stacks):
        resources(stacks, "Data")["MysqlPrimary"]["Properties"]["AvailabilityZone"] = (
            "us-east-1b"
        )

    findings = risks(tmp_path, move, engine)

    assert kinds(findings) == {("Data", "MysqlPrimary", "stateful-replaced")}
    assert "AWS::EC2::Instance will be replaced" in findings[0].reason
    assert "AvailabilityZone" in findings[0].reason


def test_renaming_a_backup_volume_reports_the_old_volume_deleted(engine, tmp_path):
    def rename(stacks):
        data = resources(stacks, "Data")
        data["MysqlBackupVolumeRenamed"] = data.pop("MysqlPrimaryBackupVolume")
        attachment = data["MysqlPrimaryBackupAttachment"]["Properties"]
        attachment["VolumeId"] = {"Ref": "MysqlBackupVolumeRenamed"}

    findings = risks(tmp_path, rename, engine)

    assert kinds(findings) == {("Data", "MysqlPrimaryBackupVolume", "stateful-deleted")}
    reason = findings[0].reason
    assert "DeletionPolicy Retain keeps it" in reason
    assert "new AWS::EC2::Volume MysqlBackupVolumeRenamed added" in reason


def test_a_stateless_replacement_is_not_risky(engine, tmp_path):
    def retarget(stacks):
        attachment = resources(stacks, "Data")["MysqlPrimaryBackupAttachment"]
        attachment["Properties"]["Device"] = "/dev/sdg"

    assert risks(tmp_path, retarget, engine) == []


def test_opening_a_group_to_the_internet_is_reported(engine, tmp_path):
    def open_mysql(stacks):
        group = resources(stacks, "Data")["MysqlSg"]["Properties"]
        group["SecurityGroupIngress"] = [
            {
                "IpProtocol": "tcp",
                "FromPort": 3306,
                "ToPort": 3306,
                "CidrIp": "0.0.0.0/0",
            }
        ]

    findings = risks(tmp_path, open_mysql, engine)

    assert kinds(findings) == {("Data", "MysqlSg", "ingress-widened")}
    assert "port 3306 from 0.0.0.0/0 (the whole IPv4 internet)" in findings[0].reason


def test_a_new_standalone_ipv6_rule_is_reported_on_its_own_resource(engine, tmp_path):
    def add_rule(stacks):
        resources(stacks, "Edge")["WebFromIpv6"] = {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {
                "GroupId": {"Fn::GetAtt": ["WebSg", "GroupId"]},
                "IpProtocol": "-1",
                "CidrIpv6": "::/0",
            },
        }

    findings = risks(tmp_path, add_rule, engine)

    assert kinds(findings) == {("Edge", "WebFromIpv6", "ingress-widened")}
    assert "all from ::/0 (the whole IPv6 internet) into WebSg" in findings[0].reason


def test_widening_a_cidr_is_reported_and_narrowing_it_is_not(engine, tmp_path):
    def cidr(value):
        def change(stacks):
            group = resources(stacks, "Network")["EndpointSg"]["Properties"]
            group["SecurityGroupIngress"][0]["CidrIp"] = value

        return change

    assert kinds(risks(tmp_path / "wider", cidr("10.0.0.0/8"), engine)) == {
        ("Network", "EndpointSg", "ingress-widened")
    }
    assert risks(tmp_path / "narrower", cidr("10.0.4.0/24"), engine) == []


def test_dropping_the_retention_of_a_bucket_is_reported(engine, tmp_path):
    def drop(stacks):
        bucket = resources(stacks, "Data")["BackupBucket"]
        del bucket["DeletionPolicy"]
        bucket["UpdateReplacePolicy"] = "Delete"

    findings = risks(tmp_path, drop, engine)

    assert kinds(findings) == {("Data", "BackupBucket", "retain-removed")}
    reasons = sorted(f.reason for f in findings)
    assert reasons == [
        "AWS::S3::Bucket DeletionPolicy Retain -> Delete",
        "AWS::S3::Bucket UpdateReplacePolicy Retain -> Delete",
    ]


def test_widening_an_iam_policy_to_wildcards_is_reported(engine, tmp_path):
    def widen(stacks):
        statement = resources(stacks, "Data")["MysqlPolicy"]["Properties"][
            "PolicyDocument"
        ]["Statement"][0]
        statement.update(Action="s3:*", Resource="*")

    findings = risks(tmp_path, widen, engine)

    assert kinds(findings) == {("Data", "MysqlPolicy", "iam-widened")}
    assert "role MysqlRole: wildcard allow s3:* on *" in findings[0].reason


def test_a_new_action_and_a_new_managed_policy_are_reported(engine, tmp_path):
    def widen(stacks):
        data = resources(stacks, "Data")
        statement = data["MysqlPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
        statement["Action"] = ["s3:PutObject", "s3:DeleteObject"]
        data["MysqlRole"]["Properties"]["ManagedPolicyArns"] = [
            "arn:aws:iam::aws:policy/AdministratorAccess"
        ]

    findings = risks(tmp_path, widen, engine)

    by_id = {f.logical_id: f.reason for f in findings}
    assert set(by_id) == {"MysqlPolicy", "MysqlRole"}
    assert "allow s3:DeleteObject on ${BackupBucket.Arn}/*" in by_id["MysqlPolicy"]
    assert "AdministratorAccess" in by_id["MysqlRole"]


def test_narrowing_an_iam_policy_is_not_reported(engine, tmp_path):
    def narrow(stacks):
        statement = resources(stacks, "Data")["MysqlPolicy"]["Properties"][
            "PolicyDocument"
        ]["Statement"][0]
        statement["Resource"] = "arn:aws:s3:::backups/mysql/*"
        statement["Condition"] = {"Bool": {"aws:SecureTransport": "true"}}

    findings = risks(tmp_path, narrow, engine)

    # A literal resource is not provably inside ${BackupBucket.Arn}/*: reported.
    assert kinds(findings) == {("Data", "MysqlPolicy", "iam-widened")}

    def only_condition(stacks):
        statement = resources(stacks, "Data")["MysqlPolicy"]["Properties"][
            "PolicyDocument"
        ]["Statement"][0]
        statement["Condition"] = {"Bool": {"aws:SecureTransport": "true"}}

    assert risks(tmp_path / "condition", only_condition, engine) == []


def test_a_policy_on_a_new_version_of_an_asset_is_not_a_widening(engine, tmp_path):
    old_asset, new_asset = "a" * 64, "b" * 64

    def reading(asset):
        def change(stacks):
            statement = resources(stacks, "Data")["MysqlPolicy"]["Properties"][
                "PolicyDocument"
            ]["Statement"][0]
            statement.update(
                Action="s3:GetObject", Resource=f"arn:aws:s3:::cdk-assets/{asset}.zip"
            )

        return _changed(change)

    base = write(
        tmp_path / "base", reading(old_asset), assets={"Dev/Data": [old_asset]}
    )
    current = write(
        tmp_path / "current", reading(new_asset), assets={"Dev/Data": [new_asset]}
    )

    findings, _engine = compare(read_assembly(base), read_assembly(current), engine)

    assert findings == []


def _changed(change: Callable[[dict], None]) -> dict:
    stacks = templates()
    change(stacks)
    return stacks


def test_turning_protections_off_is_reported(engine, tmp_path):
    def unprotect(stacks):
        del resources(stacks, "Data")["MysqlPrimary"]["Properties"][
            "DisableApiTermination"
        ]
        attributes = resources(stacks, "Edge")["Alb"]["Properties"]
        attributes["LoadBalancerAttributes"][0]["Value"] = "false"

    findings = risks(
        tmp_path,
        unprotect,
        engine,
        base={"protected": frozenset({"Dev/Data"})},
    )

    assert kinds(findings) == {
        ("Data", "(stack)", "protection-off"),
        ("Data", "MysqlPrimary", "protection-off"),
        ("Edge", "Alb", "protection-off"),
    }


def test_removing_encryption_is_reported(engine, tmp_path):
    def decrypt(stacks):
        data = resources(stacks, "Data")
        del data["MysqlPrimaryBackupVolume"]["Properties"]["Encrypted"]
        del data["BackupBucket"]["Properties"]["BucketEncryption"]
        resources(stacks, "Edge")["HttpsListener"]["Properties"]["Protocol"] = "HTTP"

    findings = risks(tmp_path, decrypt, engine)

    assert kinds(findings) == {
        ("Data", "MysqlPrimaryBackupVolume", "encryption-removed"),
        ("Data", "BackupBucket", "encryption-removed"),
        ("Edge", "HttpsListener", "encryption-removed"),
    }


def test_a_stack_missing_from_the_current_assembly_deletes_its_state(engine, tmp_path):
    findings = risks(tmp_path, lambda stacks: stacks.pop("Dev/Security"), engine)

    assert kinds(findings) == {
        ("Security", "LogsKey", "stateful-deleted"),
        ("Security", "AuditBucket", "stateful-deleted"),
    }
    assert all("no longer in the assembly" in f.reason for f in findings)


def test_a_reviewed_waiver_lets_the_change_through(tmp_path, capsys):
    base = write(tmp_path / "base", templates())
    changed = templates()
    del resources(changed, "Data")["BackupBucket"]["DeletionPolicy"]
    current = write(tmp_path / "current", changed)
    waivers = tmp_path / "risk-waivers.json"
    args = ["--base", str(base), "--current", str(current), "--waivers", str(waivers)]

    assert main(args) == 1
    assert "RISK:   Dev/Data BackupBucket [retain-removed]" in capsys.readouterr().out

    waivers.write_text(
        json.dumps(
            {
                "waivers": [
                    {
                        "stage": "Dev",
                        "stack": "Data",
                        "logical_id": "BackupBucket",
                        "kind": "retain-removed",
                        "reason": "Dev backups are disposable copies of Prod data",
                        "reviewer": "platform-lead",
                    }
                ]
            }
        )
    )
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "waived: Dev/Data BackupBucket [retain-removed]" in out
    assert "by platform-lead" in out


def test_a_waiver_without_a_reviewer_is_refused(tmp_path):
    waivers = tmp_path / "risk-waivers.json"
    entry = {"stage": "Dev", "stack": "Data", "logical_id": "X", "reason": "because"}
    waivers.write_text(json.dumps({"waivers": [entry]}))

    with pytest.raises(ToolError, match=r"waivers\[0\] lacks reviewer"):
        load_waivers(waivers)


def test_the_synthesized_app_compared_with_itself_has_no_risk(
    engine, synthesized, tmp_path
):
    stacks = read_assembly(synthesized.outdir)
    assert stacks, "the synthesized assembly has no stacks"

    findings, _engine = compare(stacks, stacks, engine)

    assert findings == []


def test_dropping_every_retain_policy_of_the_app_is_caught(
    engine, synthesized, tmp_path
):
    base = read_assembly(synthesized.outdir)
    changed = {}
    retained = set()
    for name, stack in base.items():
        template = copy.deepcopy(stack.template)
        for logical_id, resource in template.get("Resources", {}).items():
            if resource.get("DeletionPolicy") == "Retain":
                del resource["DeletionPolicy"]
                retained.add((stack.name, logical_id))
        changed[name] = template
    assert retained, "the app retains nothing on delete"

    protected = frozenset(n for n, s in base.items() if s.termination_protection)
    current = write(tmp_path / "current", changed, protected=protected)

    findings, engine = compare(base, read_assembly(current), engine)

    assert {(f.stack, f.logical_id) for f in findings} == retained
    assert {f.kind for f in findings} == {"retain-removed"}
    assert engine.startswith("aws-cdk ")


def test_a_new_image_for_every_host_of_the_app_reports_each_replacement(
    engine, synthesized, tmp_path
):
    base = read_assembly(synthesized.outdir)
    changed, hosts = {}, set()
    for name, stack in base.items():
        template = copy.deepcopy(stack.template)
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] == "AWS::EC2::Instance":
                resource["Properties"]["ImageId"] = "ami-0123456789abcdef0"
                hosts.add((stack.name, logical_id))
        changed[name] = template
    assert hosts, "the app has no EC2 instances"
    protected = frozenset(n for n, s in base.items() if s.termination_protection)

    findings, _engine = compare(
        base,
        read_assembly(write(tmp_path / "current", changed, protected=protected)),
        engine,
    )

    assert {(f.stack, f.logical_id) for f in findings} == hosts
    assert all("will be replaced (changed: ImageId)" in f.reason for f in findings)


def test_the_serving_engine_answers_as_the_one_shot_engine_each_time(engine):
    base = templates()
    moved = templates()
    moved["Dev/Data"]["Resources"]["MysqlPrimary"]["Properties"]["AvailabilityZone"] = (
        "us-east-1b"
    )
    pairs = [("Dev/Data", base["Dev/Data"], moved["Dev/Data"])]

    first, second, one_shot = engine(pairs), engine(pairs), cdk_diff_engine(pairs)

    assert first == second == one_shot
    impacts = {c["logicalId"]: c["impact"] for c in first.changes["Dev/Data"]}
    assert impacts["MysqlPrimary"] == "WILL_REPLACE"


def test_a_serving_engine_that_dies_is_reported_with_its_error():
    with DiffEngineProcess() as process:
        with pytest.raises(ToolError, match="cfn_diff.js.* failed") as failed:
            # No template at all: the engine throws, exits and says why on stderr.
            process([("Dev/Data", None, None)])
        with pytest.raises(ToolError, match="already closed"):
            process([])
    assert "(exit status 1)" in str(failed.value)
    assert "TypeError" in str(failed.value)


def test_an_engine_gone_before_the_request_is_reported_not_a_broken_pipe(
    tmp_path, monkeypatch
):
    script = tmp_path / "gone.js"
    script.write_text('process.stderr.write("no database here"); process.exit(3);\n')
    monkeypatch.setattr(risk, "DIFF_SCRIPT", script)

    with DiffEngineProcess() as process:
        process._process.wait(timeout=30)
        with pytest.raises(ToolError) as failed:
            process([])

    assert "(exit status 3)" in str(failed.value)
    assert "no database here" in str(failed.value)
