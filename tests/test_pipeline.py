"""The delivery pipeline: its order, its gates, its configuration and its findings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from config import ConfigError, load_stages
from config.pipeline import DEFAULT_PIPELINE_PATH, load_pipeline
from constructs.pipeline_nag import acknowledge_generated
from constructs.pipeline_steps import BASE, DEPLOYED_ASSEMBLY
from stacks.gates import add_compliance_gates
from stacks.platform import build_app

ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = json.loads((ROOT / "cdk.json").read_text())
STAGES = load_stages()
SETTINGS = load_pipeline(STAGES)
DEV, PROD = SETTINGS.test_stage, SETTINGS.production_stage


def app_stacks(outdir: Path) -> dict[str, tuple[dict, dict]]:
    """Stacks at the top of the assembly (outside every stage): artifact, template."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    return {
        artifact["displayName"]: (
            artifact,
            json.loads((outdir / artifact["properties"]["templateFile"]).read_text()),
        )
        for artifact in manifest["artifacts"].values()
        if artifact["type"] == "aws:cloudformation:stack"
    }


@pytest.fixture(scope="module")
def top(synthesized):
    return app_stacks(synthesized.outdir)


@pytest.fixture(scope="module")
def template(top) -> dict:
    return top["Pipeline"][1]


def of_type(template: dict, type_: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


@pytest.fixture(scope="module")
def stages(template) -> list[dict]:
    (pipeline,) = of_type(template, "AWS::CodePipeline::Pipeline").values()
    return pipeline["Properties"]["Stages"]


def stage(stages: list[dict], name: str) -> dict:
    return next(s for s in stages if s["Name"] == name)


def action(stages: list[dict], stage_name: str, action_name: str) -> dict:
    return next(
        a for a in stage(stages, stage_name)["Actions"] if a["Name"] == action_name
    )


def buildspec(template: dict, action_: dict) -> dict:
    project = template["Resources"][action_["Configuration"]["ProjectName"]["Ref"]]
    return json.loads(project["Properties"]["Source"]["BuildSpec"])


def commands(template: dict, action_: dict) -> list[str]:
    return buildspec(template, action_)["phases"]["build"]["commands"]


def test_the_pipeline_deploys_dev_then_the_dr_stage_then_prod(stages):
    names = [s["Name"] for s in stages]

    assert names == [
        "Source",
        "Build",
        "UpdatePipeline",
        "Assets",
        "Dev",
        "ProdDR",
        "Prod",
    ]


def test_deploy_actions_keep_the_stack_names_and_assemblies_of_make_deploy(stages):
    dr = PROD.disaster_recovery
    for name, region in (
        (DEV.name, DEV.region),
        (dr.name, dr.region),
        (PROD.name, PROD.region),
    ):
        deploys = [
            a for a in stage(stages, name)["Actions"]
            if a["ActionTypeId"]["Provider"] == "CloudFormation"
        ]  # fmt: skip
        prepares = [a for a in deploys if a["Name"].endswith(".Prepare")]

        assert deploys and prepares, name
        for deploy in deploys:
            assert deploy["Configuration"]["StackName"].startswith(f"{name}-")
            assert deploy.get("Region", PROD.region) == region
        for prepare in prepares:
            path = prepare["Configuration"]["TemplatePath"]
            assert path.startswith(f"Synth_Output::assembly-{name}/")


def test_the_approval_is_the_first_action_before_any_production_deploy(stages):
    approvals = [
        (s["Name"], a)
        for s in stages
        for a in s["Actions"]
        if a["ActionTypeId"]["Category"] == "Approval"
    ]
    dr_actions = stage(stages, "ProdDR")["Actions"]

    assert [name for name, _ in approvals] == ["ProdDR"]
    (_, gate) = approvals[0]
    assert gate["RunOrder"] < min(
        a["RunOrder"] for a in dr_actions if a["ActionTypeId"]["Category"] == "Deploy"
    )
    names = [s["Name"] for s in stages]
    assert names.index("ProdDR") < names.index("Prod")


def test_the_approval_shows_the_risk_and_cost_summaries_and_links_the_reports(
    stages, template
):
    configuration = action(stages, "ProdDR", "ApproveProduction")["Configuration"]
    synth = action(stages, "Build", "Synth")
    link = json.dumps(configuration["ExternalEntityLink"])

    assert f"#{{{synth['Namespace']}.RISK_SUMMARY}}" in configuration["CustomData"]
    assert f"#{{{synth['Namespace']}.COST_SUMMARY}}" in configuration["CustomData"]
    assert "prefix=reports/#{Source@" in link and ".CommitId}/" in link
    spec = buildspec(template, synth)
    assert spec["env"]["exported-variables"] == ["RISK_SUMMARY", "COST_SUMMARY"]
    assert commands(template, synth)[-1] == "export RISK_SUMMARY COST_SUMMARY"


def test_the_synth_step_runs_the_developer_gates_in_order(stages, template):
    synth = action(stages, "Build", "Synth")
    steps = commands(template, synth)

    def first(prefix: str) -> int:
        return next(i for i, c in enumerate(steps) if c.startswith(prefix))

    assert first(".ci/run") < first("make lint") < first(f"make risk BASE={BASE}")
    assert first(f"make risk BASE={BASE}") < first(f"make cost BASE={BASE}")
    assert buildspec(template, synth)["artifacts"]["base-directory"] == "cdk.out"
    assert synth["OutputArtifacts"] == [{"Name": "Synth_Output"}]


def test_a_failing_risk_gate_fails_the_synth_step(stages, template):
    risk = next(
        c
        for c in commands(template, action(stages, "Build", "Synth"))
        if c.startswith("make risk")
    )

    assert risk.endswith("|| { cat build/reports/risk.txt; false; }")


def test_the_risk_base_is_the_assembly_recorded_after_prod_deployed(stages, template):
    prod = stage(stages, "Prod")["Actions"]
    record = action(stages, "Prod", "RecordDeployedAssembly")
    downloads = [
        c
        for c in commands(template, action(stages, "Build", "Synth"))
        if DEPLOYED_ASSEMBLY in c
    ]

    assert record["RunOrder"] > max(
        a["RunOrder"] for a in prod if a["ActionTypeId"]["Category"] == "Deploy"
    )
    assert record["InputArtifacts"] == [{"Name": "Synth_Output"}]
    assert any(f"/{DEPLOYED_ASSEMBLY}" in c for c in commands(template, record))
    assert downloads and downloads[0].startswith("aws s3 cp")


def test_only_the_record_step_may_overwrite_the_deployed_assembly(template):
    writers = []
    for logical_id, policy in of_type(template, "AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if f"/{DEPLOYED_ASSEMBLY}" in json.dumps(statement.get("Resource")):
                writers.append((logical_id, statement["Action"]))

    assert len(writers) == 1
    assert "RecordDeployedAssembly" in writers[0][0]
    assert writers[0][1] == "s3:PutObject"


def test_the_smoke_test_curls_the_dev_health_path_with_retries_after_dev(
    stages, template
):
    dev = stage(stages, "Dev")["Actions"]
    smoke = action(stages, "Dev", "SmokeTest")
    (command,) = commands(template, smoke)
    url = f"https://{DEV.domain_name}{DEV.edge.health_check_path}"

    assert command.startswith("curl --fail") and command.endswith(f" {url}")
    assert f"--retry {SETTINGS.smoke_test.attempts - 1} " in command
    assert smoke["RunOrder"] > max(
        a["RunOrder"] for a in dev if a["ActionTypeId"]["Category"] == "Deploy"
    )


def test_the_pipeline_builds_the_configured_branch_in_the_prod_account(top, stages):
    artifact, _ = top["Pipeline"]
    (source,) = stage(stages, "Source")["Actions"]

    assert artifact["environment"] == f"aws://{PROD.account}/{PROD.region}"
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"] == {
        "ConnectionArn": SETTINGS.source.connection_arn,
        "FullRepositoryId": SETTINGS.source.repository,
        "BranchName": SETTINGS.source.branch,
    }


def test_every_build_runs_on_the_pinned_runtimes_and_cli(template):
    projects = of_type(template, "AWS::CodeBuild::Project").values()
    package = json.loads((ROOT / "package.json").read_text())

    for project in projects:
        spec = project["Properties"]["Source"]["BuildSpec"]
        if not spec.startswith("{"):
            continue  # the asset build's spec is a file in the assembly
        install = json.loads(spec)["phases"]["install"]
        assert install["runtime-versions"] == {"python": "3.11", "nodejs": "22"}
        for command in install.get("commands", []):
            assert "@latest" not in command
            if "aws-cdk@" in command:
                assert command.endswith(f"aws-cdk@{package['dependencies']['aws-cdk']}")


def test_artifacts_and_build_logs_are_encrypted_with_the_pipeline_key(template):
    (pipeline,) = of_type(template, "AWS::CodePipeline::Pipeline").values()
    stores = {
        s["Region"]: s["ArtifactStore"]
        for s in pipeline["Properties"]["ArtifactStores"]
    }
    (key_id,) = of_type(template, "AWS::KMS::Key")
    (log_group,) = of_type(template, "AWS::Logs::LogGroup").values()
    key_arn = {"Fn::GetAtt": [key_id, "Arn"]}

    assert stores[PROD.region]["EncryptionKey"] == {"Id": key_arn, "Type": "KMS"}
    assert log_group["Properties"]["KmsKeyId"] == key_arn
    for project in of_type(template, "AWS::CodeBuild::Project").values():
        assert project["Properties"]["EncryptionKey"] == key_arn
        assert (
            project["Properties"]["LogsConfig"]["CloudWatchLogs"]["Status"] == "ENABLED"
        )


def test_no_pipeline_role_may_use_every_kms_key_of_the_account(template):
    for policy in of_type(template, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            if any(a.startswith("kms:") for a in actions):
                assert statement["Resource"] != "*" and "*" not in statement["Resource"]


def test_the_artifact_bucket_logs_access_and_the_replica_is_versioned_and_encrypted(
    top,
):
    _, home = top["Pipeline"]
    (_, replica) = next(
        v for k, v in top.items() if k.startswith("cross-region-stack-")
    )
    buckets = of_type(home, "AWS::S3::Bucket")
    logged = [b for b in buckets.values() if "LoggingConfiguration" in b["Properties"]]
    (replica_bucket,) = of_type(replica, "AWS::S3::Bucket").values()

    assert len(logged) == 1
    target = logged[0]["Properties"]["LoggingConfiguration"]["DestinationBucketName"]
    assert target["Ref"] in buckets
    assert replica_bucket["Properties"]["VersioningConfiguration"] == {
        "Status": "Enabled"
    }


def test_every_acknowledgement_on_the_pipeline_stacks_names_a_rule_and_a_reason(top):
    seen = 0
    for _name, (_artifact, body) in top.items():
        for resource in body["Resources"].values():
            for rule in (
                resource.get("Metadata", {})
                .get("cdk_nag", {})
                .get("rules_to_suppress", [])
            ):
                seen += 1
                assert len(rule["reason"]) >= 20 and "TODO" not in rule["reason"]
                if rule["id"] == "AwsSolutions-IAM5":
                    assert rule.get("applies_to"), (
                        "a wildcard ack must name its finding"
                    )
    assert seen > 0


def test_every_build_command_of_the_pipeline_passes_shellcheck(template):
    shellcheck = Path(sys.executable).with_name("shellcheck")
    for project in of_type(template, "AWS::CodeBuild::Project").values():
        spec = project["Properties"]["Source"]["BuildSpec"]
        if not spec.startswith("{"):
            continue  # the asset build's spec is a file in the assembly
        script = "\n".join(json.loads(spec)["phases"]["build"]["commands"])
        result = subprocess.run(
            [str(shellcheck), "--shell=bash", "-"],
            input=script,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout


def test_cfn_lint_reports_nothing_on_the_pipeline_stacks(top, synthesized):
    files = [
        str(synthesized.outdir / a["properties"]["templateFile"])
        for a, _ in top.values()
    ]
    cfn_lint = Path(sys.executable).with_name("cfn-lint")

    result = subprocess.run(
        [str(cfn_lint), "--config-file", str(ROOT / ".cfnlintrc.yaml"), *files],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_an_unknown_wildcard_in_a_generated_policy_still_fails_synth(tmp_path):
    app = cdk.App(outdir=str(tmp_path), context=CDK_JSON["context"])
    add_compliance_gates(app)
    stack = cdk.Stack(
        app, "Generated", env=cdk.Environment(account=PROD.account, region=PROD.region)
    )
    role = iam.Role(
        stack, "Role", assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com")
    )
    role.add_to_policy(iam.PolicyStatement(actions=["s3:Put*"], resources=["*"]))
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["s3:GetObject*"], resources=["arn:aws:s3:::another-bucket/key"]
        )
    )

    key = kms.Key(stack, "Key", enable_key_rotation=True)
    acknowledge_generated(stack, artifact_buckets=[], key=key)

    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    failed = {
        violation["ruleName"]
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
    }
    assert any("IAM5" in rule for rule in failed)
    assert not any("IAMNoInlinePolicy" in rule for rule in failed)


def test_a_single_stage_app_has_no_pipeline_and_keeps_its_paths():
    app = cdk.App(context=CDK_JSON["context"])

    built = build_app(app, stage_name=DEV.name)

    assert [s.node.path for s in built] == [DEV.name]
    assert app.node.try_find_child("Pipeline") is None
    assert built[0].node.find_child("Network").node.path == f"{DEV.name}/Network"


def write(tmp_path: Path, change) -> Path:
    data = json.loads(DEFAULT_PIPELINE_PATH.read_text())
    change(data)
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["source"].update(branch="feature..x"),
            'pipeline.source.branch = "feature..x" is invalid (wrong format); '
            "allowed: a branch name such as main",
        ),
        (
            lambda d: d.update(test_stage=PROD.name),
            f'pipeline.test_stage = "{PROD.name}" is invalid (stage {PROD.name} has '
            "production = true); allowed: a non-production stage of the stage file",
        ),
        (
            lambda d: d.update(production_stage="Staging"),
            'pipeline.production_stage = "Staging" is invalid (not one of the allowed '
            f"values); allowed: one of {', '.join(STAGES)}",
        ),
        (
            lambda d: d["source"].update(
                connection_arn=d["source"]["connection_arn"].replace(
                    PROD.account, "999999999999"
                )
            ),
            "(the connection is in account 999999999999); allowed: a connection of "
            f"the pipeline's account {PROD.account}",
        ),
        (
            lambda d: d["smoke_test"].update(attempts=0),
            "pipeline.smoke_test.attempts = 0 is invalid (out of range 1..60)",
        ),
        (
            lambda d: d.update(branch="main"),
            "pipeline.branch is not a known key",
        ),
    ],
)
def test_a_bad_pipeline_setting_names_the_file_key_value_and_what_is_allowed(
    tmp_path, change, expected
):
    path = write(tmp_path, change)

    with pytest.raises(ConfigError) as raised:
        load_pipeline(STAGES, path)

    assert str(raised.value).startswith(f"{path}: ")
    assert expected in str(raised.value)
