"""Typed, frozen configuration of one stage of the platform."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_INSTANCE_TYPE = "i2.xlarge"

# Subnet tiers of every VPC, in allocation order, with their prefix lengths.
# The loader checks that the VPC CIDR has room for them in every AZ.
SUBNET_LAYOUT: tuple[tuple[str, int], ...] = (
    ("Public", 24),
    ("Private", 20),
    ("Isolated", 24),
)


@dataclass(frozen=True)
class FleetConfig:
    """Instance type and Auto Scaling bounds of one stateless fleet."""

    instance_type: str
    min: int
    desired: int
    max: int


@dataclass(frozen=True)
class Fleets:
    """The stateless fleets of a stage."""

    web: FleetConfig
    squid: FleetConfig
    solr: FleetConfig


@dataclass(frozen=True)
class MysqlConfig:
    """MySQL shards: a primary and a replica per shard, each with an sc1 volume."""

    instance_type: str
    shards: int
    backup_volume_gib: int


@dataclass(frozen=True)
class RedisConfig:
    """The Redis primary and replica."""

    instance_type: str


@dataclass(frozen=True)
class BackupConfig:
    """When the nightly MySQL backup runs and how long backups are kept."""

    schedule: str
    retention_days: int


@dataclass(frozen=True)
class StageConfig:
    """Everything one stage (environment) needs, validated before synth."""

    name: str
    account: str
    region: str
    availability_zones: tuple[str, ...]
    vpc_cidr: str
    nat_gateways: int
    s3_prefix_list_id: str
    production: bool
    termination_protection: bool
    domain_name: str
    alarm_email: str
    log_retention_days: int
    fleets: Fleets
    mysql: MysqlConfig
    redis: RedisConfig
    backup: BackupConfig
