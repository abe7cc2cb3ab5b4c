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
    """When the nightly MySQL backup runs, how it is checked and how long it is kept."""

    schedule: str
    verify_schedule: str
    retention_days: int
    archive_after_days: int
    object_lock_days: int
    local_copies_days: int
    min_backup_bytes: int
    replica_region: str | None


@dataclass(frozen=True)
class StorageConfig:
    """Lifecycle of the uploads bucket."""

    uploads_infrequent_access_days: int
    noncurrent_version_days: int


@dataclass(frozen=True)
class DisasterRecoveryConfig:
    """The stage in a second region that holds the replica of the backups."""

    name: str
    account: str
    region: str


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
    storage: StorageConfig

    @property
    def disaster_recovery(self) -> DisasterRecoveryConfig | None:
        """The DR stage, when backups replicate to a second region."""
        if self.backup.replica_region is None:
            return None
        return DisasterRecoveryConfig(
            name=f"{self.name}DR",
            account=self.account,
            region=self.backup.replica_region,
        )
