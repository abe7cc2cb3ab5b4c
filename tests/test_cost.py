"""`make cost`: monthly estimate per stage, stack and tier from the templates."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from scripts.assembly import read_assembly, write_assembly
from scripts.cost import Prices, backup_lines, estimate, main

STAGE = json.loads((Path(__file__).parent / "fixtures/review/stage.json").read_text())
HOURS = 730
I2_XLARGE = 0.853 * HOURS


def templates() -> dict[str, dict]:
    return {f"Dev/{name}": copy.deepcopy(t) for name, t in STAGE.items()}


def priced(tmp_path: Path, stacks: dict[str, dict]):
    return estimate(read_assembly(write_assembly(tmp_path, stacks)), Prices())


def test_each_stage_stack_and_tier_gets_its_monthly_cost(tmp_path):
    result = priced(tmp_path, templates())

    assert result.stages()["Dev"]["Data"] == pytest.approx(
        {"mysql": I2_XLARGE + 125 * 0.015}
    )
    assert result.stages()["Dev"]["Edge"] == pytest.approx(
        {
            "alb": 0.0225 * HOURS + 2 * 0.005 * HOURS,
            "web": 2 * I2_XLARGE + 2 * 20 * 0.08,
            "-": 0.50,
        }
    )
    assert result.total(stage="Dev", stack="Network") == pytest.approx(
        0.045 * HOURS + 0.005 * HOURS + 2 * 0.01 * HOURS
    )
    assert result.total(stage="Dev", stack="Security") == pytest.approx(1.00)


def test_an_auto_scaling_group_costs_its_desired_capacity_of_its_template_type(
    tmp_path,
):
    stacks = templates()
    stacks["Dev/Edge"]["Resources"]["WebAsg"]["Properties"]["DesiredCapacity"] = "5"

    result = priced(tmp_path, stacks)

    assert result.total(stack="Edge", tier="web") == pytest.approx(
        5 * I2_XLARGE + 5 * 20 * 0.08
    )


def test_the_backup_line_compares_sc1_with_the_same_capacity_on_gp2(tmp_path):
    stacks = templates()
    volume = stacks["Dev/Data"]["Resources"]["MysqlPrimaryBackupVolume"]
    volume["Properties"]["Size"] = 2048

    lines = backup_lines(priced(tmp_path, stacks), Prices())

    assert (
        lines[0] == "backup volumes: sc1 $30.72/month vs gp2 $204.80/month (ratio 0.15)"
    )
    assert lines[1].startswith("backup volumes: gp3 $163.84/month")


def test_an_unknown_instance_type_is_listed_and_not_counted_as_zero(tmp_path):
    stacks = templates()
    host = stacks["Dev/Data"]["Resources"]["MysqlPrimary"]["Properties"]
    host["InstanceType"] = "x9.mega"

    result = priced(tmp_path, stacks)

    reasons = {(u.logical_id, u.reason) for u in result.unpriced}
    assert ("MysqlPrimary", "no price for instance type x9.mega") in reasons
    assert not any(i.what.startswith("EC2 x9.mega") for i in result.items)


def test_resources_without_a_price_or_priced_by_use_are_listed(tmp_path):
    stacks = templates()
    stacks["Dev/Data"]["Resources"]["Shared"] = {
        "Type": "AWS::EFS::FileSystem",
        "Properties": {},
    }

    result = priced(tmp_path, stacks)

    assert ("Shared", "AWS::EFS::FileSystem") in {
        (u.logical_id, u.type) for u in result.unpriced
    }
    assert (
        result.usage_based[("AWS::S3::Bucket", "storage, requests and transfer")] == 3
    )


def test_json_output_shows_the_change_from_a_base_assembly(tmp_path, capsys):
    base = templates()
    base["Dev/Edge"]["Resources"]["WebAsg"]["Properties"]["DesiredCapacity"] = "1"
    write_assembly(tmp_path / "base", base)
    write_assembly(tmp_path / "current", templates())

    status = main(
        [
            "--assembly",
            str(tmp_path / "current"),
            "--base",
            str(tmp_path / "base"),
            "--json",
        ]
    )

    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert report["change"]["total"] == pytest.approx(I2_XLARGE + 20 * 0.08, abs=0.01)
    assert set(report["change"]["by_stage_and_stack"]) == {"Dev", "Dev/Edge"}
    assert report["stages"]["Dev"]["stacks"]["Edge"]["tiers"]["web"] == pytest.approx(
        2 * I2_XLARGE + 2 * 20 * 0.08, abs=0.01
    )
    assert report["backup_volumes"]["gib"] == 125


def test_every_price_has_a_date_and_a_source():
    table = Prices().table
    sections = ("ec2_instance_hour", "ebs_gb_month", "ebs_extras_month", "hourly")
    entries = [e for s in (*sections, "monthly") for e in table[s].values()]

    assert table["ec2_instance_hour"]["i2.xlarge"]["usd"] == 0.853
    assert table["ebs_gb_month"]["sc1"]["usd"] == 0.015
    assert table["ebs_gb_month"]["gp2"]["usd"] == 0.10
    assert all(e["date"] and e["source"].startswith("https://") for e in entries)


def _gateway_endpoint(resource: dict) -> bool:
    """Gateway endpoints (S3, DynamoDB) are free and need no line."""
    return resource["Type"] == "AWS::EC2::VPCEndpoint" and (
        resource["Properties"].get("VpcEndpointType", "Gateway") == "Gateway"
    )


def test_every_resource_of_the_app_is_priced_or_listed(synthesized):
    stacks = read_assembly(synthesized.outdir)
    prices = Prices()

    result = estimate(stacks, prices)

    accounted = {(i.stage, i.stack, i.logical_id) for i in result.items}
    accounted |= {(u.stage, u.stack, u.logical_id) for u in result.unpriced}
    usage_types = {kind for kind, _what in result.usage_based}
    silent = [
        f"{stack.display_name} {logical_id} {resource['Type']}"
        for stack in stacks.values()
        for logical_id, resource in stack.resources.items()
        if (stack.stage, stack.name, logical_id) not in accounted
        and resource["Type"] not in prices.no_charge
        and resource["Type"] not in usage_types
        and not _gateway_endpoint(resource)
    ]
    assert silent == []
    assert result.total() > 0
