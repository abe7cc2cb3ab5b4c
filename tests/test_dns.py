"""Stage DNS: public zone and ALB aliases, health check, private zone for hosts."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk.assertions import Match, Template
from gate_findings import synth_findings

from config import load_stages
from config.ports import HTTPS
from constructs import Construct
from constructs.dns import INTERNAL_RECORD_TTL, Dns
from stacks.base import PlatformStack
from stacks.gates import add_compliance_gates

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]
STAGE = load_stages()["Dev"]
PRIVATE_DOMAIN = "dev.chat.internal"
HEALTH_PATH = "/healthz"
IMPORTED_ZONE_ID = "Z0123456789EXAMPLE"
# What the data, cache, search and proxy tiers would register.
HOSTS = {
    "mysql-0-primary": "10.10.16.10",
    "mysql-0-replica": "10.10.32.10",
    "redis-primary": "10.10.16.20",
    "redis-replica": "10.10.32.20",
}
ALIASES = {
    "solr": "internal-solr-0123456789.us-east-1.elb.amazonaws.com",
    "proxy": "internal-squid-0123456789.us-east-1.elb.amazonaws.com",
}


@dataclass(frozen=True)
class DnsApp:
    """One synthesized test app: templates by stack, gate findings, manifest."""

    templates: dict[str, dict]
    findings: list[tuple[str, str]]
    manifest: dict
    outdir: Path

    def template(self, stack: str) -> Template:
        return Template.from_json(self.templates[stack])


def synth_dns(outdir: Path, *, hosted_zone_id: str | None) -> DnsApp:
    """Zones in a Network stack; the ALB's and the hosts' records in their stacks."""
    app = cdk.App(outdir=str(outdir), context=CONTEXT)
    add_compliance_gates(app)
    network = PlatformStack(app, "Network", stage=STAGE, description="zones")
    vpc = ec2.Vpc(
        network,
        "Vpc",
        ip_addresses=ec2.IpAddresses.cidr(STAGE.vpc_cidr),
        ip_protocol=ec2.IpProtocol.DUAL_STACK,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(
                name="Public",
                subnet_type=ec2.SubnetType.PUBLIC,
                map_public_ip_on_launch=False,
                ipv6_assign_address_on_creation=False,
            )
        ],
    )
    dns = Dns(
        network,
        "Dns",
        domain_name=STAGE.domain_name,
        private_domain_name=PRIVATE_DOMAIN,
        vpc=vpc,
        hosted_zone_id=hosted_zone_id,
    )
    edge = PlatformStack(app, "Edge", stage=STAGE, description="load balancer")
    balancer = elbv2.ApplicationLoadBalancer(
        edge,
        "Balancer",
        vpc=vpc,
        internet_facing=True,
        ip_address_type=elbv2.IpAddressType.DUAL_STACK,
    )
    dns.alias_load_balancer(
        Construct(edge, "Public"), balancer, health_check_path=HEALTH_PATH
    )
    data = PlatformStack(app, "Data", stage=STAGE, description="hosts")
    records = Construct(data, "Records")
    for name, address in HOSTS.items():
        dns.add_internal_address(records, name, address)
    for name, target in ALIASES.items():
        dns.add_internal_alias(records, name, target)

    # The bare VPC and ALB draw findings of their own; the report is read.
    findings = synth_findings(app)
    return DnsApp(
        templates={
            p.name.removesuffix(".template.json"): json.loads(p.read_text())
            for p in outdir.glob("*.template.json")
        },
        findings=findings,
        manifest=json.loads((outdir / "manifest.json").read_text()),
        outdir=outdir,
    )


@pytest.fixture(scope="module")
def created(tmp_path_factory) -> DnsApp:
    return synth_dns(tmp_path_factory.mktemp("created"), hosted_zone_id=None)


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> DnsApp:
    return synth_dns(
        tmp_path_factory.mktemp("imported"), hosted_zone_id=IMPORTED_ZONE_ID
    )


def zone_ref(app: DnsApp, name: str) -> dict:
    (logical_id,) = app.template("Network").find_resources(
        "AWS::Route53::HostedZone", {"Properties": {"Name": f"{name}."}}
    )
    return {"Ref": logical_id}


def exported(app: DnsApp, value: dict) -> dict:
    """What an `Fn::ImportValue` in one stack refers to in the stack exporting it."""
    for template in app.templates.values():
        for output in template.get("Outputs", {}).values():
            if output.get("Export", {}).get("Name") == value["Fn::ImportValue"]:
                return output["Value"]
    raise AssertionError(f"no stack exports {value}")


def plain_outputs(app: DnsApp, stack: str) -> list[dict]:
    """Outputs meant for people, i.e. not the CDK's cross-stack exports."""
    outputs = app.templates[stack].get("Outputs", {}).values()
    return [o for o in outputs if "Export" not in o]


def records(app: DnsApp, stack: str, record_type: str) -> dict[str, dict]:
    found = app.template(stack).find_resources(
        "AWS::Route53::RecordSet", {"Properties": {"Type": record_type}}
    )
    return {r["Properties"]["Name"]: r["Properties"] for r in found.values()}


