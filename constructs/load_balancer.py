"""The public entry point of the web tier: one dual-stack Application Load Balancer."""

from __future__ import annotations

from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_wafv2 as wafv2

from config.ports import HTTP, HTTPS
from constructs import Construct
from constructs.nag import acknowledge

# TLS 1.2 and 1.3 only, AEAD ciphers with ECDHE forward secrecy (no CBC, no
# SHA-1), plus hybrid ML-KEM key exchange for clients that offer it. Named
# explicitly so the policy never follows a feature flag or a changed default.
TLS_POLICY = elbv2.SslPolicy.TLS13_12_RES_PQ


class LoadBalancer(Construct):
    """A dual-stack public ALB that serves only TLS 1.2+ HTTPS and logs each request."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        domain_name: str,
        zone: route53.IHostedZone,
        app_port: int,
        health_check_path: str,
        deletion_protection: bool,
        access_logs_bucket: s3.IBucket,
        access_logs_prefix: str,
        web_acl_arn: str,
    ) -> None:
        super().__init__(scope, id)
        self.certificate = acm.Certificate(
            self,
            "Certificate",
            domain_name=domain_name,
            validation=acm.CertificateValidation.from_dns(zone),
        )
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            internet_facing=True,
            ip_address_type=elbv2.IpAddressType.DUAL_STACK,
            security_group=security_group,
            deletion_protection=deletion_protection,
            drop_invalid_header_fields=True,
        )
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "WebTargetGroup",
            vpc=vpc,
            port=app_port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.INSTANCE,
            health_check=elbv2.HealthCheck(path=health_check_path),
        )

        # open=False everywhere: the security group passed in is the only place
        # that decides who may connect.
        self.https_listener = self.load_balancer.add_listener(
            "HttpsListener",
            port=HTTPS,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[self.certificate],
            ssl_policy=TLS_POLICY,
            open=False,
            default_target_groups=[self.target_group],
        )
        self.http_listener = self.load_balancer.add_listener(
            "HttpListener",
            port=HTTP,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=False,
            default_action=elbv2.ListenerAction.redirect(
                protocol=elbv2.ApplicationProtocol.HTTPS.value,
                port=str(HTTPS),
                permanent=True,
            ),
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.load_balancer.load_balancer_arn,
            web_acl_arn=web_acl_arn,
        )

        # The delivery grant goes into the bucket's own policy, so it lands in the
        # stack that owns the bucket; only this stack refers to that one, never
        # the reverse, and the load balancer waits for the policy to exist.
        self.load_balancer.log_access_logs(access_logs_bucket, access_logs_prefix)
        if access_logs_bucket.policy is None:
            raise ValueError(
                "access_logs_bucket must be a bucket whose policy this app manages; "
                "an imported bucket silently drops the log delivery grant"
            )

        acknowledge(
            self.http_listener.node.default_child,
            "NIST.800.53.R5-ELBv2ACMCertificateRequired",
            "This HTTP listener answers every request with a 301 to HTTPS and "
            "forwards nothing; an HTTP listener cannot hold a certificate.",
        )
        if not deletion_protection:
            acknowledge(
                self.load_balancer.node.default_child,
                "NIST.800.53.R5-ELBDeletionProtectionEnabled",
                "Deletion protection is off because this stage's configuration sets "
                "deletion_protection to false; the load balancer holds no data.",
            )
