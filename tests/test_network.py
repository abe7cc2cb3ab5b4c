"""Each stage's VPC spans its zones with the tiers, NAT, flow logs and endpoints."""

from __future__ import annotations

import pytest

from config import load_stages
from constructs.network import INTERFACE_ENDPOINTS

STAGES = load_stages()


def subnets_by_tier(synthesized, stage: str) -> dict[str, list[dict]]:
    tiers: dict[str, list[dict]] = {}
    for subnet in synthesized.resources(stage, "Network", "AWS::EC2::Subnet").values():
        tags = {t["Key"]: t["Value"] for t in subnet["Properties"]["Tags"]}
        tiers.setdefault(tags["aws-cdk:subnet-name"], []).append(subnet["Properties"])
    return tiers


@pytest.mark.parametrize("stage", STAGES)
def test_every_tier_has_one_subnet_in_each_configured_zone(synthesized, stage):
    tiers = subnets_by_tier(synthesized, stage)

    assert set(tiers) == {"Public", "Private", "Isolated"}
    for subnets in tiers.values():
        zones = sorted(s["AvailabilityZone"] for s in subnets)
        assert zones == sorted(STAGES[stage].availability_zones)


@pytest.mark.parametrize("stage", STAGES)
def test_public_subnets_do_not_hand_out_public_addresses(synthesized, stage):
    for subnet in subnets_by_tier(synthesized, stage)["Public"]:
        assert subnet["MapPublicIpOnLaunch"] is False


@pytest.mark.parametrize("stage", STAGES)
def test_nat_gateway_count_follows_the_config(synthesized, stage):
    nats = synthesized.resources(stage, "Network", "AWS::EC2::NatGateway")

    assert len(nats) == STAGES[stage].nat_gateways


def test_prod_has_a_nat_gateway_per_zone_and_dev_only_one(synthesized):
    assert len(synthesized.resources("Prod", "Network", "AWS::EC2::NatGateway")) == 3
    assert len(synthesized.resources("Dev", "Network", "AWS::EC2::NatGateway")) == 1


@pytest.mark.parametrize("stage", STAGES)
def test_vpc_uses_the_configured_cidr(synthesized, stage):
    (vpc,) = synthesized.resources(stage, "Network", "AWS::EC2::VPC").values()

    assert vpc["Properties"]["CidrBlock"] == STAGES[stage].vpc_cidr


@pytest.mark.parametrize("stage", STAGES)
def test_flow_log_captures_all_traffic_into_an_encrypted_retained_group(
    synthesized, stage
):
    (flow_log,) = synthesized.resources(stage, "Network", "AWS::EC2::FlowLog").values()
    groups = synthesized.resources(stage, "Network", "AWS::Logs::LogGroup")
    (vpc_id,) = synthesized.resources(stage, "Network", "AWS::EC2::VPC")

    props = flow_log["Properties"]
    assert props["ResourceId"] == {"Ref": vpc_id}
    assert props["ResourceType"] == "VPC"
    assert props["TrafficType"] == "ALL"
    group_id = props["LogGroupName"]["Ref"]
    group = groups[group_id]
    assert group["Properties"]["RetentionInDays"] == STAGES[stage].log_retention_days
    assert "Fn::ImportValue" in group["Properties"]["KmsKeyId"]
    assert group["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("stage", STAGES)
def test_s3_gateway_and_management_interface_endpoints_exist(synthesized, stage):
    endpoints = synthesized.resources(stage, "Network", "AWS::EC2::VPCEndpoint")
    services = {}
    for endpoint in endpoints.values():
        props = endpoint["Properties"]
        name = props["ServiceName"]
        if isinstance(name, dict):
            name = "".join(p for p in name["Fn::Join"][1] if isinstance(p, str))
        services[name.rsplit(".", 1)[-1]] = props

    assert services["s3"]["VpcEndpointType"] == "Gateway"
    expected = {"ssm", "ssmmessages", "ec2messages", "logs", "cloudformation", "kms"}
    assert expected <= set(services)
    assert len(INTERFACE_ENDPOINTS) == len(expected)
    for name in expected:
        assert services[name]["VpcEndpointType"] == "Interface"
        assert services[name]["PrivateDnsEnabled"] is True
        assert len(services[name]["SubnetIds"]) == len(STAGES[stage].availability_zones)


@pytest.mark.parametrize("stage", STAGES)
def test_default_security_group_is_stripped_of_rules(synthesized, stage):
    restricted = synthesized.resources(stage, "Network", "Custom::VpcRestrictDefaultSG")

    (resource,) = restricted.values()
    assert "DefaultSecurityGroup" in str(
        resource["Properties"]["DefaultSecurityGroupId"]
    )
