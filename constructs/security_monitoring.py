"""CIS log-monitoring alarms and EC2 change events, all sent to one topic."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns

from constructs import Construct

METRIC_NAMESPACE = "CISBenchmark"

# CIS AWS Foundations log-monitoring controls: (id, what it catches, pattern).
CIS_CONTROLS: tuple[tuple[str, str, str], ...] = (
    ("UnauthorizedApiCalls", "unauthorized API calls",
     '{ ($.errorCode = "*UnauthorizedOperation") || '
     '($.errorCode = "AccessDenied*") }'),
    ("ConsoleSignInWithoutMfa", "console sign-in without MFA",
     '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") '
     '&& ($.userIdentity.type = "IAMUser") '
     '&& ($.responseElements.ConsoleLogin = "Success") }'),
    ("RootAccountUse", "use of the root account",
     '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
     '&& $.eventType != "AwsServiceEvent" }'),
    ("IamPolicyChanges", "IAM policy changes",
     "{ ($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || "
     "($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || "
     "($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || "
     "($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || "
     "($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || "
     "($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || "
     "($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || "
     "($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy) }"),
    ("CloudTrailChanges", "CloudTrail configuration changes",
     "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || "
     "($.eventName = DeleteTrail) || ($.eventName = StartLogging) || "
     "($.eventName = StopLogging) }"),
    ("ConsoleAuthFailures", "console authentication failures",
     '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }'),
    ("CmkDisabledOrDeleted", "disabling or scheduled deletion of CMKs",
     "{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || "
     "($.eventName = ScheduleKeyDeletion)) }"),
    ("S3BucketPolicyChanges", "S3 bucket policy changes",
     "{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || "
     "($.eventName = PutBucketPolicy) || ($.eventName = PutBucketCors) || "
     "($.eventName = PutBucketLifecycle) || ($.eventName = PutBucketReplication) || "
     "($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || "
     "($.eventName = DeleteBucketLifecycle) || "
     "($.eventName = DeleteBucketReplication)) }"),
    ("AwsConfigChanges", "AWS Config changes",
     "{ ($.eventSource = config.amazonaws.com) && "
     "(($.eventName = StopConfigurationRecorder) || "
     "($.eventName = DeleteDeliveryChannel) || ($.eventName = PutDeliveryChannel) || "
     "($.eventName = PutConfigurationRecorder)) }"),
    ("SecurityGroupChanges", "security group changes",
     "{ ($.eventName = AuthorizeSecurityGroupIngress) || "
     "($.eventName = AuthorizeSecurityGroupEgress) || "
     "($.eventName = RevokeSecurityGroupIngress) || "
     "($.eventName = RevokeSecurityGroupEgress) || "
     "($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }"),
    ("NaclChanges", "network ACL changes",
     "{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || "
     "($.eventName = DeleteNetworkAcl) || ($.eventName = DeleteNetworkAclEntry) || "
     "($.eventName = ReplaceNetworkAclEntry) || "
     "($.eventName = ReplaceNetworkAclAssociation) }"),
    ("NetworkGatewayChanges", "network gateway changes",
     "{ ($.eventName = CreateCustomerGateway) || "
     "($.eventName = DeleteCustomerGateway) || "
     "($.eventName = AttachInternetGateway) || "
     "($.eventName = CreateInternetGateway) || "
     "($.eventName = DeleteInternetGateway) || "
     "($.eventName = DetachInternetGateway) }"),
    ("RouteTableChanges", "route table changes",
     "{ ($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || "
     "($.eventName = ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) "
     "|| ($.eventName = DeleteRouteTable) || ($.eventName = DeleteRoute) || "
     "($.eventName = DisassociateRouteTable) }"),
    ("VpcChanges", "VPC changes",
     "{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || "
     "($.eventName = ModifyVpcAttribute) || "
     "($.eventName = AcceptVpcPeeringConnection) || "
     "($.eventName = CreateVpcPeeringConnection) || "
     "($.eventName = DeleteVpcPeeringConnection) || "
     "($.eventName = RejectVpcPeeringConnection) || "
     "($.eventName = AttachClassicLinkVpc) || ($.eventName = DetachClassicLinkVpc) "
     "|| ($.eventName = DisableVpcClassicLink) || "
     "($.eventName = EnableVpcClassicLink) }"),
)  # fmt: skip


class SecurityMonitoring(Construct):
    """An alarm per CIS control on the trail's logs, plus EC2 change events."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        trail_log_group: logs.ILogGroup,
        topic: sns.ITopic,
        stage_name: str,
    ) -> None:
        super().__init__(scope, id)
        notify = actions.SnsAction(topic)
        for control, what, pattern in CIS_CONTROLS:
            metric_filter = trail_log_group.add_metric_filter(
                f"{control}Filter",
                filter_pattern=logs.FilterPattern.literal(pattern),
                metric_namespace=METRIC_NAMESPACE,
                metric_name=f"{stage_name}{control}",
                metric_value="1",
            )
            alarm = cloudwatch.Alarm(
                self,
                f"{control}Alarm",
                alarm_description=f"{stage_name}: CloudTrail recorded {what}",
                metric=metric_filter.metric(statistic="Sum"),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=(
                    cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
                ),
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(notify)

        events.Rule(
            self,
            "Ec2StateChanges",
            description=f"{stage_name}: EC2 instances changing state",
            event_pattern=events.EventPattern(
                source=["aws.ec2"],
                detail_type=["EC2 Instance State-change Notification"],
            ),
            targets=[targets.SnsTopic(topic)],
        )
        events.Rule(
            self,
            "SecurityGroupChanges",
            description=f"{stage_name}: security group rules changed",
            event_pattern=events.EventPattern(
                source=["aws.ec2"],
                detail_type=["AWS API Call via CloudTrail"],
                detail={
                    "eventName": [
                        "AuthorizeSecurityGroupIngress",
                        "AuthorizeSecurityGroupEgress",
                        "RevokeSecurityGroupIngress",
                        "RevokeSecurityGroupEgress",
                        "CreateSecurityGroup",
                        "DeleteSecurityGroup",
                    ]
                },
            ),
            targets=[targets.SnsTopic(topic)],
        )
