"""A Fleet boots hosts safely, signals readiness and rolls updates on signals."""

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
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sns as sns
from gate_findings import synth_findings

from config.model import FleetConfig
from config.ports import APP
from constructs.fleet import Fleet
from constructs.host_config import proxy_init, web_init
from release.build import build_release, release_version
from stacks.gates import add_compliance_gates

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]
ENV = cdk.Environment(account="111111111111", region="us-east-1")
ZONES = ["us-east-1a", "us-east-1b"]
VPC_CIDR = "10.10.0.0/16"
WEB = FleetConfig(instance_type="i2.xlarge", min=2, desired=3, max=6)
SQUID = FleetConfig(instance_type="m5.large", min=1, desired=1, max=2)


def boot_config(stack: cdk.Stack, tier: str, release_dir: Path):
    configs = {"Proxy": proxy_init("http://proxy.test:3128", VPC_CIDR, "test.internal")}
    if tier == "web":
        release = s3_assets.Asset(
            stack, "Release", path=str(build_release(release_dir))
        )
        configs["Release"] = web_init(
            release,
            version=release_version(),
            service="web",
            install_dir="/opt/web",
            app_port=APP,
            health_path="/health",
        )
    return ec2.CloudFormationInit.from_config_sets(
        config_sets={"default": list(configs)}, configs=configs
    )


def build(
    stack: cdk.Stack, release_dir: Path, *, role_updates: bool = True
) -> dict[str, Fleet]:
    """A small, self-contained stack: VPC, groups, role, key, topic, two fleets."""
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
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    topic = sns.Topic(stack, "Topic", master_key=key, enforce_ssl=True)
    fleets = {}
    for tier, size, behind in (("web", WEB, True), ("squid", SQUID, False)):
        fleets[tier] = Fleet(
            stack,
            tier.capitalize(),
            stage_name="Test",
            tier=tier,
            host_role=f"{tier}-host",
            size=size,
            vpc=vpc,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            machine_image=ec2.MachineImage.latest_amazon_linux2023(),
            role=role if role_updates else role.without_policy_updates(),
            security_group=ec2.SecurityGroup(
                stack, f"{tier}Group", vpc=vpc, description=f"{tier} tier"
            ),
            volume_key=key,
            init=boot_config(stack, tier, release_dir),
            notifications_topic=topic,
            behind_load_balancer=behind,
        )
    return fleets


