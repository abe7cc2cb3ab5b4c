"""Operations stack: backup orchestration, verification and their alarms."""

from __future__ import annotations

from aws_cdk import aws_sns as sns

from config import StageConfig
from constructs import Construct
from constructs.backup_operations import BackupOperations
from constructs.keys import PlatformKeys
from stacks.base import PlatformStack


class OperationsStack(PlatformStack):
    """Holds the jobs that keep data safe and the alarms that say when they fail."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage: StageConfig,
        keys: PlatformKeys,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, id, stage=stage, description="backups and alarms")
        self.backups = BackupOperations(
            self,
            "Backups",
            stage=stage,
            data_key=keys.data,
            log_key=keys.operations,
            topic=topic,
        )
