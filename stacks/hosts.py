"""What every host-running stack shares: images, subnets and the proxy's name."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from config import StageConfig
from config.model import FleetConfig
from config.ports import SQUID
from constructs import Construct
from constructs.dns import Dns
from constructs.fleet import Fleet
from constructs.keys import PlatformKeys
from constructs.security_groups import TierSecurityGroups

PROXY_RECORD = "proxy"


@dataclass(frozen=True)
class SharedServices:
    """What every host stack takes from the Security and Network stacks."""

    keys: PlatformKeys
    vpc: ec2.IVpc
    groups: TierSecurityGroups
    dns: Dns
    logs_bucket: s3.IBucket
    topic: sns.ITopic

    def fleet(
        self,
        scope: Construct,
        id: str,
        *,
        stage: StageConfig,
        tier: str,
        host_role: str,
        size: FleetConfig,
        role: iam.IRole,
        init: ec2.CloudFormationInit,
    ) -> Fleet:
        """A tier's stateless fleet behind its balancer, in the private subnets.

        Current Amazon Linux, the tier's security group, volumes under the data
        key, scaling events to the alarm topic; `role` is used as it is.
        """
        return Fleet(
            scope,
            id,
            stage_name=stage.name,
            tier=tier,
            host_role=host_role,
            size=size,
            vpc=self.vpc,
            subnets=private_subnets(self.vpc),
            machine_image=fleet_image(),
            role=role.without_policy_updates(),
            security_group=self.groups[tier],
            volume_key=self.keys.data,
            init=init,
            notifications_topic=self.topic,
            behind_load_balancer=True,
        )


def fleet_image() -> ec2.IMachineImage:
    """Stateless fleets boot the current Amazon Linux 2023, resolved at deploy time.

    A new image rolls them through their rolling update; nothing is lost.
    """
    return ec2.MachineImage.latest_amazon_linux2023()


def data_image(stage: StageConfig) -> ec2.IMachineImage:
    """Hosts with data on the instance store boot the image pinned in config."""
    return ec2.MachineImage.generic_linux({stage.region: stage.data_ami_id})


def proxy_url(stage: StageConfig) -> str:
    """The outbound proxy every private tier is configured with."""
    return f"http://{PROXY_RECORD}.{stage.edge.internal_domain}:{SQUID}"


def private_subnets(vpc: ec2.IVpc) -> ec2.SubnetSelection:
    return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
