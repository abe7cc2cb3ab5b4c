"""cdk-nag acknowledgements: one rule or several, always with a factual reason."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from constructs.nag import acknowledge, acknowledge_all, acknowledgment
from constructs.secure_bucket import NOT_REPLICATED, SecureBucket

REASON = "The bucket only holds copies that the pipeline recreates."
OTHER = "Access to the bucket is recorded by the trail of the stage."


@pytest.fixture
def bucket() -> s3.CfnBucket:
    return s3.CfnBucket(cdk.Stack(cdk.App(), "Stack"), "Bucket")


def recorded(resource: s3.CfnBucket) -> list[dict[str, str]]:
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    return [entry.data for entry in resource.node.metadata if entry.type == key]


def test_one_rule_is_recorded_under_its_pack(bucket):
    acknowledge(bucket, "AwsSolutions-S1", REASON)
    acknowledge(bucket, "NIST.800.53.R5-S3BucketLoggingEnabled", OTHER)

    assert recorded(bucket) == [
        {"AwsSolutions::AwsSolutions-S1": REASON},
        {"NIST.800.53.R5::NIST.800.53.R5-S3BucketLoggingEnabled": OTHER},
    ]


def test_several_rules_are_recorded_in_order_as_one_call_per_rule_would(bucket):
    separately = s3.CfnBucket(cdk.Stack(cdk.App(), "Other"), "Bucket")
    rules = [
        ("AwsSolutions-S1", REASON),
        ("NIST.800.53.R5-S3BucketLoggingEnabled", OTHER),
        ("AwsSolutions-IAM5[Resource::*]", OTHER),
        ("AwsSolutions-S1", REASON),
    ]

    acknowledge_all(bucket, rules)
    for rule, reason in rules:
        acknowledge(separately, rule, reason)

    assert recorded(bucket) == recorded(separately)
    assert len(recorded(bucket)) == 4


def test_a_mapping_of_rules_to_reasons_is_accepted(bucket):
    acknowledge_all(bucket, {"AwsSolutions-S1": REASON}.items())

    assert recorded(bucket) == [{"AwsSolutions::AwsSolutions-S1": REASON}]


def test_no_rules_record_nothing(bucket):
    acknowledge_all(bucket, [])

    assert recorded(bucket) == []


@pytest.mark.parametrize(
    ("rule", "reason", "message"),
    [
        ("Checkov-CKV_AWS_18", REASON, "unknown cdk-nag rule"),
        ("NIST.800.53.R4-S3BucketLoggingEnabled", REASON, "unknown cdk-nag rule"),
        ("AwsSolutions-S1", "too short", "needs a factual reason"),
        ("AwsSolutions-S1", "   " + "x" * 10 + "   " * 5, "needs a factual reason"),
        ("AwsSolutions-S1", "todo: explain why this bucket is fine", "factual"),
    ],
)
def test_a_bad_rule_or_reason_is_refused_before_anything_is_recorded(
    bucket, rule, reason, message
):
    with pytest.raises(ValueError, match=message):
        acknowledge(bucket, rule, reason)
    with pytest.raises(ValueError, match=message):
        acknowledge_all(bucket, [("AwsSolutions-S1", REASON), (rule, reason)])

    assert recorded(bucket) == []


def test_a_checked_acknowledgment_can_join_another_validators_rule(bucket):
    cdk.Validations.of(bucket).acknowledge(
        cdk.Acknowledgment(id="CloudFormation-Validate::W3010", reason=OTHER),
        acknowledgment("AwsSolutions-S1", REASON),
    )

    assert recorded(bucket) == [
        {"CloudFormation-Validate::W3010": OTHER},
        {"AwsSolutions::AwsSolutions-S1": REASON},
    ]
    with pytest.raises(ValueError, match="factual reason"):
        acknowledgment("AwsSolutions-S1", "TODO")
    with pytest.raises(ValueError, match="unknown cdk-nag rule"):
        acknowledgment("CloudFormation-Validate::W3010", OTHER)


@pytest.mark.parametrize("replicated", [False, True])
def test_a_secure_bucket_records_the_acknowledgements_it_is_given_after_its_own(
    replicated,
):
    stack = cdk.Stack(cdk.App(), "Stack")
    given = [("AwsSolutions-S1", REASON), ("AwsSolutions-S10", OTHER)]

    bucket = SecureBucket(
        stack,
        "Logs",
        bucket_name="logs",
        encryption_key=None,
        access_logs=None,
        replicated=replicated,
        acknowledgements=given,
    ).bucket.node.default_child

    own = (
        []
        if replicated
        else [{"NIST.800.53.R5::" + NOT_REPLICATED[0]: NOT_REPLICATED[1]}]
    )
    assert recorded(bucket) == [
        *own,
        {"AwsSolutions::AwsSolutions-S1": REASON},
        {"AwsSolutions::AwsSolutions-S10": OTHER},
    ]


def test_a_secure_bucket_refuses_an_acknowledgement_without_a_factual_reason():
    with pytest.raises(ValueError, match="factual reason"):
        SecureBucket(
            cdk.Stack(cdk.App(), "Stack"),
            "Logs",
            bucket_name="logs",
            encryption_key=None,
            access_logs=None,
            acknowledgements=[("AwsSolutions-S1", "it is fine")],
        )
