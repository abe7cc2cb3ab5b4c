"""Read the stage file and turn it into validated `StageConfig` objects.

Every problem is raised as one `ConfigError` whose message names the file, the
key, the bad value and what is allowed, before any construct is built.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from pathlib import Path
from typing import Any

from config import rules
from config.capacity import web_capacity
from config.model import (
    DEFAULT_INSTANCE_TYPE,
    SUBNET_LAYOUT,
    BackupConfig,
    EdgeConfig,
    FleetConfig,
    Fleets,
    MysqlConfig,
    RedisConfig,
    SolrConfig,
    SquidConfig,
    StageConfig,
    StorageConfig,
)

DEFAULT_CONFIG_PATH = Path(__file__).with_name("stages.json")
# Short enough that every bucket name stays within 63 characters in any region.
_STAGE_NAME = re.compile(r"^[A-Z][A-Za-z0-9]{1,11}$")
_MISSING = object()
MAX_FLEET_SIZE = 100
MAX_SHARDS = 8


class ConfigError(Exception):
    """A configuration value is missing, unknown or not allowed."""


class _Section:
    """One JSON object of the file, read key by key with its dotted path."""

    def __init__(self, data: Any, path: str, source: str, keys: dict[str, Any]):
        self.path, self.source = path, source
        if not isinstance(data, dict):
            raise ConfigError(
                f"{source}: {path} = {_show(data)} is invalid (not an object); "
                f"allowed: an object with keys {', '.join(keys)}"
            )
        for key in data:
            if key not in keys:
                close = difflib.get_close_matches(key, list(keys), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(
                    f"{source}: {path}.{key} is not a known key{hint}; "
                    f"allowed keys: {', '.join(keys)}"
                )
        self.data = data

    def fail(self, key: str, problem: str, allowed: str) -> ConfigError:
        value = _show(self.data.get(key))
        return ConfigError(
            f"{self.source}: {self.path}.{key} = {value} is invalid ({problem}); "
            f"allowed: {allowed}"
        )

    def get(self, key: str, rule: rules.Rule, default: Any = _MISSING) -> Any:
        if key not in self.data:
            if default is not _MISSING:
                return default
            raise ConfigError(
                f"{self.source}: {self.path}.{key} is missing; allowed: {rule.allowed}"
            )
        problem = rule.problem(self.data[key])
        if problem:
            raise self.fail(key, problem, rule.allowed)
        return self.data[key]

    def section(self, key: str, keys: dict[str, Any]) -> _Section:
        if key not in self.data:
            raise ConfigError(
                f"{self.source}: {self.path}.{key} is missing; "
                f"allowed: an object with keys {', '.join(keys)}"
            )
        return _Section(self.data[key], f"{self.path}.{key}", self.source, keys)


def _show(value: Any) -> str:
    return json.dumps(value) if value is not None else "null"


_FLEET_KEYS = dict.fromkeys(
    ("instance_type", "min", "desired", "max", "capacity_model")
)
_STAGE_KEYS = dict.fromkeys(
    (
        "account",
        "region",
        "availability_zones",
        "vpc_cidr",
        "nat_gateways",
        "s3_prefix_list_id",
        "production",
        "termination_protection",
        "alarm_email",
        "log_retention_days",
        "data_ami_id",
        "edge",
        "fleets",
        "mysql",
        "redis",
        "solr",
        "squid",
        "backup",
        "storage",
    )
)


def load_stages(path: str | Path = DEFAULT_CONFIG_PATH) -> dict[str, StageConfig]:
    """Read and validate every stage in the file, in file order."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such configuration file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not UTF-8 text") from None
    except OSError as err:
        raise ConfigError(f"{source}: cannot be read ({err.strerror})") from None
    try:
        raw = json.loads(text, object_pairs_hook=_no_duplicate_keys(source))
    except (json.JSONDecodeError, RecursionError) as err:
        raise ConfigError(f"{source}: not valid JSON ({type(err).__name__})") from None
    except ValueError as err:
        raise ConfigError(f"{source}: not valid JSON ({err})") from None
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{source}: expected an object mapping stage names to stages")
    stages = {}
    for name, data in raw.items():
        if not _STAGE_NAME.fullmatch(name):
            raise ConfigError(
                f"{source}: stage name {name!r} is invalid; allowed: PascalCase "
                "letters and digits, 2 to 12 long, e.g. Dev or Prod"
            )
        stages[name] = _stage(name, _Section(data, name, source, _STAGE_KEYS))
    _check_no_overlap(stages, source)
    _check_names_unique(stages, source)
    return stages


