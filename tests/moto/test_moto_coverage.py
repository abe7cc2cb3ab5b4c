"""The list of what moto cannot hold (tests/moto/unsupported.py) stays true.

A resource type or property of the templates that moto cannot hold must be
listed with the test that covers it; an entry that moto has learnt to hold, or
that no template uses any more, must go; every named test must exist.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from moto.cloudformation.parsing import get_model_map

from scripts.moto_quirks import ADDED_TYPES, is_custom_resource
from tests.moto.unsupported import DROPPED_PROPERTIES, UNSUPPORTED_TYPES

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


def implemented_by_moto(resource_type: str) -> bool:
    return resource_type in get_model_map()


def held_by_the_mock(resource_type: str) -> bool:
    """moto, with the tooling's workarounds, creates and keeps the resource."""
    if is_custom_resource(resource_type):
        return False  # the stand-in answers, the handler never runs
    return implemented_by_moto(resource_type) or resource_type in ADDED_TYPES


def types_in_templates(every_stack) -> dict[str, list[str]]:
    used: dict[str, list[str]] = {}
    for stack in every_stack:
        for resource in stack.resources.values():
            used.setdefault(resource["Type"], []).append(stack.display_name)
    return used


def uses(value, path: list[str]) -> bool:
    if isinstance(value, list):
        return any(uses(item, path) for item in value)
    if not path:
        return True
    return (
        isinstance(value, dict) and path[0] in value and uses(value[path[0]], path[1:])
    )


def test_every_type_in_the_templates_is_implemented_by_moto_or_listed(every_stack):
    missing = {
        resource_type: sorted(set(stacks))
        for resource_type, stacks in types_in_templates(every_stack).items()
        if not held_by_the_mock(resource_type)
        and resource_type not in UNSUPPORTED_TYPES
    }

    assert missing == {}, (
        "moto cannot create these: list each in tests/moto/unsupported.py "
        "with the template-level test that covers it"
    )


def test_no_listed_type_is_implemented_by_moto_now():
    implemented = [t for t in UNSUPPORTED_TYPES if implemented_by_moto(t)]

    assert implemented == [], "moto creates these now: check them in tests/moto"


def test_no_type_the_tooling_adds_is_implemented_by_moto_now():
    implemented = [t for t in ADDED_TYPES if implemented_by_moto(t)]

    assert implemented == [], "moto has these now: drop them from moto_quirks"


def test_every_listed_type_is_still_used_by_a_template(every_stack):
    unused = set(UNSUPPORTED_TYPES) - set(types_in_templates(every_stack))

    assert sorted(unused) == [], "no template uses these: drop them from the list"


def test_every_listed_property_is_still_used_by_a_template(every_stack):
    used = {
        (resource["Type"], name)
        for stack in every_stack
        for resource in stack.resources.values()
        for name in {n for t, n in DROPPED_PROPERTIES if t == resource["Type"]}
        if uses(resource.get("Properties", {}), name.split("."))
    }

    assert sorted(set(DROPPED_PROPERTIES) - used) == []


@pytest.mark.parametrize(
    "reference", sorted({*UNSUPPORTED_TYPES.values(), *DROPPED_PROPERTIES.values()})
)
def test_every_covering_test_named_in_the_list_exists(reference):
    path, _, name = reference.partition("::")

    assert (ROOT / path).is_file(), reference
    assert f"def {name}(" in (ROOT / path).read_text(), reference


def deploy_probe(resources: dict) -> dict[str, str]:
    """Create a one-off stack in the active mock; logical id -> physical id."""
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(
        StackName="probe", TemplateBody=json.dumps({"Resources": resources})
    )
    summaries = cloudformation.list_stack_resources(StackName="probe")
    return {
        s["LogicalResourceId"]: s.get("PhysicalResourceId", "")
        for s in summaries["StackResourceSummaries"]
        if s.get("LogicalResourceId")
    }


