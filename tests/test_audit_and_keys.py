"""Keys rotate and serve their users; the trail deploys first time; alarms notify."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2

from config import load_stages
from constructs.security_monitoring import CIS_CONTROLS

STAGES = load_stages()


def of_type(synthesized, stage, stack, type_):
    return synthesized.resources(stage, stack, type_)


def test_every_kms_key_rotates_and_is_retained(synthesized):
    keys = [
        resource
        for _stage, _stack, template in synthesized.all_templates()
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::KMS::Key"
    ]

    assert len(keys) >= 3 * len(STAGES)
    for key in keys:
        assert key["Properties"]["EnableKeyRotation"] is True
        assert key["DeletionPolicy"] == "Retain"


def key_statements(synthesized, stage, alias_suffix):
    resources = synthesized.template(stage, "Security")["Resources"]
    (alias,) = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::KMS::Alias"
        and r["Properties"]["AliasName"].endswith(alias_suffix)
    ]
    key_id = alias["Properties"]["TargetKeyId"]["Fn::GetAtt"][0]
    return resources[key_id]["Properties"]["KeyPolicy"]["Statement"]


@pytest.mark.parametrize("stage", STAGES)
def test_auto_scaling_can_launch_volumes_encrypted_with_the_data_key(
    synthesized, stage
):
    by_sid = {s.get("Sid"): s for s in key_statements(synthesized, stage, "/data")}
    role = (
        f"arn:aws:iam::{STAGES[stage].account}:role/aws-service-role/"
        "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    )

    use = by_sid["AllowAutoScalingToUseTheKeyForVolumes"]
    grant = by_sid["AllowAutoScalingToGrantTheKeyToEc2"]
    assert use["Principal"] == {"AWS": role}
    assert {"kms:GenerateDataKey*", "kms:Decrypt"} <= set(use["Action"])
    assert grant["Principal"] == {"AWS": role}
    assert grant["Action"] == "kms:CreateGrant"
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("alias", ["/audit", "/operations"])
def test_cloudwatch_logs_may_use_the_log_keys_for_this_account_only(
    synthesized, stage, alias
):
    by_sid = {s.get("Sid"): s for s in key_statements(synthesized, stage, alias)}

    statement = by_sid["AllowCloudWatchLogsOfThisAccount"]
    assert statement["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    condition = statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert condition == (f"arn:aws:logs:us-east-1:{STAGES[stage].account}:log-group:*")


@pytest.mark.parametrize("stage", STAGES)
def test_ebs_encryption_by_default_uses_the_data_key(synthesized, stage):
    calls = of_type(synthesized, stage, "Security", "Custom::AWS")
    rendered = [str(c["Properties"]["Update"]) for c in calls.values()]

    assert any("enableEbsEncryptionByDefault" in call for call in rendered)
    (set_key,) = [c for c in rendered if "modifyEbsDefaultKmsKeyId" in c]
    assert "DataKey" in set_key


@pytest.mark.parametrize("stage", STAGES)
def test_trail_covers_every_region_validates_files_and_is_encrypted(synthesized, stage):
    (trail,) = of_type(
        synthesized, stage, "Security", "AWS::CloudTrail::Trail"
    ).values()
    props = trail["Properties"]

    assert props["IsMultiRegionTrail"] is True
    assert props["IncludeGlobalServiceEvents"] is True
    assert props["EnableLogFileValidation"] is True
    assert props["IsLogging"] is True
    assert "AuditKey" in str(props["KMSKeyId"])
    assert "CloudWatchLogsLogGroupArn" in props


@pytest.mark.parametrize("stage", STAGES)
def test_trail_records_object_events_of_uploads_and_backups(synthesized, stage):
    (trail,) = of_type(
        synthesized, stage, "Security", "AWS::CloudTrail::Trail"
    ).values()
    account = STAGES[stage].account
    values = [
        value
        for selector in trail["Properties"]["EventSelectors"]
        for resource in selector.get("DataResources", [])
        for value in resource["Values"]
    ]

    expected = [
        f"arn:aws:s3:::slack-{stage.lower()}-{purpose}-{account}-us-east-1/"
        for purpose in ("uploads", "backups")
    ]
    replica = STAGES[stage].disaster_recovery
    if replica:
        expected.append(
            f"arn:aws:s3:::slack-{replica.name.lower()}-backups-{account}-"
            f"{replica.region}/"
        )
    assert sorted(values) == sorted(expected)


@pytest.mark.parametrize("stage", STAGES)
def test_trail_bucket_policy_lets_cloudtrail_write_and_the_trail_waits_for_it(
    synthesized, stage
):
    resources = synthesized.template(stage, "Security")["Resources"]
    (trail,) = [r for r in resources.values() if r["Type"] == "AWS::CloudTrail::Trail"]
    bucket_id = trail["Properties"]["S3BucketName"]["Ref"]
    (policy_id,) = [
        k
        for k, r in resources.items()
        if r["Type"] == "AWS::S3::BucketPolicy"
        and r["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    statements = resources[policy_id]["Properties"]["PolicyDocument"]["Statement"]
    by_action = {
        s["Action"]: s
        for s in statements
        if s.get("Principal") == {"Service": "cloudtrail.amazonaws.com"}
    }

    assert policy_id in trail["DependsOn"]
    assert by_action["s3:GetBucketAcl"]["Resource"] == {
        "Fn::GetAtt": [bucket_id, "Arn"]
    }
    put = by_action["s3:PutObject"]
    assert put["Resource"]["Fn::Join"][1][1] == (f"/AWSLogs/{STAGES[stage].account}/*")
    assert put["Condition"] == {
        "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}
    }
    assert "DependsOn" not in resources[policy_id]


@pytest.mark.parametrize("stage", STAGES)
def test_every_cis_control_has_a_filter_and_an_alarm_on_the_topic(synthesized, stage):
    resources = synthesized.template(stage, "Security")["Resources"]
    filters = [r for r in resources.values() if r["Type"] == "AWS::Logs::MetricFilter"]
    alarms = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    (topic_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::SNS::Topic"]

    assert len(CIS_CONTROLS) == 14
    assert len(filters) == len(alarms) == 14
    metric_names = {
        f["Properties"]["MetricTransformations"][0]["MetricName"] for f in filters
    }
    assert metric_names == {f"{stage}{control}" for control, _, _ in CIS_CONTROLS}
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["Threshold"] == 1


@pytest.mark.parametrize("stage", STAGES)
def test_ec2_state_and_security_group_changes_go_to_the_topic(synthesized, stage):
    rules = of_type(synthesized, stage, "Security", "AWS::Events::Rule").values()
    patterns = {str(r["Properties"]["EventPattern"]) for r in rules}

    assert any("EC2 Instance State-change Notification" in p for p in patterns)
    assert any("AuthorizeSecurityGroupIngress" in p for p in patterns)
    for rule in rules:
        (target,) = rule["Properties"]["Targets"]
        assert "Ref" in target["Arn"]


@pytest.mark.parametrize("stage", STAGES)
def test_alarm_topic_is_encrypted_tls_only_and_mails_on_call(synthesized, stage):
    resources = synthesized.template(stage, "Security")["Resources"]
    (topic,) = [r for r in resources.values() if r["Type"] == "AWS::SNS::Topic"]
    (subscription,) = [
        r for r in resources.values() if r["Type"] == "AWS::SNS::Subscription"
    ]
    (policy,) = [r for r in resources.values() if r["Type"] == "AWS::SNS::TopicPolicy"]

    assert "OperationsKey" in str(topic["Properties"]["KmsMasterKeyId"])
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == STAGES[stage].alarm_email
    denies = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny"
    ]
    assert any(
        s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies
    )


def test_every_bucket_blocks_public_access_encrypts_and_requires_tls(synthesized):
    checked = 0
    for _stage, _stack, template in synthesized.all_templates():
        resources = template["Resources"]
        for logical_id, bucket in resources.items():
            if bucket["Type"] != "AWS::S3::Bucket":
                continue
            checked += 1
            props = bucket["Properties"]
            assert all(props["PublicAccessBlockConfiguration"].values())
            assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            assert props["OwnershipControls"]["Rules"] == [
                {"ObjectOwnership": "BucketOwnerEnforced"}
            ]
            assert bucket["DeletionPolicy"] == "Retain"
            (policy,) = [
                r
                for r in resources.values()
                if r["Type"] == "AWS::S3::BucketPolicy"
                and r["Properties"]["Bucket"] == {"Ref": logical_id}
            ]
            assert any(
                s["Effect"] == "Deny"
                and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
                for s in policy["Properties"]["PolicyDocument"]["Statement"]
            )
    assert checked >= 2 * len(STAGES)


def test_imdsv2_is_enforced_even_on_an_instance_added_later(tmp_path):
    import json
    from pathlib import Path

    from stacks.stage import PlatformStage

    root = Path(__file__).resolve().parent.parent
    context = json.loads((root / "cdk.json").read_text())["context"]
    app = cdk.App(outdir=str(tmp_path), context=context)
    stage = PlatformStage(app, stage=STAGES["Dev"])
    ec2.Instance(
        stage.data,
        "Forgetful",
        vpc=stage.network.network.vpc,
        instance_type=ec2.InstanceType("t3.micro"),
        machine_image=ec2.MachineImage.generic_linux({"us-east-1": "ami-12345678"}),
    )

    template = app.synth().get_stack_artifact(stage.data.artifact_id).template
    templates = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::EC2::LaunchTemplate"
    ]

    assert templates
    for launch_template in templates:
        options = launch_template["Properties"]["LaunchTemplateData"]["MetadataOptions"]
        assert options["HttpTokens"] == "required"
