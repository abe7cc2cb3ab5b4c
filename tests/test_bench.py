"""`make bench` runs in its smallest mode and writes a complete, well-formed report.

Nothing here asserts on a time: machines are noisy. The end-to-end case runs
the script once in its smallest mode (one floor and one full synth, nothing
else) and checks the shape of the JSON it writes.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from pathlib import Path

import pytest

from config import load_stages
from scripts import bench

ROOT = Path(__file__).resolve().parent.parent
# A bound on a hung child process, not a performance expectation.
HANG_GUARD_SECONDS = 900
REPORT_KEYS = {
    "floor_s",
    "synth_s",
    "synth_ratio",
    "synth_without_cfn_validation_s",
    "synth_without_cfn_validation_ratio",
    "config",
    "stages",
    "test_suite_s",
    "local_deploy_s",
    "max_stack_resources",
    "max_stack_resources_stack",
    "max_template_bytes",
    "max_template_bytes_stack",
    "cloudformation_limits",
    "cpu",
    "machine",
    "targets",
}
MACHINE_KEYS = {"cores", "memory_gib", "python", "node", "date"}


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("bench")
    output, dev_only = folder / "bench.json", folder / "dev-only.json"
    stages = json.loads((ROOT / "config" / "stages.json").read_text())
    dev_only.write_text(json.dumps({"Dev": stages["Dev"]}))
    result = subprocess.run(
        # The smallest run: one stage, no per-count synths (test_config already
        # passes -c config through), no test suite, no local deploy.
        [sys.executable, "-m", "scripts.bench", "--quick", "--no-warm-up"]
        + ["--stages", "", "--config", str(dev_only), "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
    )
    assert result.returncode == 0, result.stderr
    assert "synth_ratio" in result.stdout
    return json.loads(output.read_text())


def test_quick_run_writes_every_key_of_the_report(quick_report):
    assert REPORT_KEYS - quick_report.keys() == set()
    assert MACHINE_KEYS - quick_report["machine"].keys() == set()
    assert quick_report["stages"] == {}


def test_quick_run_reports_positive_times_and_a_consistent_ratio(quick_report):
    floor, synth = quick_report["floor_s"], quick_report["synth_s"]

    assert floor > 0 and synth > 0
    assert quick_report["synth_ratio"] == pytest.approx(synth / floor)
    assert quick_report["cpu"]["synth_s"] > 0
    unvalidated = quick_report["synth_without_cfn_validation_s"]
    assert unvalidated > 0
    assert quick_report["synth_without_cfn_validation_ratio"] == pytest.approx(
        unvalidated / floor
    )


def test_the_given_stages_file_is_the_one_synthesized(quick_report):
    assert quick_report["config"] == "dev-only.json"
    assert {name.split("/")[0] for name in quick_report["stacks"]} == {"Dev"}


def test_skipped_steps_are_null_with_a_reason(quick_report):
    for key in ("test_suite", "local_deploy"):
        assert quick_report[f"{key}_s"] is None
        assert quick_report[f"{key}_reason"]


def test_largest_stack_figures_name_a_stack_of_the_assembly(quick_report):
    stacks = quick_report["stacks"]
    most = quick_report["max_stack_resources_stack"]
    largest = quick_report["max_template_bytes_stack"]

    assert quick_report["max_stack_resources"] == stacks[most]["resources"]
    assert quick_report["max_template_bytes"] == stacks[largest]["template_bytes"]
    assert quick_report["cloudformation_limits"] == {
        "resources": 500,
        "template_bytes": 1_000_000,
    }


def test_every_target_has_a_status(quick_report):
    statuses = {t["name"]: t["status"] for t in quick_report["targets"]}

    assert set(statuses.values()) <= {"pass", "miss", "skipped"}
    assert statuses["test_suite"] == statuses["local_deploy"] == "skipped"
    assert statuses["stages_8_over_1"] == "skipped"


def test_generated_stage_files_load_with_disjoint_vpc_ranges(tmp_path):
    paths = bench.stage_configs((1, 8), tmp_path)

    stages = load_stages(paths[8])
    networks = [ipaddress.IPv4Network(stage.vpc_cidr) for stage in stages.values()]
    assert len(load_stages(paths[1])) == 1
    assert len(stages) == 8
    assert not any(
        a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :]
    )


def test_context_is_cdk_json_plus_what_the_cli_adds():
    cdk_json = json.loads((ROOT / "cdk.json").read_text())["context"]

    context = bench.cli_context(config="other.json")

    assert context["config"] == "other.json"
    assert cdk_json.items() <= context.items()
    assert context["aws:cdk:enable-path-metadata"] is True


def test_a_failed_make_target_misses_its_target_whatever_its_time():
    report = {"local_deploy_s": 1.0, "local_deploy_exit_status": 2}

    target = bench._timed_target(report, "local_deploy", 60.0)

    assert target["status"] == "miss"


@pytest.mark.parametrize(
    "argv",
    [
        ["--runs", "0"],
        ["--stages", "0"],
        ["--stages", "x"],
        ["--config", "no-such-stages.json"],
    ],
)
def test_bad_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(argv)
    assert argv[0] in capsys.readouterr().err


def test_the_callers_shell_cannot_switch_a_gate_off_in_the_measured_synths(
    monkeypatch,
):
    monkeypatch.setenv("CDK_VALIDATION", "false")
    monkeypatch.setenv("NODE_OPTIONS", "--max-old-space-size=64")

    measured = bench.child_env(CDK_OUTDIR="out")
    unvalidated = bench.child_env(CDK_OUTDIR="out", CDK_VALIDATION="false")

    assert "CDK_VALIDATION" not in measured
    assert "NODE_OPTIONS" not in measured
    assert unvalidated["CDK_VALIDATION"] == "false"
