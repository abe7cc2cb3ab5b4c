"""Data stack (stateful): MySQL, Redis and Solr hosts and their roles."""

from __future__ import annotations

from config import StageConfig
from config.naming import bucket_name
from config.ports import MYSQL_TIER, REDIS_TIER, SOLR_TIER
from constructs import Construct
from constructs.keys import PlatformKeys
from constructs.tier_role import BucketAccess, TierRole
from stacks.base import PlatformStack


class DataStack(PlatformStack):
    """Holds the hosts whose disks carry data; protected from accidental deletion."""

    def __init__(
        self, scope: Construct, id: str, *, stage: StageConfig, keys: PlatformKeys
    ) -> None:
        super().__init__(scope, id, stage=stage, description="MySQL, Redis, Solr")
        common = {"stage": stage, "data_key": keys.data, "log_key": keys.operations}
        self.roles = {
            MYSQL_TIER: TierRole(
                self,
                "MysqlRole",
                tier=MYSQL_TIER,
                buckets=(
                    BucketAccess(
                        bucket_name(stage, "backups"),
                        f"mysql/{stage.name.lower()}/",
                        write=True,
                    ),
                ),
                parameter_paths=(f"slack/{stage.name.lower()}/mysql",),
                **common,
            ),
            REDIS_TIER: TierRole(
                self,
                "RedisRole",
                tier=REDIS_TIER,
                parameter_paths=(f"slack/{stage.name.lower()}/redis",),
                **common,
            ),
            SOLR_TIER: TierRole(self, "SolrRole", tier=SOLR_TIER, **common),
        }
