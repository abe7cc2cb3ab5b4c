"""Draw one stage's architecture from its synthesized templates, never by hand.

    python -m scripts.diagram [--assembly cdk.out] [--stage Prod]
                              [--out docs/architecture] [--dot-only]

Tiers are the security groups (named by tier tag, "<tier> tier" description,
description or logical id); each solid edge is traffic the rules allow,
labelled with its ports: ingress rules from any peer, and egress rules to
address ranges (the internet, prefix lists). The load balancer, DNS zones,
buckets and the trail hang off the tiers with dashed edges. Graphviz `dot`
renders the DOT file to SVG and PNG.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.assembly import (
    ROOT,
    AssemblyError,
    Stack,
    emit,
    read_assembly,
    stages,
    tier_of,
)
from scripts.inventory import hosts
from scripts.sgrules import StageGroups

INTERNET = "internet"
ENDPOINTS = "endpoints"
VPC = "vpc"
DEFAULT_OUT = ROOT / "docs" / "architecture"
_LINK_LABELS = 2
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
BUCKET = "AWS::S3::Bucket"
_POLICIES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
_S3_ARN = re.compile(r"arn:[a-z-]+:s3:::([a-z0-9][a-z0-9.-]*[a-z0-9])")


@dataclass(frozen=True, order=True)
class Flow:
    """Traffic from `source` to `target` on `port` (e.g. "443", "udp/53", "all")."""

    source: str
    target: str
    port: str


@dataclass(frozen=True, order=True)
class Link:
    """A dashed edge: `source` uses, logs to or names `target`."""

    source: str
    target: str
    label: str


class Architecture:
    """The tiers, flows and attached services of one stage."""

    def __init__(self, stacks: list[Stack], aliases: dict[str, str] | None = None):
        self.stacks = stacks
        self.aliases = aliases or {}
        self.groups = StageGroups(stacks)
        self.index = self.groups.index
        self.hosts = hosts(stacks, self.groups)
        self.vpc_cidrs = {
            resource["Properties"].get("CidrBlock")
            for stack in stacks
            for _id, resource in stack.of_type("AWS::EC2::VPC")
        }
        self.names = self._group_names()
        self.labels: dict[str, str] = {}
        self.links: set[Link] = set()
        self._attach()

    def _group_names(self) -> dict[str, str]:
        endpoint_groups = {
            self.groups.resolve(stack, ref)
            for stack in self.stacks
            for _id, endpoint in stack.of_type("AWS::EC2::VPCEndpoint")
            for ref in endpoint.get("Properties", {}).get("SecurityGroupIds") or []
        }
        names = {}
        for key, group in self.groups.groups.items():
            if not group.tier and key in endpoint_groups:
                names[key] = ENDPOINTS
            else:
                names[key] = group.label
        taken = list(names.values())
        for key, name in names.items():
            if taken.count(name) > 1:
                names[key] = f"{name} ({self.groups.groups[key].logical_id})"
        return {key: self.aliases.get(name, name) for key, name in names.items()}

    def node(self, kind: str, peer: str) -> str:
        """The name of a rule's peer: a tier, the internet, the VPC or a range."""
        if kind == "group" and peer in self.names:
            name = self.names[peer]
        elif kind in ("cidr4", "cidr6") and peer in ("0.0.0.0/0", "::/0"):
            name = INTERNET
        elif kind == "cidr4" and peer in self.vpc_cidrs:
            name = VPC
        elif kind == "prefix-list":
            name = f"prefix list {peer}"
        else:
            name = peer
        return self.aliases.get(name, self.aliases.get(peer, name))

    def flows(self) -> set[Flow]:
        """Every allowed flow: the port matrix the templates declare."""
        found = set()
        for rule in self.groups.rules():
            group = self.node("group", rule.group)
            if rule.direction == "ingress":
                found.add(Flow(self.node(rule.peer_kind, rule.peer), group, rule.ports))
            elif rule.peer_kind != "group":
                found.add(Flow(group, self.node(rule.peer_kind, rule.peer), rule.ports))
        return found

    def host_summary(self) -> dict[str, list[str]]:
        """Group name -> lines such as "ASG 9 x i2.xlarge" of the hosts in it."""
        counts: dict[str, dict[tuple[str, str], int | None]] = {}
        for host in self.hosts:
            kind = "ASG" if host.kind == "auto scaling group" else "instance"
            what = (kind, host.instance_type or "?")
            for key in host.groups:
                tier = counts.setdefault(self.names[key], {})
                known = tier.get(what, 0)
                tier[what] = None if None in (known, host.count) else known + host.count
        return {
            name: [
                f"{kind} {'?' if n is None else n} x {what}"
                for (kind, what), n in sorted(tier.items())
            ]
            for name, tier in counts.items()
        }

    # Attached services: load balancers, zones, buckets, the trail.

    def _attach(self) -> None:
        for stack in self.stacks:
            for logical_id, resource in stack.resources.items():
                kind = resource.get("Type")
                props = resource.get("Properties", {})
                node = f"{stack.name}/{logical_id}"
                if kind == LOAD_BALANCER:
                    self._load_balancer(stack, node, props)
                elif kind == "AWS::Route53::HostedZone":
                    private = "private" if props.get("VPCs") else "public"
                    name = str(props.get("Name", logical_id)).rstrip(".")
                    self.labels[node] = f"Route 53 {private} zone\n{name}"
                elif kind in (
                    "AWS::Route53::RecordSet",
                    "AWS::Route53::RecordSetGroup",
                ):
                    self._records(stack, props)
                elif kind == BUCKET:
                    self._bucket(stack, node, logical_id, resource)
                elif kind == "AWS::CloudTrail::Trail":
                    self._trail(stack, node, logical_id, props)
        self._bucket_access()

    def _load_balancer(self, stack: Stack, node: str, props: dict) -> None:
        scheme = props.get("Scheme", "internet-facing")
        listeners = []
        for other in self.stacks:
            for _id, listener in other.of_type("AWS::ElasticLoadBalancingV2::Listener"):
                spec = listener.get("Properties", {})
                found = self.index.target(other, spec.get("LoadBalancerArn"))
                if found and f"{found[0].name}/{found[1]}" == node:
                    listeners.append(
                        f"{spec.get('Protocol', '?')} {spec.get('Port', '?')}"
                    )
        kind = {"network": "Network", "gateway": "Gateway"}.get(
            props.get("Type"), "Application"
        )
        text = f"{kind} Load Balancer\n{scheme}"
        if listeners:
            text += "\nlisteners: " + ", ".join(sorted(listeners))
        self.labels[node] = text
        for ref in props.get("SecurityGroups") or []:
            key = self.groups.resolve(stack, ref)
            if key in self.names:
                self.links.add(Link(node, self.names[key], "security group"))
        for attribute in props.get("LoadBalancerAttributes") or []:
            if attribute.get("Key") == "access_logs.s3.bucket":
                self._link_to_bucket(stack, node, attribute.get("Value"), "access logs")

    def _records(self, stack: Stack, props: dict) -> None:
        records = props.get("RecordSets") or [props]
        for record in records:
            zone = self.index.target(stack, props.get("HostedZoneId")) or (
                self.index.target(stack, record.get("HostedZoneId"))
            )
            if not zone:
                continue
            zone_node = f"{zone[0].name}/{zone[1]}"
            label = (
                f"{record.get('Type', '?')} {str(record.get('Name', '')).rstrip('.')}"
            )
            for target_stack, target in self.index.references(
                stack, [record.get("AliasTarget"), record.get("ResourceRecords")]
            ):
                node = f"{target_stack}/{target}"
                kind = self.index.resource((target_stack, target)).get("Type")
                if kind == LOAD_BALANCER:
                    self.links.add(Link(zone_node, node, label))
                elif kind == "AWS::EC2::Instance":
                    for host in self.hosts:
                        if (host.stack, host.logical_id) == (target_stack, target):
                            for key in host.groups:
                                self.links.add(Link(zone_node, self.names[key], label))

    def _bucket(self, stack: Stack, node: str, logical_id: str, resource: dict) -> None:
        props = resource.get("Properties", {})
        name = props.get("BucketName")
        tier = tier_of(resource)
        title = name if isinstance(name, str) else logical_id
        self.labels[node] = f"S3 bucket\n{title}" + (f"\n({tier})" if tier else "")
        logging = props.get("LoggingConfiguration", {})
        if "DestinationBucketName" in logging:
            self._link_to_bucket(
                stack, node, logging["DestinationBucketName"], "server access logs"
            )

    def _trail(self, stack: Stack, node: str, logical_id: str, props: dict) -> None:
        scope = "multi-region" if props.get("IsMultiRegionTrail") else "one region"
        self.labels[node] = f"CloudTrail\n{logical_id}\n{scope}"
        self._link_to_bucket(stack, node, props.get("S3BucketName"), "log files")

    def _link_to_bucket(self, stack: Stack, node: str, ref: Any, label: str) -> None:
        for target_stack, target in self.index.references(stack, ref):
            if self.index.resource((target_stack, target)).get("Type") == BUCKET:
                self.links.add(Link(node, f"{target_stack}/{target}", label))

    def _bucket_access(self) -> None:
        """Tier -> bucket where the tier's instance role has a policy on the bucket."""
        for host in self.hosts:
            if not host.instance_profile:
                continue
            for bucket in self._buckets_of_profile(host.instance_profile):
                for key in host.groups:
                    self.links.add(Link(self.names[key], bucket, "IAM access"))

    def _buckets_of_profile(self, profile: tuple[str, str]) -> set[str]:
        """Buckets named in any policy of the role(s) of an instance profile."""
        index = self.index
        roles = index.references(
            index.stacks[profile[0]], index.resource(profile)["Properties"].get("Roles")
        )
        documents: list[tuple[Stack, Any]] = []
        managed: set[tuple[str, str]] = set()
        for role in roles:
            role_stack, props = (
                index.stacks[role[0]],
                index.resource(role)["Properties"],
            )
            documents.append((role_stack, props.get("Policies")))
            managed |= index.references(role_stack, props.get("ManagedPolicyArns"))
        for stack in self.stacks:
            for logical_id, resource in stack.of_type(*_POLICIES):
                props = resource.get("Properties", {})
                attached = index.references(stack, props.get("Roles")) & roles
                if attached or (stack.name, logical_id) in managed:
                    documents.append((stack, props.get("PolicyDocument")))
        found = {
            f"{target[0]}/{target[1]}"
            for stack, document in documents
            for target in index.references(stack, document)
            if index.resource(target).get("Type") == BUCKET
        }
        named = {
            name for _stack, document in documents for name in _arn_buckets(document)
        }
        return found | {
            node for name, node in self._bucket_names().items() if name in named
        }

    def _bucket_names(self) -> dict[str, str]:
        """Literal bucket name -> node, for policies that write ARNs out."""
        return {
            resource["Properties"]["BucketName"]: f"{stack.name}/{logical_id}"
            for stack in self.stacks
            for logical_id, resource in stack.of_type(BUCKET)
            if isinstance(resource.get("Properties", {}).get("BucketName"), str)
        }


