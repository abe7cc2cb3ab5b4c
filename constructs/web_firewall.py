"""A regional WAF web ACL for the load balancer, with AWS managed rules and logs."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2

from constructs import Construct

# AWS-maintained rule groups, evaluated in this order.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True,
        metric_name=name,
        sampled_requests_enabled=True,
    )


class WebFirewall(Construct):
    """Blocks known-bad sources and inputs before they reach the web fleet."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage_name: str,
        log_key: kms.IKey,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, id)
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"{stage_name}WebAcl"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name=group,
                    priority=priority,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=(
                            wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                                vendor_name="AWS", name=group
                            )
                        )
                    ),
                    visibility_config=_visibility(f"{stage_name}{group}"),
                )
                for priority, group in enumerate(MANAGED_RULE_GROUPS)
            ],
        )
        # WAF delivers only to log groups whose name starts with aws-waf-logs-.
        log_group_name = f"aws-waf-logs-{stage_name.lower()}"
        log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=log_group_name,
            encryption_key=log_key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        log_group.node.default_child.retention_in_days = log_retention_days
        logging = wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[
                cdk.Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=log_group_name,
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
        )
        logging.add_resource_dependency(log_group.node.default_child)
        self.web_acl_arn = self.web_acl.attr_arn
