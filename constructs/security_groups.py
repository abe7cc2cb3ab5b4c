"""One security group per tier, every rule derived from the declared port matrix."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2

from config.ports import ENDPOINTS, INTERNET, PORT_MATRIX, S3, TIERS, Flow
from constructs import Construct
from constructs.nag import acknowledge


class TierSecurityGroups(Construct):
    """Groups that allow exactly the matrix: nothing else in, nothing else out."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc,
        endpoints: ec2.ISecurityGroup,
        s3_prefix_list_id: str,
    ) -> None:
        super().__init__(scope, id)
        self.groups: dict[str, ec2.SecurityGroup] = {
            tier: ec2.SecurityGroup(
                self,
                tier.capitalize(),
                vpc=vpc,
                description=f"{tier} tier",
                allow_all_outbound=False,
                allow_all_ipv6_outbound=False,
            )
            for tier in TIERS
        }
        self._endpoints = endpoints
        self._s3 = ec2.Peer.prefix_list(s3_prefix_list_id)
        # Ports and peers are values and a group's connections never change: one
        # jsii object each serves every flow, rather than a round trip per rule.
        self._ports = {
            port: ec2.Port.tcp(port) for port in {f.port for f in PORT_MATRIX}
        }
        self._anywhere = (ec2.Peer.any_ipv4(), ec2.Peer.any_ipv6())
        self._connections = {
            tier: group.connections for tier, group in self.groups.items()
        }

        for flow in PORT_MATRIX:
            self._allow(flow)

        for tier in {f.target for f in PORT_MATRIX if f.source == INTERNET}:
            acknowledge(
                self.groups[tier].node.default_child,
                "AwsSolutions-EC23",
                "The internet-facing load balancer must accept 80 and 443 from "
                "anywhere; the port matrix opens nothing else to the internet.",
            )

    def __getitem__(self, tier: str) -> ec2.SecurityGroup:
        return self.groups[tier]

    def _allow(self, flow: Flow) -> None:
        port = self._ports[flow.port]
        description = f"{flow.source} to {flow.target}: {flow.why}"
        if flow.source == INTERNET:
            target = self.groups[flow.target]
            for anywhere in self._anywhere:
                target.add_ingress_rule(anywhere, port, description)
        elif flow.target == INTERNET:
            source = self.groups[flow.source]
            for anywhere in self._anywhere:
                source.add_egress_rule(anywhere, port, description)
        elif flow.target == S3:
            self.groups[flow.source].add_egress_rule(self._s3, port, description)
        elif flow.source == flow.target:
            # Within one group, allow_to writes only the egress half.
            group = self.groups[flow.source]
            group.add_ingress_rule(group, port, description)
            group.add_egress_rule(group, port, description)
        else:
            target = (
                self._endpoints
                if flow.target == ENDPOINTS
                else self.groups[flow.target]
            )
            # connections.allow_to writes the egress and the matching ingress.
            self._connections[flow.source].allow_to(target, port, description)
