"""The hosts a stage's templates declare: instances and Auto Scaling groups.

Each host resource is resolved to its instance type, how many run, its EBS
block devices and its security groups, following launch templates and launch
configurations wherever in the stage they live.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scripts.assembly import Stack, StageIndex, tags, tier_of
from scripts.sgrules import StageGroups

INSTANCE = "AWS::EC2::Instance"
AUTO_SCALING_GROUP = "AWS::AutoScaling::AutoScalingGroup"
LAUNCH_TEMPLATE = "AWS::EC2::LaunchTemplate"
LAUNCH_CONFIGURATION = "AWS::AutoScaling::LaunchConfiguration"


@dataclass(frozen=True)
class Hosts:
    """Instances of one Instance or Auto Scaling group resource."""

    stack: str
    logical_id: str
    kind: str
    count: int | None
    instance_type: str | None
    block_devices: tuple[dict[str, Any], ...]
    groups: tuple[str, ...]
    tier: str | None
    instance_profile: tuple[str, str] | None = None


def hosts(stacks: list[Stack], groups: StageGroups | None = None) -> list[Hosts]:
    """Every instance and Auto Scaling group of one stage."""
    groups = groups or StageGroups(stacks)
    index = groups.index
    found = []
    for stack in stacks:
        for logical_id, resource in stack.of_type(INSTANCE, AUTO_SCALING_GROUP):
            found.append(_hosts(index, groups, stack, logical_id, resource))
    return found


def _hosts(
    index: StageIndex,
    groups: StageGroups,
    stack: Stack,
    logical_id: str,
    resource: dict,
) -> Hosts:
    props = resource.get("Properties", {})
    if resource["Type"] == INSTANCE:
        template = _launch_template(index, stack, props.get("LaunchTemplate"))
        data = template[1] if template else {}
        source = template[0] if template else stack
        count: int | None = 1
        instance_type = props.get("InstanceType", data.get("InstanceType"))
        devices = props.get("BlockDeviceMappings") or data.get("BlockDeviceMappings")
        group_refs = props.get("SecurityGroupIds") or data.get("SecurityGroupIds")
        group_stack = stack if props.get("SecurityGroupIds") else source
        profile = _profile(index, stack, props.get("IamInstanceProfile")) or _profile(
            index, source, data.get("IamInstanceProfile")
        )
        kind = "instance"
    else:
        data, source = _group_launch_data(index, stack, props)
        count = _count(props.get("DesiredCapacity", props.get("MinSize")))
        overrides = (
            props.get("MixedInstancesPolicy", {})
            .get("LaunchTemplate", {})
            .get("Overrides")
        )
        instance_type = (overrides or [{}])[0].get("InstanceType") or data.get(
            "InstanceType"
        )
        devices = data.get("BlockDeviceMappings")
        group_refs = data.get("SecurityGroupIds") or data.get("SecurityGroups")
        group_stack = source
        profile = _profile(index, source, data.get("IamInstanceProfile"))
        kind = "auto scaling group"
    interfaces = data.get("NetworkInterfaces") or props.get("NetworkInterfaces") or []
    for interface in interfaces:
        named = interface.get("Groups") or interface.get("GroupSet") or []
        group_refs = (group_refs or []) + named
    keys = tuple(
        key
        for ref in group_refs or []
        if (key := groups.resolve(group_stack, ref)) in groups.groups
    )
    return Hosts(
        stack=stack.name,
        logical_id=logical_id,
        kind=kind,
        count=count,
        instance_type=instance_type if isinstance(instance_type, str) else None,
        block_devices=tuple(devices or []),
        groups=keys,
        tier=tier_of(resource) or _template_tier(data) or _single_tier(groups, keys),
        instance_profile=profile,
    )


def _launch_template(
    index: StageIndex, stack: Stack, spec: Any
) -> tuple[Stack, dict] | None:
    """(stack, LaunchTemplateData) of a launch template specification."""
    if not isinstance(spec, dict):
        return None
    for key in ("LaunchTemplateId", "LaunchTemplateName"):
        found = index.target(stack, spec.get(key))
        if found and found[0].resources[found[1]].get("Type") == LAUNCH_TEMPLATE:
            resource = found[0].resources[found[1]]
            data = resource.get("Properties", {}).get("LaunchTemplateData", {})
            return found[0], data
    return None


def _group_launch_data(index: StageIndex, stack: Stack, props: dict):
    spec = props.get("LaunchTemplate") or (
        props.get("MixedInstancesPolicy", {})
        .get("LaunchTemplate", {})
        .get("LaunchTemplateSpecification")
    )
    template = _launch_template(index, stack, spec)
    if template:
        return template[1], template[0]
    found = index.target(stack, props.get("LaunchConfigurationName"))
    if found and found[0].resources[found[1]].get("Type") == LAUNCH_CONFIGURATION:
        return found[0].resources[found[1]].get("Properties", {}), found[0]
    return {}, stack


def _profile(index: StageIndex, stack: Stack, spec: Any) -> tuple[str, str] | None:
    """(stack, logical id) of the instance profile a host names, by ref or ARN."""
    for value in (spec, *(spec.values() if isinstance(spec, dict) else ())):
        found = index.target(stack, value)
        if found:
            return found[0].name, found[1]
    return None


def _count(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _template_tier(data: dict) -> str | None:
    for spec in data.get("TagSpecifications") or []:
        if spec.get("ResourceType") == "instance":
            value = tags({"Properties": {"Tags": spec.get("Tags")}}).get("tier")
            if isinstance(value, str):
                return value
    return None


def _single_tier(groups: StageGroups, keys: tuple[str, ...]) -> str | None:
    tiers = {groups.groups[key].tier for key in keys} - {None}
    return tiers.pop() if len(tiers) == 1 else None
