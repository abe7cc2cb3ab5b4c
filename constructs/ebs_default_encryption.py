"""Turn on EBS encryption by default in the stage's region, with the data key."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr

from constructs import Construct
from constructs.nag import acknowledge, acknowledge_all

# EC2's account-level EBS settings accept no resource ARN in IAM policies.
_SETTINGS_ACTIONS = ["ec2:EnableEbsEncryptionByDefault", "ec2:ModifyEbsDefaultKmsKeyId"]


class EbsDefaultEncryption(Construct):
    """Every new EBS volume in the region is encrypted, even one made by hand."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        key: kms.IKey,
        log_key: kms.IKey,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, id)
        log_group = logs.LogGroup(
            self,
            "LogGroup",
            encryption_key=log_key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        log_group.node.default_child.retention_in_days = log_retention_days
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Sets the region's EBS encryption defaults at deploy time",
        )
        policy = iam.ManagedPolicy(
            self,
            "Policy",
            statements=[
                iam.PolicyStatement(actions=_SETTINGS_ACTIONS, resources=["*"]),
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[log_group.log_group_arn],
                ),
            ],
            roles=[role],
        )
        # CloudFormation has no resource for these account settings, so an SDK
        # call sets them on create and update (and leaves them on delete).
        calls = {
            "Enable": cr.AwsSdkCall(
                service="EC2",
                action="enableEbsEncryptionByDefault",
                physical_resource_id=cr.PhysicalResourceId.of("ebs-encryption-default"),
            ),
            "DefaultKey": cr.AwsSdkCall(
                service="EC2",
                action="modifyEbsDefaultKmsKeyId",
                parameters={"KmsKeyId": key.key_arn},
                physical_resource_id=cr.PhysicalResourceId.of("ebs-default-kms-key"),
            ),
        }
        previous = None
        for name, call in calls.items():
            resource = cr.AwsCustomResource(
                self,
                name,
                on_update=call,
                role=role,
                log_group=log_group,
                install_latest_aws_sdk=False,
            )
            resource.node.add_dependency(policy)
            if previous:
                resource.node.add_dependency(previous)
            previous = resource

        self._acknowledge(policy)

    def _acknowledge(self, policy: iam.ManagedPolicy) -> None:
        acknowledge(
            policy.node.default_child,
            "AwsSolutions-IAM5[Resource::*]",
            "EnableEbsEncryptionByDefault and ModifyEbsDefaultKmsKeyId are "
            "account-level settings that accept no resource ARN.",
        )
        # The CDK shares one provider function per stack, named by a fixed uuid.
        handler = cdk.Stack.of(self).node.find_child(
            "AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")
        )
        acknowledge_all(
            handler.node.default_child,
            [
                (
                    "NIST.800.53.R5-LambdaInsideVPC",
                    "The handler only calls the public EC2 API at deploy time and is "
                    "created before the VPC exists.",
                ),
                (
                    "NIST.800.53.R5-LambdaDLQ",
                    "CloudFormation invokes the handler synchronously and reports its "
                    "failure on the stack; there is no event to dead-letter.",
                ),
                (
                    "NIST.800.53.R5-LambdaConcurrency",
                    "The handler runs once per deployment of this stack.",
                ),
            ],
        )
