"""Security groups are exactly the declared port matrix, and nothing opens port 22."""

from __future__ import annotations

import pytest
from security_matrix import ANYWHERE, PLACEHOLDER, all_rules, rendered_flows

from config import load_stages
from config.ports import ALB, HTTP, HTTPS, INTERNET, PORT_MATRIX, S3, TIERS

STAGES = list(load_stages())
SSH = 22


def declared() -> tuple[set, set]:
    ingress = {
        (f.source, f.target, f.port)
        for f in PORT_MATRIX
        if f.target not in (INTERNET, S3)
    }
    egress = {(f.source, f.target, f.port) for f in PORT_MATRIX if f.source != INTERNET}
    return ingress, egress


@pytest.mark.parametrize("stage", STAGES)
def test_ingress_rules_are_exactly_the_matrix_both_ways(synthesized, stage):
    ingress, _ = rendered_flows(synthesized.template(stage, "Network")["Resources"])
    expected, _ = declared()

    assert ingress - expected == set(), "rules not in the matrix"
    assert expected - ingress == set(), "matrix rows with no rule"


@pytest.mark.parametrize("stage", STAGES)
def test_egress_rules_are_exactly_the_matrix_both_ways(synthesized, stage):
    _, egress = rendered_flows(synthesized.template(stage, "Network")["Resources"])
    _, expected = declared()

    assert egress - expected == set(), "egress not in the matrix"
    assert expected - egress == set(), "matrix rows with no egress"


@pytest.mark.parametrize("stage", STAGES)
def test_every_tier_has_its_own_group(synthesized, stage):
    resources = synthesized.template(stage, "Network")["Resources"]
    descriptions = {
        r["Properties"]["GroupDescription"]
        for r in resources.values()
        if r["Type"] == "AWS::EC2::SecurityGroup"
    }

    assert {f"{tier} tier" for tier in TIERS} <= descriptions


def test_no_rule_anywhere_covers_port_22_or_all_ports(synthesized):
    templates = [t for _stage, _stack, t in synthesized.all_templates()]
    rules = list(all_rules(templates))

    assert rules
    for _direction, rule in rules:
        assert rule["IpProtocol"] != "-1", rule
        if rule["IpProtocol"] == "tcp":
            assert not rule["FromPort"] <= SSH <= rule["ToPort"], rule


def test_only_the_load_balancer_takes_80_and_443_from_the_internet(synthesized):
    templates = [t for _stage, _stack, t in synthesized.all_templates()]
    open_ingress = [
        rule
        for direction, rule in all_rules(templates)
        if direction == "Ingress"
        and (rule.get("CidrIp") in ANYWHERE or rule.get("CidrIpv6") in ANYWHERE)
    ]
    internet_ports = {f.port for f in PORT_MATRIX if f.source == INTERNET}

    assert internet_ports == {HTTP, HTTPS}
    assert {rule["FromPort"] for rule in open_ingress} == internet_ports
    assert all(
        rule["Description"].startswith(f"{INTERNET} to {ALB}") for rule in open_ingress
    )


def test_only_the_proxy_may_reach_the_internet_and_only_on_80_and_443(synthesized):
    templates = [t for _stage, _stack, t in synthesized.all_templates()]
    egress = [rule for direction, rule in all_rules(templates) if direction == "Egress"]
    to_internet = [
        rule
        for rule in egress
        if rule.get("CidrIp") in ANYWHERE or rule.get("CidrIpv6") in ANYWHERE
    ]

    assert all(rule["IpProtocol"] != "-1" for rule in egress)
    assert to_internet
    assert {rule["FromPort"] for rule in to_internet} == {HTTP, HTTPS}
    assert all(
        rule["Description"].startswith("squid to internet") for rule in to_internet
    )
    assert not [
        r for r in egress if r.get("CidrIp") not in (*ANYWHERE, PLACEHOLDER, None)
    ]
