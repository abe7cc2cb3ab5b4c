"""One deployable stage (Dev, Prod, ...) of the platform."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2

from config import StageConfig
from constructs import Construct
from stacks.app_stack import AppStack
from stacks.data_stack import DataStack
from stacks.hosts import SharedServices
from stacks.network_stack import NetworkStack
from stacks.operations_stack import OperationsStack
from stacks.proxy_stack import ProxyStack
from stacks.security_stack import SecurityStack
from stacks.storage_stack import StorageStack

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
            logs_key=self.security.keys.operations,
        )
        self.storage = StorageStack(
            self,
            "Storage",
            stage=stage,
            data_key=self.security.keys.data,
            access_logs=self.security.logs_bucket,
            break_glass=self.security.access.roles["BreakGlass"],
        )
        shared = SharedServices(
            keys=self.security.keys,
            vpc=self.network.network.vpc,
            groups=self.network.security_groups,
            dns=self.network.dns,
            logs_bucket=self.security.logs_bucket,
            topic=self.security.alarms.topic,
        )
        self.proxy = ProxyStack(self, "Proxy", stage=stage, shared=shared)
        self.data = DataStack(self, "Data", stage=stage, shared=shared)
        self.app = AppStack(self, "App", stage=stage, shared=shared)
        # Hosts download through the proxy while they boot.
        self.data.add_stack_dependency(self.proxy)
        self.app.add_stack_dependency(self.proxy)
        self.operations = OperationsStack(
            self,
            "Operations",
            stage=stage,
            keys=self.security.keys,
            topic=self.security.alarms.topic,
        )
        self.operations.add_stack_dependency(self.storage)

        # IMDSv2 everywhere: a later launch template or instance cannot forget it.
        cdk.Aspects.of(self).add(ec2.InstanceRequireImdsv2Aspect())
        cdk.Aspects.of(self).add(ec2.LaunchTemplateRequireImdsv2Aspect())
        tags = cdk.Tags.of(self)
        tags.add("project", PROJECT_TAG)
        tags.add("stage", stage.name)
