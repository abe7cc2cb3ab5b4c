"""The stage's alarm topic: encrypted, TLS-only, mailing the on-call address."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions

from constructs import Construct


class AlarmTopic(Construct):
    """One topic every alarm and security event of the stage is sent to."""

    def __init__(self, scope: Construct, id: str, *, key: kms.IKey, email: str) -> None:
        super().__init__(scope, id)
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="Platform alarms",
            master_key=key,
            enforce_ssl=True,
        )

        self.topic.add_subscription(subscriptions.EmailSubscription(email))
