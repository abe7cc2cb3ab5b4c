"""The patches of moto behind the quirks listed in scripts/moto_quirks.py.

Each function names the quirk it answers. `patched_moto` applies them all for
a block and restores moto after it; moto is imported only when they are applied.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from scripts.moto_quirks import (
    BUILD_PROJECT,
    CERTIFICATE,
    CUSTOM_RESOURCE,
    VPC_CIDR_BLOCK,
)


@contextlib.contextmanager
def patched_moto() -> Iterator[None]:
    """moto with the server-side workarounds above, restored on exit."""
    undo = patch_moto()
    try:
        yield
    finally:
        undo()


def patch_moto() -> Callable[[], None]:
    """Apply the server-side workarounds; returns what undoes them."""
    from moto.cloudformation import parsing
    from moto.cloudformation.custom_model import CustomModel
    from moto.ec2.models.instances import InstanceBackend
    from moto.ec2.models.vpcs import VPC
    from moto.elbv2.models import FakeLoadBalancer
    from moto.kms.models import Key
    from moto.ssm.models import Document

    create = "create_from_cloudformation_json"
    resource_map = parsing.ResourceMap
    replacements = [
        (resource_map, "__getitem__", _after_dependencies(resource_map)),
        (Key, create, _before_create(Key, _key_properties)),
        (Document, create, _before_create(Document, _document_properties)),
        (CustomModel, create, classmethod(_stand_in)),
        (parsing, "resource_class_from_type", _with_added_types(parsing)),
        (parsing, "clean_json", _with_fn_cidr(parsing)),
        (VPC, "has_cfn_attr", _vpc_has_attribute(VPC)),
        (VPC, "get_cfn_attribute", _vpc_attribute(VPC)),
        (InstanceBackend, "run_instances", _ebs_mappings_only(InstanceBackend)),
        (FakeLoadBalancer, create, classmethod(_load_balancer)),
        (FakeLoadBalancer, "get_cfn_attribute", _balancer_attribute(FakeLoadBalancer)),
    ]
    originals = [
        (owner, name, vars(owner).get(name)) for owner, name, _ in replacements
    ]
    for owner, name, replacement in replacements:
        setattr(owner, name, replacement)

    def undo() -> None:
        for owner, name, original in reversed(originals):
            if original is None:
                delattr(owner, name)  # it was inherited
            else:
                setattr(owner, name, original)

    return undo


def _after_dependencies(resource_map: type) -> Callable[[Any, str], Any]:
    """Quirk "DependsOn": create what a resource depends on before it."""
    original = resource_map.__getitem__

    def getitem(self, logical_id: str) -> Any:
        resource = self._resource_json_map.get(logical_id) or {}
        depends_on = resource.get("DependsOn", [])
        for dependency in [depends_on] if isinstance(depends_on, str) else depends_on:
            if dependency in self._resource_json_map:
                self[dependency]  # the map creates a resource when first read
        return original(self, logical_id)

    return getitem


def _before_create(model: type, adjust: Callable[[dict], None]) -> classmethod:
    """The model's create_from_cloudformation_json, with properties adjusted first."""
    original = vars(model)["create_from_cloudformation_json"].__func__

    def create(cls, name: str, cloudformation_json: dict, *args, **kwargs):
        adjust(cloudformation_json.setdefault("Properties", {}))
        return original(cls, name, cloudformation_json, *args, **kwargs)

    return classmethod(create)


def _key_properties(properties: dict) -> None:
    """Quirk "KMS keys"."""
    if isinstance(properties.get("KeyPolicy"), dict):
        properties["KeyPolicy"] = json.dumps(properties["KeyPolicy"])
    properties["Tags"] = [
        {"TagKey": tag["Key"], "TagValue": tag["Value"]} if "Key" in tag else tag
        for tag in properties.get("Tags", [])
    ]


def _document_properties(properties: dict) -> None:
    """Quirk "SSM documents": JSON is CloudFormation's documented default."""
    properties.setdefault("DocumentFormat", "JSON")
    if isinstance(properties.get("Content"), dict):
        properties["Content"] = json.dumps(properties["Content"])


