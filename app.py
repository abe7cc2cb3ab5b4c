#!/usr/bin/env python3
"""CDK entry point: `cdk synth` builds every stage, `-c stage=Prod` only one.

`-c config=PATH` reads another stage file instead of config/stages.json.
"""

import sys

import aws_cdk as cdk

from config import DEFAULT_CONFIG_PATH, ConfigError
from stacks.platform import build_app


def main() -> int:
    app = cdk.App()
    try:
        build_app(
            app,
            config_path=app.node.try_get_context("config") or DEFAULT_CONFIG_PATH,
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
