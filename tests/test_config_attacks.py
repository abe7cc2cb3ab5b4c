"""Inputs a reviewer fed the loader: each must fail with one config error, no crash."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, load_stages
from config.loader import DEFAULT_CONFIG_PATH

ROOT = Path(__file__).resolve().parent.parent
GOOD = json.loads(DEFAULT_CONFIG_PATH.read_text())


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "stages.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def changed(change) -> dict:
    data = copy.deepcopy(GOOD)
    change(data)
    return data


@pytest.mark.parametrize(
    ("key", "change"),
    [
        ("Dev.alarm_email", lambda d: d["Dev"].update(alarm_email="a@example.com\n")),
        ("Dev.data_ami_id", lambda d: d["Dev"].update(data_ami_id="ami-0abcdef1\n")),
        ("Dev.account", lambda d: d["Dev"].update(account="111111111111\n")),
        (
            "Dev.edge.health_check_path",
            lambda d: d["Dev"]["edge"].update(health_check_path="/health\n"),
        ),
        (
            "Dev.edge.domain_name",
            lambda d: d["Dev"]["edge"].update(domain_name="dev.example.com\n"),
        ),
    ],
)
def test_a_trailing_newline_is_not_a_valid_value(tmp_path, key, change):
    with pytest.raises(ConfigError, match=key):
        load_stages(write(tmp_path, changed(change)))


def test_a_trailing_newline_in_a_stage_name_is_rejected(tmp_path):
    data = {("Dev\n" if k == "Dev" else k): v for k, v in GOOD.items()}

    with pytest.raises(ConfigError, match="stage name 'Dev\\\\n' is invalid"):
        load_stages(write(tmp_path, data))


def test_a_stage_named_like_another_stages_dr_stage_is_rejected(tmp_path):
    data = {**GOOD, "ProdDR": copy.deepcopy(GOOD["Dev"])}
    data["ProdDR"]["vpc_cidr"] = "10.30.0.0/16"

    with pytest.raises(ConfigError, match="ProdDR.*Prod's disaster-recovery stage"):
        load_stages(write(tmp_path, data))


def test_stage_names_equal_but_for_case_are_rejected(tmp_path):
    data = {**GOOD, "DEV": copy.deepcopy(GOOD["Dev"])}
    data["DEV"]["vpc_cidr"] = "10.30.0.0/16"

    with pytest.raises(ConfigError, match="'DEV' and 'Dev' .* same bucket"):
        load_stages(write(tmp_path, data))


def test_duplicate_keys_in_the_file_are_rejected(tmp_path):
    text = DEFAULT_CONFIG_PATH.read_text().replace(
        '"nat_gateways": 1,', '"nat_gateways": 1,\n    "nat_gateways": 2,', 1
    )

    with pytest.raises(ConfigError, match="key 'nat_gateways' appears twice"):
        load_stages(write(tmp_path, text))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\xff\xfe{", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"Dev": {"nat_gateways": ' + b"9" * 5000 + b"}}", "not valid JSON"),
    ],
)
def test_unreadable_files_are_named_not_crashed_on(tmp_path, content, problem):
    path = tmp_path / "stages.json"
    path.write_bytes(content)

    with pytest.raises(ConfigError, match=problem):
        load_stages(path)


def test_a_directory_is_not_a_configuration_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load_stages(tmp_path)


@pytest.mark.parametrize("cidr", ["127.0.0.0/16", "169.254.0.0/16", "100.64.0.0/16"])
def test_only_rfc1918_ranges_are_vpc_cidrs(tmp_path, cidr):
    data = changed(lambda d: d["Dev"].update(vpc_cidr=cidr))

    with pytest.raises(ConfigError, match="not a private \\(RFC 1918\\) range"):
        load_stages(write(tmp_path, data))


@pytest.mark.parametrize(
    "cron",
    [
        "cron(² 3 * * ? *)",
        "cron(٠ ٣ * * ? *)",
        "cron(0/0 3 * * ? *)",
        "cron(0 5-1 * * ? *)",
    ],
)
def test_cron_expressions_eventbridge_rejects_are_rejected(tmp_path, cron):
    data = changed(lambda d: d["Dev"]["backup"].update(schedule=cron))

    with pytest.raises(ConfigError, match="Dev.backup.schedule"):
        load_stages(write(tmp_path, data))


def test_an_unknown_region_is_rejected(tmp_path):
    def fake_region(d):
        d["Dev"].update(region="zz-fake-9", availability_zones=["zz-fake-9a"],
                        nat_gateways=1)  # fmt: skip

    with pytest.raises(ConfigError, match='Dev.region = "zz-fake-9"'):
        load_stages(write(tmp_path, changed(fake_region)))


@pytest.mark.parametrize("fleet", ["squid", "solr"])
def test_the_capacity_model_sizes_only_the_web_fleet(tmp_path, fleet):
    data = changed(
        lambda d: d["Dev"]["fleets"].update({fleet: {"capacity_model": True}})
    )

    with pytest.raises(ConfigError, match=f"Dev.fleets.{fleet}.capacity_model"):
        load_stages(write(tmp_path, data))


@pytest.mark.parametrize("instance_type", ["zz99.large", "t3.micro", "m5.xlarge"])
def test_hosts_need_an_instance_type_with_an_instance_store(tmp_path, instance_type):
    data = changed(lambda d: d["Dev"]["mysql"].update(instance_type=instance_type))

    with pytest.raises(ConfigError, match="instance-store"):
        load_stages(write(tmp_path, data))


def test_instance_store_families_are_accepted(tmp_path):
    data = changed(lambda d: d["Dev"]["mysql"].update(instance_type="i3en.2xlarge"))

    assert (
        load_stages(write(tmp_path, data))["Dev"].mysql.instance_type == "i3en.2xlarge"
    )


def test_a_float_retention_is_not_a_whole_number_of_days(tmp_path):
    data = changed(lambda d: d["Dev"].update(log_retention_days=30.0))

    with pytest.raises(ConfigError, match="Dev.log_retention_days"):
        load_stages(write(tmp_path, data))


def run_app(
    tmp_path: Path, context: dict | None, cwd: Path
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CDK_CONTEXT_JSON"}
    env["CDK_OUTDIR"] = str(tmp_path / "out")
    if context is not None:
        env["CDK_CONTEXT_JSON"] = json.dumps(context)
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py")], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def test_an_empty_config_flag_is_an_error_not_the_default_file(tmp_path):
    result = run_app(tmp_path, {"config": ""}, ROOT)

    assert result.returncode == 2
    assert "-c config= is empty" in result.stderr


def test_app_run_directly_from_another_folder_uses_the_feature_flags(tmp_path):
    result = run_app(tmp_path, None, tmp_path)

    assert result.returncode == 0, result.stderr[-2000:]
    assert list((tmp_path / "out").glob("assembly-Prod/*.template.json"))


def test_shard_counts_that_would_overflow_the_data_template_are_rejected(tmp_path):
    data = changed(lambda d: d["Prod"]["mysql"].update(shards=18))

    with pytest.raises(ConfigError, match="Prod.mysql.shards = 18 is invalid"):
        load_stages(write(tmp_path, data))
