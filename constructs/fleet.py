"""A stateless EC2 tier: launch template, Auto Scaling group, boot-time signals."""

from __future__ import annotations

import functools
import math

import aws_cdk as cdk
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns

from config.model import FleetConfig
from constructs import Construct
from constructs.host_config import disk_init
from constructs.nag import acknowledge

ROOT_DEVICE = "/dev/xvda"
ROOT_VOLUME_GIB = 30
# i2 hosts run on Xen, where the mapping's /dev/sdb shows up as /dev/xvdb.
INSTANCE_STORE_DEVICE = "/dev/sdb"
INSTANCE_STORE_CANDIDATES = ("/dev/xvdb", "/dev/sdb", "instance-store")
INSTANCE_STORE_VOLUME = ec2.BlockDeviceVolume.ephemeral(0)
DATA_DISK_UNIT = "data-disk.service"
DATA_DISK_CONFIG = "DataDisk"
MIN_SIGNAL_TIMEOUT = cdk.Duration.minutes(15)
MIN_SIGNAL_TIMEOUT_SECONDS = MIN_SIGNAL_TIMEOUT.to_seconds()
DEFAULT_SIGNAL_TIMEOUT = cdk.Duration.minutes(20)
# A rolling update replaces a third of the desired hosts at a time.
ROLLING_BATCHES = 3


