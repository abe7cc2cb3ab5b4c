"""Network stack: the stage's VPC."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from constructs import Construct

from config import StageConfig
from constructs.network import Network


class NetworkStack(cdk.Stack):
    """Holds the VPC, its flow logs and its AWS endpoints."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage: StageConfig,
        logs_key: kms.IKey,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.network = Network(self, "Network", stage=stage, logs_key=logs_key)
