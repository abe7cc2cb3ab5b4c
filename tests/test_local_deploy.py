"""`make local-deploy` rehearses the whole deploy against moto and cleans up after.

Each case runs scripts/local_deploy.py as a developer would, bounded by a
subprocess timeout, and checks what it prints, how it exits, and that no moto
server outlives it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripts import local_deploy as ld
from scripts.stage_plan import read_plan

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "local_deploy.py"
WHOLE_RUN_SECONDS = 900
SHORT_RUN_SECONDS = 300
GONE_WITHIN_SECONDS = 30


def local_deploy(*args: str, scratch: Path, env=None, timeout=SHORT_RUN_SECONDS):
    """Run the script; the logs it keeps on failure go under `scratch`."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        env={**(env or os.environ), "TMPDIR": str(scratch)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def servers_on(port: int) -> list[int]:
    """Ids of live moto servers started by the local deploy for `port`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"scripts.moto_server" in words and str(port).encode() in words:
            found.append(int(cmdline.parent.name))
    return found


def nothing_listens_on(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def wait_until_gone(port: int) -> list[int]:
    """Servers still running on `port` after a generous grace period."""
    deadline = time.monotonic() + GONE_WITHIN_SECONDS
    while servers_on(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    return servers_on(port)


def error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert lines, result.stdout[-2000:]
    return lines[-1]


def path_of(stage: str, stack: str, logical_id: str, resource: dict) -> str:
    """How the summary names a resource: construct path, else its logical id."""
    metadata = resource.get("Metadata", {})
    return metadata.get("aws:cdk:path", f"{stage}/{stack}/{logical_id}")


def write_assembly(outdir: Path, version: str, stage: str, templates: dict) -> Path:
    """A cloud assembly by hand: one stage of stacks without assets."""
    nested = outdir / f"assembly-{stage}"
    nested.mkdir(parents=True)
    artifacts = {}
    for name, template in templates.items():
        (nested / f"{stage}{name}.template.json").write_text(json.dumps(template))
        artifacts[f"{stage}{name}"] = {
            "type": "aws:cloudformation:stack",
            "environment": "aws://333333333333/us-east-1",
            "properties": {
                "templateFile": f"{stage}{name}.template.json",
                "stackName": f"{stage}-{name}",
            },
            "displayName": f"{stage}/{name}",
        }
    (nested / "manifest.json").write_text(
        json.dumps({"version": version, "artifacts": artifacts})
    )
    top = {
        f"assembly-{stage}": {
            "type": "cdk:cloud-assembly",
            "properties": {"directoryName": nested.name, "displayName": stage},
        }
    }
    (outdir / "manifest.json").write_text(
        json.dumps({"version": version, "artifacts": top})
    )
    return outdir


def subnet(cidr: str, zone: str) -> dict:
    return {
        "Type": "AWS::EC2::Subnet",
        "Properties": {
            "VpcId": {"Ref": "Vpc"},
            "CidrBlock": cidr,
            "AvailabilityZone": zone,
        },
    }


@pytest.fixture(scope="module")
def assembly(synthesized, tmp_path_factory) -> Path:
    """A copy of the session's assembly, for these runs to deploy.

    `cdk deploy` writes its asset cache (.cache/*.zip) into the assembly it
    deploys; other tests read the original and expect it as synth left it.
    """
    copy = tmp_path_factory.mktemp("assembly") / "cdk.out"
    shutil.copytree(synthesized.outdir, copy)
    return copy


@pytest.fixture(scope="module")
def schema_version(synthesized) -> str:
    """The cloud assembly version the app writes, for hand-made assemblies."""
    return json.loads((synthesized.outdir / "manifest.json").read_text())["version"]


@pytest.fixture(scope="module")
def whole_run(assembly, tmp_path_factory):
    """Every stage of the synthesized app, deployed once into a fresh moto."""
    result = local_deploy(
        "--assembly",
        str(assembly),
        scratch=tmp_path_factory.mktemp("local-deploy"),
        timeout=WHOLE_RUN_SECONDS,
    )
    match = re.search(r"answers on http://localhost:(\d+)", result.stdout)
    return result, int(match.group(1)) if match else None


def test_every_stage_deploys_and_the_diff_afterwards_is_empty(whole_run, synthesized):
    result, _ = whole_run

    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    for stage in synthesized.templates:
        assert f"{stage}: bootstrapped aws://" in result.stdout
        assert f"{stage}: deployed " in result.stdout
        assert f"{stage}: cdk diff against moto is empty" in result.stdout
    assert "moto server stopped" in result.stdout


def test_summary_counts_each_stacks_resources_against_its_template(
    whole_run, synthesized
):
    result, _ = whole_run

    for stage, stack, template in synthesized.all_templates():
        line = re.search(
            rf"^\s+{stage}/{stack}\s+(\S+)\s+(\d+) / (\d+)\s+resources",
            result.stdout,
            re.MULTILINE,
        )
        assert line, f"{stage}/{stack} missing from the summary"
        status, created, declared = line.groups()
        assert status == "CREATE_COMPLETE"
        assert int(declared) == len(template["Resources"])
        assert 0 < int(created) <= int(declared)


def test_summary_names_every_custom_resource_as_a_stand_in(whole_run, synthesized):
    result, _ = whole_run

    for stage, stack, template in synthesized.all_templates():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"].startswith("Custom::"):
                path = path_of(stage, stack, logical_id, resource)
                assert f"stand-in, handler not run: {path}" in result.stdout


def test_summary_shows_load_balancer_names_and_zone_ids(whole_run, synthesized):
    result, _ = whole_run

    for stage, stack, template in synthesized.all_templates():
        for logical_id, resource in template["Resources"].items():
            path = path_of(stage, stack, logical_id, resource)
            if resource["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer":
                assert re.search(
                    rf"load balancer {re.escape(path)}: \S+", result.stdout
                )
            if resource["Type"] == "AWS::Route53::HostedZone":
                name = re.escape(resource["Properties"]["Name"].rstrip("."))
                assert re.search(rf"Route 53 zone {name}\.? id \w+", result.stdout)


def test_summary_names_a_load_balancer_and_a_zone_of_a_small_assembly(
    schema_version, tmp_path
):
    edge = {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "A": subnet("10.0.0.0/24", "us-east-1a"),
        "B": subnet("10.0.1.0/24", "us-east-1b"),
        "Balancer": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {"Subnets": [{"Ref": "A"}, {"Ref": "B"}]},
        },
        "Zone": {
            "Type": "AWS::Route53::HostedZone",
            "Properties": {"Name": "example.test"},
        },
    }
    assembly = write_assembly(
        tmp_path / "cdk.out", schema_version, "Edge", {"App": {"Resources": edge}}
    )

    result = local_deploy("--assembly", str(assembly), scratch=tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(
        r"load balancer Edge/App/Balancer: \S+\.elb\.amazonaws\.com", result.stdout
    )
    assert re.search(r"Route 53 zone example\.test\.? id \w+", result.stdout)


def test_the_whole_run_leaves_no_server_behind(whole_run):
    _, port = whole_run

    assert port is not None
    assert wait_until_gone(port) == []
    assert nothing_listens_on(port)


def test_an_unknown_stage_is_refused_naming_the_known_ones(
    assembly, synthesized, tmp_path
):
    result = local_deploy(
        "--assembly", str(assembly), "--stage", "Staging", scratch=tmp_path
    )

    assert result.returncode == 2
    prefix = "local-deploy: unknown stage 'Staging': the assembly holds "
    assert error_line(result).startswith(prefix)
    known = error_line(result).removeprefix(prefix).split(", ")
    assert set(synthesized.templates) <= set(known)
    assert "answers on" not in result.stdout


def test_a_missing_assembly_is_refused_with_what_to_run(tmp_path):
    result = local_deploy("--assembly", str(tmp_path / "nothing"), scratch=tmp_path)

    assert result.returncode == 2
    assert "run `make synth` first" in error_line(result)


def test_a_port_in_use_is_refused_before_a_server_starts(assembly, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = local_deploy(
            "--assembly", str(assembly), "--port", str(port), scratch=tmp_path
        )

    assert result.returncode == 2
    assert error_line(result).startswith(
        f"local-deploy: port {port} on 127.0.0.1 is already in use"
    )
    assert servers_on(port) == []


def test_a_server_that_cannot_start_is_reported_in_its_own_words(assembly, tmp_path):
    broken = tmp_path / "broken" / "moto"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text(
        "raise RuntimeError('this moto is broken on purpose')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(broken.parent)}
    port = free_port()

    result = local_deploy(
        "--assembly",
        str(assembly),
        "--port",
        str(port),
        scratch=tmp_path,
        env=env,
    )

    assert result.returncode == 1
    line = error_line(result)
    assert "moto server exited with code 1 before it answered" in line
    assert "RuntimeError: this moto is broken on purpose" in line
    assert servers_on(port) == []


def test_a_stack_moto_rejects_fails_the_run_naming_the_stack_and_reason(
    schema_version, tmp_path
):
    subnet_of_no_vpc = {
        "Resources": {
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {"VpcId": "vpc-00000000", "CidrBlock": "10.0.0.0/24"},
            }
        }
    }
    assembly = write_assembly(
        tmp_path / "cdk.out", schema_version, "Broken", {"App": subnet_of_no_vpc}
    )
    port = free_port()

    result = local_deploy(
        "--assembly", str(assembly), "--port", str(port), scratch=tmp_path
    )

    assert result.returncode == 1
    line = error_line(result)
    assert line.startswith("local-deploy: Broken/App (Broken-App) failed")
    assert "InvalidVpcID.NotFound" in line
    assert "logs kept in" in line
    assert wait_until_gone(port) == []


def test_running_out_of_time_stops_the_run_and_its_server(assembly, tmp_path):
    port = free_port()

    result = local_deploy(
        "--assembly",
        str(assembly),
        "--port",
        str(port),
        "--timeout",
        "2",
        scratch=tmp_path,
    )

    assert result.returncode == 1
    assert "timed out after 2 s" in error_line(result)
    assert wait_until_gone(port) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_a_run_stopped_by_a_signal_leaves_no_server_behind(assembly, tmp_path, signum):
    port = free_port()
    run = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--assembly", str(assembly)]
        + ["--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = run.stdout.readline()
        assert "answers on" in first_line, run.stderr.read()[-2000:]
        run.send_signal(signum)
        _, stderr = run.communicate(timeout=SHORT_RUN_SECONDS)
    finally:
        run.kill()
        run.wait()

    assert wait_until_gone(port) == []
    if signum == signal.SIGTERM:
        assert run.returncode == 130
        assert (
            stderr.strip()
            .splitlines()[-1]
            .startswith("local-deploy: stopped by a signal")
        )


def test_a_diff_left_after_the_deploy_fails_the_run_naming_the_stack(
    schema_version, tmp_path, monkeypatch
):
    topic = {"Type": "AWS::SNS::Topic"}
    deployed = write_assembly(
        tmp_path / "deployed",
        schema_version,
        "Drift",
        {"App": {"Resources": {"A": topic}}},
    )
    changed = write_assembly(
        tmp_path / "changed",
        schema_version,
        "Drift",
        {"App": {"Resources": {"A": topic, "B": topic}}},
    )
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    workspace = ld.Workspace(tmp_path / "workspace")
    workspace.path.mkdir()
    deadline = ld.Deadline(SHORT_RUN_SECONDS)
    try:
        ld.start_server(free_port(), workspace, deadline)
        ld.deploy_stage(read_plan(deployed)["Drift"], deployed, workspace, deadline)
        with pytest.raises(ld.LocalDeployError) as raised:
            ld.check_diff_is_empty(
                read_plan(changed)["Drift"], changed, workspace, deadline
            )
    finally:
        ld.stop_children()

    assert str(raised.value).startswith(
        "cdk diff of Drift after the deploy is not empty: Drift/App differ"
    )
