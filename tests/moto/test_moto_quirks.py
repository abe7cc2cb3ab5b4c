"""Each workaround of scripts/moto_quirks.py is still needed, and still works.

A test here fails when moto fixes the quirk its workaround is for, so the
workaround and its entry in QUIRKS can go.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from scripts.moto_patches import patched_moto
from scripts.moto_quirks import MOTO_VERSION, QUIRKS

REGION = "us-east-1"


def cloudformation():
    return boto3.client("cloudformation", region_name=REGION)


def create(resources: dict, outputs: dict | None = None, name: str = "quirk") -> str:
    template = {"Resources": resources, "Outputs": outputs or {}}
    cloudformation().create_stack(StackName=name, TemplateBody=json.dumps(template))
    return cloudformation().describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]


def physical_id(logical_id: str, name: str = "quirk") -> str:
    (resource,) = cloudformation().describe_stack_resources(
        StackName=name, LogicalResourceId=logical_id
    )["StackResources"]
    return resource["PhysicalResourceId"]


TAGGED_KEY = {
    "Key": {
        "Type": "AWS::KMS::Key",
        "Properties": {
            "Description": "quirk",
            "EnableKeyRotation": True,
            "KeyPolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    }
                ],
            },
            "Tags": [{"Key": "stage", "Value": "Dev"}],
        },
    }
}
UNTAGGED_KEY = {
    "Key": {
        **TAGGED_KEY["Key"],
        "Properties": {
            k: v for k, v in TAGGED_KEY["Key"]["Properties"].items() if k != "Tags"
        },
    }
}
DOCUMENT = {
    "Document": {
        "Type": "AWS::SSM::Document",
        "Properties": {
            "DocumentType": "Command",
            "Content": {
                "schemaVersion": "2.2",
                "description": "quirk",
                "mainSteps": [
                    {
                        "action": "aws:runShellScript",
                        "name": "run",
                        "inputs": {"runCommand": ["true"]},
                    }
                ],
            },
        },
    }
}
DUAL_STACK = {
    "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
    "Ipv6": {
        "Type": "AWS::EC2::VPCCidrBlock",
        "Properties": {"VpcId": {"Ref": "Vpc"}, "AmazonProvidedIpv6CidrBlock": True},
    },
    "Subnet": {
        "Type": "AWS::EC2::Subnet",
        "DependsOn": "Ipv6",
        "Properties": {
            "VpcId": {"Ref": "Vpc"},
            "CidrBlock": "10.0.0.0/24",
            "Ipv6CidrBlock": {
                "Fn::Select": [
                    1,
                    {
                        "Fn::Cidr": [
                            {
                                "Fn::Select": [
                                    0,
                                    {"Fn::GetAtt": ["Vpc", "Ipv6CidrBlocks"]},
                                ]
                            },
                            2,
                            "64",
                        ]
                    },
                ]
            },
        },
    },
}


def handler_and_custom_resource(resource_type: str, token: dict | str) -> dict:
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.js", "exports.handler = async () => {};")
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="quirk-code")
    boto3.client("s3", region_name=REGION).put_object(
        Bucket="quirk-code", Key="code.zip", Body=code.getvalue()
    )
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="quirk", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    return {
        "Handler": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Code": {"S3Bucket": "quirk-code", "S3Key": "code.zip"},
                "Handler": "index.handler",
                "Role": role,
                "Runtime": "nodejs22.x",
            },
        },
        "Custom": {
            "Type": resource_type,
            "Properties": {"ServiceToken": token, "Anything": "at all"},
        },
    }


POLICY_AFTER_ITS_ROLE = {
    "Role": {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": "quirk-role",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
        },
    },
    "Policy": {
        "Type": "AWS::IAM::Policy",
        "DependsOn": "Role",
        "Properties": {
            "PolicyName": "quirk",
            "Roles": ["quirk-role"],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
                ],
            },
        },
    },
}
EXPORTED_POLICY = {"Policy": {"Value": {"Ref": "Policy"}, "Export": {"Name": "p"}}}
SUBNETS = {
    "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
    "A": {
        "Type": "AWS::EC2::Subnet",
        "Properties": {
            "VpcId": {"Ref": "Vpc"},
            "CidrBlock": "10.0.0.0/24",
            "AvailabilityZone": f"{REGION}a",
        },
    },
    "B": {
        "Type": "AWS::EC2::Subnet",
        "Properties": {
            "VpcId": {"Ref": "Vpc"},
            "CidrBlock": "10.0.1.0/24",
            "AvailabilityZone": f"{REGION}b",
        },
    },
}
HOST_WITH_INSTANCE_STORE = {
    "Host": {
        "Type": "AWS::EC2::Instance",
        "Properties": {
            "ImageId": "ami-12c6146b",
            "InstanceType": "i2.xlarge",
            "BlockDeviceMappings": [
                {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20}},
                {"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"},
            ],
        },
    }
}
NETWORK_BALANCER = {
    **SUBNETS,
    "Balancer": {
        "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "Properties": {
            "Type": "network",
            "Scheme": "internal",
            "Subnets": [{"Ref": "A"}, {"Ref": "B"}],
        },
    },
    "Group": {
        "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
        "Properties": {
            "Port": 3128,
            "Protocol": "TCP",
            "VpcId": {"Ref": "Vpc"},
        },
    },
    "Listener": {
        "Type": "AWS::ElasticLoadBalancingV2::Listener",
        "Properties": {
            "LoadBalancerArn": {"Ref": "Balancer"},
            "Port": 3128,
            "Protocol": "TCP",
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "Group"}}],
        },
    },
}
ALIAS_ZONE = {
    "Value": {"Fn::GetAtt": ["Balancer", "CanonicalHostedZoneID"]},
}
CERTIFICATE = {
    "Certificate": {
        "Type": "AWS::CertificateManager::Certificate",
        "Properties": {"DomainName": "quirk.example.test", "ValidationMethod": "DNS"},
    }
}


def test_the_quirks_were_checked_against_the_installed_moto():
    # Another moto may fix some quirks and bring new ones: check them, then pin.
    assert importlib.metadata.version("moto") == MOTO_VERSION


def test_every_quirk_says_what_goes_wrong_and_what_is_done():
    assert len({quirk.name for quirk in QUIRKS}) == len(QUIRKS)
    for quirk in QUIRKS:
        assert quirk.symptom and quirk.workaround, quirk.name


@mock_aws
def test_moto_alone_still_fails_a_stack_with_a_tagged_kms_key():
    with pytest.raises((KeyError, ClientError)):
        create(TAGGED_KEY)


@mock_aws
def test_moto_alone_still_cannot_describe_a_key_whose_policy_came_from_a_template():
    create(UNTAGGED_KEY)

    with pytest.raises(TypeError):
        boto3.client("kms", region_name=REGION).describe_key(KeyId=physical_id("Key"))


@mock_aws
def test_with_the_workaround_a_tagged_key_keeps_its_tags_policy_and_rotation():
    with patched_moto():
        assert create(TAGGED_KEY) == "CREATE_COMPLETE"
    kms = boto3.client("kms", region_name=REGION)
    key_id = physical_id("Key")

    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "quirk"
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [
        {"TagKey": "stage", "TagValue": "Dev"}
    ]
    policy = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    assert json.loads(policy) == TAGGED_KEY["Key"]["Properties"]["KeyPolicy"]
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True


@mock_aws
def test_moto_alone_still_rejects_a_document_without_a_format():
    with pytest.raises(ClientError) as raised:
        create(DOCUMENT)

    assert "Invalid document format None" in str(raised.value)


@mock_aws
def test_with_the_workaround_a_document_without_a_format_is_json():
    with patched_moto():
        assert create(DOCUMENT) == "CREATE_COMPLETE"
    ssm = boto3.client("ssm", region_name=REGION)

    document = ssm.describe_document(Name=physical_id("Document"))["Document"]
    assert document["DocumentFormat"] == "JSON"


@mock_aws
def test_moto_alone_still_fails_a_dual_stack_vpc():
    with pytest.raises(ClientError):
        create(DUAL_STACK)


@mock_aws
def test_with_the_workaround_a_dual_stack_vpc_gets_an_ipv6_block():
    with patched_moto():
        assert create(DUAL_STACK) == "CREATE_COMPLETE"

    ec2 = boto3.client("ec2", region_name=REGION)
    (vpc,) = ec2.describe_vpcs(VpcIds=[physical_id("Vpc")])["Vpcs"]
    (block,) = vpc["Ipv6CidrBlockAssociationSet"]
    assert block["Ipv6CidrBlock"].endswith("::/56")


@mock_aws
def test_moto_alone_still_loses_the_outputs_of_a_stack_made_by_change_set():
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"Arn": {"Value": {"Ref": "Topic"}, "Export": {"Name": "t"}}},
    }
    cloudformation().create_change_set(
        StackName="quirk",
        ChangeSetName="create",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps(template),
    )
    cloudformation().execute_change_set(ChangeSetName="create", StackName="quirk")

    stack = cloudformation().describe_stacks(StackName="quirk")["Stacks"][0]
    assert not stack.get("Outputs")


@mock_aws
def test_moto_alone_still_fails_to_delete_a_change_set_it_does_not_know():
    with pytest.raises(UnboundLocalError):
        cloudformation().delete_change_set(ChangeSetName="cdk-diff-change-set")


@pytest.mark.parametrize(
    "resource_type", ["Custom::Thing", "AWS::CloudFormation::CustomResource"]
)
@mock_aws
def test_with_the_workaround_a_custom_resource_is_answered_without_its_handler(
    resource_type,
):
    token = {"Fn::GetAtt": ["Handler", "Arn"]}
    resources = handler_and_custom_resource(resource_type, token)

    with patched_moto():
        assert create(resources) == "CREATE_COMPLETE"
    assert physical_id("Custom")


@mock_aws
def test_with_the_workaround_a_custom_resource_without_its_handler_fails():
    missing = f"arn:aws:lambda:{REGION}:123456789012:function:missing"
    resources = handler_and_custom_resource("Custom::Thing", missing)

    with patched_moto(), pytest.raises(ClientError):
        create(resources)


def test_the_workarounds_are_undone_on_leaving():
    from moto.cloudformation import parsing
    from moto.ec2.models.vpcs import VPC
    from moto.kms.models import Key

    before = (
        Key.create_from_cloudformation_json,
        parsing.resource_class_from_type,
        parsing.clean_json,
        VPC.get_cfn_attribute,
        "has_cfn_attr" in vars(VPC),
    )
    with patched_moto():
        assert parsing.resource_class_from_type is not before[1]

    after = (
        Key.create_from_cloudformation_json,
        parsing.resource_class_from_type,
        parsing.clean_json,
        VPC.get_cfn_attribute,
        "has_cfn_attr" in vars(VPC),
    )
    assert after == before


@mock_aws
def test_moto_alone_still_creates_an_exported_resource_before_its_depends_on():
    with pytest.raises(ClientError) as raised:
        create(POLICY_AFTER_ITS_ROLE, EXPORTED_POLICY)

    assert "quirk-role not found" in str(raised.value)


@mock_aws
def test_with_the_workaround_depends_on_comes_first_however_a_resource_is_reached():
    with patched_moto():
        assert create(POLICY_AFTER_ITS_ROLE, EXPORTED_POLICY) == "CREATE_COMPLETE"


@mock_aws
def test_moto_alone_still_fails_a_host_with_an_instance_store():
    with pytest.raises(KeyError):
        create(HOST_WITH_INSTANCE_STORE)


@mock_aws
def test_with_the_workaround_a_host_keeps_its_ebs_volume_only():
    with patched_moto():
        assert create(HOST_WITH_INSTANCE_STORE) == "CREATE_COMPLETE"
    ec2 = boto3.client("ec2", region_name=REGION)

    (reservation,) = ec2.describe_instances(InstanceIds=[physical_id("Host")])[
        "Reservations"
    ]
    (instance,) = reservation["Instances"]
    assert [m["DeviceName"] for m in instance["BlockDeviceMappings"]] == ["/dev/xvda"]


@mock_aws
def test_moto_alone_still_refuses_a_tcp_listener_of_a_network_load_balancer():
    with pytest.raises(ClientError) as raised:
        create(NETWORK_BALANCER)

    assert "Listener protocol 'TCP'" in str(raised.value)


@mock_aws
def test_moto_alone_still_leaves_a_balancers_canonical_zone_unresolved():
    application = {
        **SUBNETS,
        "Balancer": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {"Subnets": [{"Ref": "A"}, {"Ref": "B"}]},
        },
    }

    create(application, {"Zone": ALIAS_ZONE})

    stack = cloudformation().describe_stacks(StackName="quirk")["Stacks"][0]
    assert "Fn::GetAtt" in stack["Outputs"][0]["OutputValue"]


@mock_aws
def test_with_the_workaround_a_network_load_balancer_serves_tcp_and_has_a_zone():
    with patched_moto():
        assert create(NETWORK_BALANCER, {"Zone": ALIAS_ZONE}) == "CREATE_COMPLETE"
    elbv2 = boto3.client("elbv2", region_name=REGION)

    (held,) = elbv2.describe_load_balancers(LoadBalancerArns=[physical_id("Balancer")])[
        "LoadBalancers"
    ]
    assert (held["Type"], held["Scheme"]) == ("network", "internal")
    outputs = cloudformation().describe_stacks(StackName="quirk")["Stacks"][0]
    assert outputs["Outputs"][0]["OutputValue"] == held["CanonicalHostedZoneId"]


@mock_aws
def test_with_the_workaround_a_certificate_is_requested_from_acm():
    with patched_moto():
        assert create(CERTIFICATE) == "CREATE_COMPLETE"
    acm = boto3.client("acm", region_name=REGION)

    certificate = acm.describe_certificate(CertificateArn=physical_id("Certificate"))
    assert certificate["Certificate"]["DomainName"] == "quirk.example.test"


@mock_aws
def test_with_the_workaround_a_build_project_is_created_in_codebuild():
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="quirk", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    project = {
        "Project": {
            "Type": "AWS::CodeBuild::Project",
            "Properties": {
                "ServiceRole": role,
                "Source": {"Type": "NO_SOURCE", "BuildSpec": "version: 0.2"},
                "Artifacts": {"Type": "NO_ARTIFACTS"},
                "Environment": {
                    "Type": "LINUX_CONTAINER",
                    "ComputeType": "BUILD_GENERAL1_SMALL",
                    "Image": "aws/codebuild/standard:7.0",
                },
            },
        }
    }

    with patched_moto():
        status = create(project, {"Arn": {"Value": {"Fn::GetAtt": ["Project", "Arn"]}}})

    assert status == "CREATE_COMPLETE"
    codebuild = boto3.client("codebuild", region_name=REGION)
    (held,) = codebuild.batch_get_projects(names=[physical_id("Project")])["projects"]
    assert held["environment"]["image"] == "aws/codebuild/standard:7.0"
    assert held["source"]["buildspec"] == "version: 0.2"
