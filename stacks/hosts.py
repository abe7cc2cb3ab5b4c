"""What every host-running stack shares: images, subnets and the proxy's name."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2

from config import StageConfig
from config.ports import SQUID

PROXY_RECORD = "proxy"


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
