"""Security groups and their rules, as declared in the templates of one stage.

Rules come from both shapes CloudFormation allows: inline in
AWS::EC2::SecurityGroup and standalone AWS::EC2::SecurityGroupIngress/Egress
resources. Group references are resolved through Ref, Fn::GetAtt and the
stage's exports (Fn::ImportValue), so a rule in one stack that names a group of
another stack lands on that group.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scripts.assembly import Stack, StageIndex, tier_of

GROUP = "AWS::EC2::SecurityGroup"
INGRESS = "AWS::EC2::SecurityGroupIngress"
EGRESS = "AWS::EC2::SecurityGroupEgress"
ALL = "all"
# A group without a tier tag still names its tier when described as "<tier> tier".
TIER_SUFFIX = " tier"
# The CDK's placeholder egress rule of a group that allows no outbound traffic.
_NO_EGRESS_MARKER = ("255.255.255.255/32", "icmp", 252, 86)
_PROTOCOLS = {"-1": ALL, "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


@dataclass(frozen=True)
class Group:
    """One security group: `key` is "<stack>/<logical id>" inside its stage.

    `tier` is its tier tag, or the tier its description names ("web tier").
    """

    key: str
    stack: str
    logical_id: str
    tier: str | None
    description: str | None

    @property
    def label(self) -> str:
        """What a reader calls it: the tier tag, else description, else logical id."""
        return self.tier or self.description or self.logical_id


@dataclass(frozen=True, order=True)
class Rule:
    """One rule: traffic between `group` and `peer` on a protocol and port range."""

    direction: str
    group: str
    protocol: str
    from_port: int | None
    to_port: int | None
    peer_kind: str
    peer: str
    stack: str
    declared_by: str

    @property
    def ports(self) -> str:
        """The ports as a reader writes them: 443, 1024-65535, udp/53, icmp or all."""
        if self.protocol == ALL:
            return ALL
        if self.protocol not in ("tcp", "udp"):
            return self.protocol
        if self.from_port in (None, -1) or (self.from_port, self.to_port) == (0, 65535):
            span = ALL
        elif self.from_port == self.to_port:
            span = str(self.from_port)
        else:
            span = f"{self.from_port}-{self.to_port}"
        return span if self.protocol == "tcp" else f"udp/{span}"

    @property
    def is_internet(self) -> bool:
        return self.peer in ("0.0.0.0/0", "::/0")

    def covers(self, other: Rule) -> bool:
        """True when this rule already allows everything `other` allows."""
        if self.peer_kind != other.peer_kind or self.direction != other.direction:
            return False
        if self.protocol != ALL and self.protocol != other.protocol:
            return False
        if self.protocol != ALL and not _port_range_covers(self, other):
            return False
        if self.peer_kind in ("cidr4", "cidr6"):
            return ipaddress.ip_network(other.peer).subnet_of(
                ipaddress.ip_network(self.peer)
            )
        return self.peer == other.peer


def _port_range_covers(outer: Rule, inner: Rule) -> bool:
    if outer.from_port in (None, -1):
        return True
    if inner.from_port in (None, -1):
        return False
    return outer.from_port <= inner.from_port and inner.to_port <= outer.to_port


class StageGroups:
    """The security groups of one stage and every rule that applies to them."""

    def __init__(self, stacks: Iterable[Stack]):
        self.index = StageIndex(list(stacks))
        self.stacks = self.index.stacks
        self.groups: dict[str, Group] = {}
        for stack in self.stacks.values():
            for logical_id, resource in stack.of_type(GROUP):
                key = f"{stack.name}/{logical_id}"
                description = resource.get("Properties", {}).get("GroupDescription")
                description = description if isinstance(description, str) else None
                self.groups[key] = Group(
                    key=key,
                    stack=stack.name,
                    logical_id=logical_id,
                    tier=tier_of(resource) or _tier_in(description),
                    description=description,
                )

    def resolve(self, stack: Stack, expr: Any) -> str:
        """The key of the group an expression names, or the expression as text."""
        found = self.index.target(stack, expr)
        if found:
            key = f"{found[0].name}/{found[1]}"
            if key in self.groups:
                return key
        return expr if isinstance(expr, str) else render(expr)

    def rules(self) -> list[Rule]:
        """Every ingress and egress rule of the stage, sorted."""
        found: list[Rule] = []
        for stack in self.stacks.values():
            for logical_id, resource in stack.resources.items():
                found.extend(self._rules_of(stack, logical_id, resource))
        return sorted(found)

    def _rules_of(self, stack: Stack, logical_id: str, resource: dict) -> list[Rule]:
        kind = resource.get("Type")
        props = resource.get("Properties", {})
        if kind == GROUP:
            key = f"{stack.name}/{logical_id}"
            inline = [
                ("ingress", entry) for entry in props.get("SecurityGroupIngress") or []
            ] + [("egress", entry) for entry in props.get("SecurityGroupEgress") or []]
            rules = [
                self._rule(stack, logical_id, direction, key, entry)
                for direction, entry in inline
            ]
            return [rule for rule in rules if rule]
        if kind in (INGRESS, EGRESS):
            direction = "ingress" if kind == INGRESS else "egress"
            key = self.resolve(stack, props.get("GroupId"))
            rule = self._rule(stack, logical_id, direction, key, props)
            return [rule] if rule else []
        return []

    def _rule(
        self, stack: Stack, declared_by: str, direction: str, group: str, entry: dict
    ) -> Rule | None:
        protocol = _PROTOCOLS.get(
            str(entry.get("IpProtocol")), str(entry.get("IpProtocol"))
        )
        from_port, to_port = _port(entry.get("FromPort")), _port(entry.get("ToPort"))
        if (entry.get("CidrIp"), protocol, from_port, to_port) == _NO_EGRESS_MARKER:
            return None
        peer_kind, peer = self._peer(stack, direction, entry)
        return Rule(
            direction=direction,
            group=group,
            protocol=protocol,
            from_port=from_port,
            to_port=to_port if to_port is not None else from_port,
            peer_kind=peer_kind,
            peer=peer,
            stack=stack.name,
            declared_by=declared_by,
        )

    def _peer(self, stack: Stack, direction: str, entry: dict) -> tuple[str, str]:
        group_key = (
            "SourceSecurityGroupId"
            if direction == "ingress"
            else "DestinationSecurityGroupId"
        )
        prefix_key = (
            "SourcePrefixListId"
            if direction == "ingress"
            else "DestinationPrefixListId"
        )
        for key, kind in (("CidrIp", "cidr4"), ("CidrIpv6", "cidr6")):
            if key in entry:
                return kind, _cidr(entry[key])
        if group_key in entry:
            return "group", self.resolve(stack, entry[group_key])
        if prefix_key in entry:
            return "prefix-list", render(entry[prefix_key])
        return "unknown", render({k: v for k, v in entry.items() if "Port" not in k})


def _tier_in(description: str | None) -> str | None:
    """The tier a description such as `web tier` names."""
    if description and description.endswith(TIER_SUFFIX):
        name = description.removesuffix(TIER_SUFFIX).strip()
        return name or None
    return None


def _port(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _cidr(value: Any) -> str:
    if isinstance(value, str):
        try:
            return str(ipaddress.ip_network(value, strict=False))
        except ValueError:
            return value
    return render(value)


def render(expr: Any) -> str:
    """A compact, readable form of a template value (intrinsics as ${...})."""
    if isinstance(expr, str):
        return expr
    if isinstance(expr, dict) and len(expr) == 1:
        ((function, argument),) = expr.items()
        if function == "Ref":
            return f"${{{argument}}}"
        if function == "Fn::GetAtt" and isinstance(argument, list):
            return "${" + ".".join(str(part) for part in argument) + "}"
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            return str(argument[0]).join(render(part) for part in argument[1])
        if function == "Fn::Sub":
            return argument if isinstance(argument, str) else render(argument[0])
        if function == "Fn::ImportValue":
            return f"${{import:{render(argument)}}}"
    return json.dumps(expr, sort_keys=True, separators=(",", ":"))
