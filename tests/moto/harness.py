"""Deploy a synthesized assembly into moto's CloudFormation in process, then look.

`deploy` does what `cdk deploy` does in a bootstrapped environment: it puts the
file assets into the bootstrap bucket and the bootstrap version into its SSM
parameter, then creates each stack from its template URL after the stacks it
depends on. `Deployed` pairs a template resource with what moto made of it, and
`resolve` turns a template value (Ref, GetAtt, ImportValue, ...) into what it
stands for in the mock, so a check compares the two.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from scripts.stage_plan import StackPlan, StagePlan

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
COMPLETE = "CREATE_COMPLETE"


class DeployFailed(AssertionError):
    """A stack did not reach CREATE_COMPLETE in moto."""


@dataclass(frozen=True)
class Deployed:
    """A resource of a template and its physical id in the mock."""

    deployment: Deployment
    stack: StackPlan
    logical_id: str
    physical_id: str

    @property
    def type(self) -> str:
        return self.stack.resources[self.logical_id]["Type"]

    @property
    def properties(self) -> dict[str, Any]:
        return self.stack.resources[self.logical_id].get("Properties", {})

    @property
    def path(self) -> str:
        return self.stack.path_of(self.logical_id)

    def client(self, service: str) -> Any:
        return self.deployment.client(service, self.stack)

    def resolve(self, value: Any) -> Any:
        """A template value of this resource's stack, as the mock knows it."""
        return self.deployment.resolve(value, self.stack)

    def declared(self, name: str, default: Any = None) -> Any:
        """A property of the template, resolved; `default` when it is absent."""
        if name not in self.properties:
            return default
        return self.resolve(self.properties[name])


class Deployment:
    """Every stack of the given stages, created in moto in dependency order."""

    def __init__(self, stages: dict[str, StagePlan]) -> None:
        self.stages = stages
        self.physical_ids: dict[tuple[str, str], str] = {}
        self._sessions: dict[tuple[str, str], boto3.Session] = {}

    @property
    def stacks(self) -> Iterator[StackPlan]:
        for stage in self.stages.values():
            yield from stage.stacks

    def deploy(self) -> None:
        for stack in self.stacks:
            self._bootstrap_and_upload(stack)
            cloudformation = self.client("cloudformation", stack)
            source = (
                {"TemplateURL": self._https_url(stack)}
                if stack.template_url
                else {"TemplateBody": json.dumps(stack.template)}
            )
            try:
                cloudformation.create_stack(
                    StackName=stack.stack_name, Capabilities=CAPABILITIES, **source
                )
            except ClientError as err:
                raise DeployFailed(f"{stack.display_name}: {err}") from err
            status = self._status(stack)
            if status != COMPLETE:
                raise DeployFailed(f"{stack.display_name}: {status}")
            paginator = cloudformation.get_paginator("list_stack_resources")
            for page in paginator.paginate(StackName=stack.stack_name):
                for summary in page["StackResourceSummaries"]:
                    if summary.get("LogicalResourceId"):
                        key = (stack.display_name, summary["LogicalResourceId"])
                        self.physical_ids[key] = summary.get("PhysicalResourceId", "")

    def is_live(self) -> bool:
        """Whether moto still holds every stack this deployment created."""
        if not self.physical_ids:
            return False
        try:
            return all(self._status(stack) == COMPLETE for stack in self.stacks)
        except ClientError:
            return False

    def _status(self, stack: StackPlan) -> str:
        (found,) = self.client("cloudformation", stack).describe_stacks(
            StackName=stack.stack_name
        )["Stacks"]
        return found["StackStatus"]

    def resources(self, *types: str) -> list[Deployed]:
        """Every deployed resource of the given types, in stack order."""
        found = []
        for stack in self.stacks:
            for logical_id, resource in stack.resources.items():
                key = (stack.display_name, logical_id)
                if resource["Type"] in types and key in self.physical_ids:
                    found.append(
                        Deployed(self, stack, logical_id, self.physical_ids[key])
                    )
        return found

    def client(self, service: str, stack: StackPlan) -> Any:
        key = (stack.account, stack.region)
        if key not in self._sessions:
            self._sessions[key] = _session(*key)
        return self._sessions[key].client(service)

    def resolve(self, value: Any, stack: StackPlan) -> Any:
        if isinstance(value, list):
            return [self.resolve(item, stack) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name in INTRINSICS:
                return INTRINSICS[name](self, stack, argument)
        return {key: self.resolve(item, stack) for key, item in value.items()}

    def exports(self, stack: StackPlan) -> dict[str, str]:
        paginator = self.client("cloudformation", stack).get_paginator("list_exports")
        return {
            export["Name"]: export["Value"]
            for page in paginator.paginate()
            for export in page["Exports"]
        }

    def _bootstrap_and_upload(self, stack: StackPlan) -> None:
        s3 = self.client("s3", stack)
        for asset in stack.assets:
            if asset.bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
                s3.create_bucket(**_bucket_location(asset.bucket, stack.region))
            s3.put_object(Bucket=asset.bucket, Key=asset.key, Body=asset.body())
        if stack.bootstrap_parameter:
            self.client("ssm", stack).put_parameter(
                Name=stack.bootstrap_parameter,
                Value=str(stack.bootstrap_version),
                Type="String",
                Overwrite=True,
            )

    @staticmethod
    def _https_url(stack: StackPlan) -> str:
        bucket, _, key = stack.template_url.removeprefix("s3://").partition("/")
        return f"https://s3.{stack.region}.amazonaws.com/{bucket}/{key}"


def _session(account: str, region: str) -> boto3.Session:
    """A session moto files under `account` (quirk "accounts" of moto_quirks)."""
    credentials = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/moto-tests",
        RoleSessionName="moto-tests",
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def _bucket_location(bucket: str, region: str) -> dict[str, Any]:
    if region == "us-east-1":
        return {"Bucket": bucket}
    return {
        "Bucket": bucket,
        "CreateBucketConfiguration": {"LocationConstraint": region},
    }


def _ref(deployment: Deployment, stack: StackPlan, name: str) -> Any:
    pseudo = {
        "AWS::AccountId": stack.account,
        "AWS::Region": stack.region,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": stack.stack_name,
    }
    if name in pseudo:
        return pseudo[name]
    return deployment.physical_ids[(stack.display_name, name)]


def _get_att(deployment: Deployment, stack: StackPlan, argument: list) -> Any:
    logical_id, attribute = argument
    resource_type = stack.resources[logical_id]["Type"]
    physical_id = deployment.physical_ids[(stack.display_name, logical_id)]
    lookup = ATTRIBUTES.get((resource_type, attribute))
    if lookup is None:
        raise LookupError(
            f"no lookup for GetAtt {resource_type}.{attribute}: add one to "
            "ATTRIBUTES in tests/moto/harness.py"
        )
    return lookup(Deployed(deployment, stack, logical_id, physical_id))


def _import(deployment: Deployment, stack: StackPlan, argument: Any) -> Any:
    return deployment.exports(stack)[deployment.resolve(argument, stack)]


def _join(deployment: Deployment, stack: StackPlan, argument: list) -> str:
    separator, parts = argument
    return separator.join(str(p) for p in deployment.resolve(parts, stack))


def _select(deployment: Deployment, stack: StackPlan, argument: list) -> Any:
    index, items = argument
    return deployment.resolve(items, stack)[int(index)]


INTRINSICS: dict[str, Callable[[Deployment, StackPlan, Any], Any]] = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::ImportValue": _import,
    "Fn::Join": _join,
    "Fn::Select": _select,
}