def _no_duplicate_keys(source: str):
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                raise ConfigError(
                    f"{source}: key {key!r} appears twice in one object; "
                    "allowed: each key once (JSON keeps only the last)"
                )
            seen[key] = value
        return seen

    return hook


def _check_names_unique(stages: dict[str, StageConfig], source: str) -> None:
    """Names become bucket, log group and stage names, so they must not collide."""
    lowered: dict[str, str] = {}
    for name in stages:
        if name.lower() in lowered:
            raise ConfigError(
                f"{source}: stage names {name!r} and {lowered[name.lower()]!r} differ "
                "only in case and would get the same bucket and log group names; "
                "allowed: names unique ignoring case"
            )
        lowered[name.lower()] = name
    for stage in stages.values():
        replica = stage.disaster_recovery
        if replica and replica.name.lower() in lowered:
            raise ConfigError(
                f"{source}: stage name {lowered[replica.name.lower()]!r} is taken by "
                f"{stage.name}'s disaster-recovery stage ({replica.name}); "
                "allowed: another name"
            )


def select_stages(
    stages: dict[str, StageConfig], wanted: str | None
) -> list[StageConfig]:
    """All stages, or the one named by `-c stage=NAME` (a DR name picks its source)."""
    if wanted is None:
        return list(stages.values())
    by_replica = {
        s.disaster_recovery.name: s for s in stages.values() if s.disaster_recovery
    }
    if wanted in by_replica:
        return [by_replica[wanted]]
    if wanted not in stages:
        raise ConfigError(
            f"-c stage={wanted}: no such stage; allowed: "
            f"{', '.join([*stages, *by_replica])}"
        )
    return [stages[wanted]]


def _stage(name: str, s: _Section) -> StageConfig:
    region = s.get("region", rules.region())
    azs = s.get(
        "availability_zones",
        rules.string_list(
            rules.matching(re.compile(r"^[a-z0-9-]+[a-z]$"), "availability zone names"),
            1,
        ),
    )
    production = s.get("production", rules.boolean())
    _check_azs(s, region, azs, production)
    cidr = s.get("vpc_cidr", rules.ipv4_cidr(16, 20))
    _check_subnet_room(s, cidr, len(azs))
    nat = s.get("nat_gateways", rules.integer(1, len(azs)))
    return StageConfig(
        name=name,
        account=s.get("account", rules.account()),
        region=region,
        availability_zones=tuple(azs),
        vpc_cidr=cidr,
        nat_gateways=nat,
        s3_prefix_list_id=s.get("s3_prefix_list_id", rules.prefix_list_id()),
        production=production,
        termination_protection=s.get("termination_protection", rules.boolean()),
        alarm_email=s.get("alarm_email", rules.email()),
        log_retention_days=s.get(
            "log_retention_days", rules.one_of(rules.LOG_RETENTION_DAYS)
        ),
        data_ami_id=s.get("data_ami_id", rules.ami_id()),
        edge=_edge(s.section("edge", dict.fromkeys(_EDGE_KEYS))),
        fleets=_fleets(s.section("fleets", dict.fromkeys(("web", "squid", "solr")))),
        mysql=_mysql(s.section("mysql", dict.fromkeys(_MYSQL_KEYS))),
        redis=_redis(s.section("redis", dict.fromkeys(_REDIS_KEYS))),
        solr=_solr(s.section("solr", dict.fromkeys(("version", "sha512", "heap")))),
        squid=_squid(s.section("squid", dict.fromkeys(("cache_mb", "cache_mem_mb")))),
        backup=_backup(s.section("backup", dict.fromkeys(_BACKUP_KEYS)), region),
        storage=_storage(s.section("storage", dict.fromkeys(_STORAGE_KEYS))),
    )


