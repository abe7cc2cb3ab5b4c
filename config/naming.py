"""Deterministic physical names that must be the same in every synth."""

from __future__ import annotations

from config.model import DisasterRecoveryConfig, StageConfig

PROJECT = "slack"
MAX_BUCKET_NAME = 63
# The longest region name today (e.g. ap-southeast-5 is shorter); names are
# checked against it so a stage can move regions without a name overflowing.
LONGEST_REGION = "ap-southeast-100"


def bucket_name(stage: StageConfig | DisasterRecoveryConfig, purpose: str) -> str:
    """Globally unique, stable bucket name: project, stage, purpose, account, region."""
    name = f"{PROJECT}-{stage.name.lower()}-{purpose}-{stage.account}-{stage.region}"
    worst = name[: -len(stage.region)] + LONGEST_REGION
    if len(worst) > MAX_BUCKET_NAME:
        raise ValueError(f"bucket name {name!r} could exceed 63 characters")
    return name


def log_group_name(stage: StageConfig, *parts: str) -> str:
    """Log group names shared by the group and the policies that write to it."""
    return "/".join(("", PROJECT, stage.name.lower(), *parts))
