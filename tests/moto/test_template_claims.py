"""Template-level checks of what moto cannot hold and no other test covers.

tests/moto/unsupported.py points here for those entries; each test reads the
synthesized templates, every stack of them, as other template-level tests do.
"""

from __future__ import annotations

from constructs.web_firewall import MANAGED_RULE_GROUPS


def templates(every_stack) -> list[dict]:
    return [stack.template for stack in every_stack]


def resources(template: dict, resource_type: str) -> dict[str, dict]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def test_each_vpc_resolves_names_so_private_endpoints_answer(every_stack):
    vpcs = [
        vpc
        for template in templates(every_stack)
        for vpc in resources(template, "AWS::EC2::VPC").values()
    ]

    assert vpcs
    for vpc in vpcs:
        assert vpc["Properties"]["EnableDnsSupport"] is True
        assert vpc["Properties"]["EnableDnsHostnames"] is True


def test_private_subnets_reach_out_over_ipv6_only_through_the_egress_only_gateway(
    every_stack,
):
    checked = 0
    for template in templates(every_stack):
        gateways = set(resources(template, "AWS::EC2::EgressOnlyInternetGateway"))
        kinds = subnet_kind_by_route_table(template)
        for route in resources(template, "AWS::EC2::Route").values():
            properties = route["Properties"]
            if properties.get("DestinationIpv6CidrBlock") != "::/0":
                continue
            kind = kinds[properties["RouteTableId"]["Ref"]]
            if kind == "Public":
                assert "EgressOnlyInternetGatewayId" not in properties
            else:
                assert properties["EgressOnlyInternetGatewayId"]["Ref"] in gateways
                checked += 1

    assert checked, "no IPv6 route through an egress-only gateway"


def subnet_kind_by_route_table(template: dict) -> dict[str, str]:
    """Route table logical id -> the aws-cdk:subnet-type of its subnet."""
    kinds = {}
    subnets = resources(template, "AWS::EC2::Subnet")
    associations = resources(template, "AWS::EC2::SubnetRouteTableAssociation")
    for association in associations.values():
        properties = association["Properties"]
        subnet = subnets[properties["SubnetId"]["Ref"]]
        tags = {t["Key"]: t["Value"] for t in subnet["Properties"]["Tags"]}
        kinds[properties["RouteTableId"]["Ref"]] = tags["aws-cdk:subnet-type"]
    return kinds


def test_each_queue_policy_refuses_requests_without_tls(every_stack):
    policies = [
        policy["Properties"]
        for template in templates(every_stack)
        for policy in resources(template, "AWS::SQS::QueuePolicy").values()
    ]

    assert policies
    for policy in policies:
        (queue,) = [q["Ref"] for q in policy["Queues"]]
        (deny,) = [
            s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"
        ]
        assert deny["Action"] == "sqs:*"
        assert deny["Principal"] == {"AWS": "*"}
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert deny["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}


def test_each_web_acl_runs_the_aws_managed_rule_groups_in_order(every_stack):
    acls = [
        acl["Properties"]
        for template in templates(every_stack)
        for acl in resources(template, "AWS::WAFv2::WebACL").values()
    ]

    assert acls
    for acl in acls:
        rules = sorted(acl["Rules"], key=lambda rule: rule["Priority"])
        groups = [rule["Statement"]["ManagedRuleGroupStatement"] for rule in rules]
        assert acl["Scope"] == "REGIONAL"
        assert [(g["VendorName"], g["Name"]) for g in groups] == [
            ("AWS", name) for name in MANAGED_RULE_GROUPS
        ]


def test_each_web_acl_logs_to_a_waf_log_group_of_its_stack(every_stack):
    checked = 0
    for template in templates(every_stack):
        acls = resources(template, "AWS::WAFv2::WebACL")
        names = {
            group["Properties"].get("LogGroupName")
            for group in resources(template, "AWS::Logs::LogGroup").values()
        }
        configurations = resources(template, "AWS::WAFv2::LoggingConfiguration")
        assert len(configurations) == len(acls)
        for configuration in configurations.values():
            properties = configuration["Properties"]
            acl, attribute = properties["ResourceArn"]["Fn::GetAtt"]
            (destination,) = properties["LogDestinationConfigs"]
            log_group = destination.rpartition(":log-group:")[2]
            assert acl in acls and attribute == "Arn"
            assert log_group.startswith("aws-waf-logs-")
            assert log_group in names
            checked += 1

    assert checked
