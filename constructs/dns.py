"""The stage's DNS: the public zone users resolve and the private zone hosts resolve."""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets

from config.ports import HTTPS
from constructs import Construct

# Short, so moving an internal name to a new host (e.g. after a MySQL failover)
# reaches every resolver within a minute.
INTERNAL_RECORD_TTL = cdk.Duration.minutes(1)


class Dns(Construct):
    """A public zone (new or imported) and a private zone resolvable only in the VPC."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        domain_name: str,
        private_domain_name: str,
        vpc: ec2.IVpc,
        hosted_zone_id: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        if hosted_zone_id is None:
            zone = route53.PublicHostedZone(self, "PublicZone", zone_name=domain_name)
            # Replacing the zone changes its name servers, which breaks the
            # delegation in the parent zone until someone updates it by hand.
            zone.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
            self.public_zone: route53.IPublicHostedZone = zone
        else:
            self.public_zone = (
                route53.PublicHostedZone.from_public_hosted_zone_attributes(
                    self,
                    "PublicZone",
                    hosted_zone_id=hosted_zone_id,
                    zone_name=domain_name,
                )
            )
        self.private_zone = route53.PrivateHostedZone(
            self, "PrivateZone", zone_name=private_domain_name, vpc=vpc
        )

        if hosted_zone_id is None:
            # The parent zone must delegate to these before a certificate for
            # the domain can be validated.
            cdk.CfnOutput(
                self,
                "NameServers",
                value=cdk.Fn.join(",", zone.hosted_zone_name_servers),
            )

    # Records are made in the caller's `scope`, the stack of what they point at,
    # so the zones' stack never depends on the load balancer's or the hosts'.

    def alias_load_balancer(
        self,
        scope: Construct,
        load_balancer: elbv2.IApplicationLoadBalancer,
        *,
        health_check_path: str,
    ) -> route53.HealthCheck:
        """In `scope`, alias the public name to the ALB (A and AAAA) and probe it."""
        if load_balancer.ip_address_type != elbv2.IpAddressType.DUAL_STACK:
            raise ValueError("an AAAA alias needs a dual-stack load balancer")
        target = route53.RecordTarget.from_alias(
            targets.LoadBalancerTarget(load_balancer)
        )
        route53.ARecord(
            scope, "LoadBalancerAlias", zone=self.public_zone, target=target
        )
        route53.AaaaRecord(
            scope, "LoadBalancerAliasIpv6", zone=self.public_zone, target=target
        )

        return route53.HealthCheck(
            scope,
            "LoadBalancerHealthCheck",
            type=route53.HealthCheckType.HTTPS,
            fqdn=self.public_zone.zone_name,
            port=HTTPS,
            resource_path=health_check_path,
        )

    def add_internal_address(
        self, scope: Construct, name: str, *ip_addresses: str
    ) -> route53.ARecord:
        """In `scope`, resolve `name` in the private zone to these IPv4 addresses."""
        return route53.ARecord(
            scope,
            f"{_construct_id(name)}Address",
            zone=self.private_zone,
            record_name=name,
            target=route53.RecordTarget.from_ip_addresses(*ip_addresses),
            ttl=INTERNAL_RECORD_TTL,
        )

    def add_internal_alias(
        self, scope: Construct, name: str, target_name: str
    ) -> route53.CnameRecord:
        """In `scope`, resolve `name` in the private zone to another DNS name."""
        return route53.CnameRecord(
            scope,
            f"{_construct_id(name)}Alias",
            zone=self.private_zone,
            record_name=name,
            domain_name=target_name,
            ttl=INTERNAL_RECORD_TTL,
        )


def _construct_id(name: str) -> str:
    """A stable PascalCase construct id from a record name like "mysql-0-primary"."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", name))
