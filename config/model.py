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
    version: str


@dataclass(frozen=True)
class RedisConfig:
    """The Redis primary and replica."""

    instance_type: str
    maxmemory_mb: int
    maxmemory_policy: str


@dataclass(frozen=True)
class SolrConfig:
    """The pinned Solr release the search nodes install."""

    version: str
    sha512: str
    heap: str


@dataclass(frozen=True)
class SquidConfig:
    """Cache sizes of the outbound proxy."""

    cache_mb: int
    cache_mem_mb: int


@dataclass(frozen=True)
class EdgeConfig:
    """How users reach the stage: DNS, load balancer and the application release."""

    domain_name: str
    hosted_zone_id: str | None
    internal_domain: str
    health_check_path: str
    deletion_protection: bool
    release_version: str | None


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
    alarm_email: str
    log_retention_days: int
    # Hosts whose data lives on the instance store boot this pinned image:
    # a new image must never replace them behind the operator's back.
    data_ami_id: str
    edge: EdgeConfig
    fleets: Fleets
    mysql: MysqlConfig
    redis: RedisConfig
    solr: SolrConfig
    squid: SquidConfig
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

    @property
    def domain_name(self) -> str:
        """The public domain of the stage."""
        return self.edge.domain_name