class Fleet(Construct):
    """Hosts boot with IMDSv2 and encrypted disks, signal ready, and roll in batches."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage_name: str,
        tier: str,
        host_role: str,
        size: FleetConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        machine_image: ec2.IMachineImage,
        role: iam.IRole,
        security_group: ec2.ISecurityGroup,
        volume_key: kms.IKey,
        init: ec2.CloudFormationInit,
        notifications_topic: sns.ITopic,
        behind_load_balancer: bool = False,
        signal_timeout: cdk.Duration = DEFAULT_SIGNAL_TIMEOUT,
        data_mount_point: str = "/data",
    ) -> None:
        super().__init__(scope, id)
        if signal_timeout.to_seconds() < MIN_SIGNAL_TIMEOUT_SECONDS:
            raise ValueError(
                f"{tier} fleet: signal_timeout {signal_timeout.to_human_string()} is "
                "too short; allowed: 15 minutes or more (i2 hosts boot slowly)"
            )
        # The instance store is formatted and mounted before the tier's own config.
        init.add_config(
            DATA_DISK_CONFIG,
            disk_init(
                unit=DATA_DISK_UNIT,
                label="data",
                mount_point=data_mount_point,
                candidates=INSTANCE_STORE_CANDIDATES,
                ephemeral=True,
            ),
        )
        init.add_config_set(DATA_DISK_CONFIG, [DATA_DISK_CONFIG])
        self.launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            instance_type=instance_type(size.instance_type),
            machine_image=machine_image,
            role=role,
            security_group=security_group,
            user_data=ec2.UserData.for_linux(),
            require_imdsv2=True,
            http_tokens=ec2.LaunchTemplateHttpTokens.REQUIRED,
            detailed_monitoring=True,
            block_devices=host_disks(volume_key),
        )
        grace = signal_timeout
        health_checks = (
            autoscaling.HealthChecks.with_additional_checks(
                additional_types=[autoscaling.AdditionalHealthCheckType.ELB],
                grace_period=grace,
            )
            if behind_load_balancer
            else autoscaling.HealthChecks.ec2(grace_period=grace)
        )
        self.group = autoscaling.AutoScalingGroup(
            self,
            "Group",
            vpc=vpc,
            vpc_subnets=subnets,
            launch_template=self.launch_template,
            min_capacity=size.min,
            desired_capacity=size.desired,
            max_capacity=size.max,
            health_checks=health_checks,
            notifications=[
                autoscaling.NotificationConfiguration(topic=notifications_topic)
            ],
            init=init,
            init_options=autoscaling.ApplyCloudFormationInitOptions(
                config_sets=[DATA_DISK_CONFIG, "default"], print_log=True
            ),
            signals=autoscaling.Signals.wait_for_all(timeout=signal_timeout),
            update_policy=autoscaling.UpdatePolicy.rolling_update(
                max_batch_size=max(1, math.ceil(size.desired / ROLLING_BATCHES)),
                # CloudFormation needs this below max; a fleet of one is replaced.
                min_instances_in_service=min(size.min, size.max - 1),
                wait_on_resource_signals=True,
                pause_time=signal_timeout,
            ),
        )

        # On the group and the launch template, so instances and volumes carry them.
        tags = {"stage": stage_name, "tier": tier, "role": host_role}
        applied = cdk.Tags.of(self)
        for key, value in tags.items():
            applied.add(key, value)
        self.launch_template.node.default_child.add_property_override(
            "LaunchTemplateData.TagSpecifications",
            [
                {
                    "ResourceType": resource_type,
                    "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
                }
                for resource_type in ("instance", "volume")
            ],
        )

        cdk.Annotations.of(self.group).acknowledge_warning(
            "@aws-cdk/aws-autoscaling:desiredCapacitySet",
            "Desired capacity comes from the capacity model in config; a deploy "
            "resetting the group to it is intended.",
        )
        acknowledge(
            self.group.node.default_child,
            "AwsSolutions-EC26",
            "The rule cannot read the instance-store mapping (ephemeral0), which has "
            "no EBS settings; the only EBS volume, the gp3 root, is KMS-encrypted.",
        )


# CloudFormation's own check (not a cdk-nag rule) on every fixed data host.
PINNED_IMAGE = cdk.Acknowledgment(
    id="CloudFormation-Validate::W9010",
    reason="The image is pinned on purpose: a new AMI must never replace a host "
    "whose data lives on its instance store.",
)


def fixed_host(
    scope: Construct,
    *,
    vpc: ec2.IVpc,
    subnet: ec2.ISubnet,
    instance_type_name: str,
    machine_image: ec2.IMachineImage,
    role: iam.IRole,
    security_group: ec2.ISecurityGroup,
    volume_key: kms.IKey,
    configs: dict[str, ec2.InitConfig],
    signal_timeout: cdk.Duration,
    tags: dict[str, str],
) -> ec2.Instance:
    """A MySQL or Redis host: one retained instance whose data is on its SSD.

    Termination-protected, IMDSv2 only, booted by cfn-init with `configs` in
    order, and never stopped by a config change: user data keeps no config
    fingerprint and does not replace the host, because a stop wipes the
    instance store. `tags` go on the host and its volumes.
    """
    instance = ec2.Instance(
        scope,
        "Instance",
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnets=[subnet]),
        instance_type=instance_type(instance_type_name),
        machine_image=machine_image,
        role=role,
        security_group=security_group,
        http_tokens=ec2.HttpTokens.REQUIRED,
        detailed_monitoring=True,
        ebs_optimized=True,
        disable_api_termination=True,
        propagate_tags_to_volume_on_creation=True,
        block_devices=host_disks(volume_key),
        init=ec2.CloudFormationInit.from_config_sets(
            config_sets={"default": list(configs)}, configs=configs
        ),
        init_options=ec2.ApplyCloudFormationInitOptions(
            timeout=signal_timeout, print_log=True, embed_fingerprint=False
        ),
        user_data_causes_replacement=False,
    )
    instance.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
    applied = cdk.Tags.of(scope)
    for key, value in tags.items():
        applied.add(key, value)
    return instance


@functools.cache
def instance_type(name: str) -> ec2.InstanceType:
    """The InstanceType `name`, a value every host of that type shares."""
    return ec2.InstanceType(name)


def host_disks(volume_key: kms.IKey) -> list[ec2.BlockDevice]:
    """A KMS-encrypted gp3 root volume and the instance-store SSD (ephemeral0)."""
    return [
        ec2.BlockDevice(device_name=ROOT_DEVICE, volume=_root_volume(volume_key)),
        ec2.BlockDevice(
            device_name=INSTANCE_STORE_DEVICE, volume=INSTANCE_STORE_VOLUME
        ),
    ]


# Keyed by the stack's key: bounded, so a process building many apps (the
# tests) does not keep every app's key alive.
@functools.lru_cache(maxsize=16)
def _root_volume(volume_key: kms.IKey) -> ec2.BlockDeviceVolume:
    # An immutable value: the hosts sharing a key share one, made in one round trip.
    return ec2.BlockDeviceVolume.ebs(
        ROOT_VOLUME_GIB,
        volume_type=ec2.EbsDeviceVolumeType.GP3,
        encrypted=True,
        kms_key=volume_key,
        delete_on_termination=True,
    )
