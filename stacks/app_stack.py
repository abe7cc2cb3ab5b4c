"""App stack (stateless): the public load balancer, its firewall and the web fleet."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets

from config import StageConfig
from config.capacity import PRODUCTION
from config.naming import bucket_name
from config.ports import ALB, APP, WEB
from constructs import Construct
from constructs import host_config as hc
from constructs.load_balancer import LoadBalancer
from constructs.tier_role import BucketAccess, TierRole
from constructs.web_firewall import WebFirewall
from release.build import build_release, release_version
from stacks.base import PlatformStack
from stacks.hosts import SharedServices, proxy_url

BUILD_DIR = Path(__file__).resolve().parent.parent / "build" / "release"
WEB_CPU_TARGET_PERCENT = 60
# Scale before a host passes the throughput the capacity model plans for.
REQUESTS_PER_HOST_PER_MINUTE = int(
    PRODUCTION.host_messages_per_second * PRODUCTION.target_utilisation * 60
)


class AppStack(PlatformStack):
    """Holds the replaceable web tier; nothing here stores data of its own."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage: StageConfig,
        shared: SharedServices,
    ) -> None:
        super().__init__(scope, id, stage=stage, description="load balancer, web fleet")
        keys, vpc, groups, dns = shared.keys, shared.vpc, shared.groups, shared.dns
        logs_bucket = shared.logs_bucket
        artifacts = bucket_name(stage, "artifacts")
        if stage.edge.release_version:
            version = stage.edge.release_version
            release = (
                s3.Bucket.from_bucket_name(self, "Artifacts", artifacts),
                f"releases/{version}.zip",
            )
            release_access = BucketAccess(artifacts, f"releases/{version}.zip",
                                          exact_key=True)  # fmt: skip
        else:
            version = f"sample-{release_version()}"
            release = s3_assets.Asset(self, "SampleRelease", path=str(
                build_release(BUILD_DIR)))  # fmt: skip
            release_access = BucketAccess(release.s3_bucket_name, release.s3_object_key,
                                          exact_key=True)  # fmt: skip
        self.role = TierRole(
            self,
            "WebRole",
            stage=stage,
            tier=WEB,
            data_key=keys.data,
            log_key=keys.operations,
            buckets=(
                release_access,
                BucketAccess(bucket_name(stage, "uploads"), "", write=True),
                BucketAccess(bucket_name(stage, "static"), ""),
            ),
            parameter_paths=(f"slack/{stage.name.lower()}/web",),
        )
        self.firewall = WebFirewall(
            self, "Firewall", stage_name=stage.name, log_key=keys.operations,
            log_retention_days=stage.log_retention_days,
        )  # fmt: skip
        self.load_balancer = LoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            security_group=groups[ALB],
            domain_name=stage.edge.domain_name,
            zone=dns.public_zone,
            app_port=APP,
            health_check_path=stage.edge.health_check_path,
            deletion_protection=stage.edge.deletion_protection,
            access_logs_bucket=logs_bucket,
            access_logs_prefix="alb",
            web_acl_arn=self.firewall.web_acl_arn,
        )
        init = ec2.CloudFormationInit.from_config_sets(
            config_sets={"default": ["Proxy", "Web"]},
            configs={
                "Proxy": hc.proxy_init(
                    proxy_url(stage), stage.vpc_cidr, stage.edge.internal_domain
                ),
                "Web": hc.web_init(
                    release,
                    version=version,
                    service="slack-web",
                    install_dir="/opt/slack-web",
                    app_port=APP,
                    health_path=stage.edge.health_check_path,
                ),
            },
        )
        self.fleet = shared.fleet(
            self,
            "Web",
            stage=stage,
            tier=WEB,
            host_role="app",
            size=stage.fleets.web,
            role=self.role.role,
            init=init,
        )

        self.load_balancer.target_group.add_target(self.fleet.group)
        self.fleet.group.scale_on_cpu_utilization(
            "CpuScaling", target_utilization_percent=WEB_CPU_TARGET_PERCENT
        )
        self.fleet.group.scale_on_request_count(
            "RequestScaling", target_requests_per_minute=REQUESTS_PER_HOST_PER_MINUTE
        )
        dns.alias_load_balancer(
            self,
            self.load_balancer.load_balancer,
            health_check_path=stage.edge.health_check_path,
        )

        cdk.CfnOutput(
            self, "LoadBalancerDnsName",
            value=self.load_balancer.load_balancer.load_balancer_dns_name,
        )  # fmt: skip
