"""The throwaway restore host: where it goes, what it is built from, its end.

The host goes into an isolated subnet of the stage's VPC with the MySQL tier's
security group, so it reaches AWS only through the VPC endpoints, exactly as a
MySQL host does. It is built from a launch template tagged for the drill when
the stage has one (stage, tier=mysql, purpose=restore-drill); otherwise from the
image and instance profile of one of the stage's MySQL hosts. Whatever the
source, the host requires IMDSv2 and carries purpose=restore-drill.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from scripts.restore import Deadline, DrillFailed, error_code, error_text

PURPOSE = "restore-drill"
TIER = "mysql"
ISOLATED_SUBNET = "Isolated"
SUBNET_NAME_TAG = "aws-cdk:subnet-name"
TIER_GROUP_DESCRIPTION = "mysql tier"
# A Xen host such as i2.xlarge shows its instance-store SSD only when mapped.
INSTANCE_STORE = {"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"}
# Worth trying the next zone for; anything else stops the drill.
CAPACITY_ERRORS = frozenset({"InsufficientInstanceCapacity", "Unsupported"})
POLL_SECONDS = 5.0

_sleep = time.sleep


@dataclass(frozen=True)
class LaunchPlan:
    """Everything run_instances needs, found before anything is launched."""

    region: str
    vpc_id: str
    subnet_ids: tuple[str, ...]
    security_group_id: str
    source: str
    instance_type: str | None = None
    launch_template_id: str | None = None
    image_id: str | None = None
    instance_profile: str | None = None


def plan_launch(
    ec2: Any,
    *,
    region: str,
    host_stage: str,
    shard: int,
    instance_type: str | None,
    default_instance_type: str,
    image_id: str | None = None,
    instance_profile: str | None = None,
) -> LaunchPlan:
    """Find the subnets, group and launch settings of the stage's MySQL tier."""
    vpc_id = _one_vpc(ec2, region, host_stage)
    subnets = _describe(
        ec2,
        "describe_subnets",
        "Subnets",
        [("vpc-id", vpc_id), (f"tag:{SUBNET_NAME_TAG}", ISOLATED_SUBNET)],
    )
    if not subnets:
        raise DrillFailed(f"VPC {vpc_id} has no subnet tagged {ISOLATED_SUBNET}")
    subnets.sort(key=lambda s: (s["AvailabilityZone"], s["SubnetId"]))
    groups = _describe(
        ec2,
        "describe_security_groups",
        "SecurityGroups",
        [("vpc-id", vpc_id), ("description", TIER_GROUP_DESCRIPTION)],
    )
    if len(groups) != 1:
        raise DrillFailed(
            f"VPC {vpc_id} has {len(groups)} security groups described "
            f"'{TIER_GROUP_DESCRIPTION}'; expected exactly one"
        )
    common = {
        "region": region,
        "vpc_id": vpc_id,
        "subnet_ids": tuple(s["SubnetId"] for s in subnets),
        "security_group_id": groups[0]["GroupId"],
    }

    template = _drill_template(ec2, host_stage)
    if template:
        return LaunchPlan(
            **common,
            source=f"launch template {template}",
            launch_template_id=template,
            instance_type=instance_type,
            image_id=image_id,
            instance_profile=instance_profile,
        )
    host = None if image_id and instance_profile else _tier_host(ec2, host_stage, shard)
    if host is None and not (image_id and instance_profile):
        raise DrillFailed(
            f"no launch template tagged stage={host_stage}, tier={TIER}, "
            f"purpose={PURPOSE} and no MySQL host of {host_stage} in {region} to "
            "copy an image and instance profile from; pass --image-id and "
            "--instance-profile"
        )
    return LaunchPlan(
        **common,
        source="given image and profile" if host is None else f"MySQL host {host[0]}",
        instance_type=instance_type or default_instance_type,
        image_id=image_id or host[1],
        instance_profile=instance_profile or host[2],
    )


