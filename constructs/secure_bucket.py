"""An S3 bucket that is private, encrypted, TLS-only, versioned and retained."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from constructs import Construct
from constructs.nag import acknowledge_all

# Read once: each read of a jsii static property is a round trip.
BLOCK_ALL = s3.BlockPublicAccess.BLOCK_ALL
NOT_REPLICATED = (
    "NIST.800.53.R5-S3BucketReplicationEnabled",
    "Only the backups bucket holds data that is not derived or re-creatable; it "
    "alone replicates to the DR region.",
)


class SecureBucket(Construct):
    """A bucket nobody can make public, read over plain HTTP or delete with a stack.

    `acknowledgements` are the (cdk-nag rule, reason) pairs its use exempts it
    from; they are recorded after the bucket's own, in the same jsii call.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket_name: str,
        encryption_key: kms.IKey | None,
        access_logs: s3.IBucket | None,
        replicated: bool = False,
        acknowledgements: Sequence[tuple[str, str]] = (),
        **bucket_props,
    ) -> None:
        super().__init__(scope, id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            block_public_access=BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            encryption=(
                s3.BucketEncryption.KMS
                if encryption_key
                else s3.BucketEncryption.S3_MANAGED
            ),
            encryption_key=encryption_key,
            bucket_key_enabled=encryption_key is not None,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=f"s3/{bucket_name}/" if access_logs else None,
            **bucket_props,
        )

        rules = [*([] if replicated else [NOT_REPLICATED]), *acknowledgements]
        if rules:
            acknowledge_all(self.bucket.node.default_child, rules)
