"""The mock holds each VPC as its template declares it, read back with boto3.

What moto's CloudFormation drops (DNS settings, a subnet's IPv6 block and
public-address policy, IPv6 routes, egress rules, IPv6 ingress) is not
compared: tests/moto/unsupported.py names the tests that cover it instead.
"""

from __future__ import annotations

from collections import Counter

from tests.moto.harness import Deployed
from tests.moto.unsupported import DROPPED_PROPERTIES

VPC = "AWS::EC2::VPC"
SUBNET = "AWS::EC2::Subnet"
SUBNET_NAME_TAG = "aws-cdk:subnet-name"


def found(resources: list[Deployed]) -> list[Deployed]:
    """The resources, refusing to check nothing."""
    assert resources, "no resource of this type in any template"
    return resources


def test_each_vpc_has_its_declared_cidr_blocks(moto_deployment):
    blocks = moto_deployment.resources("AWS::EC2::VPCCidrBlock")
    for vpc in found(moto_deployment.resources(VPC)):
        (held,) = vpc.client("ec2").describe_vpcs(VpcIds=[vpc.physical_id])["Vpcs"]
        extra = [b for b in blocks if b.declared("VpcId") == vpc.physical_id]

        assert held["CidrBlock"] == vpc.declared("CidrBlock"), vpc.path
        assert len(held.get("Ipv6CidrBlockAssociationSet", [])) == sum(
            1 for b in extra if b.declared("AmazonProvidedIpv6CidrBlock")
        ), vpc.path


def test_each_subnet_has_its_declared_vpc_zone_and_cidr(
    moto_deployment,
):
    for subnet in found(moto_deployment.resources(SUBNET)):
        (held,) = subnet.client("ec2").describe_subnets(SubnetIds=[subnet.physical_id])[
            "Subnets"
        ]

        assert (held["VpcId"], held["AvailabilityZone"], held["CidrBlock"]) == (
            subnet.declared("VpcId"),
            subnet.declared("AvailabilityZone"),
            subnet.declared("CidrBlock"),
        ), subnet.path


def test_each_vpc_holds_exactly_its_declared_subnets_per_tier_and_zone(
    moto_deployment,
):
    for vpc in found(moto_deployment.resources(VPC)):
        declared = {
            subnet.physical_id: _tier(subnet)
            for subnet in moto_deployment.resources(SUBNET)
            if subnet.declared("VpcId") == vpc.physical_id
        }
        held = vpc.client("ec2").describe_subnets(
            Filters=[{"Name": "vpc-id", "Values": [vpc.physical_id]}]
        )["Subnets"]

        assert {s["SubnetId"] for s in held} == set(declared), vpc.path
        per_tier_and_zone = Counter(
            (declared[s["SubnetId"]], s["AvailabilityZone"]) for s in held
        )
        assert set(per_tier_and_zone.values()) == {1}, vpc.path
        zones = {zone for _, zone in per_tier_and_zone}
        tiers = {tier for tier, _ in per_tier_and_zone}
        assert len(per_tier_and_zone) == len(zones) * len(tiers), vpc.path


def test_each_vpc_holds_its_declared_nat_gateways_in_their_subnets(moto_deployment):
    nats = moto_deployment.resources("AWS::EC2::NatGateway")
    for vpc in found(moto_deployment.resources(VPC)):
        subnets = {
            s.physical_id
            for s in moto_deployment.resources(SUBNET)
            if s.declared("VpcId") == vpc.physical_id
        }
        declared = {
            nat.physical_id: (nat.declared("SubnetId"), nat.declared("AllocationId"))
            for nat in nats
            if nat.declared("SubnetId") in subnets
        }
        held = vpc.client("ec2").describe_nat_gateways(
            Filters=[{"Name": "vpc-id", "Values": [vpc.physical_id]}]
        )["NatGateways"]

        assert {
            nat["NatGatewayId"]: (
                nat["SubnetId"],
                nat["NatGatewayAddresses"][0]["AllocationId"],
            )
            for nat in held
        } == declared, vpc.path


