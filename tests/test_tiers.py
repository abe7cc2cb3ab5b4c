"""Every tier is in the synthesized stages with the configured types and counts."""

from __future__ import annotations

import json

import pytest

from config import load_stages
from config.ports import APP, HTTP, HTTPS

STAGES = load_stages()
FLEETS = {"web": "App", "squid": "Proxy", "solr": "Data"}


def groups_by_tier(synthesized, stage: str, stack: str) -> dict[str, dict]:
    found = {}
    for logical_id, resource in synthesized.resources(
        stage, stack, "AWS::AutoScaling::AutoScalingGroup"
    ).items():
        tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
        found[tags["tier"]] = {"id": logical_id, **resource}
    return found


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("tier", FLEETS)
def test_fleets_have_the_configured_sizes_and_launch_templates(
    synthesized, stage, tier
):
    stack = FLEETS[tier]
    group = groups_by_tier(synthesized, stage, stack)[tier]
    size = getattr(STAGES[stage].fleets, tier)
    props = group["Properties"]
    template_id = props["LaunchTemplate"]["LaunchTemplateId"]["Ref"]
    launch = synthesized.template(stage, stack)["Resources"][template_id]
    data = launch["Properties"]["LaunchTemplateData"]

    assert "LaunchConfigurationName" not in props
    counts = (props["MinSize"], props["DesiredCapacity"], props["MaxSize"])
    assert tuple(int(n) for n in counts) == (size.min, size.desired, size.max)
    assert data["InstanceType"] == size.instance_type
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["Monitoring"] == {"Enabled": True}
    devices = {d["DeviceName"]: d for d in data["BlockDeviceMappings"]}
    assert devices["/dev/xvda"]["Ebs"]["Encrypted"] is True
    assert devices["/dev/xvda"]["Ebs"]["VolumeType"] == "gp3"
    assert any(d.get("VirtualName") == "ephemeral0" for d in devices.values())


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("tier", FLEETS)
def test_a_broken_boot_fails_the_deploy_and_updates_wait_for_signals(
    synthesized, stage, tier
):
    group = groups_by_tier(synthesized, stage, FLEETS[tier])[tier]
    size = getattr(STAGES[stage].fleets, tier)
    signal = group["CreationPolicy"]["ResourceSignal"]
    rolling = group["UpdatePolicy"]["AutoScalingRollingUpdate"]
    user_data = json.dumps(
        synthesized.template(stage, FLEETS[tier])["Resources"][
            group["Properties"]["LaunchTemplate"]["LaunchTemplateId"]["Ref"]
        ]["Properties"]["LaunchTemplateData"]["UserData"]
    )

    assert signal["Count"] == size.desired
    minutes = int(signal["Timeout"].removeprefix("PT").removesuffix("M"))
    assert minutes >= 15
    assert rolling["WaitOnResourceSignals"] is True
    assert "cfn-init" in user_data
    assert "cfn-signal -e $?" in user_data
    assert group["id"] in user_data