def _vpc(resource: Deployed) -> dict:
    (vpc,) = resource.client("ec2").describe_vpcs(VpcIds=[resource.physical_id])["Vpcs"]
    return vpc


def _default_group(resource: Deployed) -> str:
    (group,) = resource.client("ec2").describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [resource.physical_id]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"]
    return group["GroupId"]


def _allocation(resource: Deployed) -> str:
    (address,) = resource.client("ec2").describe_addresses(
        PublicIps=[resource.physical_id]
    )["Addresses"]
    return address["AllocationId"]


def _log_group_arn(resource: Deployed) -> str:
    groups = resource.client("logs").describe_log_groups(
        logGroupNamePrefix=resource.physical_id
    )["logGroups"]
    (group,) = [g for g in groups if g["logGroupName"] == resource.physical_id]
    return group["arn"]


def _balancer(resource: Deployed) -> dict:
    (balancer,) = resource.client("elbv2").describe_load_balancers(
        LoadBalancerArns=[resource.physical_id]
    )["LoadBalancers"]
    return balancer


def _instance(resource: Deployed) -> dict:
    (reservation,) = resource.client("ec2").describe_instances(
        InstanceIds=[resource.physical_id]
    )["Reservations"]
    return reservation["Instances"][0]


def _launch_template(resource: Deployed) -> dict:
    (template,) = resource.client("ec2").describe_launch_templates(
        LaunchTemplateIds=[resource.physical_id]
    )["LaunchTemplates"]
    return template


# How a GetAtt of the templates reads in the mock; add a line for a new pair.
ATTRIBUTES: dict[tuple[str, str], Callable[[Deployed], Any]] = {
    ("AWS::EC2::SecurityGroup", "GroupId"): lambda r: r.physical_id,
    ("AWS::EC2::VPC", "CidrBlock"): lambda r: _vpc(r)["CidrBlock"],
    ("AWS::EC2::VPC", "DefaultSecurityGroup"): _default_group,
    ("AWS::EC2::EIP", "AllocationId"): _allocation,
    ("AWS::IAM::Role", "Arn"): lambda r: r.client("iam").get_role(
        RoleName=r.physical_id
    )["Role"]["Arn"],
    ("AWS::KMS::Key", "Arn"): lambda r: r.client("kms").describe_key(
        KeyId=r.physical_id
    )["KeyMetadata"]["Arn"],
    ("AWS::Logs::LogGroup", "Arn"): _log_group_arn,
    ("AWS::Lambda::Function", "Arn"): lambda r: r.client("lambda").get_function(
        FunctionName=r.physical_id
    )["Configuration"]["FunctionArn"],
    ("AWS::S3::Bucket", "Arn"): lambda r: f"arn:aws:s3:::{r.physical_id}",
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "DNSName"): lambda r: _balancer(r)[
        "DNSName"
    ],
    (
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "CanonicalHostedZoneID",
    ): lambda r: _balancer(r)["CanonicalHostedZoneId"],
    ("AWS::EC2::Instance", "PrivateIp"): lambda r: _instance(r)["PrivateIpAddress"],
    ("AWS::EC2::Instance", "PrivateDnsName"): lambda r: _instance(r)["PrivateDnsName"],
    ("AWS::EC2::LaunchTemplate", "LatestVersionNumber"): lambda r: str(
        _launch_template(r)["LatestVersionNumber"]
    ),
}
