"""The pipeline's own steps; each runs only commands the README documents.

The synth step runs the developer's targets: `.ci/run` (make setup, make test),
make lint, then the risk gate and the cost report against the assembly the
pipeline last deployed to production. That assembly is the previous run's
synth output, zipped into the artifact bucket by the step after production.
"""

from __future__ import annotations

from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import pipelines

from config.model import StageConfig
from config.pipeline import SmokeTestConfig

BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
# The README's prerequisites (Python 3.11, npm); Node 22 is the pinned LTS's major.
RUNTIMES = {"python": "3.11", "nodejs": "22"}
DEPLOYED_ASSEMBLY = "deployed/cdk.out.zip"
REPORTS_PREFIX = "reports"
BASE = "build/deployed-cdk.out"
REPORTS = "build/reports"
CURL_TIMEOUT_SECONDS = 10


def build_defaults(log_group: logs.ILogGroup) -> pipelines.CodeBuildOptions:
    """Every build of the pipeline: same image and runtimes, logs to one group."""
    return pipelines.CodeBuildOptions(
        build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE),
        partial_build_spec=codebuild.BuildSpec.from_object(
            {"phases": {"install": {"runtime-versions": RUNTIMES}}}
        ),
        logging=codebuild.LoggingOptions(
            cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=log_group)
        ),
    )


def synth_step(
    source: pipelines.CodePipelineSource, *, bucket: s3.IBucket
) -> pipelines.CodeBuildStep:
    """Tests, lint, risk gate and cost report; its output is cdk.out.

    The module's read-write grant on the artifact bucket and its key covers
    reading the deployed assembly and writing the reports.
    """
    missing = (
        f"no deployed assembly at s3://$PIPELINE_BUCKET/{DEPLOYED_ASSEMBLY}: "
        "seed it once as the README's Pipeline section says"
    )
    return pipelines.CodeBuildStep(
        "Synth",
        input=source,
        env={
            "COMMIT_ID": source.source_attribute("CommitId"),
            "PIPELINE_BUCKET": bucket.bucket_name,
        },
        commands=[
            ".ci/run",
            "make lint",
            f'aws s3 cp "s3://$PIPELINE_BUCKET/{DEPLOYED_ASSEMBLY}" build/deployed.zip'
            f' || {{ echo "{missing}"; false; }}',
            f"rm -rf {BASE} && unzip -q build/deployed.zip -d {BASE}",
            f"mkdir -p {REPORTS}",
            f"make risk BASE={BASE} > {REPORTS}/risk.txt"
            f" || {{ cat {REPORTS}/risk.txt; false; }}",
            f"cat {REPORTS}/risk.txt",
            f"make cost BASE={BASE} COST_OUT={REPORTS}/cost.txt",
            f"cat {REPORTS}/cost.txt",
            f"aws s3 cp --recursive {REPORTS} "
            f'"s3://$PIPELINE_BUCKET/{REPORTS_PREFIX}/$COMMIT_ID/"',
            # The approval shows these two lines; CodeBuild exports them.
            f'RISK_SUMMARY="$(grep "^risk: " {REPORTS}/risk.txt | head -n 1)"',
            f'COST_SUMMARY="$(grep "all stages:" {REPORTS}/cost.txt'
            ' | tail -n 1 | sed "s/^ *//")"',
            "export RISK_SUMMARY COST_SUMMARY",
        ],
        primary_output_directory="cdk.out",
        build_environment=codebuild.BuildEnvironment(
            build_image=BUILD_IMAGE,
            # The test suite and three synths of every stage: 7 GB, 4 vCPUs.
            compute_type=codebuild.ComputeType.MEDIUM,
        ),
    )


def smoke_test(stage: StageConfig, retries: SmokeTestConfig) -> pipelines.ShellStep:
    """The stage's health path answers through its load balancer, over HTTPS."""
    url = f"https://{stage.domain_name}{stage.edge.health_check_path}"
    return pipelines.ShellStep(
        "SmokeTest",
        commands=[
            f"curl --fail --silent --show-error --retry {retries.attempts - 1} "
            f"--retry-delay {retries.delay_seconds} --retry-all-errors "
            f"--max-time {CURL_TIMEOUT_SECONDS} {url}"
        ],
    )


def approval(
    synth: pipelines.CodeBuildStep,
    *,
    bucket: s3.IBucket,
    region: str,
    commit: str,
) -> pipelines.ManualApprovalStep:
    """A person reads the risk and cost reports before production changes."""
    comment = (
        f"Risk gate: {synth.exported_variable('RISK_SUMMARY')} | "
        f"Monthly cost: {synth.exported_variable('COST_SUMMARY')} | "
        "Full risk and cost reports at the link."
    )
    review_url = (
        f"https://{region}.console.aws.amazon.com/s3/buckets/"
        f"{bucket.bucket_name}?region={region}&prefix={REPORTS_PREFIX}/{commit}/"
    )
    step = pipelines.ManualApprovalStep(
        "ApproveProduction", comment=comment, review_url=review_url
    )
    # The step does not look for pipeline variables in its own text; without
    # this the variables' namespaces are never assigned and synth fails.
    step._discover_referenced_outputs({"comment": comment, "url": review_url})
    return step


def record_deployed(
    synth: pipelines.CodeBuildStep, *, bucket: s3.IBucket
) -> pipelines.CodeBuildStep:
    """Keep the assembly production now runs: the next run's risk and cost base."""
    return pipelines.CodeBuildStep(
        "RecordDeployedAssembly",
        input=synth,
        commands=[
            "zip -q -r ../deployed-cdk.out.zip .",
            "aws s3 cp ../deployed-cdk.out.zip "
            f'"s3://$PIPELINE_BUCKET/{DEPLOYED_ASSEMBLY}"',
        ],
        env={"PIPELINE_BUCKET": bucket.bucket_name},
        # The module grants this step only reads; the key grant covers encrypting.
        role_policy_statements=[
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(DEPLOYED_ASSEMBLY)],
            )
        ],
    )
