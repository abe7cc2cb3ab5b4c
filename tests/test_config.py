"""Bad configuration fails before any construct exists, naming key, value and rule."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, load_stages, select_stages
from config.loader import DEFAULT_CONFIG_PATH

ROOT = Path(__file__).resolve().parent.parent
GOOD = json.loads(DEFAULT_CONFIG_PATH.read_text())


def load_with(tmp_path: Path, change) -> dict:
    data = copy.deepcopy(GOOD)
    change(data)
    path = tmp_path / "stages.json"
    path.write_text(json.dumps(data))
    return load_stages(path)


def error_for(tmp_path: Path, change) -> str:
    with pytest.raises(ConfigError) as caught:
        load_with(tmp_path, change)
    return str(caught.value)


def test_the_shipped_configuration_is_valid_and_typed():
    stages = load_stages()

    assert list(stages) == ["Dev", "Prod"]
    prod = stages["Prod"]
    assert prod.fleets.web.instance_type == "i2.xlarge"
    assert prod.availability_zones == ("us-east-1a", "us-east-1b", "us-east-1c")
    with pytest.raises(AttributeError):
        prod.region = "eu-west-1"  # frozen dataclass


def test_unknown_key_is_named_with_a_suggestion(tmp_path):
    message = error_for(tmp_path, lambda d: d["Prod"].update(nat_gateway=2))

    assert "Prod.nat_gateway is not a known key" in message
    assert "did you mean 'nat_gateways'" in message


def test_missing_key_is_named_with_what_is_allowed(tmp_path):
    message = error_for(tmp_path, lambda d: d["Dev"].pop("alarm_email"))

    assert "Dev.alarm_email is missing" in message
    assert "email address" in message


@pytest.mark.parametrize(
    ("cidr", "problem"),
    [
        ("10.20.0.0/33", "not an IPv4 network"),
        ("10.20.0.1/16", "not an IPv4 network"),
        ("banana", "not an IPv4 network"),
        ("8.8.0.0/16", "not a private"),
        ("10.20.0.0/24", "outside /16../20"),
    ],
)
def test_malformed_cidr_is_rejected(tmp_path, cidr, problem):
    message = error_for(tmp_path, lambda d: d["Prod"].update(vpc_cidr=cidr))

    assert f'Prod.vpc_cidr = "{cidr}" is invalid' in message
    assert problem in message
    assert "allowed: a private IPv4 CIDR" in message


def test_overlapping_cidrs_between_stages_are_rejected(tmp_path):
    message = error_for(tmp_path, lambda d: d["Prod"].update(vpc_cidr="10.10.0.0/17"))

    assert 'Prod.vpc_cidr = "10.10.0.0/17"' in message
    assert "overlaps Dev.vpc_cidr 10.10.0.0/16" in message


def test_cidr_too_small_for_the_subnets_is_rejected(tmp_path):
    message = error_for(tmp_path, lambda d: d["Prod"].update(vpc_cidr="10.20.0.0/19"))

    assert "too small for 3 zones of subnets" in message


def test_availability_zone_outside_the_region_is_rejected(tmp_path):
    message = error_for(
        tmp_path,
        lambda d: d["Prod"].update(availability_zones=["us-east-1a", "eu-west-1b"]),
    )

    assert "Prod.availability_zones" in message
    assert "'eu-west-1b' is not in region us-east-1" in message


def test_production_stage_needs_two_zones(tmp_path):
    def one_zone(d):
        d["Prod"].update(availability_zones=["us-east-1a"], nat_gateways=1)

    message = error_for(tmp_path, one_zone)

    assert "a production stage needs at least 2 zones, got 1" in message


def test_a_development_stage_may_use_one_zone(tmp_path):
    def one_zone(d):
        d["Dev"].update(availability_zones=["us-east-1a"], nat_gateways=1)

    assert load_with(tmp_path, one_zone)["Dev"].availability_zones == ("us-east-1a",)


@pytest.mark.parametrize(
    ("fleet", "problem"),
    [
        ({"min": 0, "desired": 1, "max": 2}, "out of range 1..100"),
        ({"min": 1, "desired": 1, "max": 101}, "out of range 1..100"),
        ({"min": 3, "desired": 2, "max": 4}, "min 3 <= desired 2 <= max 4"),
        ({"min": 1, "desired": "2", "max": 4}, "not a whole number"),
    ],
)
def test_fleet_size_out_of_range_is_rejected(tmp_path, fleet, problem):
    message = error_for(tmp_path, lambda d: d["Dev"]["fleets"]["web"].update(fleet))

    assert "Dev.fleets.web." in message
    assert problem in message


def test_prod_web_fleet_is_sized_by_the_capacity_model():
    from config.capacity import web_capacity

    web, model = load_stages()["Prod"].fleets.web, web_capacity()

    assert (web.min, web.desired, web.max) == (model.min, model.desired, model.max)


def test_explicit_sizes_beside_the_capacity_model_are_rejected(tmp_path):
    message = error_for(tmp_path, lambda d: d["Prod"]["fleets"]["web"].update(max=5))

    assert "Prod.fleets.web.max = 5 is invalid (given beside capacity_model)" in message


@pytest.mark.parametrize("size", [124, 16385, 0])
def test_sc1_volume_size_outside_its_limits_is_rejected(tmp_path, size):
    message = error_for(
        tmp_path, lambda d: d["Prod"]["mysql"].update(backup_volume_gib=size)
    )

    assert f"Prod.mysql.backup_volume_gib = {size} is invalid" in message
    assert "from 125 to 16384" in message


@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("0 3 * * *", "not of the form cron(...)"),
        ("cron(0 3 * * *)", "has 5 fields"),
        ("cron(0 25 * * ? *)", "hours field '25'"),
        ("cron(0 3 * * * *)", "exactly one of day-of-month and day-of-week"),
        ("cron(61 3 * * ? *)", "minutes field '61'"),
    ],
)
def test_bad_cron_is_rejected(tmp_path, cron, problem):
    message = error_for(tmp_path, lambda d: d["Dev"]["backup"].update(schedule=cron))

    assert "Dev.backup.schedule" in message
    assert problem in message


def test_good_cron_variants_are_accepted(tmp_path):
    cron = "cron(15 2,4 ? * MON-FRI *)"
    stages = load_with(tmp_path, lambda d: d["Dev"]["backup"].update(schedule=cron))

    assert stages["Dev"].backup.schedule == cron


@pytest.mark.parametrize("email", ["oncall", "oncall@", "on call@example.com", 42])
def test_bad_email_is_rejected(tmp_path, email):
    message = error_for(tmp_path, lambda d: d["Prod"].update(alarm_email=email))

    assert "Prod.alarm_email" in message
    assert "allowed: an email address" in message


def test_unknown_stage_name_lists_the_known_ones():
    with pytest.raises(
        ConfigError,
        match=r"-c stage=Staging: no such stage; "
        r"allowed: Dev, Prod, ProdDR",
    ):
        select_stages(load_stages(), "Staging")


def test_a_dr_stage_name_selects_the_stage_it_protects():
    (stage,) = select_stages(load_stages(), "ProdDR")

    assert stage.name == "Prod"
    assert stage.disaster_recovery.name == "ProdDR"


def test_missing_file_and_bad_json_are_named(tmp_path):
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_stages(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_stages(broken)


def run_app(tmp_path: Path, context: dict) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_OUTDIR": str(tmp_path / "out"),
    }
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_app_reports_an_unknown_stage_without_a_traceback(tmp_path):
    result = run_app(tmp_path, {"stage": "Staging"})

    assert result.returncode == 2
    assert "configuration error: -c stage=Staging: no such stage" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list((tmp_path / "out").rglob("*.template.json"))


def test_app_reports_a_bad_config_file_without_building_anything(tmp_path):
    data = copy.deepcopy(GOOD)
    data["Dev"]["mysql"]["backup_volume_gib"] = 20000
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))

    result = run_app(tmp_path, {"config": str(path)})

    assert result.returncode == 2
    assert "Dev.mysql.backup_volume_gib = 20000 is invalid" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list((tmp_path / "out").rglob("*.template.json"))
