"""The edge load balancer: HTTPS only, HTTP redirects, logged, dual-stack, gated."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_wafv2 as wafv2
from aws_cdk import region_info
from aws_cdk.assertions import Match, Template
from gate_findings import synth_findings
from moto.elbv2.ssl_policies import SSL_POLICIES

from config import load_stages
from config.model import SUBNET_LAYOUT
from config.ports import HTTP, HTTPS
from constructs.load_balancer import LoadBalancer
from stacks.base import PlatformStack
from stacks.gates import add_compliance_gates

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]
STAGE = load_stages()["Dev"]
APP_PORT = 8080
HEALTH_PATH = "/healthz"
LOG_PREFIX = "alb"
# Paths of everything the construct under test creates, in either stack.
OWN_PATHS = ("Edge/LoadBalancer/", "Storage/Logs/Policy/")
SUBNET_TYPES = {
    "Public": ec2.SubnetType.PUBLIC,
    "Private": ec2.SubnetType.PRIVATE_WITH_EGRESS,
    "Isolated": ec2.SubnetType.PRIVATE_ISOLATED,
}


@dataclass(frozen=True)
class EdgeApp:
    """One synthesized test app: templates by stack, gate findings, manifest."""

    templates: dict[str, dict]
    findings: list[tuple[str, str]]
    manifest: dict
    outdir: Path

    def template(self, stack: str) -> Template:
        return Template.from_json(self.templates[stack])


def dual_stack_vpc(scope: cdk.Stack) -> ec2.Vpc:
    """The stage VPC as the load balancer needs it: IPv6 blocks, no host IPv6."""
    return ec2.Vpc(
        scope,
        "Vpc",
        ip_addresses=ec2.IpAddresses.cidr(STAGE.vpc_cidr),
        ip_protocol=ec2.IpProtocol.DUAL_STACK,
        nat_gateways=1,
        restrict_default_security_group=True,
        subnet_configuration=[
            ec2.SubnetConfiguration(
                name=tier,
                subnet_type=SUBNET_TYPES[tier],
                cidr_mask=prefix,
                map_public_ip_on_launch=False if tier == "Public" else None,
                ipv6_assign_address_on_creation=False,
            )
            for tier, prefix in SUBNET_LAYOUT
        ],
    )


def synth_edge(outdir: Path, *, deletion_protection: bool) -> EdgeApp:
    """The load balancer in an Edge stack, its log bucket in a Storage stack."""
    app = cdk.App(outdir=str(outdir), context=CONTEXT)
    add_compliance_gates(app)
    storage = PlatformStack(app, "Storage", stage=STAGE, description="log bucket")
    bucket = s3.Bucket(
        storage,
        "Logs",
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
    )
    edge = PlatformStack(app, "Edge", stage=STAGE, description="load balancer")
    vpc = dual_stack_vpc(edge)
    group = ec2.SecurityGroup(edge, "Group", vpc=vpc, allow_all_outbound=False)
    for peer in (ec2.Peer.any_ipv4(), ec2.Peer.any_ipv6()):
        for port in (HTTP, HTTPS):
            group.add_ingress_rule(peer, ec2.Port.tcp(port))
    zone = route53.PublicHostedZone(edge, "Zone", zone_name=STAGE.domain_name)
    web_acl = wafv2.CfnWebACL(
        edge,
        "WebAcl",
        scope="REGIONAL",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True,
            metric_name="edge",
            sampled_requests_enabled=True,
        ),
    )
    LoadBalancer(
        edge,
        "LoadBalancer",
        vpc=vpc,
        security_group=group,
        domain_name=STAGE.domain_name,
        zone=zone,
        app_port=APP_PORT,
        health_check_path=HEALTH_PATH,
        deletion_protection=deletion_protection,
        access_logs_bucket=bucket,
        access_logs_prefix=LOG_PREFIX,
        web_acl_arn=web_acl.attr_arn,
    )

    # The fixtures around the construct (bucket, VPC, group, web ACL) are
    # deliberately minimal and draw findings; the report is read, not raised.
    findings = synth_findings(app)
    return EdgeApp(
        templates={
            p.name.removesuffix(".template.json"): json.loads(p.read_text())
            for p in outdir.glob("*.template.json")
        },
        findings=findings,
        manifest=json.loads((outdir / "manifest.json").read_text()),
        outdir=outdir,
    )


@pytest.fixture(scope="module")
def edge(tmp_path_factory) -> EdgeApp:
    return synth_edge(tmp_path_factory.mktemp("edge"), deletion_protection=True)


@pytest.fixture(scope="module")
def unprotected(tmp_path_factory) -> EdgeApp:
    return synth_edge(tmp_path_factory.mktemp("dev"), deletion_protection=False)


def attributes(app: EdgeApp) -> dict[str, object]:
    (balancer,) = (
        app.template("Edge")
        .find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer")
        .values()
    )
    return {
        a["Key"]: a["Value"] for a in balancer["Properties"]["LoadBalancerAttributes"]
    }


def test_https_listener_on_443_serves_the_certificate_with_the_tls_policy(edge):
    template = edge.template("Edge")
    (certificate,) = template.find_resources("AWS::CertificateManager::Certificate")

    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": HTTPS,
            "Protocol": "HTTPS",
            "Certificates": [{"CertificateArn": {"Ref": certificate}}],
            "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
            "DefaultActions": [Match.object_like({"Type": "forward"})],
        },
    )


def test_tls_policy_allows_only_tls_1_2_and_up_with_aead_ciphers(edge):
    listeners = edge.template("Edge").find_resources(
        "AWS::ElasticLoadBalancingV2::Listener", {"Properties": {"Protocol": "HTTPS"}}
    )
    (policy,) = {listener["Properties"]["SslPolicy"] for listener in listeners.values()}

    # moto carries AWS's published protocols and ciphers for each named policy.
    assert set(SSL_POLICIES[policy]["ssl_protocols"]) == {"TLSv1.2", "TLSv1.3"}
    for cipher in SSL_POLICIES[policy]["ciphers"]:
        assert "GCM" in cipher or "CHACHA20-POLY1305" in cipher.replace("_", "-")


def test_http_listener_on_80_only_redirects_to_https_with_a_301(edge):
    edge.template("Edge").has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": HTTP,
            "Protocol": "HTTP",
            "DefaultActions": [
                {
                    "Type": "redirect",
                    "RedirectConfig": {
                        "Protocol": "HTTPS",
                        "Port": str(HTTPS),
                        "StatusCode": "HTTP_301",
                    },
                }
            ],
        },
    )


def test_certificate_is_validated_by_dns_records_in_the_given_zone(edge):
    template = edge.template("Edge")
    (zone,) = template.find_resources("AWS::Route53::HostedZone")

    template.has_resource_properties(
        "AWS::CertificateManager::Certificate",
        {
            "DomainName": STAGE.domain_name,
            "ValidationMethod": "DNS",
            "DomainValidationOptions": [
                {"DomainName": STAGE.domain_name, "HostedZoneId": {"Ref": zone}}
            ],
        },
    )


def test_no_certificate_custom_resource_is_created(edge):
    types = {r["Type"] for r in edge.templates["Edge"]["Resources"].values()}

    assert "AWS::CloudFormation::CustomResource" not in types
    assert not any(t.startswith("Custom::") and "Certificate" in t for t in types)


def test_load_balancer_drops_invalid_header_fields(edge):
    assert attributes(edge)["routing.http.drop_invalid_header_fields.enabled"] == (
        "true"
    )


@pytest.mark.parametrize(
    ("fixture", "expected"), [("edge", "true"), ("unprotected", "false")]
)
def test_deletion_protection_follows_the_parameter(request, fixture, expected):
    app = request.getfixturevalue(fixture)

    assert attributes(app)["deletion_protection.enabled"] == expected


def test_access_logs_go_to_the_given_bucket_under_the_prefix(edge):
    found = attributes(edge)
    bucket_export = edge.templates["Storage"]["Outputs"]

    assert found["access_logs.s3.enabled"] == "true"
    assert found["access_logs.s3.prefix"] == LOG_PREFIX
    import_name = found["access_logs.s3.bucket"]["Fn::ImportValue"]
    assert any(o["Export"]["Name"] == import_name for o in bucket_export.values())


def test_log_delivery_grant_lands_in_the_bucket_stack_for_the_regional_elb_account(
    edge,
):
    elb_account = region_info.RegionInfo.get(STAGE.region).elbv2_account

    edge.template("Storage").has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "s3:PutObject",
                                "Effect": "Allow",
                                "Principal": {
                                    "AWS": Match.string_like_regexp(
                                        f":iam::{elb_account}:root$"
                                    )
                                },
                                "Resource": {
                                    "Fn::Join": [
                                        "",
                                        [
                                            Match.any_value(),
                                            f"/{LOG_PREFIX}/AWSLogs/{STAGE.account}/*",
                                        ],
                                    ]
                                },
                            }
                        )
                    ]
                )
            }
        },
    )
    assert edge.template("Edge").find_resources("AWS::S3::BucketPolicy") == {}


def test_edge_stack_depends_on_the_bucket_stack_and_never_the_reverse(edge):
    artifacts = edge.manifest["artifacts"]

    assert "Storage" in artifacts["Edge"]["dependencies"]
    assert "Edge" not in artifacts["Storage"].get("dependencies", [])


def test_load_balancer_is_internet_facing_dual_stack_in_public_subnets(edge):
    template = edge.template("Edge")
    public = [
        {"Ref": logical_id}
        for logical_id, subnet in template.find_resources("AWS::EC2::Subnet").items()
        if {"Key": "aws-cdk:subnet-name", "Value": "Public"}
        in subnet["Properties"]["Tags"]
    ]

    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {
            "Scheme": "internet-facing",
            "IpAddressType": "dualstack",
            "Subnets": Match.array_equals(public),
        },
    )


def test_dual_stack_vpc_gives_subnets_ipv6_blocks_but_hosts_no_ipv6_address(edge):
    subnets = edge.template("Edge").find_resources("AWS::EC2::Subnet").values()

    for subnet in subnets:
        assert "Ipv6CidrBlock" in subnet["Properties"]
        assert subnet["Properties"]["AssignIpv6AddressOnCreation"] is False


def test_listeners_open_nothing_beyond_the_given_security_group(edge):
    template = edge.template("Edge")
    (group,) = template.find_resources("AWS::EC2::SecurityGroup").values()

    assert template.find_resources("AWS::EC2::SecurityGroupIngress") == {}
    assert len(group["Properties"]["SecurityGroupIngress"]) == 4
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {"SecurityGroups": [{"Fn::GetAtt": [Match.any_value(), "GroupId"]}]},
    )


def test_target_group_serves_the_app_port_and_checks_the_health_path(edge):
    edge.template("Edge").has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "Port": APP_PORT,
            "Protocol": "HTTP",
            "TargetType": "instance",
            "HealthCheckPath": HEALTH_PATH,
        },
    )


def test_web_acl_is_associated_with_the_load_balancer(edge):
    template = edge.template("Edge")
    (balancer,) = template.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer")

    template.has_resource_properties(
        "AWS::WAFv2::WebACLAssociation", {"ResourceArn": {"Ref": balancer}}
    )


@pytest.mark.parametrize("fixture", ["edge", "unprotected"])
def test_construct_draws_no_unacknowledged_security_finding(request, fixture):
    app = request.getfixturevalue(fixture)
    own = [(rule, path) for rule, path in app.findings if path.startswith(OWN_PATHS)]

    assert app.findings, "the gates did not run: the fixtures should draw findings"
    assert own == []


def test_recommended_vpc_settings_draw_no_public_address_finding(edge):
    rules = {rule for rule, _path in edge.findings}

    assert "NIST.800.53.R5-VPCSubnetAutoAssignPublicIpDisabled" not in rules


def test_synth_needs_no_lookups(edge):
    assert "missing" not in edge.manifest


def test_cfn_lint_accepts_both_templates(edge):
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    templates = sorted(str(p) for p in edge.outdir.glob("*.template.json"))

    result = subprocess.run(
        [str(cfn_lint), "--config-file", str(ROOT / ".cfnlintrc.yaml"), *templates],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_an_imported_bucket_is_refused_because_it_would_drop_the_grant():
    app = cdk.App(context=CONTEXT)
    stack = PlatformStack(app, "Edge", stage=STAGE, description="load balancer")
    vpc = dual_stack_vpc(stack)
    imported = s3.Bucket.from_bucket_name(stack, "Logs", "someone-elses-logs")

    with pytest.raises(ValueError, match="access_logs_bucket"):
        LoadBalancer(
            stack,
            "LoadBalancer",
            vpc=vpc,
            security_group=ec2.SecurityGroup(stack, "Group", vpc=vpc),
            domain_name=STAGE.domain_name,
            zone=route53.PublicHostedZone(stack, "Zone", zone_name=STAGE.domain_name),
            app_port=APP_PORT,
            health_check_path=HEALTH_PATH,
            deletion_protection=True,
            access_logs_bucket=imported,
            access_logs_prefix=LOG_PREFIX,
            web_acl_arn="arn:aws:wafv2:us-east-1:111111111111:regional/webacl/x/y",
        )
