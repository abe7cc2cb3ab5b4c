"""Security stack: the stage's KMS keys (audit, IAM and alarms join here later)."""

from __future__ import annotations

from config import StageConfig
from constructs import Construct
from constructs.keys import PlatformKeys
from stacks.base import PlatformStack


class SecurityStack(PlatformStack):
    """Holds the keys every other stack of the stage encrypts with."""

    def __init__(self, scope: Construct, id: str, *, stage: StageConfig) -> None:
        super().__init__(scope, id, stage=stage, description="KMS keys")
        self.keys = PlatformKeys(self, "Keys", stage=stage)
