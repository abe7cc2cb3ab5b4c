"""The delivery pipeline: gated synth, test stage, smoke test, approval, production."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import pipelines

from config.pipeline import PipelineConfig
from constructs import Construct
from constructs.pipeline_nag import acknowledge_generated, harden_replication_buckets
from constructs.pipeline_steps import (
    approval,
    build_defaults,
    record_deployed,
    smoke_test,
    synth_step,
)
from constructs.pipeline_storage import PipelineStorage

# The pipeline's own deploy steps install the CLI the developers have pinned.
PACKAGE_JSON = Path(__file__).resolve().parent.parent / "package.json"
CFN_LINT_JOIN_STYLE = "E3703"


def pinned_cli_version() -> str:
    """The exact aws-cdk version of package.json."""
    return json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))["dependencies"][
        "aws-cdk"
    ]


class PipelineStack(cdk.Stack):
    """Deploys the test stage, then, once approved, the DR stage and production."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: PipelineConfig,
        stages: dict[str, cdk.Stage],
    ) -> None:
        home = config.production_stage
        super().__init__(
            scope,
            id,
            env=cdk.Environment(account=config.account, region=config.region),
            stack_name=f"{config.name}-pipeline",
            description=f"{config.name}: delivery pipeline from "
            f"{config.source.repository}@{config.source.branch}",
            # Nothing here needs it: the bucket, key and log group are retained.
            termination_protection=False,
        )
        self.storage = PipelineStorage(self, "Storage", home=home)
        bucket = self.storage.artifacts
        source = pipelines.CodePipelineSource.connection(
            config.source.repository,
            config.source.branch,
            connection_arn=config.source.connection_arn,
        )
        self.synth = synth_step(source, bucket=bucket)
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=config.name,
            synth=self.synth,
            # Our own bucket and rotating key serve the test stage's account too;
            # the DR region's replica (same account) uses S3's managed key, so no
            # grant on '*' for a key the pipeline cannot name.
            artifact_bucket=bucket,
            cross_account_keys=False,
            cli_version=pinned_cli_version(),
            cdk_assets_cli_version=config.cdk_assets_version,
            publish_assets_in_parallel=False,
            code_build_defaults=build_defaults(self.storage.build_logs),
        )

        self.pipeline.add_stage(
            stages[config.test_stage.name],
            post=[smoke_test(config.test_stage, config.smoke_test)],
        )
        gate = [
            approval(
                self.synth,
                bucket=bucket,
                region=config.region,
                commit=source.source_attribute("CommitId"),
            )
        ]
        # The DR bucket must exist before production configures replication to it.
        if home.disaster_recovery:
            self.pipeline.add_stage(stages[home.disaster_recovery.name], pre=gate)
            gate = []
        self.pipeline.add_stage(
            stages[home.name],
            pre=gate,
            post=[record_deployed(self.synth, bucket=bucket)],
        )
        self.pipeline.build_pipeline()

        # cfn-lint prefers Fn::Sub to the Fn::Join the module writes for the
        # cross-account role ARNs of the test stage's deploy actions; same value.
        self.pipeline.pipeline.node.default_child.add_metadata(
            "cfn-lint", {"config": {"ignore_checks": [CFN_LINT_JOIN_STYLE]}}
        )
        replicas = harden_replication_buckets(self.pipeline.pipeline)
        acknowledge_generated(
            self, artifact_buckets=[bucket, *replicas], key=self.storage.key
        )
