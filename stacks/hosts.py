"""What every host-running stack shares: images, subnets and the proxy's name."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from config import StageConfig
from config.ports import SQUID
from constructs.dns import Dns
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