@pytest.mark.parametrize("stage", STAGES)
def test_web_fleet_uses_elb_health_checks_and_scales_on_cpu_and_requests(
    synthesized, stage
):
    web = groups_by_tier(synthesized, stage, "App")["web"]
    policies = synthesized.resources(stage, "App", "AWS::AutoScaling::ScalingPolicy")
    metrics = {
        p["Properties"]["TargetTrackingConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]
        for p in policies.values()
    }

    assert web["Properties"]["HealthCheckType"] == "ELB"
    assert metrics == {"ASGAverageCPUUtilization", "ALBRequestCountPerTarget"}


def mysql_hosts(synthesized, stage):
    resources = synthesized.template(stage, "Data")["Resources"]
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::EC2::Instance":
            continue
        tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
        if tags.get("tier") == "mysql":
            yield logical_id, resource, tags


@pytest.mark.parametrize("stage", STAGES)
def test_each_shard_has_a_primary_and_a_replica_in_different_zones(synthesized, stage):
    by_shard: dict[str, dict[str, str]] = {}
    for _id, host, tags in mysql_hosts(synthesized, stage):
        by_shard.setdefault(tags["shard"], {})[tags["role"]] = host["Properties"][
            "AvailabilityZone"
        ]
        assert host["Properties"]["InstanceType"] == STAGES[stage].mysql.instance_type
        assert host["Properties"]["DisableApiTermination"] is True
        assert host["DeletionPolicy"] == "Retain"

    assert set(by_shard) == {str(n) for n in range(STAGES[stage].mysql.shards)}
    for roles in by_shard.values():
        assert set(roles) == {"primary", "replica"}
        assert roles["primary"] != roles["replica"]


@pytest.mark.parametrize("stage", STAGES)
def test_each_mysql_host_has_exactly_one_sc1_volume_in_its_zone_mounted_at_backup(
    synthesized, stage
):
    resources = synthesized.template(stage, "Data")["Resources"]
    attachments = [
        r["Properties"] for r in resources.values()
        if r["Type"] == "AWS::EC2::VolumeAttachment"
    ]  # fmt: skip
    for logical_id, host, _tags in mysql_hosts(synthesized, stage):
        mine = [a for a in attachments if a["InstanceId"] == {"Ref": logical_id}]
        assert len(mine) == 1
        volume = resources[mine[0]["VolumeId"]["Ref"]]["Properties"]
        assert volume["VolumeType"] == "sc1"
        assert volume["Size"] == STAGES[stage].mysql.backup_volume_gib
        assert volume["Encrypted"] is True
        assert volume["AvailabilityZone"] == host["Properties"]["AvailabilityZone"]
        boot = json.dumps(host["Metadata"]["AWS::CloudFormation::Init"])
        assert "/backup" in boot
        assert mine[0]["Device"] != "/dev/xvda"


@pytest.mark.parametrize("stage", STAGES)
def test_redis_has_a_primary_and_a_replica_of_the_configured_type(synthesized, stage):
    roles = {}
    for resource in synthesized.resources(stage, "Data", "AWS::EC2::Instance").values():
        tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
        if tags.get("tier") == "redis":
            roles[tags["role"]] = resource["Properties"]
    assert set(roles) == {"primary", "replica"}
    assert all(p["InstanceType"] == STAGES[stage].redis.instance_type
               for p in roles.values())  # fmt: skip
    replica_boot = json.dumps(
        [r for r in synthesized.resources(stage, "Data", "AWS::EC2::Instance").values()
         if "replica" in json.dumps(r["Properties"]["Tags"])
         and "redis" in json.dumps(r["Properties"]["Tags"])][0]["Metadata"]
    )  # fmt: skip
    assert "replicaof" in replica_boot


@pytest.mark.parametrize("stage", STAGES)
def test_https_listener_uses_the_dns_validated_certificate_and_80_redirects(
    synthesized, stage
):
    resources = synthesized.template(stage, "App")["Resources"]
    listeners = {
        r["Properties"]["Port"]: r["Properties"] for r in resources.values()
        if r["Type"] == "AWS::ElasticLoadBalancingV2::Listener"
    }  # fmt: skip
    (certificate,) = [
        r["Properties"] for r in resources.values()
        if r["Type"] == "AWS::CertificateManager::Certificate"
    ]  # fmt: skip
    (alb,) = [
        r["Properties"] for r in resources.values()
        if r["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer"
    ]  # fmt: skip

    assert listeners[HTTPS]["Protocol"] == "HTTPS"
    assert "TLS13" in listeners[HTTPS]["SslPolicy"]
    (redirect,) = listeners[HTTP]["DefaultActions"]
    assert redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    assert redirect["RedirectConfig"]["StatusCode"] == "HTTP_301"
    assert certificate["ValidationMethod"] == "DNS"
    assert certificate["DomainName"] == STAGES[stage].edge.domain_name
    assert "Fn::ImportValue" in json.dumps(certificate["DomainValidationOptions"])
    assert alb["IpAddressType"] == "dualstack"
    assert alb["Scheme"] == "internet-facing"
    attributes = {a["Key"]: a["Value"] for a in alb["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert (
        attributes["deletion_protection.enabled"]
        == str(STAGES[stage].edge.deletion_protection).lower()
    )
    assert attributes["access_logs.s3.enabled"] == "true"


@pytest.mark.parametrize("stage", STAGES)
def test_public_aliases_use_the_load_balancers_own_zone_id(synthesized, stage):
    records = synthesized.resources(stage, "App", "AWS::Route53::RecordSet").values()
    aliases = {r["Properties"]["Type"]: r["Properties"]["AliasTarget"] for r in records}

    assert set(aliases) == {"A", "AAAA"}
    for target in aliases.values():
        assert target["HostedZoneId"]["Fn::GetAtt"][1] == "CanonicalHostedZoneID"


@pytest.mark.parametrize("stage", STAGES)
def test_target_group_checks_the_application_health_path(synthesized, stage):
    (group,) = synthesized.resources(
        stage, "App", "AWS::ElasticLoadBalancingV2::TargetGroup"
    ).values()

    assert group["Properties"]["Port"] == APP
    assert (
        group["Properties"]["HealthCheckPath"] == STAGES[stage].edge.health_check_path
    )


@pytest.mark.parametrize("stage", STAGES)
def test_private_zone_names_every_internal_endpoint(synthesized, stage):
    names = set()
    for stack in ("Data", "Proxy"):
        for record in synthesized.resources(
            stage, stack, "AWS::Route53::RecordSet"
        ).values():
            names.add(record["Properties"]["Name"].split(".")[0])
    shards = range(STAGES[stage].mysql.shards)

    expected = {f"mysql-{n}-{role}" for n in shards for role in ("primary", "replica")}
    expected |= {"redis-primary", "redis-replica", "solr", "proxy"}
    assert names == expected


@pytest.mark.parametrize("stage", STAGES)
def test_private_tiers_boot_with_the_proxy_in_their_environment(synthesized, stage):
    proxy = f"http://proxy.{STAGES[stage].edge.internal_domain}:3128"
    web = json.dumps(synthesized.template(stage, "App")["Resources"])

    assert proxy in web
    assert proxy in json.dumps(synthesized.template(stage, "Data")["Resources"])


@pytest.mark.parametrize("stage", STAGES)
def test_every_host_and_volume_is_tagged_with_stage_tier_and_role(synthesized, stage):
    for stack in ("App", "Proxy", "Data"):
        template = synthesized.template(stage, stack)["Resources"]
        for resource in template.values():
            data = resource.get("Properties", {}).get("LaunchTemplateData", {})
            if resource["Type"] == "AWS::EC2::LaunchTemplate" and "ImageId" in data:
                specs = {s["ResourceType"]: s for s in data["TagSpecifications"]}
                for kind in ("instance", "volume"):
                    keys = {t["Key"] for t in specs[kind]["Tags"]}
                    assert {"stage", "tier", "role"} <= keys
            if resource["Type"] == "AWS::AutoScaling::AutoScalingGroup":
                propagated = {
                    t["Key"] for t in resource["Properties"]["Tags"]
                    if t["PropagateAtLaunch"]
                }  # fmt: skip
                assert {"stage", "tier", "role"} <= propagated
            if resource["Type"] in ("AWS::EC2::Instance", "AWS::EC2::Volume"):
                keys = {t["Key"] for t in resource["Properties"]["Tags"]}
                assert {"stage", "tier", "role"} <= keys
