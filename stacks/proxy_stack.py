"""Proxy stack (stateless): the Squid fleet every private tier goes out through."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2

from config import StageConfig
from config.ports import SQUID, SQUID_TIER
from constructs import Construct
from constructs import host_config as hc
from constructs.internal_balancer import InternalBalancer
from constructs.tier_role import TierRole
from stacks.base import PlatformStack
from stacks.hosts import PROXY_RECORD, SharedServices

CACHE_DIR = "/data/squid"


class ProxyStack(PlatformStack):
    """Holds Squid behind an internal balancer named proxy.<internal domain>."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage: StageConfig,
        shared: SharedServices,
    ) -> None:
        super().__init__(scope, id, stage=stage, description="Squid outbound proxy")
        keys, vpc, groups, dns = shared.keys, shared.vpc, shared.groups, shared.dns
        logs_bucket = shared.logs_bucket
        self.role = TierRole(
            self,
            "SquidRole",
            stage=stage,
            tier=SQUID_TIER,
            data_key=keys.data,
            log_key=keys.operations,
        )
        conf = hc.squid_conf(
            port=SQUID,
            vpc_cidr=stage.vpc_cidr,
            cache_dir=CACHE_DIR,
            cache_mb=stage.squid.cache_mb,
            cache_mem_mb=stage.squid.cache_mem_mb,
        )
        self.fleet = shared.fleet(
            self,
            "Fleet",
            stage=stage,
            tier=SQUID_TIER,
            host_role="proxy",
            size=stage.fleets.squid,
            role=self.role.role,
            init=ec2.CloudFormationInit.from_config_sets(
                config_sets={"default": ["Squid"]},
                configs={"Squid": hc.squid_init(conf, cache_dir=CACHE_DIR)},
            ),
        )
        self.balancer = InternalBalancer(
            self,
            "Balancer",
            vpc=vpc,
            security_group=groups[SQUID_TIER],
            port=SQUID,
            fleet=self.fleet.group,
            access_logs=logs_bucket,
            access_logs_prefix="nlb/proxy",
        )

        dns.add_internal_alias(self, PROXY_RECORD, self.balancer.dns_name)