def group_with(**properties) -> dict:
    return {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "Group": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "probe",
                "VpcId": {"Ref": "Vpc"},
                **properties,
            },
        },
    }


def security_group(group_id: str) -> dict:
    ec2 = boto3.client("ec2", region_name=REGION)
    return ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]


def egress_is_dropped() -> bool:
    declared = {"IpProtocol": "tcp", "FromPort": 3128, "ToPort": 3128}
    ids = deploy_probe(
        group_with(SecurityGroupEgress=[{**declared, "CidrIp": "10.0.0.0/16"}])
    )
    egress = security_group(ids["Group"])["IpPermissionsEgress"]
    return not any(rule.get("FromPort") == 3128 for rule in egress)


def inline_ipv6_ingress_is_dropped() -> bool:
    rule = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIpv6": "::/0"}
    ids = deploy_probe(group_with(SecurityGroupIngress=[rule]))
    ingress = security_group(ids["Group"])["IpPermissions"]
    return not any(r["Ipv6Ranges"] for r in ingress)


def log_group_key_is_dropped() -> bool:
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    ids = deploy_probe(
        {"Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"KmsKeyId": key}}}
    )
    groups = boto3.client("logs", region_name=REGION).describe_log_groups()
    (group,) = [g for g in groups["logGroups"] if g["logGroupName"] == ids["Group"]]
    return "kmsKeyId" not in group


def vpc_attribute_is_dropped(attribute: str, value: bool) -> Callable[[], bool]:
    """`value` differs from moto's default, so keeping it would show."""

    def probe() -> bool:
        vpc = {"CidrBlock": "10.0.0.0/16", attribute: value}
        ids = deploy_probe({"Vpc": {"Type": "AWS::EC2::VPC", "Properties": vpc}})
        held = boto3.client("ec2", region_name=REGION).describe_vpc_attribute(
            VpcId=ids["Vpc"], Attribute=attribute[0].lower() + attribute[1:]
        )
        return held[attribute]["Value"] is not value

    return probe


def subnet_with(**properties) -> tuple[dict, dict]:
    ids = deploy_probe(
        {
            "Vpc": {
                "Type": "AWS::EC2::VPC",
                "Properties": {"CidrBlock": "10.0.0.0/16"},
            },
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {
                    "VpcId": {"Ref": "Vpc"},
                    "CidrBlock": "10.0.0.0/24",
                    **properties,
                },
            },
        }
    )
    ec2 = boto3.client("ec2", region_name=REGION)
    return ids, ec2.describe_subnets(SubnetIds=[ids["Subnet"]])["Subnets"][0]


def subnet_ipv6_block_is_dropped() -> bool:
    _, subnet = subnet_with(Ipv6CidrBlock="2600:1f18:0:100::/64")
    return not subnet.get("Ipv6CidrBlockAssociationSet")


def public_address_policy_is_dropped() -> bool:
    _, subnet = subnet_with(MapPublicIpOnLaunch=False)
    return subnet["MapPublicIpOnLaunch"] is not False


def ipv6_route_is_dropped() -> bool:
    ids = deploy_probe(
        {
            **group_with(),
            "Gateway": {"Type": "AWS::EC2::InternetGateway"},
            "Attachment": {
                "Type": "AWS::EC2::VPCGatewayAttachment",
                "Properties": {
                    "VpcId": {"Ref": "Vpc"},
                    "InternetGatewayId": {"Ref": "Gateway"},
                },
            },
            "Table": {
                "Type": "AWS::EC2::RouteTable",
                "Properties": {"VpcId": {"Ref": "Vpc"}},
            },
            "Route": {
                "Type": "AWS::EC2::Route",
                "DependsOn": "Attachment",
                "Properties": {
                    "RouteTableId": {"Ref": "Table"},
                    "DestinationIpv6CidrBlock": "::/0",
                    "GatewayId": {"Ref": "Gateway"},
                },
            },
        }
    )
    ec2 = boto3.client("ec2", region_name=REGION)
    (table,) = ec2.describe_route_tables(RouteTableIds=[ids["Table"]])["RouteTables"]
    return not any(r.get("DestinationIpv6CidrBlock") for r in table["Routes"])


