#!/usr/bin/env python3
"""CDK entry point: `cdk synth` builds every stage, `-c stage=Prod` only one.

`-c config=PATH` reads another stage file instead of config/stages.json.
"""

import json
import sys
from pathlib import Path

import aws_cdk as cdk

from config import DEFAULT_CONFIG_PATH, ConfigError
from stacks.platform import build_app

CDK_JSON = Path(__file__).resolve().with_name("cdk.json")


def main() -> int:
    # The feature flags, also when app.py runs without the CLI (which would
    # pass them, and whose context wins over these defaults).
    flags = json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"]
    app = cdk.App(context=flags)
    config = app.node.try_get_context("config")
    try:
        if config == "":
            raise ConfigError("-c config= is empty; allowed: a path to a stage file")
        build_app(
            app,
            config_path=config or DEFAULT_CONFIG_PATH,
            stage_name=app.node.try_get_context("stage"),
        )
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    try:
        app.synth()
    except RuntimeError as err:
        if not str(err).startswith("ValidationFailed"):
            raise
        # The plugins have already printed each finding with its construct path.
        print(
            "synth failed: the security gates (cdk-nag, CloudFormation validation) "
            f"reported the findings above; full report in {app.outdir}/"
            "validation-report.json",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
