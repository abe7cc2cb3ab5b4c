"""Network stack: the stage's VPC."""

from __future__ import annotations

from aws_cdk import aws_kms as kms

from config import StageConfig
from constructs import Construct
from constructs.dns import Dns
from constructs.network import Network
from constructs.security_groups import TierSecurityGroups
from stacks.base import PlatformStack


class NetworkStack(PlatformStack):
    """Holds the VPC, its flow logs and its AWS endpoints."""

    def __init__(
        self, scope: Construct, id: str, *, stage: StageConfig, logs_key: kms.IKey
    ) -> None:
        super().__init__(
            scope,
            id,
            stage=stage,
            description="VPC, endpoints, flow logs, groups, zones",
        )
        self.network = Network(self, "Network", stage=stage, logs_key=logs_key)
        self.security_groups = TierSecurityGroups(
            self,
            "SecurityGroups",
            vpc=self.network.vpc,
            endpoints=self.network.endpoint_security_group,
            s3_prefix_list_id=stage.s3_prefix_list_id,
        )
        self.dns = Dns(
            self,
            "Dns",
            domain_name=stage.edge.domain_name,
            private_domain_name=stage.edge.internal_domain,
            vpc=self.network.vpc,
            hosted_zone_id=stage.edge.hosted_zone_id,
        )