def _stand_in(
    cls,
    name: str,
    cloudformation_json: dict,
    account_id: str,
    region_name: str,
    **kwargs: Any,
):
    """Quirk "custom resources": SUCCESS, no data, handler not run."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.utils import get_backend
    from moto.cloudformation import cloudformation_backends
    from moto.cloudformation.exceptions import ValidationError

    token = cloudformation_json["Properties"]["ServiceToken"]
    if ":lambda:" in token:
        # CloudFormation fails the resource when its handler does not exist.
        try:
            get_backend(account_id, region_name).get_function(token)
        except LambdaClientError as err:
            raise ValidationError(
                message=f"{kwargs['LogicalId']}: no handler {token} ({err.message})"
            ) from err
    resource = cls(region_name, str(uuid.uuid4()), kwargs["LogicalId"], name)
    backend = cloudformation_backends[account_id][region_name]
    backend.get_stack(kwargs["StackId"]).add_custom_resource(resource)
    resource.set_data({})
    return resource


def _with_added_types(parsing: Any) -> Callable[[str], Any]:
    """moto's type lookup, plus the types the workarounds add."""
    from moto.cloudformation.custom_model import CustomModel

    original = parsing.resource_class_from_type
    added = {
        CUSTOM_RESOURCE: CustomModel,
        VPC_CIDR_BLOCK: VpcCidrBlock,
        CERTIFICATE: Certificate,
        BUILD_PROJECT: BuildProject,
    }

    def resource_class(resource_type: str):
        return added.get(resource_type) or original(resource_type)

    return resource_class


def _with_fn_cidr(parsing: Any) -> Callable[..., Any]:
    """Quirk "dual-stack VPC": Fn::Cidr as CloudFormation documents it."""
    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and set(resource_json) == {"Fn::Cidr"}:
            block, count, bits = (
                parsing.clean_json(value, resources_map)
                for value in resource_json["Fn::Cidr"]
            )
            network = ipaddress.ip_network(block)
            subnets = network.subnets(new_prefix=network.max_prefixlen - int(bits))
            return [str(s) for s in itertools.islice(subnets, int(count))]
        return original(resource_json, resources_map)

    return clean_json


def _vpc_has_attribute(vpc: type) -> classmethod:
    original = vpc.has_cfn_attr

    def has_cfn_attr(cls, attribute: str) -> bool:
        return attribute == "Ipv6CidrBlocks" or original(attribute)

    return classmethod(has_cfn_attr)


def _vpc_attribute(vpc: type) -> Callable[[Any, str], Any]:
    original = vpc.get_cfn_attribute

    def get_cfn_attribute(self, attribute: str) -> Any:
        if attribute == "Ipv6CidrBlocks":
            blocks = self.get_cidr_block_association_set(ipv6=True)
            return [block["cidr_block"] for block in blocks]
        return original(self, attribute)

    return get_cfn_attribute


def _ebs_mappings_only(backend: type) -> Callable[..., Any]:
    """Quirk "instance store": launch with the EBS mappings only."""
    original = backend.run_instances

    def run_instances(self, *args: Any, **kwargs: Any) -> Any:
        mappings = kwargs.get("block_device_mappings")
        if mappings is None and kwargs.get("launch_template"):
            template = self._get_template_from_args(kwargs["launch_template"])
            mappings = template.data.get("BlockDeviceMappings")
        if mappings and any("Ebs" not in mapping for mapping in mappings):
            kwargs["block_device_mappings"] = [m for m in mappings if "Ebs" in m]
        return original(self, *args, **kwargs)

    return run_instances


def _load_balancer(
    cls, name: str, cloudformation_json: dict, account_id: str, region: str, **_
) -> Any:
    """Quirk "load balancers": the type, address type, tags and attributes."""
    from moto.elbv2.models import elbv2_backends

    properties = cloudformation_json["Properties"]
    backend = elbv2_backends[account_id][region]
    balancer = backend.create_load_balancer(
        name,
        properties.get("SecurityGroups", []),
        properties.get("Subnets", []),
        subnet_mappings=properties.get("SubnetMappings"),
        scheme=properties.get("Scheme", "internet-facing"),
        loadbalancer_type=properties.get("Type", "application"),
        ip_address_type=properties.get("IpAddressType", "ipv4"),
        tags=properties.get("Tags"),
    )
    attributes = {
        attribute["Key"]: attribute["Value"]
        for attribute in properties.get("LoadBalancerAttributes", [])
    }
    if attributes:
        backend.modify_load_balancer_attributes(balancer.arn, attributes)
    return balancer


