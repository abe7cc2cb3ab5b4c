"""Instance roles per tier, MFA-only engineer roles, a boxed-in CI role, no users."""

from __future__ import annotations

import pytest

from config import load_stages
from config.ports import MYSQL_TIER, REDIS_TIER, SOLR_TIER, SQUID_TIER, WEB

STAGES = list(load_stages())
TIER_STACKS = {WEB: "App", SQUID_TIER: "Proxy", MYSQL_TIER: "Data", REDIS_TIER: "Data",
               SOLR_TIER: "Data"}  # fmt: skip
# Services whose wildcard actions would reach data.
DATA_SERVICES = ("s3", "kms", "dynamodb", "ssm", "secretsmanager", "logs", "rds")


def statements(policy_document: dict) -> list[dict]:
    found = policy_document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def every_policy(synthesized):
    for stage, stack, template in synthesized.all_templates():
        for logical_id, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
                yield stage, stack, logical_id, props["PolicyDocument"]
            if resource["Type"] == "AWS::IAM::Role":
                for inline in props.get("Policies", []):
                    yield stage, stack, logical_id, inline["PolicyDocument"]


def test_the_stacks_create_no_iam_users_or_access_keys(synthesized):
    types = {
        resource["Type"]
        for _stage, _stack, template in synthesized.all_templates()
        for resource in template["Resources"].values()
    }

    assert "AWS::IAM::User" not in types
    assert "AWS::IAM::AccessKey" not in types


def test_no_policy_grants_a_wildcard_action_on_data(synthesized):
    checked = 0
    for *where, document in every_policy(synthesized):
        for statement in statements(document):
            if statement["Effect"] != "Allow":
                continue
            for action in as_list(statement["Action"]):
                checked += 1
                assert action != "*", where
                service, _, verb = action.partition(":")
                assert not (service in DATA_SERVICES and "*" in verb), (where, action)
    assert checked > 50


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("tier", TIER_STACKS)
def test_each_tier_has_its_own_role_and_instance_profile(synthesized, stage, tier):
    resources = synthesized.template(stage, TIER_STACKS[tier])["Resources"]
    roles = {
        logical_id: r
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::IAM::Role"
        and r["Properties"].get("Description") == f"{stage} {tier} hosts"
    }
    (role_id,) = roles
    (trust,) = roles[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    profiles = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::IAM::InstanceProfile"
        and r["Properties"]["Roles"] == [{"Ref": role_id}]
    ]

    assert trust["Principal"] == {"Service": "ec2.amazonaws.com"}
    # One profile per launch template or fixed host, all wearing the tier's role.
    assert profiles
    # Only the tier's own customer managed policy, which names the role itself.
    assert "ManagedPolicyArns" not in roles[role_id]["Properties"]


@pytest.mark.parametrize("stage", STAGES)
def test_mysql_may_write_only_its_own_backup_prefix(synthesized, stage):
    resources = synthesized.template(stage, "Data")["Resources"]
    s3_statements = [
        statement
        for r in resources.values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        and "Mysql" in str(r["Properties"]["Roles"])
        for statement in statements(r["Properties"]["PolicyDocument"])
        if any(a.startswith("s3:") for a in as_list(statement["Action"]))
    ]

    (statement,) = s3_statements
    assert set(as_list(statement["Action"])) == {"s3:GetObject", "s3:PutObject"}
    assert as_list(statement["Resource"]) == [
        f"arn:aws:s3:::slack-{stage.lower()}-backups-"
        f"{load_stages()[stage].account}-us-east-1/mysql/{stage}/*"
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_engineer_roles_require_mfa(synthesized, stage):
    resources = synthesized.template(stage, "Security")["Resources"]
    engineer_roles = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Role"
        and r["Properties"].get("Description", "").startswith("Engineers: ")
    ]

    names = {
        r["Properties"]["Description"].split()[1].rstrip(";") for r in engineer_roles
    }
    assert names == {"Admin", "ReadOnly", "Deployer", "BreakGlass"}
    for role in engineer_roles:
        for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            assert statement["Condition"] == {
                "Bool": {"aws:MultiFactorAuthPresent": "true"}
            }


@pytest.mark.parametrize("stage", STAGES)
def test_ci_role_may_only_assume_the_cdk_bootstrap_roles(synthesized, stage):
    resources = synthesized.template(stage, "Security")["Resources"]
    (ci_id,) = [
        k
        for k, r in resources.items()
        if r["Type"] == "AWS::IAM::Role"
        and "CI;" in r["Properties"].get("Description", "")
    ]
    attached = [
        r
        for r in resources.values()
        if r["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
        and {"Ref": ci_id} in r["Properties"].get("Roles", [])
    ]
    account = load_stages()[stage].account

    assert "Policies" not in resources[ci_id]["Properties"]
    assert "ManagedPolicyArns" not in resources[ci_id]["Properties"]
    (policy,) = attached
    (statement,) = statements(policy["Properties"]["PolicyDocument"])
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Resource"] == (
        f"arn:aws:iam::{account}:role/cdk-hnb659fds-*-{account}-us-east-1"
    )


@pytest.mark.parametrize("stage", STAGES)
def test_web_hosts_may_read_exactly_their_release_object(synthesized, stage):
    resources = synthesized.template(stage, "App")["Resources"]
    reads = [
        resource
        for r in resources.values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        for statement in statements(r["Properties"]["PolicyDocument"])
        if as_list(statement["Action"]) == ["s3:GetObject"]
        for resource in as_list(statement["Resource"])
        if "release" in str(resource) or "assets" in str(resource)
    ]

    (release,) = reads
    assert str(release).endswith(".zip") and "*" not in str(release)
