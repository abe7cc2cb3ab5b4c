"""Build the whole app from a config file: the one entry for app.py and tests."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk

from config import DEFAULT_CONFIG_PATH, load_stages, select_stages
from config.pipeline import DEFAULT_PIPELINE_PATH, load_pipeline
from stacks.disaster_recovery import DisasterRecoveryStage
from stacks.gates import add_compliance_gates, record_acknowledgements
from stacks.pipeline_stack import PipelineStack
from stacks.stage import PlatformStage


def build_app(
    app: cdk.App,
    *,
    config_path: str | Path = DEFAULT_CONFIG_PATH,
    stage_name: str | None = None,
    pipeline_path: str | Path = DEFAULT_PIPELINE_PATH,
) -> list[cdk.Stage]:
    """Validate the config first, then add each selected stage and its DR stage.

    The delivery pipeline is added when every stage of the shipped stage file is.
    Raises `config.ConfigError` before any construct exists if the config is bad.
    """
    configs = load_stages(config_path)
    stages = select_stages(configs, stage_name)
    with_pipeline = (
        stage_name is None
        and Path(config_path).resolve() == Path(DEFAULT_CONFIG_PATH).resolve()
    )
    pipeline = load_pipeline(configs, pipeline_path) if with_pipeline else None
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
    if pipeline:
        # Deploys the stages above as they are, so Prod/* keeps its paths and names.
        PipelineStack(
            app,
            "Pipeline",
            config=pipeline,
            stages={stage.stage_name: stage for stage in built},
        )
        record_acknowledgements(app)
    return built