def _check_azs(s: _Section, region: str, azs: list[str], production: bool) -> None:
    for zone in azs:
        if not re.fullmatch(re.escape(region) + r"[a-z]", zone):
            raise s.fail(
                "availability_zones",
                f"{zone!r} is not in region {region}",
                f"zones of {region}, e.g. {region}a, {region}b",
            )
    if production and len(azs) < 2:
        raise s.fail(
            "availability_zones",
            f"a production stage needs at least 2 zones, got {len(azs)}",
            "2 or more zones when production is true",
        )


def _check_subnet_room(s: _Section, cidr: str, zones: int) -> None:
    """Mirror the CDK's aligned allocation: a too-small VPC fails here, not in jsii."""
    network = ipaddress.IPv4Network(cidr)
    cursor = int(network.network_address)
    for _tier, prefix in SUBNET_LAYOUT:
        size = 2 ** (32 - prefix)
        for _ in range(zones):
            cursor = -(-cursor // size) * size + size
    if cursor > int(network.broadcast_address) + 1:
        layout = ", ".join(f"{tier} /{prefix}" for tier, prefix in SUBNET_LAYOUT)
        raise s.fail(
            "vpc_cidr",
            f"too small for {zones} zones of subnets ({layout})",
            "a larger network, e.g. a /16",
        )


def _instance_type(s: _Section) -> str:
    return s.get("instance_type", rules.instance_type(), DEFAULT_INSTANCE_TYPE)


def _fleet(s: _Section, name: str) -> FleetConfig:
    if name != "web" and "capacity_model" in s.data:
        raise s.fail(
            "capacity_model", "the model sizes the web fleet only", "no such key here"
        )
    if s.get("capacity_model", rules.boolean(), False):
        for key in ("min", "desired", "max"):
            if key in s.data:
                raise s.fail(key, "given beside capacity_model", "one or the other")
        hosts = web_capacity()
        return FleetConfig(_instance_type(s), hosts.min, hosts.desired, hosts.max)
    size = rules.integer(1, MAX_FLEET_SIZE)
    fleet = FleetConfig(
        instance_type=_instance_type(s),
        min=s.get("min", size),
        desired=s.get("desired", size),
        max=s.get("max", size),
    )
    if not fleet.min <= fleet.desired <= fleet.max:
        raise s.fail(
            "desired",
            f"min {fleet.min} <= desired {fleet.desired} <= max {fleet.max} "
            "does not hold",
            "min <= desired <= max",
        )
    return fleet


def _fleets(s: _Section) -> Fleets:
    return Fleets(
        **{
            name: _fleet(s.section(name, _FLEET_KEYS), name)
            for name in ("web", "squid", "solr")
        }
    )


def _mysql(s: _Section) -> MysqlConfig:
    return MysqlConfig(
        instance_type=_instance_type(s),
        # Each shard adds ~54 KB to the Data template; 8 keeps it under half of
        # CloudFormation's 1 MB limit (18 shards would break the deploy).
        shards=s.get("shards", rules.integer(1, MAX_SHARDS)),
        # sc1 volumes exist only from 125 GiB to 16 TiB.
        backup_volume_gib=s.get("backup_volume_gib", rules.integer(125, 16384)),
        version=s.get("version", rules.mysql_version()),
    )


_MYSQL_KEYS = ("instance_type", "shards", "backup_volume_gib", "version")
_REDIS_KEYS = ("instance_type", "maxmemory_mb", "maxmemory_policy")
_EDGE_KEYS = (
    "domain_name",
    "hosted_zone_id",
    "internal_domain",
    "health_check_path",
    "deletion_protection",
    "release_version",
)
REDIS_EVICTION_POLICIES = (
    "noeviction", "allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu",
    "allkeys-random", "volatile-random", "volatile-ttl",
)  # fmt: skip


def _redis(s: _Section) -> RedisConfig:
    return RedisConfig(
        instance_type=_instance_type(s),
        maxmemory_mb=s.get("maxmemory_mb", rules.integer(64, 1_048_576)),
        maxmemory_policy=s.get(
            "maxmemory_policy", rules.one_of(REDIS_EVICTION_POLICIES)
        ),
    )


def _solr(s: _Section) -> SolrConfig:
    return SolrConfig(
        version=s.get("version", rules.matching(
            re.compile(r"^\d+\.\d+\.\d+$"), "a Solr release such as 9.7.0")),
        sha512=s.get("sha512", rules.matching(
            re.compile(r"^[0-9a-f]{128}$"), "the release's SHA-512, 128 hex digits")),
        heap=s.get("heap", rules.matching(
            re.compile(r"^[1-9][0-9]*[mg]$"), "a JVM heap size such as 8g")),
    )  # fmt: skip


def _squid(s: _Section) -> SquidConfig:
    return SquidConfig(
        cache_mb=s.get("cache_mb", rules.integer(100, 700_000)),
        cache_mem_mb=s.get("cache_mem_mb", rules.integer(64, 16_384)),
    )


def _edge(s: _Section) -> EdgeConfig:
    return EdgeConfig(
        domain_name=s.get("domain_name", rules.domain_name()),
        hosted_zone_id=s.get("hosted_zone_id", rules.optional(rules.matching(
            re.compile(r"^Z[0-9A-Z]{5,31}$"), "a Route 53 zone id such as Z0123ABC")),
            None),
        internal_domain=s.get("internal_domain", rules.domain_name()),
        health_check_path=s.get("health_check_path", rules.matching(
            re.compile(r"^/[A-Za-z0-9._~/-]*$"), "a URL path such as /health")),
        deletion_protection=s.get("deletion_protection", rules.boolean()),
        release_version=s.get("release_version", rules.optional(rules.matching(
            re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"),
            "a release name such as 2026.12.04-1")), None),
    )  # fmt: skip


_BACKUP_KEYS = (
    "schedule",
    "verify_schedule",
    "retention_days",
    "archive_after_days",
    "object_lock_days",
    "local_copies_days",
    "min_backup_bytes",
    "replica_region",
)
_STORAGE_KEYS = ("uploads_infrequent_access_days", "noncurrent_version_days")


def _backup(s: _Section, region: str) -> BackupConfig:
    backup = BackupConfig(
        schedule=s.get("schedule", rules.eventbridge_cron()),
        verify_schedule=s.get("verify_schedule", rules.eventbridge_cron()),
        retention_days=s.get("retention_days", rules.integer(2, 3650)),
        archive_after_days=s.get("archive_after_days", rules.integer(1, 3650)),
        object_lock_days=s.get("object_lock_days", rules.integer(1, 3650)),
        local_copies_days=s.get("local_copies_days", rules.integer(1, 30)),
        min_backup_bytes=s.get("min_backup_bytes", rules.integer(1, 2**50)),
        replica_region=s.get("replica_region", rules.optional(rules.region()), None),
    )
    if backup.replica_region == region:
        raise s.fail(
            "replica_region", "the same region as the stage", "another region, or null"
        )
    for key in ("archive_after_days", "object_lock_days"):
        if getattr(backup, key) >= backup.retention_days:
            raise s.fail(
                key,
                f"not shorter than retention_days {backup.retention_days}",
                "fewer days than retention_days",
            )
    return backup


def _storage(s: _Section) -> StorageConfig:
    days = rules.integer(1, 3650)
    return StorageConfig(
        # S3 moves objects to Standard-IA no sooner than 30 days after creation.
        uploads_infrequent_access_days=s.get(
            "uploads_infrequent_access_days", rules.integer(30, 3650)
        ),
        noncurrent_version_days=s.get("noncurrent_version_days", days),
    )


def _check_no_overlap(stages: dict[str, StageConfig], source: str) -> None:
    """Stage VPCs must not overlap, so they can be peered or routed later."""
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    for stage in stages.values():
        network = ipaddress.IPv4Network(stage.vpc_cidr)
        for other, other_network in seen:
            if network.overlaps(other_network):
                raise ConfigError(
                    f"{source}: {stage.name}.vpc_cidr = {_show(stage.vpc_cidr)} is "
                    f"invalid (overlaps {other}.vpc_cidr {other_network}); "
                    "allowed: a CIDR that no other stage uses"
                )
        seen.append((stage.name, network))
