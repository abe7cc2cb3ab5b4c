"""Base class of every stack: the stage's account, region and zones, no lookups."""

from __future__ import annotations

import aws_cdk as cdk

from config import StageConfig
from constructs import Construct


class PlatformStack(cdk.Stack):
    """A stack that knows its zones from config, so synth never asks AWS for them."""

    def __init__(
        self, scope: Construct, id: str, *, stage: StageConfig, description: str
    ) -> None:
        super().__init__(
            scope,
            id,
            env=cdk.Environment(account=stage.account, region=stage.region),
            description=f"{stage.name}: {description}",
            termination_protection=stage.termination_protection,
        )
        self._zones = list(stage.availability_zones)

    @property
    def availability_zones(self) -> list[str]:
        # Overriding this is the CDK's documented way to avoid the context lookup.
        return self._zones
