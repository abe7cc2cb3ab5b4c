"""One MySQL host of a shard: data on the instance-store SSD, backups on sc1."""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ssm as ssm

from config.model import DEFAULT_INSTANCE_TYPE
from constructs import Construct, fleet
from constructs import host_config as hc
from constructs.fleet import (
    INSTANCE_STORE_CANDIDATES,
    MIN_SIGNAL_TIMEOUT_SECONDS,
)
from constructs.nag import acknowledge, acknowledgment

# sc1 volumes exist only in this range.
SC1_MIN_GIB, SC1_MAX_GIB = 125, 16384
BACKUP_DEVICE = "/dev/sdf"
# Xen hosts (i2) show the mapping above under this name.
BACKUP_DEVICE_XEN = "/dev/xvdf"
DATA_MOUNT, BACKUP_MOUNT = "/data", "/backup"
DATA_UNIT, BACKUP_UNIT = "data-disk.service", "backup-disk.service"
BINLOG_RETENTION_SECONDS = 7 * 24 * 3600
MAX_CONNECTIONS = 2000
DEFAULT_SIGNAL_TIMEOUT = cdk.Duration.minutes(30)
_VERSION = re.compile(r"^8\.(0|4)\.\d+$")


class MysqlHost(Construct):
    """A retained, termination-protected MySQL host; its sc1 volume holds /backup."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage_name: str,
        shard: int,
        primary_host: str | None,
        vpc: ec2.IVpc,
        vpc_cidr: str,
        subnet: ec2.ISubnet,
        machine_image: ec2.IMachineImage,
        role: iam.IRole,
        security_group: ec2.ISecurityGroup,
        volume_key: kms.IKey,
        backup_volume_gib: int,
        mysql_version: str,
        port: int,
        replication_parameter: str,
        proxy_url: str,
        internal_domain: str,
        instance_type: str = DEFAULT_INSTANCE_TYPE,
        replication_parameter_key: kms.IKey | None = None,
        signal_timeout: cdk.Duration = DEFAULT_SIGNAL_TIMEOUT,
    ) -> None:
        super().__init__(scope, id)
        _check(self, backup_volume_gib, mysql_version, machine_image, signal_timeout)
        host_role = "primary" if primary_host is None else "replica"
        region = cdk.Stack.of(self).region
        self.backup_volume = ec2.Volume(
            self,
            "BackupVolume",
            availability_zone=subnet.availability_zone,
            size=cdk.Size.gibibytes(backup_volume_gib),
            volume_type=ec2.EbsDeviceVolumeType.SC1,
            encrypted=True,
            encryption_key=volume_key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        backup_volume_id = self.backup_volume.volume_id
        conf = hc.my_cnf(
            role=host_role,
            shard=shard,
            # Unique per host: primaries odd, replicas even, shards apart.
            server_id=shard * 2 + (1 if primary_host is None else 2),
            port=port,
            data_dir=f"{DATA_MOUNT}/mysql",
            tmp_dir=f"{DATA_MOUNT}/mysql-tmp",
            read_only=primary_host is not None,
            binlog_retention_seconds=BINLOG_RETENTION_SECONDS,
            max_connections=MAX_CONNECTIONS,
        )
        download_env = hc.proxy_env(proxy_url, vpc_cidr, internal_domain)
        configs = {
            "Proxy": hc.proxy_init(proxy_url, vpc_cidr, internal_domain),
            "DataDisk": hc.disk_init(
                unit=DATA_UNIT,
                label="data",
                mount_point=DATA_MOUNT,
                candidates=INSTANCE_STORE_CANDIDATES,
                ephemeral=True,
            ),
            # CloudFormation attaches the volume only after this host has
            # signalled, so the boot starts its mount without waiting for it.
            "BackupDisk": hc.disk_init(
                unit=BACKUP_UNIT,
                label="backup",
                mount_point=BACKUP_MOUNT,
                candidates=(
                    BACKUP_DEVICE_XEN,
                    BACKUP_DEVICE,
                    f"ebs:{backup_volume_id}",
                ),
                ephemeral=False,
                wait_for_attachment=True,
            ),
            "Mysql": hc.mysql_init(
                conf,
                version=mysql_version,
                data_dir=f"{DATA_MOUNT}/mysql",
                tmp_dir=f"{DATA_MOUNT}/mysql-tmp",
                data_unit=DATA_UNIT,
                download_env=download_env,
            ),
            "Replication": hc.replication_init(
                parameter=replication_parameter,
                region=region,
                account_host=hc.mysql_account_host(vpc_cidr),
                source=None if primary_host is None else (primary_host, port),
            ),
        }
        self.instance = fleet.fixed_host(
            self,
            vpc=vpc,
            subnet=subnet,
            instance_type_name=instance_type,
            machine_image=machine_image,
            role=role,
            security_group=security_group,
            volume_key=volume_key,
            configs=configs,
            signal_timeout=signal_timeout,
            tags={
                "stage": stage_name,
                "tier": "mysql",
                "role": host_role,
                "shard": str(shard),
            },
        )

        ec2.CfnVolumeAttachment(
            self,
            "BackupVolumeAttachment",
            instance_id=self.instance.instance_id,
            volume_id=backup_volume_id,
            device=BACKUP_DEVICE,
        )

        ssm.StringParameter.from_secure_string_parameter_attributes(
            self,
            "ReplicationPassword",
            parameter_name=replication_parameter,
            encryption_key=replication_parameter_key,
        ).grant_read(role)

        self._acknowledge()

    def _acknowledge(self) -> None:
        cdk.Validations.of(self.instance.instance).acknowledge(
            fleet.PINNED_IMAGE,
            acknowledgment(
                "AwsSolutions-EC26",
                "The rule cannot read the instance-store mapping (ephemeral0), which "
                "has no EBS settings; the gp3 root and the sc1 volume are "
                "KMS-encrypted.",
            ),
        )
        acknowledge(
            self.backup_volume.node.default_child,
            "NIST.800.53.R5-EC2EBSInBackupPlan",
            "The sc1 volume only stages the nightly dump, which is copied to the "
            "versioned, replicated backup bucket; the bucket is the backup.",
        )


def _check(
    scope: Construct,
    size_gib: int,
    version: str,
    image: ec2.IMachineImage,
    signal_timeout: cdk.Duration,
) -> None:
    if signal_timeout.to_seconds() < MIN_SIGNAL_TIMEOUT_SECONDS:
        raise ValueError(
            f"signal_timeout = {signal_timeout.to_human_string()} is too short; "
            "allowed: 15 minutes or more (MySQL installs and initialises at boot)"
        )
    if not SC1_MIN_GIB <= size_gib <= SC1_MAX_GIB:
        raise ValueError(
            f"backup_volume_gib = {size_gib} is invalid (no sc1 volume of that "
            f"size); allowed: {SC1_MIN_GIB}..{SC1_MAX_GIB} GiB"
        )
    if not _VERSION.match(version):
        raise ValueError(
            f"mysql_version = {version!r} is invalid; allowed: 8.0.x or 8.4.x, "
            "e.g. 8.4.3"
        )
    # An AMI resolved at deploy time would replace the host when AWS publishes a
    # new one, and a replacement starts with an empty instance store.
    if cdk.Token.is_unresolved(image.get_image(scope).image_id):
        raise ValueError(
            "machine_image resolves only at deploy time; allowed: an image pinned "
            "per region, e.g. ec2.MachineImage.generic_linux({region: ami_id})"
        )
