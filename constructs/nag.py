"""Acknowledging a cdk-nag finding: one resource, one rule id, one factual reason."""

from __future__ import annotations

import aws_cdk as cdk

from constructs import IConstruct

PACKS = ("AwsSolutions", "NIST.800.53.R5")


def acknowledge(resource: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge `rule` (e.g. "AwsSolutions-IAM4") on `resource` only.

    Refuses an unknown pack or an empty or TODO reason, so every suppression
    in the templates states why it is safe.
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
    cdk.Validations.of(resource).acknowledge(
        cdk.Acknowledgment(id=f"{pack}::{rule}", reason=reason)
    )
