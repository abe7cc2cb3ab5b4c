"""One deployable stage (Dev, Prod, ...) of the platform."""

from __future__ import annotations

import aws_cdk as cdk

from config import StageConfig
from constructs import Construct
from stacks.network_stack import NetworkStack
from stacks.security_stack import SecurityStack

PROJECT_TAG = "slack-platform"


class PlatformStage(cdk.Stage):
    """All stacks of one environment, in one account and region from config."""

    def __init__(self, scope: Construct, *, stage: StageConfig) -> None:
        super().__init__(
            scope,
            stage.name,
            env=cdk.Environment(account=stage.account, region=stage.region),
        )

        self.security = SecurityStack(self, "Security", stage=stage)
        self.network = NetworkStack(
            self,
            "Network",
            stage=stage,
            logs_key=self.security.keys.operational_logs,
        )

        cdk.Tags.of(self).add("project", PROJECT_TAG)
        cdk.Tags.of(self).add("stage", stage.name)