def launch(
    ec2: Any, plan: LaunchPlan, tags: dict[str, str], *, dry_run: bool = False
) -> dict[str, Any] | None:
    """Start the host in the first isolated subnet with capacity for it.

    With `dry_run`, EC2 only checks the request and the caller's permissions,
    and nothing is returned.
    """
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    params: dict[str, Any] = {
        "MinCount": 1,
        "MaxCount": 1,
        "SecurityGroupIds": [plan.security_group_id],
        "MetadataOptions": {
            "HttpTokens": "required",
            "HttpEndpoint": "enabled",
            "HttpPutResponseHopLimit": 1,
        },
        "InstanceInitiatedShutdownBehavior": "terminate",
        "TagSpecifications": [
            {"ResourceType": kind, "Tags": tag_list} for kind in ("instance", "volume")
        ],
    }
    if plan.launch_template_id:
        params["LaunchTemplate"] = {
            "LaunchTemplateId": plan.launch_template_id,
            "Version": "$Default",
        }
    else:
        params["BlockDeviceMappings"] = [dict(INSTANCE_STORE)]
    if plan.image_id:
        params["ImageId"] = plan.image_id
    if plan.instance_type:
        params["InstanceType"] = plan.instance_type
    if plan.instance_profile:
        kind = "Arn" if plan.instance_profile.startswith("arn:") else "Name"
        params["IamInstanceProfile"] = {kind: plan.instance_profile}

    refusal: ClientError | None = None
    for subnet_id in plan.subnet_ids:
        try:
            response = ec2.run_instances(SubnetId=subnet_id, DryRun=dry_run, **params)
        except ClientError as err:
            if dry_run and error_code(err) == "DryRunOperation":
                return None
            if error_code(err) not in CAPACITY_ERRORS:
                raise DrillFailed(
                    f"launching the restore host failed: {error_text(err)}"
                ) from None
            refusal = err
            continue
        return response["Instances"][0]
    raise DrillFailed(
        f"no isolated subnet of {plan.vpc_id} could take the restore host: "
        f"{error_text(refusal)}"
    )


def wait_until_running(ec2: Any, instance_id: str, deadline: Deadline) -> None:
    """Return once the host runs; fail if it stops on its way or time runs out."""
    while True:
        instance = _instance(ec2, instance_id)
        state = instance["State"]["Name"]
        if state == "running":
            return
        if state != "pending":
            reason = instance.get("StateReason", {}).get("Message", "no reason given")
            raise DrillFailed(f"restore host {instance_id} is {state}: {reason}")
        if deadline.passed:
            raise DrillFailed(
                f"restore host {instance_id} was still pending after "
                f"{deadline.seconds:.0f} s"
            )
        _sleep(POLL_SECONDS)


def terminate(ec2: Any, instance_id: str) -> None:
    """Terminate the host, or say that it is still there."""
    try:
        ec2.terminate_instances(InstanceIds=[instance_id])
    except ClientError as err:
        raise DrillFailed(
            f"restore host {instance_id} was NOT terminated ({error_code(err)}); "
            "terminate it by hand"
        ) from None


def _one_vpc(ec2: Any, region: str, stage: str) -> str:
    vpcs = _describe(ec2, "describe_vpcs", "Vpcs", [("tag:stage", stage)])
    if len(vpcs) != 1:
        raise DrillFailed(
            f"{len(vpcs)} VPCs tagged stage={stage} in {region}; expected exactly one "
            "(is the stage deployed in this region?)"
        )
    return vpcs[0]["VpcId"]


def _drill_template(ec2: Any, stage: str) -> str | None:
    templates = _describe(
        ec2,
        "describe_launch_templates",
        "LaunchTemplates",
        [("tag:stage", stage), ("tag:tier", TIER), ("tag:purpose", PURPOSE)],
    )
    if len(templates) > 1:
        ids = sorted(t["LaunchTemplateId"] for t in templates)
        raise DrillFailed(
            f"more than one launch template is tagged for the drill: {ids}"
        )
    return templates[0]["LaunchTemplateId"] if templates else None


def _tier_host(ec2: Any, stage: str, shard: int) -> tuple[str, str, str] | None:
    """One MySQL host of the stage, this shard's first: id, image, profile."""
    filters = [
        ("tag:stage", stage),
        ("tag:tier", TIER),
        ("instance-state-name", "running"),
    ]
    instances = [
        instance
        for page in ec2.get_paginator("describe_instances").paginate(
            Filters=_filters(filters)
        )
        for reservation in page["Reservations"]
        for instance in reservation["Instances"]
        if instance.get("IamInstanceProfile")
    ]
    if not instances:
        return None

    def rank(instance: dict[str, Any]) -> tuple[bool, str]:
        tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
        return tags.get("shard") != str(shard), instance["InstanceId"]

    host = min(instances, key=rank)
    return host["InstanceId"], host["ImageId"], host["IamInstanceProfile"]["Arn"]


def _instance(ec2: Any, instance_id: str) -> dict[str, Any]:
    response = ec2.describe_instances(InstanceIds=[instance_id])
    return response["Reservations"][0]["Instances"][0]


def _describe(
    ec2: Any, operation: str, key: str, filters: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    try:
        pages = ec2.get_paginator(operation).paginate(Filters=_filters(filters))
        return [item for page in pages for item in page[key]]
    except ClientError as err:
        raise DrillFailed(f"{operation} failed: {error_text(err)}") from None


def _filters(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"Name": name, "Values": [value]} for name, value in pairs]
