"""Render synthesized security groups back into port-matrix rows."""

from __future__ import annotations

from config.ports import ENDPOINTS, INTERNET, S3

ANYWHERE = {"0.0.0.0/0", "::/0"}
# The CDK writes this placeholder egress rule into groups that allow no egress.
PLACEHOLDER = "255.255.255.255/32"


def group_tiers(resources: dict) -> dict[str, str]:
    """Logical id of each security group -> the tier it belongs to."""
    tiers = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::EC2::SecurityGroup":
            continue
        description = resource["Properties"]["GroupDescription"]
        if description.endswith(" tier"):
            tiers[logical_id] = description.removesuffix(" tier")
        elif "interface endpoints" in description:
            tiers[logical_id] = ENDPOINTS
    return tiers


def _peer(rule: dict, tiers: dict[str, str], *keys: str) -> str:
    for key in keys:
        if key in rule:
            return tiers[rule[key]["Fn::GetAtt"][0]]
    if "DestinationPrefixListId" in rule:
        return S3
    cidr = rule.get("CidrIp") or rule.get("CidrIpv6")
    if cidr in ANYWHERE:
        return INTERNET
    raise AssertionError(f"rule to an address range outside the matrix: {rule}")


def _port(rule: dict) -> int:
    assert rule["IpProtocol"] == "tcp", rule
    assert rule["FromPort"] == rule["ToPort"], f"port range in {rule}"
    return rule["FromPort"]


def rendered_flows(resources: dict) -> tuple[set, set]:
    """(ingress, egress) rows as (source tier, target tier, port) sets."""
    tiers = group_tiers(resources)
    ingress, egress = set(), set()
    for logical_id, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::EC2::SecurityGroup" and logical_id in tiers:
            for rule in props.get("SecurityGroupIngress", []):
                source = _peer(rule, tiers, "SourceSecurityGroupId")
                ingress.add((source, tiers[logical_id], _port(rule)))
            for rule in props.get("SecurityGroupEgress", []):
                if rule.get("CidrIp") == PLACEHOLDER:
                    continue
                target = _peer(rule, tiers, "DestinationSecurityGroupId")
                egress.add((tiers[logical_id], target, _port(rule)))
        elif resource["Type"] == "AWS::EC2::SecurityGroupIngress":
            target = tiers[props["GroupId"]["Fn::GetAtt"][0]]
            source = _peer(props, tiers, "SourceSecurityGroupId")
            ingress.add((source, target, _port(props)))
        elif resource["Type"] == "AWS::EC2::SecurityGroupEgress":
            source = tiers[props["GroupId"]["Fn::GetAtt"][0]]
            target = _peer(props, tiers, "DestinationSecurityGroupId")
            egress.add((source, target, _port(props)))
    return ingress, egress


def all_rules(templates):
    """Every ingress and egress rule of every group in the given templates."""
    for template in templates:
        for resource in template["Resources"].values():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::EC2::SecurityGroup":
                for direction in ("SecurityGroupIngress", "SecurityGroupEgress"):
                    for rule in props.get(direction, []):
                        yield direction.removeprefix("SecurityGroup"), rule
            elif resource["Type"] in (
                "AWS::EC2::SecurityGroupIngress",
                "AWS::EC2::SecurityGroupEgress",
            ):
                yield resource["Type"].removeprefix("AWS::EC2::SecurityGroup"), props
