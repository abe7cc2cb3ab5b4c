"""CI and the pipeline run only Makefile targets that exist, as a developer does."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
CI_RUN = ROOT / ".ci" / "run"
PINNED_USE = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)@(\S+)\s*#\s*v\d+\.\d+\.\d+\s*$")
SHELLCHECK = Path(sys.executable).with_name("shellcheck")


def makefile_targets() -> set[str]:
    """Every target a rule of the Makefile defines (variable assignments excluded)."""
    text = (ROOT / "Makefile").read_text()
    rules = re.findall(
        r"^([A-Za-z0-9_.-]+(?:[ \t]+[A-Za-z0-9_.-]+)*)[ \t]*:(?!=)", text, re.M
    )
    return {target for rule in rules for target in rule.split()}


def make_targets(script: str) -> list[str]:
    """The targets each `make` in a shell script asks for, options and VAR=x skipped."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        for index, word in enumerate(words):
            if word != "make":
                continue
            rest = iter(words[index + 1 :])
            for arg in rest:
                if arg in {"|", "||", "&&", ";", ">"} or arg.startswith(">"):
                    break
                if arg in {"-C", "-f", "-j"}:
                    next(rest, None)
                elif not arg.startswith("-") and "=" not in arg:
                    found.append(arg)
    return found


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def run_scripts(workflow: dict) -> list[str]:
    return [step["run"] for step in steps(workflow) if "run" in step]


def test_makefile_targets_are_read_from_its_rules():
    targets = makefile_targets()

    assert {"setup", "synth", "test", "lint", "risk", "cost", "snapshots"} <= targets
    assert "PY" not in targets and "OUT" not in targets


def test_make_targets_are_found_past_options_and_variables():
    script = 'make -C "$BASE_TREE" snapshots\nmake risk BASE=x | tee r.txt # make no'

    assert make_targets(script) == ["snapshots", "risk"]


def test_every_make_target_the_workflow_calls_exists(workflow):
    called = [t for script in run_scripts(workflow) for t in make_targets(script)]
    called += make_targets(CI_RUN.read_text())

    assert called
    assert sorted(set(called) - makefile_targets()) == []


def test_every_make_target_the_pipeline_synth_step_calls_exists(synthesized):
    template = json.loads((synthesized.outdir / "Pipeline.template.json").read_text())
    specs = [
        json.loads(r["Properties"]["Source"]["BuildSpec"])
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CodeBuild::Project"
        and r["Properties"]["Source"]["BuildSpec"].startswith("{")
    ]
    called = [
        target
        for spec in specs
        for command in spec["phases"]["build"]["commands"]
        for target in make_targets(command)
    ]

    assert {"lint", "risk", "cost"} <= set(called)
    assert sorted(set(called) - makefile_targets()) == []


def test_the_workflow_runs_the_documented_gates_on_every_pull_request(workflow):
    scripts = "\n".join(run_scripts(workflow))

    assert list(workflow[True]) == ["pull_request"]  # YAML reads `on` as true
    assert ".ci/run" in scripts
    for gate in ("make synth", "make lint", 'make risk BASE="$BASE_TREE/cdk.out"'):
        assert gate in scripts
    assert 'make cost BASE="$BASE_TREE/cdk.out"' in scripts
    assert 'git worktree add "$BASE_TREE" "origin/$BASE_REF"' in scripts


def test_the_reports_and_template_diff_are_kept_even_when_a_gate_fails(workflow):
    upload = next(s for s in steps(workflow) if "upload-artifact" in s.get("uses", ""))
    summary = next(s for s in steps(workflow) if s.get("name") == "Job summary")

    assert upload["with"]["path"] == "build/reports/"
    assert "!cancelled()" in upload["if"] and "!cancelled()" in summary["if"]
    for report in ("risk.txt", "cost.txt", "templates.diff"):
        assert report in summary["run"]


def test_the_workflow_has_no_aws_credentials_and_reads_the_repository_only(workflow):
    text = WORKFLOW.read_text()

    assert workflow["permissions"] == {"contents": "read"}
    assert "secrets." not in text and "configure-aws-credentials" not in text
    assert "AWS_ACCESS_KEY_ID" not in text and "id-token" not in text


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version():
    uses = [line for line in WORKFLOW.read_text().splitlines() if "uses:" in line]

    assert uses
    for line in uses:
        match = PINNED_USE.match(line)
        assert match, line
        assert re.fullmatch(r"[0-9a-f]{40}", match.group(2)), line


def test_every_run_script_passes_shellcheck(workflow):
    for script in run_scripts(workflow):
        result = subprocess.run(
            [str(SHELLCHECK), "--shell=bash", "-"],
            input=script,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout
