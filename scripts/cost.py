"""Estimate the monthly cost of a synthesized assembly, per stage, stack and tier.

    python -m scripts.cost [--assembly cdk.out] [--base BASE_CDK_OUT] [--json]
                           [--prices pricing/prices.json]

Prices come from pricing/prices.json (us-east-1 on-demand list prices, each with
its date and source). Resources are priced from what their templates declare;
anything without a price is listed, never counted as zero. Usage-based charges
(data transfer, storage that grows, requests) are listed, not estimated.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from scripts.assembly import (
    ROOT,
    AssemblyError,
    Stack,
    StageIndex,
    emit,
    read_assembly,
    stages,
    tier_of,
)
from scripts.inventory import AUTO_SCALING_GROUP, INSTANCE, Hosts, hosts
from scripts.sgrules import StageGroups

DEFAULT_PRICES = ROOT / "pricing" / "prices.json"
NO_TIER = "-"
BACKUP_VOLUME_TYPE = "sc1"
# EC2 creates a gp2 volume when a template names no type.
DEFAULT_VOLUME_TYPE = "gp2"
_HEALTH_CHECK_EXTRAS = {"HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH"}


class PriceError(Exception):
    """The price table cannot be read."""


@dataclass(frozen=True)
class Item:
    """One priced line: `quantity` units of `unit` at `unit_usd` a month each."""

    stage: str
    stack: str
    tier: str
    logical_id: str
    what: str
    quantity: float
    unit_usd: float

    @property
    def monthly(self) -> float:
        return self.quantity * self.unit_usd


@dataclass(frozen=True)
class Unpriced:
    """A resource (or part of one) the table has no price for."""

    stage: str
    stack: str
    logical_id: str
    type: str
    reason: str


@dataclass
class Estimate:
    """Everything `make cost` found in one assembly."""

    items: list[Item] = field(default_factory=list)
    unpriced: list[Unpriced] = field(default_factory=list)
    usage_based: Counter = field(default_factory=Counter)
    backup_gib: float = 0.0

    def total(self, **where: str) -> float:
        return sum(
            item.monthly
            for item in self.items
            if all(getattr(item, key) == value for key, value in where.items())
        )

    def stages(self) -> dict[str, dict[str, dict[str, float]]]:
        """stage -> stack -> tier -> monthly USD."""
        tree: dict[str, dict[str, dict[str, float]]] = {}
        for item in self.items:
            tiers = tree.setdefault(item.stage, {}).setdefault(item.stack, {})
            tiers[item.tier] = tiers.get(item.tier, 0.0) + item.monthly
        return tree


class Prices:
    """The price table, read once, in USD per month."""

    def __init__(self, path: Path = DEFAULT_PRICES):
        try:
            self.table = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise PriceError(f"{path}: cannot read the price table ({err})") from None
        self.path = Path(path)
        self.hours = float(self.table["hours_per_month"])
        self.no_charge = set(self.table["no_charge"]["types"])
        self.usage = self.table["usage_based"]["types"]

    def instance(self, instance_type: str) -> float | None:
        entry = self.table["ec2_instance_hour"].get(instance_type)
        return entry["usd"] * self.hours if entry else None

    def ebs_gb(self, volume_type: str) -> float | None:
        entry = self.table["ebs_gb_month"].get(volume_type)
        return entry["usd"] if entry else None

    def ebs_extra(self, name: str) -> tuple[float, float]:
        entry = self.table["ebs_extras_month"][name]
        return entry["usd"], float(entry["included"])

    def hourly(self, name: str) -> float:
        return self.table["hourly"][name]["usd"] * self.hours

    def monthly(self, name: str) -> float:
        return self.table["monthly"][name]["usd"]

    def usage_of(self, resource_type: str) -> str | None:
        if resource_type in self.usage:
            return self.usage[resource_type]
        if resource_type.startswith("Custom::"):
            return self.usage.get("Custom::*")
        return None


def estimate(stacks: dict[str, Stack], prices: Prices) -> Estimate:
    """Price every resource of every stage of an assembly."""
    result = Estimate()
    for stage, members in stages(stacks).items():
        _Stage(stage, members, prices, result).price()
    return result


class _Stage:
    """Prices the resources of one stage into a shared Estimate."""

    def __init__(self, stage: str, stacks: list[Stack], prices: Prices, out: Estimate):
        self.stage, self.stacks, self.prices, self.out = stage, stacks, prices, out
        self.groups = StageGroups(stacks)
        self.index: StageIndex = self.groups.index
        self.hosts = {(h.stack, h.logical_id): h for h in hosts(stacks, self.groups)}
        self.volume_tiers = self._volume_tiers()

    def add(self, stack, tier, logical_id, what, quantity, unit_usd) -> None:
        self.out.items.append(
            Item(
                self.stage, stack, tier or NO_TIER, logical_id, what, quantity, unit_usd
            )
        )

    def missing(self, stack: str, logical_id: str, kind: str, reason: str) -> None:
        self.out.unpriced.append(Unpriced(self.stage, stack, logical_id, kind, reason))

    def price(self) -> None:
        for stack in self.stacks:
            for logical_id, resource in stack.resources.items():
                self._resource(stack, logical_id, resource)

    def _resource(self, stack: Stack, logical_id: str, resource: dict) -> None:
        kind = resource.get("Type", "")
        props = resource.get("Properties", {})
        tier = tier_of(resource)
        simple = _SIMPLE.get(kind)
        if (stack.name, logical_id) in self.hosts:
            self._hosts(self.hosts[(stack.name, logical_id)])
        elif kind == "AWS::EC2::Volume":
            tier = tier or self.volume_tiers.get((stack.name, logical_id))
            self._volume(stack.name, tier, logical_id, props, 1)
        elif kind == "AWS::EC2::VPCEndpoint":
            self._endpoint(stack.name, tier, logical_id, props)
        elif kind == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            self._load_balancer(stack, tier, logical_id, props)
        elif kind == "AWS::WAFv2::WebACL":
            self._web_acl(stack.name, tier, logical_id, props)
        elif simple:
            period, rate, what, quantity = simple
            unit = getattr(self.prices, period)(rate)
            self.add(stack.name, tier, logical_id, what, quantity(props), unit)
            self._extras(stack.name, logical_id, kind, props)
        elif kind in self.prices.no_charge:
            return
        elif usage := self.prices.usage_of(kind):
            self.out.usage_based[(kind, usage)] += 1
        else:
            self.missing(stack.name, logical_id, kind, "no price in the price table")

    def _hosts(self, host: Hosts) -> None:
        kind = INSTANCE if host.kind == "instance" else AUTO_SCALING_GROUP
        if host.count is None:
            self.missing(
                host.stack, host.logical_id, kind, "instance count not literal"
            )
            return
        if host.instance_type is None:
            self.missing(host.stack, host.logical_id, kind, "instance type not literal")
        elif (rate := self.prices.instance(host.instance_type)) is None:
            self.missing(
                host.stack,
                host.logical_id,
                kind,
                f"no price for instance type {host.instance_type}",
            )
        else:
            self.add(
                host.stack,
                host.tier,
                host.logical_id,
                f"EC2 {host.instance_type} ({host.kind})",
                host.count,
                rate,
            )
        ebs = [d for d in host.block_devices if isinstance(d.get("Ebs"), dict)]
        for device in ebs:
            self._volume(
                host.stack, host.tier, host.logical_id, device["Ebs"], host.count
            )
        if not ebs:
            self.missing(
                host.stack,
                host.logical_id,
                kind,
                f"root EBS volume of {host.count} instance(s): size set by the AMI",
            )

    def _volume(self, stack, tier, logical_id, props: dict, count: int) -> None:
        volume_type = props.get("VolumeType", DEFAULT_VOLUME_TYPE)
        size = props.get("VolumeSize", props.get("Size"))
        rate = self.prices.ebs_gb(volume_type) if isinstance(volume_type, str) else None
        if not isinstance(size, int | float) or rate is None:
            reason = (
                f"no price for EBS volume type {volume_type}"
                if rate is None
                else "volume size not literal (from a snapshot?)"
            )
            self.missing(stack, logical_id, "AWS::EC2::Volume", reason)
            return
        self.add(
            stack, tier, logical_id, f"EBS {volume_type} {size} GiB", count, size * rate
        )
        if volume_type == BACKUP_VOLUME_TYPE:
            self.out.backup_gib += size * count
        for key in ("Iops", "Throughput"):
            extra = f"{volume_type}_{key.lower()}"
            if extra in self.prices.table["ebs_extras_month"] and key in props:
                usd, included = self.prices.ebs_extra(extra)
                above = max(float(props[key]) - included, 0.0)
                if above:
                    what = f"EBS {volume_type} {key} above {included:g}"
                    self.add(stack, tier, logical_id, what, count, above * usd)
            elif key in props and volume_type not in ("gp2", "sc1", "st1"):
                reason = f"no price for {volume_type} {key}"
                self.missing(stack, logical_id, "AWS::EC2::Volume", reason)

    def _endpoint(self, stack: str, tier, logical_id: str, props: dict) -> None:
        kind = props.get("VpcEndpointType", "Gateway")
        if kind == "Gateway":
            return
        subnets = props.get("SubnetIds")
        if kind != "Interface" or not isinstance(subnets, list):
            self.missing(
                stack,
                logical_id,
                "AWS::EC2::VPCEndpoint",
                f"{kind} endpoint not priced",
            )
            return
        service = str(props.get("ServiceName", "")).rsplit(".", 1)[-1]
        self.add(
            stack,
            tier,
            logical_id,
            f"interface endpoint {service} (per AZ)",
            len(subnets),
            self.prices.hourly("interface_endpoint_az"),
        )

    def _load_balancer(self, stack: Stack, tier, logical_id: str, props: dict) -> None:
        kind = props.get("Type", "application")
        rate = {
            "application": "application_load_balancer",
            "network": "network_load_balancer",
        }.get(kind)
        if rate is None:
            self.missing(
                stack.name,
                logical_id,
                "AWS::ElasticLoadBalancingV2::LoadBalancer",
                f"no price for a {kind} load balancer",
            )
            return
        groups = [
            self.groups.resolve(stack, ref) for ref in props.get("SecurityGroups") or []
        ]
        known = self.groups.groups
        tier = tier or _one({known[g].tier for g in groups if g in known})
        hourly = self.prices.hourly(rate)
        self.add(stack.name, tier, logical_id, f"{kind} load balancer", 1, hourly)
        if props.get("Scheme", "internet-facing") == "internet-facing":
            zones = len(props.get("Subnets") or props.get("SubnetMappings") or [])
            self.add(
                stack.name,
                tier,
                logical_id,
                "public IPv4 of the load balancer (at least one per subnet)",
                zones,
                self.prices.hourly("public_ipv4"),
            )
        self.out.usage_based[(f"{kind} load balancer", "capacity units (LCUs)")] += 1

    def _web_acl(self, stack: str, tier, logical_id: str, props: dict) -> None:
        monthly = self.prices.monthly
        self.add(stack, tier, logical_id, "WAF web ACL", 1, monthly("waf_web_acl"))
        rules = len(props.get("Rules") or [])
        self.add(stack, tier, logical_id, "WAF rule", rules, monthly("waf_rule"))
        self.out.usage_based[("WAF web ACL", "requests inspected")] += 1

    def _extras(self, stack: str, logical_id: str, kind: str, props: dict) -> None:
        """Usage a priced resource adds, listed rather than guessed."""
        if kind == "AWS::EC2::NatGateway":
            self.out.usage_based[("NAT gateway", "data processed per GB")] += 1
        elif kind == "AWS::CloudTrail::Trail" and (
            props.get("InsightSelectors")
            or any(s.get("DataResources") for s in props.get("EventSelectors") or [])
            or props.get("AdvancedEventSelectors")
        ):
            self.missing(stack, logical_id, kind, "data or Insights events")
        elif kind == "AWS::Route53::HealthCheck":
            config = props.get("HealthCheckConfig", {})
            if config.get("Type") in _HEALTH_CHECK_EXTRAS or config.get(
                "MeasureLatency"
            ):
                self.missing(stack, logical_id, kind, "optional health check features")

    def _volume_tiers(self) -> dict[tuple[str, str], str]:
        """The tier of the instance each volume is attached to."""
        tiers = {}
        for stack in self.stacks:
            for _id, attachment in stack.of_type("AWS::EC2::VolumeAttachment"):
                props = attachment.get("Properties", {})
                volume = self.index.target(stack, props.get("VolumeId"))
                instance = self.index.target(stack, props.get("InstanceId"))
                if volume and instance:
                    host = self.hosts.get((instance[0].name, instance[1]))
                    if host and host.tier:
                        tiers[(volume[0].name, volume[1])] = host.tier
        return tiers


def _one(values: set) -> str | None:
    values = values - {None}
    return values.pop() if len(values) == 1 else None


def _alarm_metrics(props: dict) -> int:
    metrics = props.get("Metrics")
    if isinstance(metrics, list):
        return max(1, sum(1 for m in metrics if "MetricStat" in m))
    return 1


def _one_each(_props: dict) -> int:
    return 1


def _transformations(props: dict) -> int:
    return len(props.get("MetricTransformations") or [None])


# Resources priced per unit: type -> (period, price name, line text, quantity).
_SIMPLE = {
    "AWS::EC2::NatGateway": ("hourly", "nat_gateway", "NAT gateway", _one_each),
    "AWS::EC2::EIP": ("hourly", "public_ipv4", "public IPv4 (Elastic IP)", _one_each),
    "AWS::KMS::Key": ("monthly", "kms_key", "KMS customer managed key", _one_each),
    "AWS::Route53::HostedZone": ("monthly", "hosted_zone", "hosted zone", _one_each),
    "AWS::Route53::HealthCheck": ("monthly", "health_check", "health check", _one_each),
    "AWS::CloudTrail::Trail": (
        "monthly",
        "trail",
        "CloudTrail trail (first copy of management events)",
        _one_each,
    ),
    "AWS::CloudWatch::Alarm": ("monthly", "alarm", "alarm metric", _alarm_metrics),
    "AWS::Logs::MetricFilter": (
        "monthly",
        "custom_metric",
        "custom metric of a metric filter",
        _transformations,
    ),
    "AWS::CloudWatch::Dashboard": ("monthly", "dashboard", "dashboard", _one_each),
    "AWS::SecretsManager::Secret": ("monthly", "secret", "secret", _one_each),
}


# Reports.


def money(usd: float) -> str:
    return f"${usd:.2f}"


def backup_lines(result: Estimate, prices: Prices) -> list[str]:
    """The sc1 backup volumes against the same capacity on gp2 and gp3."""
    gib = result.backup_gib
    if not gib:
        return ["backup volumes: none (no sc1 volumes in the assembly)"]
    sc1, gp2, gp3 = (gib * prices.ebs_gb(t) for t in ("sc1", "gp2", "gp3"))
    return [
        f"backup volumes: sc1 {money(sc1)}/month vs gp2 {money(gp2)}/month "
        f"(ratio {sc1 / gp2:.2f})",
        f"backup volumes: gp3 {money(gp3)}/month for the same {gib:g} GiB "
        f"(sc1/gp3 ratio {sc1 / gp3:.2f})",
    ]


def text_report(result: Estimate, prices: Prices) -> list[str]:
    lines = [
        f"Estimated monthly cost: {prices.table['region']} on-demand list prices, "
        f"{prices.hours:g} hours a month, from {_shown_path(prices.path)}",
        "(usage-based charges are listed at the end, not estimated)",
        "",
    ]
    for stage, stacks in sorted(result.stages().items()):
        lines.append(f"{stage}: {money(result.total(stage=stage))}/month")
        for stack, tiers in sorted(stacks.items()):
            for tier, usd in sorted(tiers.items()):
                label = "no tier tag" if tier == NO_TIER else f"tier {tier}"
                lines.append(f"  {stage}/{stack} ({label}): {money(usd)}")
                where = (stage, stack, tier)
                items = [i for i in result.items if (i.stage, i.stack, i.tier) == where]
                lines += [f"    {line}" for line in _summary(items)]
        lines.append("")
    lines.append(f"all stages: {money(result.total())}")
    lines += backup_lines(result, prices)
    if result.unpriced:
        lines += ["", "not priced (missing from the total, not counted as zero):"]
        lines += [
            f"  {u.stage}/{u.stack} {u.logical_id} ({u.type}): {u.reason}"
            for u in result.unpriced
        ]
    if result.usage_based:
        lines += ["", "usage-based, not estimated:"]
        lines += [
            f"  {kind} x{count}: {what}"
            for (kind, what), count in sorted(result.usage_based.items())
        ]
    return lines


def _summary(items: list[Item]) -> list[str]:
    """One line per kind of item: count, what, monthly cost."""
    counts: Counter = Counter()
    costs: Counter = Counter()
    for item in items:
        counts[item.what] += item.quantity
        costs[item.what] += item.monthly
    return [
        f"{counts[what]:g} x {what}: {money(costs[what])}" for what in sorted(counts)
    ]


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def as_json(result: Estimate, prices: Prices) -> dict:
    gib = result.backup_gib
    backup = {
        "gib": gib,
        **{t: round(gib * prices.ebs_gb(t), 2) for t in ("sc1", "gp2", "gp3")},
    }
    if gib:
        sc1 = prices.ebs_gb("sc1")
        backup["ratio_to_gp2"] = round(sc1 / prices.ebs_gb("gp2"), 2)
        backup["ratio_to_gp3"] = round(sc1 / prices.ebs_gb("gp3"), 2)
    return {
        "region": prices.table["region"],
        "currency": prices.table["currency"],
        "hours_per_month": prices.hours,
        "total": round(result.total(), 2),
        "stages": {
            stage: {
                "total": round(result.total(stage=stage), 2),
                "stacks": {
                    stack: {
                        "total": round(sum(tiers.values()), 2),
                        "tiers": {t: round(v, 2) for t, v in sorted(tiers.items())},
                    }
                    for stack, tiers in sorted(stacks.items())
                },
            }
            for stage, stacks in sorted(result.stages().items())
        },
        "items": [
            {**asdict(item), "monthly": round(item.monthly, 2)} for item in result.items
        ],
        "backup_volumes": backup,
        "not_priced": [asdict(u) for u in result.unpriced],
        "usage_based": [
            {"type": kind, "count": count, "charged_for": what}
            for (kind, what), count in sorted(result.usage_based.items())
        ],
    }


def change(base: dict, current: dict) -> dict:
    """Monthly change from a base estimate (as_json) to the current one."""

    def totals(report: dict) -> dict[str, float]:
        flat = {}
        for stage, body in report["stages"].items():
            flat[stage] = body["total"]
            for stack, stack_body in body["stacks"].items():
                flat[f"{stage}/{stack}"] = stack_body["total"]
        return flat

    before, after = totals(base), totals(current)
    return {
        "total": round(current["total"] - base["total"], 2),
        "by_stage_and_stack": {
            name: {
                "base": before.get(name, 0.0),
                "current": after.get(name, 0.0),
                "change": round(after.get(name, 0.0) - before.get(name, 0.0), 2),
            }
            for name in sorted(set(before) | set(after))
            if round(after.get(name, 0.0) - before.get(name, 0.0), 2)
        },
    }


def change_lines(delta: dict, base: dict, current: dict) -> list[str]:
    lines = ["", "change from the base assembly:"]
    for name, row in delta["by_stage_and_stack"].items():
        lines.append(
            f"  {name}: {money(row['base'])} -> {money(row['current'])} "
            f"({_signed(row['change'])}/month)"
        )
    if not delta["by_stage_and_stack"]:
        lines.append("  no change")
    lines.append(
        f"  all stages: {money(base['total'])} -> {money(current['total'])} "
        f"({_signed(delta['total'])}/month)"
    )
    return lines


def _signed(usd: float) -> str:
    return f"+{money(usd)}" if usd >= 0 else f"-{money(-usd)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make cost", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--assembly", default=str(ROOT / "cdk.out"))
    parser.add_argument(
        "--base", help="cdk.out of the base revision, to show the change"
    )
    parser.add_argument("--prices", default=str(DEFAULT_PRICES))
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--output", help="write the report to this file, not stdout")
    args = parser.parse_args(argv)
    try:
        prices = Prices(Path(args.prices))
        current = estimate(read_assembly(args.assembly), prices)
        base = estimate(read_assembly(args.base), prices) if args.base else None
    except (AssemblyError, PriceError) as err:
        emit(f"cost: {err}", sys.stderr)
        return 2
    report = as_json(current, prices)
    if args.json:
        if base is not None:
            report = {**report, "base": as_json(base, prices)}
            report["change"] = change(report["base"], report)
        lines = [json.dumps(report, indent=2, sort_keys=True)]
    else:
        lines = text_report(current, prices)
        if base is not None:
            base_report = as_json(base, prices)
            lines += change_lines(change(base_report, report), base_report, report)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text("\n".join(lines) + "\n", encoding="utf-8")
        emit(f"cost: wrote {args.output}")
    else:
        for line in lines:
            emit(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