def _arn_buckets(value: Any) -> set[str]:
    """Bucket names in the literal S3 ARNs of a policy document."""
    if isinstance(value, str):
        return set(_S3_ARN.findall(value))
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return set().union(*(_arn_buckets(item) for item in value))
    return set()


def _port_key(port: str) -> tuple[int, str]:
    return (int(port), "") if port.isdigit() else (1 << 20, port)


def to_dot(architecture: Architecture, title: str) -> str:
    """The DOT text of the diagram, sorted so equal input gives equal output."""
    flows = architecture.flows()
    summaries = architecture.host_summary()
    tiers = sorted(set(architecture.names.values()))
    others = sorted(
        ({f.source for f in flows} | {f.target for f in flows}) - set(tiers)
    )
    lines = [
        "digraph architecture {",
        f'  graph [label="{_escape(title)}", labelloc=t, rankdir=LR, '
        'fontname="Helvetica", nodesep=0.4, ranksep=1.0];',
        '  node [fontname="Helvetica", fontsize=11, shape=box, style="rounded"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        "  subgraph cluster_vpc {",
        '    label="VPC: one security group per tier"; style="dashed";',
    ]
    for tier in tiers:
        label = "\n".join([tier, *summaries.get(tier, [])])
        lines.append(f'    "{_escape(tier)}" [label="{_escape(label)}"];')
    lines.append("  }")
    for name in others:
        shape = "ellipse" if name == INTERNET else "box"
        lines.append(f'  "{_escape(name)}" [shape={shape}, style="solid"];')
    for node, label in sorted(architecture.labels.items()):
        lines.append(
            f'  "{_escape(node)}" [label="{_escape(label)}", style="filled", '
            'fillcolor="#eeeeee"];'
        )
    by_pair: dict[tuple[str, str], list[str]] = {}
    for flow in flows:
        by_pair.setdefault((flow.source, flow.target), []).append(flow.port)
    for (source, target), ports in sorted(by_pair.items()):
        label = ", ".join(sorted(ports, key=_port_key))
        # Outbound edges to the internet would pull it to the far side of the graph.
        extra = (
            ", constraint=false" if target == INTERNET and source != INTERNET else ""
        )
        lines.append(
            f'  "{_escape(source)}" -> "{_escape(target)}" [label="{label}"{extra}];'
        )
    links: dict[tuple[str, str], list[str]] = {}
    for link in sorted(architecture.links):
        links.setdefault((link.source, link.target), []).append(link.label)
    for (source, target), labels in links.items():
        hidden = len(labels) - _LINK_LABELS
        text = "\n".join(
            labels[:_LINK_LABELS] + ([f"(+{hidden} more)"] if hidden > 0 else [])
        )
        lines.append(
            f'  "{_escape(source)}" -> "{_escape(target)}" '
            f'[label="{_escape(text)}", style=dashed];'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def declared_flows(rows: Iterable[Any]) -> set[Flow]:
    """Flows of a declared port matrix: rows with source, target and port(s).

    A row may be an object with `source`/`target`/`port` (or `ports`)
    attributes, such as `config.ports.Flow`, a mapping with those keys, or a
    (source, target, port) tuple.
    """
    found = set()
    for row in rows:
        if isinstance(row, tuple | list):
            source, target, port = row[:3]
        elif isinstance(row, dict):
            source, target = row["source"], row["target"]
            port = row.get("port", row.get("ports"))
        else:
            source, target = row.source, row.target
            port = getattr(row, "port", None) or getattr(row, "ports", None)
        for one in port if isinstance(port, list | tuple | set) else [port]:
            found.add(Flow(str(source), str(target), str(one)))
    return found


def compare_flows(drawn: set[Flow], declared: set[Flow]) -> tuple[set, set]:
    """(declared but not drawn, drawn but not declared)."""
    return declared - drawn, drawn - declared


def render(dot_file: Path) -> list[Path]:
    """SVG and PNG beside the DOT file, drawn by Graphviz `dot`."""
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            "Graphviz `dot` not found: install it (Debian: apt-get install graphviz)"
        )
    outputs = []
    for fmt in ("svg", "png"):
        target = dot_file.with_suffix(f".{fmt}")
        subprocess.run(
            [dot, f"-T{fmt}", str(dot_file), "-o", str(target)],
            check=True,
            capture_output=True,
            text=True,
        )
        outputs.append(target)
    return outputs


def prefix_list_aliases() -> dict[str, str]:
    """Names of the managed prefix lists the stage configuration declares."""
    try:
        from config import load_stages
    except ImportError:
        return {}
    aliases = {}
    for stage in load_stages().values():
        prefix_list = getattr(stage, "s3_prefix_list_id", None)
        if prefix_list:
            aliases[f"prefix list {prefix_list}"] = "s3"
    return aliases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make diagram", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--assembly", default=str(ROOT / "cdk.out"))
    parser.add_argument("--stage", help="stage to draw (default: Prod, else the first)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="path without suffix")
    parser.add_argument("--dot-only", action="store_true", help="skip SVG and PNG")
    args = parser.parse_args(argv)
    try:
        by_stage = stages(read_assembly(args.assembly))
    except AssemblyError as err:
        emit(f"diagram: {err}", sys.stderr)
        return 2
    stage = args.stage or ("Prod" if "Prod" in by_stage else min(by_stage, default=""))
    if stage not in by_stage:
        emit(f"diagram: no stage {stage!r}; stages: {', '.join(by_stage)}", sys.stderr)
        return 2
    architecture = Architecture(by_stage[stage], prefix_list_aliases())
    dot_file = Path(args.out).with_suffix(".dot")
    dot_file.parent.mkdir(parents=True, exist_ok=True)
    dot_file.write_text(
        to_dot(architecture, f"{stage}: generated from cdk.out by scripts/diagram.py"),
        encoding="utf-8",
    )
    written = [dot_file]
    if not args.dot_only:
        try:
            written += render(dot_file)
        except (RuntimeError, subprocess.CalledProcessError) as err:
            detail = getattr(err, "stderr", "") or ""
            emit(f"diagram: {err} {detail}".strip(), sys.stderr)
            return 2
    for path in written:
        emit(f"diagram: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
