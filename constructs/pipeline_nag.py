"""Acknowledgements for what the CDK pipelines module generates, each with a reason.

The module writes its own roles, policies and the cross-region support bucket.
Each wildcard cdk-nag reports on them is acknowledged on its own policy only
when it matches a known shape below; any other wildcard still fails synth.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from constructs import Construct
from constructs.nag import acknowledge_all

WILDCARD_RULE = "AwsSolutions-IAM5"
INLINE_POLICY_REASON = (
    "The CDK pipelines module writes each role's grants as that role's own "
    "default policy, used by no other role and deleted with it."
)
_ARTIFACT_ACTIONS = (
    "The action families of one CDK bucket or key grant (read, or read and write), "
    "limited by the statement to this pipeline's artifact buckets and key."
)
_ACTION_REASONS = {
    f"Action::{action}": _ARTIFACT_ACTIONS
    for action in (
        "s3:GetObject*",
        "s3:GetBucket*",
        "s3:List*",
        "s3:DeleteObject*",
        "s3:Abort*",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
    )
}
_PROJECT_LOGS = re.compile(
    r"^Resource::arn:[a-z-]+:(logs:[a-z0-9-]+:\d{12}:log-group:/aws/codebuild/<\w+>:"
    r"|codebuild:[a-z0-9-]+:\d{12}:report-group/<\w+>-)\*$"
)
_ANY_PROJECT_LOGS = re.compile(
    r"^Resource::arn:[a-z-]+:(logs:[a-z0-9-]+:\d{12}:log-group:/aws/codebuild/"
    r"|codebuild:[a-z0-9-]+:\d{12}:report-group/)\*$"
)
_LOG_AND_REPORT_ACTIONS = frozenset(
    ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
    + ("codebuild:CreateReportGroup", "codebuild:CreateReport")
    + ("codebuild:UpdateReport", "codebuild:BatchPutTestCases")
    + ("codebuild:BatchPutCodeCoverages",)
)
_BOOTSTRAP_ROLES = re.compile(r"^Resource::arn:\*:iam::\d{12}:role/\*$")
# Statements on "*" are told apart by their actions.
_ANY_RESOURCE_REASONS = {
    frozenset(("cloudformation:DescribeStacks", "s3:ListBucket")): (
        "Read-only calls of the CDK CLI in the self-mutation step (stack status, "
        "bootstrap bucket listing), which the module grants on '*'."
    ),
    frozenset(
        ("codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild")
    ): (
        "The module lets its asset-publishing role start, stop and read CodeBuild "
        "builds on '*'; only CodeBuild can assume that role."
    ),
}

_REPLICA_COPIES = (
    "The bucket holds only copies of artifacts from the home artifact bucket, whose "
    "access is logged and which rerunning the pipeline recreates."
)
_REPLICA_REASONS = {
    "AwsSolutions-S1": _REPLICA_COPIES,
    "NIST.800.53.R5-S3BucketLoggingEnabled": _REPLICA_COPIES,
    "NIST.800.53.R5-S3BucketReplicationEnabled": _REPLICA_COPIES,
}


def acknowledge_generated(
    scope: Construct, *, artifact_buckets: list[s3.IBucket], key: kms.IKey
) -> None:
    """Acknowledge the known wildcards and inline policies of the module's roles."""
    stack = cdk.Stack.of(scope)
    buckets = {_flatten(stack.resolve(b.bucket_arn)) for b in artifact_buckets}
    artifacts = {
        *buckets,
        *(f"{arn}/*" for arn in buckets),
        _flatten(stack.resolve(key.key_arn)),
    }
    for policy in _policies(scope):
        rules = [("NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY_REASON)]
        document = stack.resolve(policy.policy_document)
        for finding, actions, resources in _wildcards(document):
            reason = _reason(finding, actions, resources, artifacts)
            if reason:
                rules.append((f"{WILDCARD_RULE}[{finding}]", reason))
        acknowledge_all(policy, rules)


def harden_replication_buckets(pipeline: codepipeline.Pipeline) -> list[s3.IBucket]:
    """Version the support stacks' buckets; acknowledge what they cannot have."""
    buckets = []
    for support in pipeline.cross_region_support.values():
        bucket = support.replication_bucket
        resource = bucket.node.default_child
        resource.versioning_configuration = (
            s3.CfnBucket.VersioningConfigurationProperty(status="Enabled")
        )
        acknowledge_all(resource, _REPLICA_REASONS.items())
        buckets.append(bucket)
    return buckets


def _reason(
    finding: str, actions: frozenset[str], resources: set[str], artifacts: set[str]
) -> str | None:
    if finding in _ACTION_REASONS:
        return _ACTION_REASONS[finding] if resources <= artifacts else None
    if finding.removeprefix("Resource::") in artifacts:
        return (
            "Objects of this pipeline's own artifact bucket, whose keys CodePipeline "
            "chooses per execution."
        )
    if _PROJECT_LOGS.match(finding):
        return (
            "CodeBuild's default grant for the log streams and test reports of the "
            "build project itself."
        )
    if _ANY_PROJECT_LOGS.match(finding) and actions <= _LOG_AND_REPORT_ACTIONS:
        return (
            "The module's shared asset-publishing role writes the logs and reports "
            "of asset builds it names only at run time, in this account and region."
        )
    if _BOOTSTRAP_ROLES.match(finding):
        return (
            "The statement admits only roles tagged as CDK bootstrap roles "
            "(deploy, file and image publishing) of this account."
        )
    if finding == "Resource::*":
        return _ANY_RESOURCE_REASONS.get(actions)
    return None


def _policies(scope: Construct) -> Iterator[iam.CfnPolicy]:
    for child in scope.node.find_all():
        if isinstance(child, iam.CfnPolicy):
            yield child


def _wildcards(
    document: dict[str, Any],
) -> Iterator[tuple[str, frozenset[str], set[str]]]:
    """Each wildcard as cdk-nag names it, with its statement's actions and resources."""
    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        actions = frozenset(_as_list(statement.get("Action")))
        resources = {_flatten(r) for r in _as_list(statement.get("Resource"))}
        for action in sorted(actions):
            if "*" in action:
                yield f"Action::{action}", actions, resources
        for flat in sorted(resources):
            if "*" in flat:
                yield f"Resource::{flat}", actions, resources


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _flatten(node: Any) -> str:
    """A CloudFormation value written the way cdk-nag writes it in finding ids."""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict) and "Fn::Join" in node:
        delimiter, items = node["Fn::Join"]
        return delimiter.join(_flatten(item) for item in items)
    if isinstance(node, dict) and "Fn::GetAtt" in node:
        resource, attribute = node["Fn::GetAtt"]
        return f"<{_flatten(resource)}.{_flatten(attribute)}>"
    if isinstance(node, dict) and "Ref" in node:
        return f"<{_flatten(node['Ref'])}>"
    return str(node)