def test_public_zone_is_created_for_the_domain_and_retained(created):
    created.template("Network").has_resource(
        "AWS::Route53::HostedZone",
        {
            "Properties": {"Name": f"{STAGE.domain_name}.", "VPCs": Match.absent()},
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_created_zone_outputs_its_name_servers_for_delegation(created):
    public = zone_ref(created, STAGE.domain_name)["Ref"]
    assert [o["Value"] for o in plain_outputs(created, "Network")] == [
        {"Fn::Join": [",", {"Fn::GetAtt": [public, "NameServers"]}]}
    ]


def test_imported_zone_is_used_by_id_without_creating_or_looking_up(imported):
    public = imported.template("Network").find_resources(
        "AWS::Route53::HostedZone", {"Properties": {"Name": f"{STAGE.domain_name}."}}
    )

    assert public == {}
    assert plain_outputs(imported, "Network") == []
    assert "missing" not in imported.manifest
    for record_type in ("A", "AAAA"):
        (alias,) = records(imported, "Edge", record_type).values()
        assert alias["HostedZoneId"] == IMPORTED_ZONE_ID


@pytest.mark.parametrize("record_type", ["A", "AAAA"])
def test_alias_uses_the_load_balancers_own_canonical_hosted_zone_id(
    created, record_type
):
    (balancer,) = created.template("Edge").find_resources(
        "AWS::ElasticLoadBalancingV2::LoadBalancer"
    )
    (alias,) = records(created, "Edge", record_type).values()

    assert alias["Name"] == f"{STAGE.domain_name}."
    assert exported(created, alias["HostedZoneId"]) == zone_ref(
        created, STAGE.domain_name
    )
    assert alias["AliasTarget"] == {
        "HostedZoneId": {"Fn::GetAtt": [balancer, "CanonicalHostedZoneID"]},
        "DNSName": {
            "Fn::Join": ["", ["dualstack.", {"Fn::GetAtt": [balancer, "DNSName"]}]]
        },
    }


def test_health_check_probes_the_public_name_over_https(created):
    created.template("Edge").has_resource_properties(
        "AWS::Route53::HealthCheck",
        {
            "HealthCheckConfig": Match.object_like(
                {
                    "Type": "HTTPS",
                    "FullyQualifiedDomainName": STAGE.domain_name,
                    "Port": HTTPS,
                    "ResourcePath": HEALTH_PATH,
                    "EnableSNI": True,
                }
            )
        },
    )


def test_private_zone_is_attached_to_the_vpc(created):
    (vpc,) = created.template("Network").find_resources("AWS::EC2::VPC")

    created.template("Network").has_resource_properties(
        "AWS::Route53::HostedZone",
        {
            "Name": f"{PRIVATE_DOMAIN}.",
            "VPCs": [{"VPCId": {"Ref": vpc}, "VPCRegion": STAGE.region}],
        },
    )


@pytest.mark.parametrize(("name", "address"), HOSTS.items())
def test_each_host_has_an_a_record_in_the_private_zone(created, name, address):
    record = records(created, "Data", "A")[f"{name}.{PRIVATE_DOMAIN}."]

    assert exported(created, record["HostedZoneId"]) == zone_ref(
        created, PRIVATE_DOMAIN
    )
    assert record["ResourceRecords"] == [address]
    assert record["TTL"] == str(INTERNAL_RECORD_TTL.to_seconds())


@pytest.mark.parametrize(("name", "target"), ALIASES.items())
def test_each_fleet_name_is_a_cname_in_the_private_zone(created, name, target):
    record = records(created, "Data", "CNAME")[f"{name}.{PRIVATE_DOMAIN}."]

    assert exported(created, record["HostedZoneId"]) == zone_ref(
        created, PRIVATE_DOMAIN
    )
    assert record["ResourceRecords"] == [target]


def test_records_live_with_what_they_point_at_so_zones_depend_on_nothing(created):
    artifacts = created.manifest["artifacts"]

    assert "Network" in artifacts["Edge"]["dependencies"]
    assert "Network" in artifacts["Data"]["dependencies"]
    assert not {"Edge", "Data"} & set(artifacts["Network"].get("dependencies", []))
    assert created.template("Network").find_resources("AWS::Route53::RecordSet") == {}


def test_an_ipv4_only_load_balancer_cannot_get_an_aaaa_alias():
    stack = PlatformStack(
        cdk.App(context=CONTEXT), "Edge", stage=STAGE, description="x"
    )
    vpc = ec2.Vpc(stack, "Vpc", nat_gateways=0)
    dns = Dns(
        stack,
        "Dns",
        domain_name=STAGE.domain_name,
        private_domain_name=PRIVATE_DOMAIN,
        vpc=vpc,
    )
    balancer = elbv2.ApplicationLoadBalancer(stack, "Balancer", vpc=vpc)

    with pytest.raises(ValueError, match="dual-stack"):
        dns.alias_load_balancer(stack, balancer, health_check_path=HEALTH_PATH)


@pytest.mark.parametrize("fixture", ["created", "imported"])
def test_dns_draws_no_security_finding_and_needs_no_lookup(request, fixture):
    app = request.getfixturevalue(fixture)
    own_paths = ("Network/Dns/", "Edge/Public/", "Data/Records/")
    own = [(rule, path) for rule, path in app.findings if path.startswith(own_paths)]

    assert app.findings, "the gates did not run: the bare ALB should draw findings"
    assert own == []
    assert "missing" not in app.manifest


def test_cfn_lint_accepts_every_template(created):
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    templates = sorted(str(p) for p in created.outdir.glob("*.template.json"))

    result = subprocess.run(
        [str(cfn_lint), "--config-file", str(ROOT / ".cfnlintrc.yaml"), *templates],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
