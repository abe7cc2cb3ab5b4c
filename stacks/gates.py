"""Synth-time security gates: cdk-nag packs registered as validation plugins."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks


def add_compliance_gates(app: cdk.App) -> None:
    """Fail synth on any AwsSolutions or NIST 800-53 rev 5 finding not acknowledged."""
    cdk.Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True)
    )
    cdk.Validations.of(app).add_plugins(
        NIST80053R5Checks(app, write_suppressions_to_cloud_formation=True)
    )