def _balancer_attribute(balancer: type) -> Callable[[Any, str], Any]:
    original = balancer.get_cfn_attribute

    def get_cfn_attribute(self, attribute: str) -> Any:
        if attribute == "CanonicalHostedZoneID":
            return self.canonical_hosted_zone_id
        if attribute == "LoadBalancerFullName":
            return self.arn.split(":loadbalancer/", 1)[1]
        if attribute == "SecurityGroups":
            return self.security_groups
        return original(self, attribute)

    return get_cfn_attribute


class VpcCidrBlock:
    """Quirk "dual-stack VPC": AWS::EC2::VPCCidrBlock, which moto lacks."""

    def __init__(self, association: dict[str, Any]) -> None:
        self.association = association

    @property
    def physical_resource_id(self) -> str:
        return self.association["association_id"]

    @classmethod
    def create_from_cloudformation_json(
        cls, name: str, cloudformation_json: dict, account_id: str, region: str, **_
    ) -> VpcCidrBlock:
        from moto.ec2.models import ec2_backends

        properties = cloudformation_json["Properties"]
        association = ec2_backends[account_id][region].associate_vpc_cidr_block(
            vpc_id=properties["VpcId"],
            cidr_block=properties.get("CidrBlock"),
            amazon_provided_ipv6_cidr_block=bool(
                properties.get("AmazonProvidedIpv6CidrBlock")
            ),
        )
        return cls(association)

    @classmethod
    def has_cfn_attr(cls, attribute: str) -> bool:
        return False

    def is_created(self) -> bool:
        return True


class Certificate:
    """Quirk "certificates": AWS::CertificateManager::Certificate, via moto's ACM."""

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def create_from_cloudformation_json(
        cls, name: str, cloudformation_json: dict, account_id: str, region: str, **_
    ) -> Certificate:
        from moto.acm.models import acm_backends

        properties = cloudformation_json["Properties"]
        arn = acm_backends[account_id][region].request_certificate(
            domain_name=properties["DomainName"],
            idempotency_token=None,
            subject_alt_names=properties.get("SubjectAlternativeNames", []),
            tags=properties.get("Tags", []),
        )
        return cls(arn)

    @classmethod
    def has_cfn_attr(cls, attribute: str) -> bool:
        return False

    def is_created(self) -> bool:
        return True


class BuildProject:
    """Quirk "build projects": AWS::CodeBuild::Project, via moto's CodeBuild."""

    def __init__(self, name: str, arn: str) -> None:
        self.name = name
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def create_from_cloudformation_json(
        cls, name: str, cloudformation_json: dict, account_id: str, region: str, **_
    ) -> BuildProject:
        from moto.codebuild.models import codebuild_backends

        properties = cloudformation_json["Properties"]
        name = properties.get("Name", name)
        project = codebuild_backends[account_id][region].create_project(
            project_name=name,
            description=properties.get("Description"),
            project_source=_api_names(properties.get("Source", {})),
            artifacts=_api_names(properties.get("Artifacts", {})),
            environment=_api_names(properties.get("Environment", {})),
            service_role=properties["ServiceRole"],
            tags=properties.get("Tags"),
            cache=_api_names(properties.get("Cache")),
            timeout=properties.get("TimeoutInMinutes"),
            queued_timeout=properties.get("QueuedTimeoutInMinutes"),
            source_version=properties.get("SourceVersion"),
            logs_config=_api_names(properties.get("LogsConfig")),
            vpc_config=_api_names(properties.get("VpcConfig")),
        )
        return cls(name, project["arn"])

    @classmethod
    def has_cfn_attr(cls, attribute: str) -> bool:
        return attribute == "Arn"

    def get_cfn_attribute(self, attribute: str) -> str:
        if attribute == "Arn":
            return self.arn
        raise NotImplementedError(f"GetAtt {BUILD_PROJECT}.{attribute}")

    def is_created(self) -> bool:
        return True


def _api_names(value: Any) -> Any:
    """CloudFormation's PascalCase keys as CodeBuild's API spells them."""
    if isinstance(value, list):
        return [_api_names(item) for item in value]
    if not isinstance(value, dict):
        return value
    renamed = {"BuildSpec": "buildspec"}
    return {
        renamed.get(key, key[:1].lower() + key[1:]): _api_names(item)
        for key, item in value.items()
    }