def test_each_endpoint_serves_its_declared_service_where_declared(moto_deployment):
    for endpoint in found(moto_deployment.resources("AWS::EC2::VPCEndpoint")):
        (held,) = endpoint.client("ec2").describe_vpc_endpoints(
            VpcEndpointIds=[endpoint.physical_id]
        )["VpcEndpoints"]
        kind = endpoint.declared("VpcEndpointType", "Gateway")

        assert (held["ServiceName"], held["VpcId"], held["VpcEndpointType"]) == (
            endpoint.declared("ServiceName"),
            endpoint.declared("VpcId"),
            kind,
        ), endpoint.path
        if kind == "Interface":
            assert set(held["SubnetIds"]) == set(endpoint.declared("SubnetIds"))
            assert {g["GroupId"] for g in held["Groups"]} == set(
                endpoint.declared("SecurityGroupIds")
            )
            assert held["PrivateDnsEnabled"] == endpoint.declared(
                "PrivateDnsEnabled", False
            )
        else:
            assert set(held["RouteTableIds"]) == set(
                endpoint.declared("RouteTableIds", [])
            )


def test_each_security_group_holds_exactly_its_declared_ingress(moto_deployment):
    standalone = moto_deployment.resources("AWS::EC2::SecurityGroupIngress")
    for group in found(moto_deployment.resources("AWS::EC2::SecurityGroup")):
        (held,) = group.client("ec2").describe_security_groups(
            GroupIds=[group.physical_id]
        )["SecurityGroups"]
        declared = [group.resolve(r) for r in group.properties.get(_INGRESS, [])]
        declared += [
            rule.resolve(rule.properties)
            for rule in standalone
            if rule.stack.account == group.stack.account
            and rule.declared("GroupId") == group.physical_id
        ]

        assert held["VpcId"] == group.declared("VpcId"), group.path
        assert held["Description"] == group.declared("GroupDescription"), group.path
        assert _held_rules(held["IpPermissions"]) == _declared_rules(declared), (
            group.path
        )


def test_each_flow_log_sends_its_declared_traffic_to_its_declared_group(
    moto_deployment,
):
    for flow_log in found(moto_deployment.resources("AWS::EC2::FlowLog")):
        (held,) = flow_log.client("ec2").describe_flow_logs(
            FlowLogIds=[flow_log.physical_id]
        )["FlowLogs"]

        assert (
            held["ResourceId"],
            held["TrafficType"],
            held["LogDestinationType"],
            held.get("LogGroupName"),
            held.get("DeliverLogsPermissionArn"),
        ) == (
            flow_log.declared("ResourceId"),
            flow_log.declared("TrafficType"),
            flow_log.declared("LogDestinationType", "cloud-watch-logs"),
            flow_log.declared("LogGroupName"),
            flow_log.declared("DeliverLogsPermissionArn"),
        ), flow_log.path


_INGRESS = "SecurityGroupIngress"
_IPV6_DROPPED = ("AWS::EC2::SecurityGroup", f"{_INGRESS}.CidrIpv6") in (
    DROPPED_PROPERTIES
)


def _tier(subnet: Deployed) -> str:
    tags = {t["Key"]: t["Value"] for t in subnet.properties.get("Tags", [])}
    return tags.get(SUBNET_NAME_TAG, subnet.path)


def _ports(rule: dict) -> tuple:
    protocol = str(rule["IpProtocol"]).lower()
    if protocol == "-1":
        return (protocol, None, None)
    return (protocol, int(rule["FromPort"]), int(rule["ToPort"]))


def _declared_rules(rules: list[dict]) -> set[tuple]:
    found_rules = set()
    for rule in rules:
        if "CidrIpv6" in rule and _IPV6_DROPPED:
            continue
        source = (
            rule.get("CidrIp")
            or rule.get("CidrIpv6")
            or rule.get("SourceSecurityGroupId")
            or rule.get("SourcePrefixListId")
        )
        found_rules.add((*_ports(rule), source))
    return found_rules


def _held_rules(permissions: list[dict]) -> set[tuple]:
    found_rules = set()
    for permission in permissions:
        sources = (
            [r["CidrIp"] for r in permission.get("IpRanges", [])]
            + [r["CidrIpv6"] for r in permission.get("Ipv6Ranges", [])]
            + [g["GroupId"] for g in permission.get("UserIdGroupPairs", [])]
            + [p["PrefixListId"] for p in permission.get("PrefixListIds", [])]
        )
        found_rules |= {(*_ports(permission), source) for source in sources}
    return found_rules
