"""Build the whole app from a config file: the one entry for app.py and tests."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk

from config import DEFAULT_CONFIG_PATH, load_stages, select_stages
from stacks.disaster_recovery import DisasterRecoveryStage
from stacks.gates import add_compliance_gates, record_acknowledgements
from stacks.stage import PlatformStage


def build_app(
    app: cdk.App,
    *,
    config_path: str | Path = DEFAULT_CONFIG_PATH,
    stage_name: str | None = None,
) -> list[cdk.Stage]:
    """Validate the config first, then add each selected stage and its DR stage.

    Raises `config.ConfigError` before any construct exists if the config is bad.
    """
    stages = select_stages(load_stages(config_path), stage_name)
    # Creation stack traces carry temporary paths: without this, two synths
    # differ. (A reserved key, so it is set here rather than in cdk.json.)
    app.node.set_context("aws:cdk:disable-creation-stack-traces", True)
    add_compliance_gates(app)
    built: list[cdk.Stage] = []
    for stage in stages:
        if stage.disaster_recovery:
            built.append(DisasterRecoveryStage(app, source=stage))
        built.append(PlatformStage(app, stage=stage))
    for stage in built:
        record_acknowledgements(stage)
    return built