@pytest.fixture(scope="module")
def fleet_synth(tmp_path_factory):
    app = cdk.App(context=CONTEXT, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    stack = cdk.Stack(app, "FleetTest", env=ENV)
    fleets = build(stack, tmp_path_factory.mktemp("release"))
    return assertions.Template.from_stack(stack), stack, fleets


@pytest.fixture(scope="module")
def template(fleet_synth):
    return fleet_synth[0]


def logical_id(stack: cdk.Stack, construct) -> str:
    return stack.resolve(construct.node.default_child.logical_id)


def group_of(fleet_synth, tier: str) -> tuple[str, dict]:
    template, stack, fleets = fleet_synth
    name = logical_id(stack, fleets[tier].group)
    return name, template.to_json()["Resources"][name]


def launch_template_of(fleet_synth, tier: str) -> dict:
    template, stack, fleets = fleet_synth
    name = logical_id(stack, fleets[tier].launch_template)
    return template.to_json()["Resources"][name]["Properties"]["LaunchTemplateData"]


def user_data_text(launch_data: dict) -> str:
    """The user data with every intrinsic replaced by a marker, as one string."""
    parts = launch_data["UserData"]["Fn::Base64"]["Fn::Join"][1]
    return "".join(part if isinstance(part, str) else "<ref>" for part in parts)


def iso_minutes(duration: str) -> float:
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", duration)
    assert match, duration
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 60 + minutes + seconds / 60


def test_groups_launch_from_templates_never_launch_configurations(template):
    template.resource_count_is("AWS::AutoScaling::LaunchConfiguration", 0)
    template.resource_count_is("AWS::EC2::LaunchTemplate", 2)
    template.all_resources_properties(
        "AWS::AutoScaling::AutoScalingGroup",
        {"LaunchTemplate": {"LaunchTemplateId": assertions.Match.any_value()}},
    )


def test_hosts_require_imdsv2_and_detailed_monitoring(fleet_synth):
    for tier in ("web", "squid"):
        data = launch_template_of(fleet_synth, tier)
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        assert data["Monitoring"] == {"Enabled": True}


def test_instance_type_comes_from_the_fleet_config(fleet_synth):
    assert launch_template_of(fleet_synth, "web")["InstanceType"] == "i2.xlarge"
    assert launch_template_of(fleet_synth, "squid")["InstanceType"] == "m5.large"


def test_root_volume_is_gp3_encrypted_with_the_given_key(fleet_synth):
    _template, stack, _fleets = fleet_synth
    key = stack.node.find_child("Key")
    mappings = launch_template_of(fleet_synth, "web")["BlockDeviceMappings"]
    roots = [m for m in mappings if "Ebs" in m]

    assert len(roots) == 1
    assert roots[0]["Ebs"]["VolumeType"] == "gp3"
    assert roots[0]["Ebs"]["Encrypted"] is True
    assert roots[0]["Ebs"]["KmsKeyId"] == stack.resolve(key.key_arn)


def test_the_instance_store_ssd_is_mapped(fleet_synth):
    mappings = launch_template_of(fleet_synth, "web")["BlockDeviceMappings"]

    assert {"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"} in mappings


def test_creation_waits_for_a_signal_from_every_desired_host(fleet_synth):
    for tier, size in (("web", WEB), ("squid", SQUID)):
        _name, group = group_of(fleet_synth, tier)
        signal = group["CreationPolicy"]["ResourceSignal"]

        assert signal["Count"] == size.desired
        assert iso_minutes(signal["Timeout"]) >= 15


def test_rolling_updates_wait_for_signals_and_keep_hosts_in_service(fleet_synth):
    for tier, size in (("web", WEB), ("squid", SQUID)):
        _name, group = group_of(fleet_synth, tier)
        rolling = group["UpdatePolicy"]["AutoScalingRollingUpdate"]

        assert rolling["WaitOnResourceSignals"] is True
        assert iso_minutes(rolling["PauseTime"]) >= 15
        assert rolling["MinInstancesInService"] < size.max
        assert rolling["MaxBatchSize"] >= 1


def test_user_data_runs_cfn_init_then_signals_its_exit_code_to_its_own_group(
    fleet_synth,
):
    for tier in ("web", "squid"):
        name, _group = group_of(fleet_synth, tier)
        text = user_data_text(launch_template_of(fleet_synth, tier))

        init = text.index(f"cfn-init -v --region <ref> --stack <ref> --resource {name}")
        signal = text.index(
            f"cfn-signal -e $? --region <ref> --stack <ref> --resource {name}"
        )
        assert init < signal
        # The instance store is mounted by its own config set, before the tier's.
        assert f"--resource {name} -c DataDisk,default" in text


def test_the_instance_store_is_formatted_and_mounted_at_boot(fleet_synth):
    _name, group = group_of(fleet_synth, "web")
    init = group["Metadata"]["AWS::CloudFormation::Init"]
    disk = init["DataDisk"]
    unit = disk["files"]["/etc/systemd/system/data-disk.service"]["content"]
    commands = [c["command"] for c in disk["commands"].values()]

    assert init["configSets"]["DataDisk"] == ["DataDisk"]
    assert "/usr/local/sbin/mount-disk" in disk["files"]
    assert disk["files"]["/usr/local/sbin/mount-disk"]["mode"] == "000755"
    assert "mount-disk --ephemeral data /data" in unit
    for device in ("/dev/xvdb", "/dev/sdb", "instance-store"):
        assert device in unit
    assert "systemctl enable --now data-disk.service" in commands


def test_web_hosts_install_the_release_and_wait_until_it_is_healthy(fleet_synth):
    _name, group = group_of(fleet_synth, "web")
    init = group["Metadata"]["AWS::CloudFormation::Init"]
    release = init["Release"]
    (command,) = release["commands"].values()

    assert init["configSets"]["default"] == ["Proxy", "Release"]
    assert list(release["sources"]) == [f"/opt/web/releases/{release_version()}"]
    assert command["command"] == (
        f"/usr/local/sbin/activate-release web /opt/web {release_version()} "
        f"{APP} /health 120"
    )
    unit = release["files"]["/etc/systemd/system/web.service"]["content"]
    assert f"--port {APP}" in unit
    # cfn-init fetches the release from the asset bucket with the host's role.
    assert "AWS::CloudFormation::Authentication" in group["Metadata"]


def test_health_checks_use_the_load_balancer_only_behind_one(fleet_synth):
    _name, web = group_of(fleet_synth, "web")
    _name, squid = group_of(fleet_synth, "squid")

    assert web["Properties"]["HealthCheckType"] == "ELB"
    assert web["Properties"]["HealthCheckGracePeriod"] >= 15 * 60
    assert squid["Properties"]["HealthCheckType"] == "EC2"


def test_hosts_land_only_in_the_given_subnets(fleet_synth):
    template, stack, _fleets = fleet_synth
    vpc = stack.node.find_child("Vpc")
    expected = [stack.resolve(s.subnet_id) for s in vpc.isolated_subnets]

    _name, group = group_of(fleet_synth, "web")
    assert group["Properties"]["VPCZoneIdentifier"] == expected


def test_every_scaling_event_is_notified(fleet_synth):
    _name, group = group_of(fleet_synth, "web")
    (config,) = group["Properties"]["NotificationConfigurations"]

    assert set(config["NotificationTypes"]) == {
        "autoscaling:EC2_INSTANCE_LAUNCH",
        "autoscaling:EC2_INSTANCE_LAUNCH_ERROR",
        "autoscaling:EC2_INSTANCE_TERMINATE",
        "autoscaling:EC2_INSTANCE_TERMINATE_ERROR",
    }


def test_instances_and_volumes_are_tagged_with_stage_tier_and_role(fleet_synth):
    expected = {"stage": "Test", "tier": "web", "role": "web-host"}
    specs = launch_template_of(fleet_synth, "web")["TagSpecifications"]
    by_type = {
        spec["ResourceType"]: {t["Key"]: t["Value"] for t in spec["Tags"]}
        for spec in specs
    }

    for resource_type in ("instance", "volume"):
        assert expected.items() <= by_type[resource_type].items(), resource_type
    _name, group = group_of(fleet_synth, "web")
    group_tags = {t["Key"]: t for t in group["Properties"]["Tags"]}
    for key, value in expected.items():
        assert group_tags[key] == {
            "Key": key,
            "Value": value,
            "PropagateAtLaunch": True,
        }


def test_a_signal_timeout_under_fifteen_minutes_is_refused():
    stack = cdk.Stack(cdk.App(context=CONTEXT), "Short", env=ENV)
    vpc = ec2.Vpc(stack, "Vpc", availability_zones=ZONES, nat_gateways=0)

    with pytest.raises(ValueError, match="signal_timeout"):
        Fleet(
            stack,
            "Web",
            stage_name="Test",
            tier="web",
            host_role="app",
            size=WEB,
            vpc=vpc,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            machine_image=ec2.MachineImage.latest_amazon_linux2023(),
            role=iam.Role(
                stack, "Role", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com")
            ),
            security_group=ec2.SecurityGroup(stack, "Group", vpc=vpc),
            volume_key=kms.Key(stack, "Key"),
            init=ec2.CloudFormationInit.from_elements(),
            notifications_topic=sns.Topic(stack, "Topic"),
            signal_timeout=cdk.Duration.minutes(10),
        )


def test_fleets_pass_the_compliance_gates(tmp_path):
    app = cdk.App(context=CONTEXT, outdir=str(tmp_path))
    add_compliance_gates(app)
    stack = cdk.Stack(app, "FleetGates", env=ENV)
    # With the tier's managed policy holding its permissions, as TierRole does.
    build(stack, tmp_path / "release", role_updates=False)

    findings = synth_findings(app)
    # The scaffolding VPC of this test has no flow log; nothing else may fail.
    assert [f for f in findings if not f[1].startswith("FleetGates/Vpc/")] == []
