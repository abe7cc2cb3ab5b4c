"""App stack (stateless): the web fleet, the Squid fleet and their roles."""

from __future__ import annotations

from config import StageConfig
from config.naming import bucket_name
from config.ports import SQUID_TIER, WEB
from constructs import Construct
from constructs.keys import PlatformKeys
from constructs.tier_role import BucketAccess, TierRole
from stacks.base import PlatformStack


class AppStack(PlatformStack):
    """Holds the replaceable fleets; nothing here stores data of its own."""

    def __init__(
        self, scope: Construct, id: str, *, stage: StageConfig, keys: PlatformKeys
    ) -> None:
        super().__init__(scope, id, stage=stage, description="web and proxy fleets")
        common = {"stage": stage, "data_key": keys.data, "log_key": keys.operations}
        self.roles = {
            WEB: TierRole(
                self,
                "WebRole",
                tier=WEB,
                buckets=(
                    BucketAccess(bucket_name(stage, "artifacts"), "releases/"),
                    BucketAccess(bucket_name(stage, "uploads"), "", write=True),
                ),
                parameter_paths=(f"slack/{stage.name.lower()}/web",),
                **common,
            ),
            SQUID_TIER: TierRole(self, "SquidRole", tier=SQUID_TIER, **common),
        }
