"""Security stack: the stage's KMS keys (audit, IAM and alarms join here later)."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from config import StageConfig
from constructs.keys import PlatformKeys


class SecurityStack(cdk.Stack):
    """Holds the keys every other stack of the stage encrypts with."""

    def __init__(
        self, scope: Construct, id: str, *, stage: StageConfig, **kwargs
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.keys = PlatformKeys(self, "Keys", stage=stage)
