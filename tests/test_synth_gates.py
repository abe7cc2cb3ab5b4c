"""Synth is deterministic, lint-clean, and fails loudly on a security finding."""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2

from stacks.gates import add_compliance_gates

ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = json.loads((ROOT / "cdk.json").read_text())


def synth_app(outdir: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(CDK_JSON["context"]),
    }
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def differing_files(left: Path, right: Path) -> list[str]:
    comparison = filecmp.dircmp(left, right)
    found = [*comparison.left_only, *comparison.right_only, *comparison.diff_files]
    for name in comparison.subdirs:
        found += [f"{name}/{f}" for f in differing_files(left / name, right / name)]
    return found


def test_two_synths_in_a_row_are_byte_identical_assets_included(synthesized, tmp_path):
    # The session's synth ran in a test process; `python app.py` runs in a new
    # one (another hash seed, another jsii kernel), as `cdk synth` would.
    again = synth_app(tmp_path)

    assert again.returncode == 0, again.stderr[-3000:]
    assert list(tmp_path.glob("assembly-*/*.template.json"))
    assert differing_files(synthesized.outdir, tmp_path) == []


def test_every_gate_ran_on_the_synthesized_app_and_passed(synthesized):
    # The CDK's built-in CloudFormation validation costs about half of each
    # synth (README, Performance); it stays on, and this notices if it goes.
    assert os.environ.get("CDK_VALIDATION") != "false", (
        "CDK_VALIDATION=false is set: unset it, the suite checks every gate"
    )
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    conclusions = {
        plugin["pluginName"]: plugin["conclusion"] for plugin in report["pluginReports"]
    }

    assert conclusions == {
        "CloudFormation Validate": "success",
        "AwsSolutions": "success",
        "NIST.800.53.R5": "success",
    }


def test_synth_needs_no_lookups(synthesized):
    for manifest in synthesized.outdir.glob("**/manifest.json"):
        assert "missing" not in json.loads(manifest.read_text()), manifest
    assert not (ROOT / "cdk.context.json").exists()


def test_cfn_lint_reports_nothing_on_any_template(synthesized):
    templates = sorted(
        str(p)
        for p in synthesized.outdir.glob("assembly-*/*.json")
        if p.name.endswith(".template.json")
    )
    cfn_lint = Path(sys.executable).with_name("cfn-lint")

    result = subprocess.run(
        [str(cfn_lint), "--config-file", str(ROOT / ".cfnlintrc.yaml"), *templates],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert templates
    assert result.returncode == 0, result.stdout + result.stderr


def test_cdk_template_validation_is_an_error_and_references_are_explicit():
    context = CDK_JSON["context"]

    assert context["@aws-cdk/core:validateAgainstDefaultRules"] is True
    assert context["@aws-cdk/core:defaultCrossStackReferences"] == "strong"


def test_an_unacknowledged_finding_fails_synth(tmp_path):
    app = cdk.App(outdir=str(tmp_path), context=CDK_JSON["context"])
    add_compliance_gates(app)
    stack = cdk.Stack(
        app, "Open", env=cdk.Environment(account="111111111111", region="us-east-1")
    )
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=["us-east-1a"],
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(
                name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
            )
        ],
    )
    group = ec2.SecurityGroup(stack, "Open", vpc=vpc)
    group.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(22))

    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    failed = {
        violation["ruleName"]
        for plugin in report["pluginReports"]
        if plugin["conclusion"] == "failure"
        for violation in plugin["violations"]
    }
    assert any("EC23" in rule for rule in failed)
    assert any("RestrictedSSH" in rule for rule in failed)


def test_every_acknowledgement_in_the_templates_gives_a_reason(synthesized):
    seen = 0
    for _stage, _stack, template in synthesized.all_templates():
        for resource in template["Resources"].values():
            rules = resource.get("Metadata", {}).get("cdk_nag", {})
            for rule in rules.get("rules_to_suppress", []):
                seen += 1
                assert len(rule.get("reason", "")) >= 20, rule
                assert "TODO" not in rule["reason"].upper(), rule
    assert seen > 0