def volume_type_and_encryption_are_dropped(name: str) -> Callable[[], bool]:
    def probe() -> bool:
        volume = {
            "AvailabilityZone": f"{REGION}a",
            "Size": 125,
            "VolumeType": "sc1",
            "Encrypted": True,
        }
        ids = deploy_probe(
            {"Volume": {"Type": "AWS::EC2::Volume", "Properties": volume}}
        )
        held = boto3.client("ec2", region_name=REGION).describe_volumes(
            VolumeIds=[ids["Volume"]]
        )["Volumes"][0]
        return held[name] != volume[name]

    return probe


def bucket_versioning_is_dropped() -> bool:
    versioning = {"VersioningConfiguration": {"Status": "Enabled"}}
    ids = deploy_probe(
        {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": versioning}}
    )
    held = boto3.client("s3", region_name=REGION).get_bucket_versioning(
        Bucket=ids["Bucket"]
    )
    return held.get("Status") != "Enabled"


def private_zone_vpcs_are_dropped() -> bool:
    vpc = boto3.client("ec2", region_name=REGION).create_vpc(CidrBlock="10.0.0.0/16")
    vpcs = [{"VPCId": vpc["Vpc"]["VpcId"], "VPCRegion": REGION}]
    zone = {"Name": "probe.internal", "VPCs": vpcs}
    ids = deploy_probe(
        {"Zone": {"Type": "AWS::Route53::HostedZone", "Properties": zone}}
    )
    held = boto3.client("route53").get_hosted_zone(Id=ids["Zone"])
    return not held.get("VPCs") or not held["HostedZone"]["Config"]["PrivateZone"]


# Each listed property, shown to be dropped on a minimal template.
PROBES: dict[tuple[str, str], Callable[[], bool]] = {
    ("AWS::EC2::VPC", "EnableDnsHostnames"): vpc_attribute_is_dropped(
        "EnableDnsHostnames", True
    ),
    ("AWS::EC2::VPC", "EnableDnsSupport"): vpc_attribute_is_dropped(
        "EnableDnsSupport", False
    ),
    ("AWS::EC2::Subnet", "Ipv6CidrBlock"): subnet_ipv6_block_is_dropped,
    ("AWS::EC2::Subnet", "MapPublicIpOnLaunch"): public_address_policy_is_dropped,
    ("AWS::EC2::Route", "DestinationIpv6CidrBlock"): ipv6_route_is_dropped,
    ("AWS::EC2::SecurityGroup", "SecurityGroupEgress"): egress_is_dropped,
    (
        "AWS::EC2::SecurityGroup",
        "SecurityGroupIngress.CidrIpv6",
    ): inline_ipv6_ingress_is_dropped,
    ("AWS::Logs::LogGroup", "KmsKeyId"): log_group_key_is_dropped,
    ("AWS::EC2::Volume", "VolumeType"): volume_type_and_encryption_are_dropped(
        "VolumeType"
    ),
    ("AWS::EC2::Volume", "Encrypted"): volume_type_and_encryption_are_dropped(
        "Encrypted"
    ),
    ("AWS::S3::Bucket", "VersioningConfiguration"): bucket_versioning_is_dropped,
    ("AWS::Route53::HostedZone", "VPCs"): private_zone_vpcs_are_dropped,
}


def test_every_listed_property_has_a_probe():
    assert sorted(DROPPED_PROPERTIES) == sorted(PROBES)


@pytest.mark.parametrize("entry", sorted(PROBES), ids=lambda e: f"{e[0]}.{e[1]}")
def test_moto_still_drops_each_listed_property(entry):
    with mock_aws():
        dropped = PROBES[entry]()

    assert dropped, f"moto now keeps {entry}: remove it from the list, check it"
