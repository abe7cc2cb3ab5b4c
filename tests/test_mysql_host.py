"""A MySQL host keeps its data safe: retained, protected, backed up on sc1."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from gate_findings import synth_findings

from config.ports import MYSQL
from constructs.mysql_host import MysqlHost
from stacks.gates import add_compliance_gates

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]
ENV = cdk.Environment(account="111111111111", region="us-east-1")
ZONES = ["us-east-1a", "us-east-1b"]
VPC_CIDR = "10.10.0.0/16"
PARAMETER = "/test/mysql/replication-password"
PINNED_IMAGE = {"us-east-1": "ami-0123456789abcdef0"}


def scaffold(stack: cdk.Stack, *, role_updates: bool = True) -> dict:
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=ZONES,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(
                name="Private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
            )
        ],
    )
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    return {
        "stage_name": "Test",
        "vpc": vpc,
        "vpc_cidr": VPC_CIDR,
        "machine_image": ec2.MachineImage.generic_linux(PINNED_IMAGE),
        "instance_type": "i2.xlarge",
        "role": role if role_updates else role.without_policy_updates(),
        "security_group": ec2.SecurityGroup(
            stack, "Group", vpc=vpc, description="mysql tier"
        ),
        "volume_key": kms.Key(stack, "Key", enable_key_rotation=True),
        "backup_volume_gib": 500,
        "mysql_version": "8.4.3",
        "port": MYSQL,
        "replication_parameter": PARAMETER,
        "proxy_url": "http://proxy.test:3128",
        "internal_domain": "test.internal",
    }


def build(stack: cdk.Stack, **options) -> dict[str, MysqlHost]:
    common = scaffold(stack, **options)
    subnets = common["vpc"].isolated_subnets
    primary = MysqlHost(
        stack, "Primary", shard=3, primary_host=None, subnet=subnets[0], **common
    )
    replica = MysqlHost(
        stack,
        "Replica",
        shard=3,
        primary_host=primary.instance.instance_private_dns_name,
        subnet=subnets[1],
        **common,
    )
    return {"primary": primary, "replica": replica}


@pytest.fixture(scope="module")
def mysql_synth():
    stack = cdk.Stack(cdk.App(context=CONTEXT), "MysqlTest", env=ENV)
    hosts = build(stack)
    return assertions.Template.from_stack(stack), stack, hosts


def resource(mysql_synth, construct) -> tuple[str, dict]:
    template, stack, _hosts = mysql_synth
    name = stack.resolve(construct.node.default_child.logical_id)
    return name, template.to_json()["Resources"][name]


def instance_of(mysql_synth, role: str) -> tuple[str, dict]:
    return resource(mysql_synth, mysql_synth[2][role].instance)


def init_of(mysql_synth, role: str) -> dict:
    return instance_of(mysql_synth, role)[1]["Metadata"]["AWS::CloudFormation::Init"]


def joined(value) -> str:
    """A string or an Fn::Join, with every intrinsic replaced by a marker."""
    if isinstance(value, str):
        return value
    return "".join(p if isinstance(p, str) else "<ref>" for p in value["Fn::Join"][1])


def test_each_host_is_a_fixed_instance_not_a_group(mysql_synth):
    template = mysql_synth[0]

    template.resource_count_is("AWS::EC2::Instance", 2)
    template.resource_count_is("AWS::AutoScaling::AutoScalingGroup", 0)


@pytest.mark.parametrize("role", ["primary", "replica"])
def test_exactly_one_sc1_volume_sits_in_the_hosts_zone_and_is_attached(
    mysql_synth, role
):
    template, stack, hosts = mysql_synth
    instance_name, instance = instance_of(mysql_synth, role)
    volume_name, volume = resource(mysql_synth, hosts[role].backup_volume)
    attachments = [
        a["Properties"]
        for a in template.find_resources("AWS::EC2::VolumeAttachment").values()
        if a["Properties"]["InstanceId"] == {"Ref": instance_name}
    ]

    assert len(template.find_resources("AWS::EC2::Volume")) == 2
    assert volume["Properties"]["VolumeType"] == "sc1"
    assert volume["Properties"]["Size"] == 500
    assert volume["Properties"]["Encrypted"] is True
    assert (
        volume["Properties"]["AvailabilityZone"]
        == (instance["Properties"]["AvailabilityZone"])
    )
    assert attachments == [
        {"InstanceId": {"Ref": instance_name}, "VolumeId": {"Ref": volume_name},
         "Device": "/dev/sdf"}
    ]  # fmt: skip


def test_the_backup_volume_is_mounted_at_backup_and_never_on_the_root(mysql_synth):
    init = init_of(mysql_synth, "replica")
    disk = init["BackupDisk"]
    unit = disk["files"]["/etc/systemd/system/backup-disk.service"]["content"]
    commands = [joined(c["command"]) for c in disk["commands"].values()]

    assert "BackupDisk" in init["configSets"]["default"]
    assert "mount-disk backup /backup" in joined(unit)
    assert "--ephemeral" not in joined(unit)
    assert "/dev/sdf" in joined(unit)
    assert "ebs:<ref>" in joined(unit)
    # Attached only after the host signals, so the boot must not wait for it.
    assert any("start --no-block backup-disk.service" in c for c in commands)
    _name, instance = instance_of(mysql_synth, "replica")
    roots = [m for m in instance["Properties"]["BlockDeviceMappings"] if "Ebs" in m]
    assert [m["DeviceName"] for m in roots] == ["/dev/xvda"]


@pytest.mark.parametrize("role", ["primary", "replica"])
def test_hosts_and_volumes_are_retained_and_termination_protected(mysql_synth, role):
    _name, instance = instance_of(mysql_synth, role)
    _name, volume = resource(mysql_synth, mysql_synth[2][role].backup_volume)

    for retained in (instance, volume):
        assert retained["DeletionPolicy"] == "Retain"
        assert retained["UpdateReplacePolicy"] == "Retain"
    assert instance["Properties"]["DisableApiTermination"] is True


def test_hosts_require_imdsv2_and_use_the_ssd_and_an_encrypted_root(mysql_synth):
    _name, instance = instance_of(mysql_synth, "primary")
    props = instance["Properties"]

    assert props["MetadataOptions"] == {"HttpTokens": "required"}
    assert props["InstanceType"] == "i2.xlarge"
    assert props["EbsOptimized"] is True
    assert props["Monitoring"] is True
    assert {"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"} in (
        props["BlockDeviceMappings"]
    )
    (root,) = [m for m in props["BlockDeviceMappings"] if "Ebs" in m]
    assert root["Ebs"]["VolumeType"] == "gp3"
    assert root["Ebs"]["Encrypted"] is True


@pytest.mark.parametrize("role", ["primary", "replica"])
def test_hosts_are_tagged_with_stage_tier_role_and_shard(mysql_synth, role):
    _name, instance = instance_of(mysql_synth, role)
    tags = {t["Key"]: t["Value"] for t in instance["Properties"]["Tags"]}

    assert {"stage": "Test", "tier": "mysql", "role": role, "shard": "3"}.items() <= (
        tags.items()
    )
    assert instance["Properties"]["PropagateTagsToVolumeOnCreation"] is True


def test_creation_waits_for_cfn_signal_from_the_host_itself(mysql_synth):
    name, instance = instance_of(mysql_synth, "primary")
    signal = instance["CreationPolicy"]["ResourceSignal"]
    user_data = joined(instance["Properties"]["UserData"]["Fn::Base64"])

    assert signal["Count"] == 1
    minutes = re.fullmatch(r"PT(\d+)M", signal["Timeout"])
    assert minutes and int(minutes.group(1)) >= 15
    assert f"cfn-signal -e $? --region <ref> --stack <ref> --resource {name}" in (
        user_data
    )


def test_a_config_change_never_rewrites_user_data(mysql_synth):
    # Rewriting user data stops the host, and a stop wipes the instance store.
    _name, instance = instance_of(mysql_synth, "primary")

    assert "fingerprint" not in joined(instance["Properties"]["UserData"]["Fn::Base64"])


def test_mysql_data_lives_on_the_instance_store_at_the_pinned_version(mysql_synth):
    init = init_of(mysql_synth, "primary")
    conf = init["Mysql"]["files"]["/etc/my.cnf"]["content"]
    (command,) = [joined(c["command"]) for c in init["Mysql"]["commands"].values()]

    assert "datadir = /data/mysql" in conf
    assert "init-mysql-server 8.4.3 /data/mysql" in command
    assert init["configSets"]["default"].index("DataDisk") < (
        init["configSets"]["default"].index("Mysql")
    )


def test_the_replica_follows_the_primary_by_its_private_dns_name(mysql_synth):
    template, stack, hosts = mysql_synth
    primary_name, _primary = instance_of(mysql_synth, "primary")
    init = init_of(mysql_synth, "replica")
    (command,) = init["Replication"]["commands"].values()
    parts = command["command"]["Fn::Join"][1]

    assert {"Fn::GetAtt": [primary_name, "PrivateDnsName"]} in parts
    assert f"replica {PARAMETER} us-east-1 10.10.0.0/255.255.0.0" in joined(
        command["command"]
    )
    assert f"{MYSQL}" in joined(command["command"])
    assert "read_only = ON" in init["Mysql"]["files"]["/etc/my.cnf"]["content"]
    primary_init = init_of(mysql_synth, "primary")
    (primary_command,) = primary_init["Replication"]["commands"].values()
    assert f"init-mysql-replication primary {PARAMETER}" in joined(
        primary_command["command"]
    )


def test_the_replication_password_is_read_at_boot_never_templated(mysql_synth):
    template = mysql_synth[0]

    template.resource_count_is("AWS::SSM::Parameter", 0)
    template.resource_count_is("AWS::SecretsManager::Secret", 0)
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": assertions.Match.array_with(
                    [
                        assertions.Match.object_like(
                            {
                                "Action": assertions.Match.array_with(
                                    ["ssm:GetParameter"]
                                ),
                                "Resource": assertions.Match.string_like_regexp(
                                    f"parameter{PARAMETER}$"
                                ),
                            }
                        )
                    ]
                )
            }
        },
    )


def test_server_ids_differ_between_primary_and_replica(mysql_synth):
    ids = set()
    for role in ("primary", "replica"):
        conf = init_of(mysql_synth, role)["Mysql"]["files"]["/etc/my.cnf"]["content"]
        ids.add(re.search(r"^server_id = (\d+)$", conf, re.M).group(1))

    assert len(ids) == 2


@pytest.mark.parametrize("size", [124, 16385, 0])
def test_a_backup_volume_size_sc1_cannot_have_is_refused(size):
    stack = cdk.Stack(cdk.App(context=CONTEXT), "Bad", env=ENV)
    common = {**scaffold(stack), "backup_volume_gib": size}

    with pytest.raises(ValueError, match=rf"backup_volume_gib = {size} .*125\.\.16384"):
        MysqlHost(
            stack,
            "Host",
            shard=0,
            primary_host=None,
            subnet=common["vpc"].isolated_subnets[0],
            **common,
        )


@pytest.mark.parametrize("size", [125, 16384])
def test_the_sc1_size_limits_themselves_are_accepted(size):
    stack = cdk.Stack(cdk.App(context=CONTEXT), "Edge", env=ENV)
    common = {**scaffold(stack), "backup_volume_gib": size}

    MysqlHost(
        stack,
        "Host",
        shard=0,
        primary_host=None,
        subnet=common["vpc"].isolated_subnets[0],
        **common,
    )

    assertions.Template.from_stack(stack).has_resource_properties(
        "AWS::EC2::Volume", {"Size": size, "VolumeType": "sc1"}
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("mysql_version", "8.4", "mysql_version"),
        ("mysql_version", "5.7.44", "mysql_version"),
        ("machine_image", None, "machine_image resolves only at deploy time"),
        ("signal_timeout", cdk.Duration.minutes(10), "signal_timeout"),
    ],
)
def test_an_unsafe_or_malformed_setting_is_refused(key, value, message):
    stack = cdk.Stack(cdk.App(context=CONTEXT), "Bad", env=ENV)
    common = scaffold(stack)
    common[key] = (
        value if value is not None else (ec2.MachineImage.latest_amazon_linux2023())
    )

    with pytest.raises(ValueError, match=message):
        MysqlHost(
            stack,
            "Host",
            shard=0,
            primary_host=None,
            subnet=common["vpc"].isolated_subnets[0],
            **common,
        )


def test_mysql_hosts_pass_the_compliance_gates(tmp_path):
    app = cdk.App(context=CONTEXT, outdir=str(tmp_path))
    add_compliance_gates(app)
    stack = cdk.Stack(app, "MysqlGates", env=ENV)
    # The stage applies these to every stack; they must not upset the hosts.
    cdk.Aspects.of(stack).add(ec2.InstanceRequireImdsv2Aspect())
    build(stack, role_updates=False)

    findings = synth_findings(app)
    # The scaffolding VPC of this test has no flow log; nothing else may fail.
    assert [f for f in findings if not f[1].startswith("MysqlGates/Vpc/")] == []
