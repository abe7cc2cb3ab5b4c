"""The mock holds the fleets, hosts, load balancers, records and buckets as declared.

What moto's CloudFormation drops (a volume's type and encryption, a bucket's
versioning, a private zone's VPCs) is not compared: tests/moto/unsupported.py
names the tests that cover it instead.
"""

from __future__ import annotations

from tests.moto.harness import Deployed


def found(resources: list[Deployed]) -> list[Deployed]:
    """The resources, refusing to check nothing."""
    assert resources, "no resource of this type in any template"
    return resources


def test_each_group_keeps_its_declared_sizes_subnets_and_launch_template(
    moto_deployment,
):
    for group in found(moto_deployment.resources("AWS::AutoScaling::AutoScalingGroup")):
        (held,) = group.client("autoscaling").describe_auto_scaling_groups(
            AutoScalingGroupNames=[group.physical_id]
        )["AutoScalingGroups"]
        template = group.properties["LaunchTemplate"]

        assert (held["MinSize"], held["MaxSize"], held["DesiredCapacity"]) == (
            int(group.declared("MinSize")),
            int(group.declared("MaxSize")),
            int(group.declared("DesiredCapacity", group.declared("MinSize"))),
        ), group.path
        assert len(held["Instances"]) == held["DesiredCapacity"], group.path
        assert held["LaunchTemplate"]["LaunchTemplateId"] == group.resolve(
            template["LaunchTemplateId"]
        ), group.path
        assert set(held["VPCZoneIdentifier"].split(",")) == set(
            group.declared("VPCZoneIdentifier")
        ), group.path
        assert set(held["TargetGroupARNs"]) == set(
            group.declared("TargetGroupARNs", [])
        ), group.path
        assert held["HealthCheckType"] == group.declared("HealthCheckType", "EC2")


def test_each_host_has_its_declared_type_zone_and_subnet(moto_deployment):
    for host in found(moto_deployment.resources("AWS::EC2::Instance")):
        (reservation,) = host.client("ec2").describe_instances(
            InstanceIds=[host.physical_id]
        )["Reservations"]
        (held,) = reservation["Instances"]

        assert (
            held["InstanceType"],
            held["Placement"]["AvailabilityZone"],
            held["SubnetId"],
        ) == (
            host.declared("InstanceType"),
            host.declared("AvailabilityZone", held["Placement"]["AvailabilityZone"]),
            host.declared("SubnetId"),
        ), host.path


def test_each_volume_has_its_declared_zone_and_size_and_is_attached(
    moto_deployment,
):
    attachments = moto_deployment.resources("AWS::EC2::VolumeAttachment")
    for volume in found(moto_deployment.resources("AWS::EC2::Volume")):
        (held,) = volume.client("ec2").describe_volumes(VolumeIds=[volume.physical_id])[
            "Volumes"
        ]
        declared_to = {
            (a.declared("InstanceId"), a.declared("Device"))
            for a in attachments
            if a.declared("VolumeId") == volume.physical_id
        }

        assert (held["AvailabilityZone"], held["Size"]) == (
            volume.declared("AvailabilityZone"),
            int(volume.declared("Size")),
        ), volume.path
        assert {(a["InstanceId"], a["Device"]) for a in held["Attachments"]} == (
            declared_to
        ), volume.path


def test_each_load_balancer_has_its_declared_type_scheme_and_subnets(
    moto_deployment,
):
    kind = "AWS::ElasticLoadBalancingV2::LoadBalancer"
    for balancer in found(moto_deployment.resources(kind)):
        (held,) = balancer.client("elbv2").describe_load_balancers(
            LoadBalancerArns=[balancer.physical_id]
        )["LoadBalancers"]

        assert (held["Type"], held["Scheme"], held["IpAddressType"]) == (
            balancer.declared("Type", "application"),
            balancer.declared("Scheme", "internet-facing"),
            balancer.declared("IpAddressType", "ipv4"),
        ), balancer.path
        assert {zone["SubnetId"] for zone in held["AvailabilityZones"]} == set(
            balancer.declared("Subnets")
        ), balancer.path


def test_each_listener_has_its_declared_port_protocol_policy_and_actions(
    moto_deployment,
):
    kind = "AWS::ElasticLoadBalancingV2::Listener"
    for listener in found(moto_deployment.resources(kind)):
        (held,) = listener.client("elbv2").describe_listeners(
            ListenerArns=[listener.physical_id]
        )["Listeners"]

        assert (held["LoadBalancerArn"], held["Port"], held["Protocol"]) == (
            listener.declared("LoadBalancerArn"),
            int(listener.declared("Port")),
            listener.declared("Protocol"),
        ), listener.path
        assert held.get("SslPolicy") == listener.declared("SslPolicy"), listener.path
        assert [c["CertificateArn"] for c in held.get("Certificates", [])] == [
            c["CertificateArn"] for c in listener.declared("Certificates", [])
        ], listener.path
        assert [a["Type"] for a in held["DefaultActions"]] == [
            a["Type"] for a in listener.declared("DefaultActions")
        ], listener.path


def test_each_target_group_has_its_declared_port_protocol_and_health_check(
    moto_deployment,
):
    kind = "AWS::ElasticLoadBalancingV2::TargetGroup"
    for group in found(moto_deployment.resources(kind)):
        (held,) = group.client("elbv2").describe_target_groups(
            TargetGroupArns=[group.physical_id]
        )["TargetGroups"]

        assert (held["Port"], held["Protocol"], held["VpcId"]) == (
            int(group.declared("Port")),
            group.declared("Protocol"),
            group.declared("VpcId"),
        ), group.path
        if "HealthCheckPath" in group.properties:
            assert held["HealthCheckPath"] == group.declared("HealthCheckPath")


def test_each_zone_has_its_declared_name(moto_deployment):
    for zone in found(moto_deployment.resources("AWS::Route53::HostedZone")):
        held = zone.client("route53").get_hosted_zone(Id=zone.physical_id)

        assert held["HostedZone"]["Name"].rstrip(".") == (
            zone.declared("Name").rstrip(".")
        ), zone.path


def test_each_record_is_in_its_declared_zone_with_its_declared_type(moto_deployment):
    for record in found(moto_deployment.resources("AWS::Route53::RecordSet")):
        held = record.client("route53").list_resource_record_sets(
            HostedZoneId=record.declared("HostedZoneId")
        )["ResourceRecordSets"]
        name = record.declared("Name").rstrip(".")
        matching = [
            r
            for r in held
            if r["Name"].rstrip(".") == name and r["Type"] == record.declared("Type")
        ]

        assert len(matching) == 1, record.path
        if "ResourceRecords" in record.properties:
            assert [r["Value"] for r in matching[0]["ResourceRecords"]] == (
                record.declared("ResourceRecords")
            ), record.path


def test_each_bucket_has_its_declared_default_encryption(moto_deployment):
    for bucket in found(moto_deployment.resources("AWS::S3::Bucket")):
        held = bucket.client("s3").get_bucket_encryption(Bucket=bucket.physical_id)
        (rule,) = held["ServerSideEncryptionConfiguration"]["Rules"]
        (declared,) = bucket.declared("BucketEncryption")[
            "ServerSideEncryptionConfiguration"
        ]

        by_default = declared["ServerSideEncryptionByDefault"]
        assert (
            rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
            == (by_default["SSEAlgorithm"])
        ), bucket.path
