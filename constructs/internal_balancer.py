"""A stable private name in front of a fleet: an internal NLB in the tier's group."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3

from constructs import Construct
from constructs.nag import acknowledge


class InternalBalancer(Construct):
    """Clients in the VPC reach the fleet by one name, and only healthy hosts serve."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        port: int,
        fleet: autoscaling.AutoScalingGroup,
        access_logs: s3.IBucket,
        access_logs_prefix: str,
    ) -> None:
        super().__init__(scope, id)
        # The fleet's own group: the matrix lets it reach itself on `port`.
        self.load_balancer = elbv2.NetworkLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=False,
            vpc_subnets=ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
            ),
            security_groups=[security_group],
            cross_zone_enabled=True,
        )
        listener = self.load_balancer.add_listener(
            "Listener", port=port, protocol=elbv2.Protocol.TCP
        )

        self.target_group = listener.add_targets(
            "Fleet",
            port=port,
            protocol=elbv2.Protocol.TCP,
            targets=[fleet],
            health_check=elbv2.HealthCheck(protocol=elbv2.Protocol.TCP),
            deregistration_delay=cdk.Duration.seconds(30),
        )
        self.load_balancer.log_access_logs(access_logs, access_logs_prefix)
        self.dns_name = self.load_balancer.load_balancer_dns_name

        acknowledge(
            listener.node.default_child,
            "NIST.800.53.R5-ELBv2ACMCertificateRequired",
            "A TCP pass-through inside the VPC: proxy clients tunnel their own TLS "
            "through CONNECT, and search is reached only from the web tier.",
        )
        acknowledge(
            self.load_balancer.node.default_child,
            "NIST.800.53.R5-ELBDeletionProtectionEnabled",
            "An internal balancer holds no data and is re-created with its fleet.",
        )
