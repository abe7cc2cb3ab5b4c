"""Data stack (stateful): MySQL shards, Redis, Solr, and their private names."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_ec2 as ec2

from config import StageConfig
from config.naming import bucket_name
from config.ports import MYSQL, MYSQL_TIER, REDIS, REDIS_TIER, SOLR, SOLR_TIER
from constructs import Construct
from constructs import host_config as hc
from constructs.fleet import Fleet
from constructs.internal_balancer import InternalBalancer
from constructs.mysql_host import MysqlHost
from constructs.redis_host import RedisHost
from constructs.tier_role import BucketAccess, TierRole
from stacks.base import PlatformStack
from stacks.hosts import (
    SharedServices,
    data_image,
    proxy_url,
)

# Warn while a third of the burst credits remain: staging then still runs at
# burst speed, and the alarm names the host before the nightly dump slows down.
BURST_BALANCE_FLOOR_PERCENT = 30
BURST_BALANCE_PERIOD = cdk.Duration.minutes(5)
SOLR_HOME = "/data/solr"


class DataStack(PlatformStack):
    """Holds the hosts whose disks carry data; protected from accidental deletion."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage: StageConfig,
        shared: SharedServices,
    ) -> None:
        super().__init__(scope, id, stage=stage, description="MySQL, Redis, Solr")
        keys, vpc = shared.keys, shared.vpc
        self._stage, self._shared = stage, shared
        # One of each per stack, shared by every host and alarm that uses it.
        self._image = data_image(stage)
        self._alarm_action = actions.SnsAction(shared.topic)
        common = {"stage": stage, "data_key": keys.data, "log_key": keys.operations}
        lower = stage.name.lower()
        self.roles = {
            MYSQL_TIER: TierRole(
                self,
                "MysqlRole",
                tier=MYSQL_TIER,
                buckets=(
                    BucketAccess(
                        bucket_name(stage, "backups"),
                        f"mysql/{stage.name}/",
                        write=True,
                    ),
                ),
                parameter_paths=(f"slack/{lower}/mysql",),
                **common,
            ),
            REDIS_TIER: TierRole(self, "RedisRole", tier=REDIS_TIER, **common),
            SOLR_TIER: TierRole(self, "SolrRole", tier=SOLR_TIER, **common),
        }
        self._subnets = vpc.select_subnets(
            subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
        ).subnets

        cdk.Validations.of(self).acknowledge(
            cdk.Acknowledgment(
                id="CloudFormation-Validate::W3010",
                reason="Each host and its volume are placed in a zone from config "
                "on purpose: a primary and its replica must not share one.",
            )
        )
        self.mysql = [self._shard(shard) for shard in range(stage.mysql.shards)]
        self.redis = self._redis()
        self.solr = self._solr()

    def _subnet(self, index: int) -> ec2.ISubnet:
        """Spread hosts over the zones; a primary and its replica never share one."""
        return self._subnets[index % len(self._subnets)]

    def _shard(self, shard: int) -> tuple[MysqlHost, MysqlHost]:
        stage, lower = self._stage, self._stage.name.lower()
        common = {
            "stage_name": stage.name,
            "shard": shard,
            "vpc": self._shared.vpc,
            "vpc_cidr": stage.vpc_cidr,
            "machine_image": self._image,
            "role": self.roles[MYSQL_TIER].role.without_policy_updates(),
            "security_group": self._shared.groups[MYSQL_TIER],
            "volume_key": self._shared.keys.data,
            "backup_volume_gib": stage.mysql.backup_volume_gib,
            "mysql_version": stage.mysql.version,
            "port": MYSQL,
            "replication_parameter": f"/slack/{lower}/mysql/replication",
            "proxy_url": proxy_url(stage),
            "internal_domain": stage.edge.internal_domain,
            "instance_type": stage.mysql.instance_type,
        }
        primary = MysqlHost(
            self, f"Mysql{shard}Primary", primary_host=None,
            subnet=self._subnet(shard), **common,
        )  # fmt: skip
        replica = MysqlHost(
            self,
            f"Mysql{shard}Replica",
            primary_host=primary.instance.instance_private_dns_name,
            subnet=self._subnet(shard + 1),
            **common,
        )
        for role, host in (("primary", primary), ("replica", replica)):
            self._shared.dns.add_internal_address(
                self, f"mysql-{shard}-{role}", host.instance.instance_private_ip
            )
            self._burst_balance_alarm(f"Mysql{shard}{role.capitalize()}", host)
        return primary, replica

    def _burst_balance_alarm(self, name: str, host: MysqlHost) -> None:
        cloudwatch.Alarm(
            self,
            f"{name}BackupBurstBalance",
            alarm_description=(
                f"{self._stage.name} {name}: sc1 backup volume burst balance below "
                f"{BURST_BALANCE_FLOOR_PERCENT}%; the nightly dump will slow down"
            ),
            metric=cloudwatch.Metric(
                namespace="AWS/EBS",
                metric_name="BurstBalance",
                dimensions_map={"VolumeId": host.backup_volume.volume_id},
                statistic="Minimum",
                period=BURST_BALANCE_PERIOD,
            ),
            threshold=BURST_BALANCE_FLOOR_PERCENT,
            evaluation_periods=3,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        ).add_alarm_action(self._alarm_action)

    def _redis(self) -> tuple[RedisHost, RedisHost]:
        common = {
            "stage_name": self._stage.name,
            "config": self._stage.redis,
            "port": REDIS,
            "vpc": self._shared.vpc,
            "machine_image": self._image,
            "role": self.roles[REDIS_TIER].role.without_policy_updates(),
            "security_group": self._shared.groups[REDIS_TIER],
            "volume_key": self._shared.keys.data,
        }
        primary = RedisHost(
            self, "RedisPrimary", primary_address=None, subnet=self._subnet(0),
            **common,
        )  # fmt: skip
        replica = RedisHost(
            self,
            "RedisReplica",
            primary_address=primary.instance.instance_private_ip,
            subnet=self._subnet(1),
            **common,
        )
        for role, host in (("primary", primary), ("replica", replica)):
            self._shared.dns.add_internal_address(
                self, f"redis-{role}", host.instance.instance_private_ip
            )
        return primary, replica

    def _solr(self) -> Fleet:
        stage = self._stage
        init = ec2.CloudFormationInit.from_config_sets(
            config_sets={"default": ["Proxy", "Solr"]},
            configs={
                "Proxy": hc.proxy_init(
                    proxy_url(stage), stage.vpc_cidr, stage.edge.internal_domain
                ),
                "Solr": hc.solr_init(
                    version=stage.solr.version,
                    sha512=stage.solr.sha512,
                    port=SOLR,
                    solr_home=SOLR_HOME,
                    heap=stage.solr.heap,
                    data_unit="data-disk.service",
                    download_env=hc.proxy_env(
                        proxy_url(stage), stage.vpc_cidr, stage.edge.internal_domain
                    ),
                ),
            },
        )
        fleet = self._shared.fleet(
            self,
            "Solr",
            stage=stage,
            tier=SOLR_TIER,
            host_role="search",
            size=stage.fleets.solr,
            role=self.roles[SOLR_TIER].role,
            init=init,
        )
        balancer = InternalBalancer(
            self,
            "SolrBalancer",
            vpc=self._shared.vpc,
            security_group=self._shared.groups[SOLR_TIER],
            port=SOLR,
            fleet=fleet.group,
            access_logs=self._shared.logs_bucket,
            access_logs_prefix="nlb/solr",
        )
        self._shared.dns.add_internal_alias(self, "solr", balancer.dns_name)
        return fleet
