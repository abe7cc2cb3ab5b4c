"""Where moto 5.2.5 parts from AWS on the way of a CDK deploy, and what we do.

This is the one place that lists every workaround of the local tooling with its
reason. scripts/local_deploy.py takes its CLI flags from here; the patches of
the mock are in scripts/moto_patches.py, which scripts/moto_server.py applies
to the server it runs and tests/moto applies in process. The templates are
never changed: each workaround acts on the mock or on how the CLI is driven.
"""

from __future__ import annotations

from dataclasses import dataclass

MOTO_VERSION = "5.2.5"
CUSTOM_RESOURCE = "AWS::CloudFormation::CustomResource"
VPC_CIDR_BLOCK = "AWS::EC2::VPCCidrBlock"
CERTIFICATE = "AWS::CertificateManager::Certificate"
BUILD_PROJECT = "AWS::CodeBuild::Project"
# Resource types moto's CloudFormation lacks that scripts/moto_patches.py adds.
ADDED_TYPES = (VPC_CIDR_BLOCK, CERTIFICATE, BUILD_PROJECT)


@dataclass(frozen=True)
class Quirk:
    """One way moto or the CLI differs from AWS, and the workaround in effect."""

    name: str
    symptom: str
    workaround: str


QUIRKS: tuple[Quirk, ...] = (
    Quirk(
        "change-set deploy",
        "A stack created through a change set has no outputs or exports in moto, "
        "so the stacks importing them fail.",
        "cdk deploy --method=direct (CreateStack and UpdateStack).",
    ),
    Quirk(
        "template URL host",
        "moto takes the host of a template URL for the bucket name unless it "
        "says 'localhost', so an endpoint given as an IP address breaks CreateStack.",
        "The CLI is sent to http://localhost:PORT; the server binds 127.0.0.1 only.",
    ),
    Quirk(
        "half-created stack",
        "A stack whose CreateStack failed stays CREATE_IN_PROGRESS, and moto "
        "answers the CLI's next deploy of it with a server error.",
        "Every run starts a fresh server and stops at the first failed stack.",
    ),
    Quirk(
        "no failure events",
        "moto records no resource events and no failure reason for a rejected "
        "CreateStack; the reason is only in the API error the CLI prints.",
        "The failing stack is the first of its stage that is not complete; the "
        "reason comes from its FAILED events if any, else from the CLI's error.",
    ),
    Quirk(
        "change-set diff",
        "cdk diff first deletes its previous change set; moto's DeleteChangeSet "
        "fails with a server error for an unknown name, and the CLI retries for "
        "about 90 s before it falls back to a template diff.",
        "cdk diff --method=template.",
    ),
    Quirk(
        "bootstrap outputs",
        "cdk bootstrap creates CDKToolkit through a change set, so its outputs "
        "are empty (see the first quirk) and the CLI logs that it cannot read "
        "BootstrapVersion from them.",
        "None needed: stacks use the bucket names of their asset manifests and "
        "read the bootstrap version from its SSM parameter.",
    ),
    Quirk(
        "context lookups",
        "Given an assembly that still misses context, the CLI looks the values "
        "up (here: in moto) and writes them to cdk.context.json in its working "
        "directory, which would change the repository.",
        "Every CLI call has --no-lookups and runs in the run's own temporary "
        "directory, never in the repository.",
    ),
    Quirk(
        "accounts",
        "moto files every request under account 123456789012 unless the "
        "credentials come from an assumed role, and the CLI refuses to deploy a "
        "stage of another account with them.",
        "Credentials per account from sts:AssumeRole; moto does not check the role.",
    ),
    Quirk(
        "custom resources",
        "moto answers a custom resource by running its Lambda handler in Docker, "
        "pulling the image from a public registry; without Docker the stack "
        "never leaves CREATE_IN_PROGRESS.",
        "A stand-in answers SUCCESS with no data once it has found the handler "
        "function. The handler never runs, so its effect (e.g. emptying the "
        "default security group) is absent and any GetAtt on it is empty. "
        "Docker is pointed at a socket that does not exist. The summary lists "
        "every stand-in.",
    ),
    Quirk(
        "KMS keys",
        "moto hands CloudFormation's Key/Value tags of an AWS::KMS::Key to a "
        "tagger that wants TagKey/TagValue and fails with KeyError, so a tagged "
        "key fails its stack; and it keeps KeyPolicy as an object where KMS "
        "keeps a JSON string, so DescribeKey on the key fails with TypeError.",
        "The tags are renamed to TagKey/TagValue and the policy is serialized to "
        "JSON before moto creates the key.",
    ),
    Quirk(
        "DependsOn",
        "moto creates a resource early when an output or another resource "
        "refers to it, without the resources of its DependsOn, so a subnet "
        "can be made before the VPC's IPv6 block it depends on.",
        "A resource's DependsOn are created before it, however it is reached.",
    ),
    Quirk(
        "dual-stack VPC",
        "moto's CloudFormation has no AWS::EC2::VPCCidrBlock, no Fn::Cidr and "
        "no Ipv6CidrBlocks attribute of a VPC, so a dual-stack VPC fails its stack.",
        "The three are added: the CIDR block is associated through moto's EC2 "
        "API (Amazon-provided IPv6 comes from moto's pool), Fn::Cidr splits a "
        "block as CloudFormation documents, and Ipv6CidrBlocks lists the VPC's "
        "IPv6 blocks. moto still drops the subnets' IPv6 blocks, IPv6 routes and "
        "the egress-only internet gateway (tests/moto/unsupported.py).",
    ),
    Quirk(
        "instance store",
        "moto's RunInstances reads every block device mapping (of the instance "
        "or its launch template) as EBS and fails with KeyError on an "
        "instance-store one (VirtualName ephemeral0), so an i2.xlarge host or "
        "Auto Scaling group fails its stack.",
        "Instances are launched with the EBS mappings only; the instance store "
        "is no EBS volume, so the mock shows the same volumes.",
    ),
    Quirk(
        "certificates",
        "moto's CloudFormation has no AWS::CertificateManager::Certificate, so "
        "a Ref to one is empty and an HTTPS listener that names it fails with "
        "KeyError CertificateArn.",
        "The certificate is requested from moto's ACM (DomainValidationOptions "
        "are ignored: moto validates nothing), and its ARN is the Ref.",
    ),
    Quirk(
        "build projects",
        "moto's CloudFormation has no AWS::CodeBuild::Project, so a GetAtt of "
        "its Arn (a pipeline's role policies have them) fails the stack.",
        "The project is created through moto's CodeBuild API, with the "
        "property names turned into the API's; its name is the Ref.",
    ),
    Quirk(
        "load balancers",
        "moto makes every AWS::ElasticLoadBalancingV2::LoadBalancer an "
        "application load balancer, ignoring Type, IpAddressType, Tags and "
        "LoadBalancerAttributes, so a network load balancer's TCP listener is "
        "refused; and GetAtt CanonicalHostedZoneID (for a Route 53 alias) is "
        "left unresolved.",
        "The load balancer is created with those properties through moto's ELBv2 "
        "API, and CanonicalHostedZoneID, LoadBalancerFullName and SecurityGroups "
        "are read from it (the zone id is moto's fixed example value).",
    ),
    Quirk(
        "SSM documents",
        "moto reads an AWS::SSM::Document without DocumentFormat as format None "
        "and rejects it, where CloudFormation defaults the format to JSON; and "
        "it keeps Content given as an object, which DescribeDocument then fails "
        "to hash.",
        "DocumentFormat defaults to JSON and an object Content is serialized to "
        "JSON before moto creates the document.",
    ),
    Quirk(
        "unsupported types",
        "moto skips resource types it does not implement (e.g. the bootstrap "
        "stack's AWS::S3::BucketPolicy) with a warning, and a Ref to one is empty.",
        "The summary counts, per stack, the resources moto did not create; "
        "tests/moto/unsupported.py names the test that covers each type instead.",
    ),
)

DEPLOY_FLAGS = ("--method=direct",)  # quirk "change-set deploy"
DIFF_FLAGS = ("--method=template",)  # quirk "change-set diff"


def is_custom_resource(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == CUSTOM_RESOURCE
