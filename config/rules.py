"""Value rules for config keys: what each allows, and why a value fails."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

_RFC1918 = tuple(
    ipaddress.IPv4Network(block) for block in ("10.0.0.0/8", "172.16.0.0/12",
                                                "192.168.0.0/16")
)  # fmt: skip
# Families whose hosts carry an instance-store SSD, which every host mounts.
_INSTANCE_STORE_FAMILY = re.compile(r"(?:i|d|im|is)\d[a-z0-9]*|[a-z]+\d+[a-z]*d[a-z]*")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_INSTANCE_TYPE = re.compile(
    r"^[a-z][a-z0-9-]*\.(nano|micro|small|medium|[0-9]*x?large|metal[a-z0-9-]*)$"
)
_EMAIL = re.compile(
    r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
)
_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class Rule:
    """A check on one value: `allowed` is shown to the user when `problem` says no."""

    allowed: str
    problem: Callable[[Any], str | None]


def optional(rule: Rule) -> Rule:
    def problem(value: Any) -> str | None:
        return None if value is None else rule.problem(value)

    return Rule(f"{rule.allowed}, or null", problem)


def boolean() -> Rule:
    return Rule(
        "true or false", lambda v: None if isinstance(v, bool) else "not a boolean"
    )


def integer(low: int, high: int) -> Rule:
    def problem(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return "not a whole number"
        if not low <= value <= high:
            return f"out of range {low}..{high}"
        return None

    return Rule(f"a whole number from {low} to {high}", problem)


def one_of(values: tuple[Any, ...]) -> Rule:
    shown = ", ".join(str(v) for v in values)

    def problem(value: Any) -> str | None:
        same_type = all(type(value) is type(v) for v in values)
        if isinstance(value, bool) or not same_type or value not in values:
            return "not one of the allowed values"
        return None

    return Rule(f"one of {shown}", problem)


def matching(pattern: re.Pattern[str], allowed: str) -> Rule:
    def problem(value: Any) -> str | None:
        if not isinstance(value, str):
            return "not a string"
        # fullmatch: `$` would also accept a trailing newline.
        return None if pattern.fullmatch(value) else "wrong format"

    return Rule(allowed, problem)


def account() -> Rule:
    return matching(_ACCOUNT, "a 12-digit AWS account id in quotes")


def region() -> Rule:
    def problem(value: Any) -> str | None:
        shape = matching(_REGION, "").problem(value)
        if shape:
            return shape
        return None if value in known_regions() else "not a region the CDK knows"

    return Rule("an AWS region name such as us-east-1", problem)


@functools.cache
def known_regions() -> frozenset[str]:
    """Regions in the CDK's own offline region table.

    Fact.regions is the list RegionInfo.regions is built from: one jsii request
    instead of one per region for RegionInfo objects and their names.
    """
    from aws_cdk.region_info import Fact

    return frozenset(Fact.regions)


def instance_type() -> Rule:
    def problem(value: Any) -> str | None:
        shape = matching(_INSTANCE_TYPE, "").problem(value)
        if shape:
            return shape
        family = value.split(".", 1)[0]
        if not _INSTANCE_STORE_FAMILY.fullmatch(family):
            return "no instance-store SSD in that family"
        return None

    return Rule(
        "an EC2 instance type with an instance-store SSD, e.g. i2.xlarge, "
        "i3.2xlarge, m5d.xlarge",
        problem,
    )


def prefix_list_id() -> Rule:
    return matching(
        re.compile(r"^pl-[0-9a-f]{8,17}$"),
        "the id of the region's S3 managed prefix list, e.g. pl-63a5400a",
    )


def ami_id() -> Rule:
    return matching(
        re.compile(r"^ami-[0-9a-f]{8,17}$"), "an AMI id such as ami-0abc1234"
    )


def mysql_version() -> Rule:
    return matching(
        re.compile(r"^8\.(0|4)\.\d+$"), "a MySQL 8.0.x or 8.4.x release, e.g. 8.4.3"
    )


def email() -> Rule:
    return matching(_EMAIL, "an email address such as oncall@example.com")


def domain_name() -> Rule:
    def problem(value: Any) -> str | None:
        if not isinstance(value, str):
            return "not a string"
        labels = value.split(".")
        if len(value) > 253 or len(labels) < 2:
            return "not a fully qualified domain name"
        if not all(_DNS_LABEL.fullmatch(label) for label in labels):
            return "a label has characters other than a-z, 0-9 and inner hyphens"
        return None

    return Rule("a lower-case domain name such as chat.example.com", problem)


def string_list(item: Rule, min_items: int) -> Rule:
    def problem(value: Any) -> str | None:
        if not isinstance(value, list) or len(value) < min_items:
            return f"not a list of at least {min_items}"
        for entry in value:
            issue = item.problem(entry)
            if issue:
                return f"entry {entry!r} is {issue}"
        if len(set(value)) != len(value):
            return "has duplicates"
        return None

    return Rule(f"a list of {item.allowed}, at least {min_items}", problem)


def ipv4_cidr(min_prefix: int, max_prefix: int) -> Rule:
    def problem(value: Any) -> str | None:
        if not isinstance(value, str):
            return "not a string"
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as err:
            return f"not an IPv4 network ({err})"
        if not any(network.subnet_of(block) for block in _RFC1918):
            return "not a private (RFC 1918) range"
        if not min_prefix <= network.prefixlen <= max_prefix:
            return (
                f"prefix /{network.prefixlen} is outside /{min_prefix}../{max_prefix}"
            )
        return None

    allowed = (
        f"a private IPv4 CIDR from /{min_prefix} to /{max_prefix}, e.g. 10.20.0.0/16"
    )
    return Rule(allowed, problem)


def eventbridge_cron() -> Rule:
    return Rule(
        "an EventBridge cron such as cron(0 3 * * ? *): minutes hours "
        "day-of-month month day-of-week year, with ? in day-of-month or day-of-week",
        _cron_problem,
    )


_MONTHS = (
    "JAN",
    "FEB",
    "MAR",
    "APR",
    "MAY",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "OCT",
    "NOV",
    "DEC",
)
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_CRON_FIELDS = (
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(_MONTHS)}),
    ("day-of-week", 1, 7, {d: i + 1 for i, d in enumerate(_WEEKDAYS)}),
    ("year", 1970, 2199, {}),
)  # fmt: skip


def _cron_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return "not a string"
    match = re.fullmatch(r"cron\((.*)\)", value.strip())
    if not match:
        return "not of the form cron(...)"
    parts = match.group(1).split()
    if len(parts) != len(_CRON_FIELDS):
        return f"has {len(parts)} fields, EventBridge cron needs 6"
    for part, (name, low, high, names) in zip(parts, _CRON_FIELDS, strict=True):
        issue = _cron_field_problem(part, low, high, names, name)
        if issue:
            return f"{name} field {part!r} {issue}"
    day_of_month, day_of_week = parts[2], parts[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        return "exactly one of day-of-month and day-of-week must be ?"
    return None


def _cron_field_problem(
    part: str, low: int, high: int, names: dict[str, int], name: str
) -> str | None:
    if part in ("*", "?"):
        return (
            None
            if part == "*" or name in ("day-of-month", "day-of-week")
            else ("cannot be ?")
        )
    for item in part.split(","):
        base, _, step = item.partition("/")
        if step and not (_ascii_number(step) and int(step) > 0):
            return "has a step that is not a positive number"
        if base == "*":
            continue
        numbers = []
        for bound in base.split("-", 1):
            number = (
                names.get(bound.upper())
                if bound.upper() in names
                else (int(bound) if _ascii_number(bound) else None)
            )
            if number is None or not low <= number <= high:
                return f"is not within {low}..{high}"
            numbers.append(number)
        if len(numbers) == 2 and numbers[0] > numbers[1]:
            return "has a range that runs backwards"
    return None


def _ascii_number(text: str) -> bool:
    """Digits 0-9 only: str.isdigit also accepts superscripts and other scripts."""
    return text.isascii() and text.isdigit()
