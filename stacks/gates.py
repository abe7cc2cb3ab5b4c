"""Synth-time security gates: cdk-nag packs registered as validation plugins."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import (
    AwsSolutionsChecks,
    NIST80053R5Checks,
    WriteNagSuppressionsToCloudFormationAspect,
)


def add_compliance_gates(app: cdk.App) -> None:
    """Fail synth on any AwsSolutions or NIST 800-53 rev 5 finding not acknowledged."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    cdk.Validations.of(app).add_plugins(NIST80053R5Checks(app))


def record_acknowledgements(stage: cdk.Stage) -> None:
    """Copy each acknowledgement and its reason into the template, for reviewers."""
    # Aspects added to the app do not cross into stages, so each stage gets one.
    cdk.Aspects.of(stage).add(WriteNagSuppressionsToCloudFormationAspect())
