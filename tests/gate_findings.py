"""Synthesize a test app with its gates on and read what they found."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk


def synth_findings(app: cdk.App) -> list[tuple[str, str]]:
    """Synthesize `app`; each finding of its gates as (rule, construct path).

    Test scaffolding (a bare VPC, a minimal bucket) draws findings of its own,
    so a ValidationFailed synth is expected: its report is read, not raised.
    Any other error is raised.
    """
    try:
        app.synth()
    except RuntimeError as err:
        if not str(err).startswith("ValidationFailed"):
            raise
    report = json.loads((Path(app.outdir) / "validation-report.json").read_text())
    return [
        (violation["ruleName"], found["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for found in violation["violatingConstructs"]
    ]
