"""Acknowledging cdk-nag findings on one resource, each rule with a factual reason."""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk

from constructs import IConstruct

PACKS = ("AwsSolutions", "NIST.800.53.R5")


def acknowledge(resource: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge `rule` (e.g. "AwsSolutions-IAM4") on `resource` only.

    Refuses an unknown pack or an empty or TODO reason, so every suppression
    in the templates states why it is safe.
    """
    acknowledge_all(resource, [(rule, reason)])


def acknowledge_all(resource: IConstruct, rules: Iterable[tuple[str, str]]) -> None:
    """Acknowledge each (rule, reason) pair on `resource`, in order.

    The same checks as `acknowledge`, all made before anything is recorded; the
    rules go to the jsii kernel in one call instead of two calls per rule.
    """
    acknowledgments = [acknowledgment(rule, reason) for rule, reason in rules]
    if acknowledgments:
        cdk.Validations.of(resource).acknowledge(*acknowledgments)


def acknowledgment(rule: str, reason: str) -> cdk.Acknowledgment:
    """`rule` with `reason`, checked as `acknowledge` checks them.

    For one Validations.acknowledge call that also acknowledges a rule of another
    validator (e.g. CloudFormation-Validate) on the same resource.
    """
    pack = (
        rule.split("-", 1)[0]
        if rule.startswith("AwsSolutions")
        else ("NIST.800.53.R5" if rule.startswith("NIST.800.53.R5-") else None)
    )
    if pack is None:
        raise ValueError(f"unknown cdk-nag rule {rule!r}; packs in use: {PACKS}")
    if len(reason.strip()) < 20 or "TODO" in reason.upper():
        raise ValueError(f"acknowledging {rule} needs a factual reason, got {reason!r}")
    return cdk.Acknowledgment(id=f"{pack}::{rule}", reason=reason)
