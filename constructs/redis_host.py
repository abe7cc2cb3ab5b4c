"""One Redis host: data on the instance-store SSD, persisted, primary or replica."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from config.model import RedisConfig
from constructs import Construct
from constructs import host_config as hc
from constructs.fleet import INSTANCE_STORE_CANDIDATES, PINNED_IMAGE, fixed_host
from constructs.nag import acknowledgment

DATA_MOUNT = "/data"
DATA_UNIT = "data-disk.service"
SIGNAL_TIMEOUT = cdk.Duration.minutes(20)


class RedisHost(Construct):
    """A retained, termination-protected Redis node that signals once it serves."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage_name: str,
        config: RedisConfig,
        primary_address: str | None,
        port: int,
        vpc: ec2.IVpc,
        subnet: ec2.ISubnet,
        machine_image: ec2.IMachineImage,
        role: iam.IRole,
        security_group: ec2.ISecurityGroup,
        volume_key: kms.IKey,
    ) -> None:
        super().__init__(scope, id)
        host_role = "primary" if primary_address is None else "replica"
        conf = hc.redis_conf(
            port=port,
            data_dir=f"{DATA_MOUNT}/redis",
            config_dir="/etc/redis6",
            maxmemory_mb=config.maxmemory_mb,
            maxmemory_policy=config.maxmemory_policy,
            replica_of=None if primary_address is None else (primary_address, port),
        )
        configs = {
            "DataDisk": hc.disk_init(
                unit=DATA_UNIT,
                label="data",
                mount_point=DATA_MOUNT,
                candidates=INSTANCE_STORE_CANDIDATES,
                ephemeral=True,
            ),
            "Redis": hc.redis_init(conf, data_dir=f"{DATA_MOUNT}/redis"),
        }
        self.instance = fixed_host(
            self,
            vpc=vpc,
            subnet=subnet,
            instance_type_name=config.instance_type,
            machine_image=machine_image,
            role=role,
            security_group=security_group,
            volume_key=volume_key,
            configs=configs,
            signal_timeout=SIGNAL_TIMEOUT,
            tags={"stage": stage_name, "tier": "redis", "role": host_role},
        )

        cdk.Validations.of(self.instance.instance).acknowledge(
            acknowledgment(
                "AwsSolutions-EC26",
                "The rule cannot read the instance-store mapping (ephemeral0), which "
                "has no EBS settings; the only EBS volume, the gp3 root, is "
                "KMS-encrypted.",
            ),
            PINNED_IMAGE,
        )
