"""Rehearse the deploy of the synthesized stages against moto on this machine.

`make local-deploy` starts moto's server on 127.0.0.1, bootstraps every
environment of each stage and deploys the stage's stacks from cdk.out with the
pinned CDK CLI, prints what moto now holds, checks that `cdk diff` finds
nothing left to change, and stops the server. No request leaves the machine:
every AWS endpoint is the local server, the credentials are fake, and any other
HTTP(S) request goes to a proxy address where nothing listens. Each workaround
for moto is listed with its reason in scripts/moto_quirks.py.
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
import importlib.metadata
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a file: python scripts/local_deploy.py
    sys.path.insert(0, str(ROOT))

from scripts.moto_quirks import (  # noqa: E402 - needs ROOT on sys.path first
    DEPLOY_FLAGS,
    DIFF_FLAGS,
    QUIRKS,
    is_custom_resource,
)
from scripts.stage_plan import (  # noqa: E402 - needs ROOT on sys.path first
    PlanError,
    StackPlan,
    StagePlan,
    read_plan,
)

NODE_BIN = ROOT / "node_modules" / ".bin"
LOOPBACK = "127.0.0.1"
# Nothing listens on the discard port, so a request that would leave the
# machine through the proxy settings fails at once instead.
NOWHERE_PROXY = f"http://{LOOPBACK}:9"
DEFAULT_TIMEOUT_SECONDS = 900.0
SERVER_START_SECONDS = 60.0
STOP_GRACE_SECONDS = 5.0
COMPLETE = ("CREATE_COMPLETE", "UPDATE_COMPLETE")
PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
# Inherited settings that could send the CLI, boto3 or Docker somewhere else.
FOREIGN_PREFIXES = ("AWS_", "CDK_", "DOCKER_")
FOREIGN_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")

_children: list[subprocess.Popen] = []


class LocalDeployError(Exception):
    """A failure told to the user in one line; exit_code 2 is bad input."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Stopped(Exception):
    """A signal asked the run to stop."""


@dataclass
class Deadline:
    """The time left of the whole run, given by --timeout."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    def remaining(self, doing: str) -> float:
        left = self.seconds - (time.monotonic() - self.started)
        if left <= 0:
            raise LocalDeployError(f"timed out after {self.seconds:g} s {doing}")
        return left


@dataclass
class Workspace:
    """The run's private directory: CLI working dir, logs, CDK_HOME."""

    path: Path
    endpoint: str = ""
    credentials: dict[tuple[str, str], dict] = field(default_factory=dict)

    def log(self, name: str) -> Path:
        return self.path / f"{name}.log"

    def has_logs(self) -> bool:
        return any(self.path.glob("*.log"))

    def env(self, region: str = "us-east-1", credentials: dict | None = None):
        """The environment of every child: local endpoint, fake credentials."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.upper().startswith(FOREIGN_PREFIXES)
            and key.upper() not in FOREIGN_NAMES
        }
        credentials = credentials or {
            "AccessKeyId": "testing",
            "SecretAccessKey": "testing",  # noqa: S105 - moto's documented fake
            "SessionToken": "testing",
        }
        nowhere = str(self.path / "does-not-exist")
        env.update(
            PATH=f"{NODE_BIN}{os.pathsep}{env.get('PATH', '')}",
            AWS_ACCESS_KEY_ID=credentials["AccessKeyId"],
            AWS_SECRET_ACCESS_KEY=credentials["SecretAccessKey"],
            AWS_SESSION_TOKEN=credentials["SessionToken"],
            AWS_REGION=region,
            AWS_DEFAULT_REGION=region,
            AWS_CONFIG_FILE=nowhere,
            AWS_SHARED_CREDENTIALS_FILE=nowhere,
            AWS_EC2_METADATA_DISABLED="true",
            CDK_HOME=str(self.path / "cdk-home"),
            CDK_DISABLE_CLI_TELEMETRY="true",
            CDK_DISABLE_VERSION_CHECK="1",
            CI="true",
            DOCKER_HOST=f"unix://{nowhere}",
            HTTP_PROXY=NOWHERE_PROXY,
            HTTPS_PROXY=NOWHERE_PROXY,
            http_proxy=NOWHERE_PROXY,
            https_proxy=NOWHERE_PROXY,
            NO_PROXY=f"localhost,{LOOPBACK}",
            no_proxy=f"localhost,{LOOPBACK}",
        )
        if self.endpoint:
            env["AWS_ENDPOINT_URL"] = self.endpoint
        return env


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    deadline = Deadline(args.timeout)
    workspace = Workspace(Path(tempfile.mkdtemp(prefix="local-deploy-")))
    _isolate_this_process(workspace)
    atexit.register(stop_children)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_on_signal)
    code, message = 0, ""
    try:
        if not (NODE_BIN / "cdk").is_file():
            raise LocalDeployError(
                f"the pinned CDK CLI is missing ({NODE_BIN}/cdk); run make setup",
                exit_code=2,
            )
        stages = select_stages(read_plan(args.assembly), args.stage)
        port = args.port or free_port()
        ensure_port_is_free(port)
        rehearse(stages, args.assembly.resolve(), port, workspace, deadline)
    except PlanError as err:
        code, message = 2, str(err)
    except LocalDeployError as err:
        code, message = err.exit_code, str(err)
    except (KeyboardInterrupt, Stopped):
        code, message = 130, "stopped by a signal"
    finally:
        stop_children()
    if code and workspace.has_logs():
        message += f" (logs kept in {workspace.path})"
    else:
        shutil.rmtree(workspace.path, ignore_errors=True)
    if code:
        print(f"local-deploy: {message}", file=sys.stderr, flush=True)  # noqa: T201
    return code


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="local-deploy", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--stage",
        action="append",
        default=[],
        metavar="NAME",
        help="stage (or stack outside any stage) to deploy, repeatable "
        "(default: all of them, in the order of the assembly)",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port of the moto server (default: free)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"bound on the whole run (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    parser.add_argument(
        "--assembly",
        type=Path,
        default=ROOT / "cdk.out",
        metavar="DIR",
        help="synthesized cloud assembly to deploy (default: cdk.out)",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port < 65536:
        parser.error(f"--port {args.port} is not a TCP port")
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    return args


def select_stages(plan: dict[str, StagePlan], names: list[str]) -> list[StagePlan]:
    unknown = [name for name in names if name not in plan]
    if unknown:
        raise PlanError(
            f"unknown stage {unknown[0]!r}: the assembly holds "
            f"{', '.join(plan) or 'no stage'}"
        )
    chosen = [plan[name] for name in dict.fromkeys(names)] or list(plan.values())
    for stage in chosen:
        for stack in stage.stacks:
            if stack.container_images:
                raise PlanError(
                    f"{stack.display_name} has container image assets; building "
                    "them needs Docker, which the local deploy does not use"
                )
    return chosen


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def ensure_port_is_free(port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError as err:
            raise LocalDeployError(
                f"port {port} on {LOOPBACK} is already in use ({err.strerror}); "
                "choose another with --port or leave it out",
                exit_code=2,
            ) from err


def rehearse(
    stages: list[StagePlan],
    assembly: Path,
    port: int,
    workspace: Workspace,
    deadline: Deadline,
) -> None:
    started = time.monotonic()
    start_server(port, workspace, deadline)
    say(
        f"moto {importlib.metadata.version('moto')} answers on {workspace.endpoint} "
        f"(bound to {LOOPBACK}:{port}); logs in {workspace.path} until it succeeds"
    )
    timings = {}
    for stage in stages:
        timings[stage.name] = deploy_stage(stage, assembly, workspace, deadline)
    say()
    print_summary(stages, workspace, timings)
    for stage in stages:
        check_diff_is_empty(stage, assembly, workspace, deadline)
    stop_children()
    say(f"moto server stopped; whole run {time.monotonic() - started:.1f} s")


def start_server(port: int, workspace: Workspace, deadline: Deadline) -> None:
    log = workspace.log("moto-server")
    server = _spawn(
        [
            sys.executable,
            "-m",
            "scripts.moto_server",
            "--port",
            str(port),
            "--parent",
            str(os.getpid()),
        ],
        cwd=ROOT,
        env=workspace.env(),
        log=log,
    )
    workspace.endpoint = f"http://localhost:{port}"  # quirk "template URL host"
    url = f"http://{LOOPBACK}:{port}/moto-api/"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    starting = "starting the moto server"
    limit = time.monotonic() + min(SERVER_START_SECONDS, deadline.remaining(starting))
    while True:
        code = server.poll()
        if code is not None:
            raise LocalDeployError(
                f"moto server exited with code {code} before it answered: "
                f"{last_line(log.read_text(errors='replace'))}"
            )
        try:
            with opener.open(url, timeout=1):
                return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > limit:
            deadline.remaining(starting)
            raise LocalDeployError(
                f"moto server did not answer on {LOOPBACK}:{port} "
                f"within {SERVER_START_SECONDS:g} s"
            )
        time.sleep(0.1)


def deploy_stage(
    stage: StagePlan, assembly: Path, workspace: Workspace, deadline: Deadline
) -> float:
    started = time.monotonic()
    for account, region in stage.environments:
        run_cdk(
            ["bootstrap", f"aws://{account}/{region}"],
            workspace.env(region, credentials_for(workspace, account, region)),
            workspace,
            f"bootstrap-{stage.name}-{account}-{region}",
            deadline,
            doing=f"bootstrapping aws://{account}/{region} for {stage.name}",
        )
        say(f"{stage.name}: bootstrapped aws://{account}/{region}")
    first = stage.stacks[0]
    names = [stack.display_name for stack in stage.stacks]
    code, output = run_cdk(
        [
            "deploy",
            "--app",
            str(assembly),
            *names,
            "--no-lookups",  # quirk "context lookups"
            "--require-approval",
            "never",
            "--progress",
            "events",
            *DEPLOY_FLAGS,
        ],
        workspace.env(
            first.region, credentials_for(workspace, first.account, first.region)
        ),
        workspace,
        f"deploy-{stage.name}",
        deadline,
        doing=f"deploying {stage.name}",
        check=False,
    )
    if code != 0:
        raise LocalDeployError(explain_failed_deploy(stage, workspace, output))
    seconds = time.monotonic() - started
    say(f"{stage.name}: deployed {', '.join(names)} in {seconds:.1f} s")
    return seconds


def explain_failed_deploy(stage: StagePlan, workspace: Workspace, output: str) -> str:
    """Name the first stack of the stage that did not complete, and why."""
    cli_reason = cli_error(output)
    crash = server_error(workspace.log("moto-server").read_text(errors="replace"))
    if crash:
        # The CLI retries a request moto failed on, so its own error can mislead.
        cli_reason += f"; the moto server failed on an earlier request: {crash}"
    for stack in stage.stacks:
        cloudformation = client(workspace, "cloudformation", stack)
        try:
            (found,) = cloudformation.describe_stacks(StackName=stack.stack_name)[
                "Stacks"
            ]
        except ClientError:
            return f"{stack.display_name} ({stack.stack_name}) failed: {cli_reason}"
        if found["StackStatus"] in COMPLETE:
            continue
        events = cloudformation.describe_stack_events(StackName=stack.stack_name)
        reasons = [
            f"{e['LogicalResourceId']} {e['ResourceStatus']}: "
            f"{e['ResourceStatusReason']}"
            for e in reversed(events["StackEvents"])
            if e["ResourceStatus"].endswith("_FAILED") and e.get("ResourceStatusReason")
        ]
        reason = reasons[0] if reasons else cli_reason
        return (
            f"{stack.display_name} ({stack.stack_name}) failed, "
            f"{found['StackStatus']}: {reason}"
        )
    return f"deploying {stage.name} failed: {cli_reason}"


def cli_error(output: str) -> str:
    """The CLI's own statement of what went wrong, on one line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    marked = [line.lstrip("‣ ").strip() for line in lines if line.startswith("‣")]
    if marked:
        return marked[0]
    failed = [line for line in lines if "❌" in line or "Error" in line]
    return (failed or lines or ["the CDK CLI printed nothing"])[-1].lstrip("❌ ")


def server_error(log: str) -> str:
    """The exception that ended the last traceback in the server's log, if any."""
    _, found, after = log.rpartition("Traceback (most recent call last):")
    if not found:
        return ""
    for line in after.splitlines()[1:]:
        if line and not line[0].isspace():
            return line.strip()
    return ""


def check_diff_is_empty(
    stage: StagePlan, assembly: Path, workspace: Workspace, deadline: Deadline
) -> None:
    first = stage.stacks[0]
    names = [stack.display_name for stack in stage.stacks]
    code, output = run_cdk(
        ["diff", "--app", str(assembly), *names, "--no-lookups", "--fail"]
        + list(DIFF_FLAGS),
        workspace.env(
            first.region, credentials_for(workspace, first.account, first.region)
        ),
        workspace,
        f"diff-{stage.name}",
        deadline,
        doing=f"diffing {stage.name}",
        check=False,
    )
    differing = stacks_with_differences(output)
    if code == 0 and not differing:
        say(f"{stage.name}: cdk diff against moto is empty")
        return
    if differing:
        raise LocalDeployError(
            f"cdk diff of {stage.name} after the deploy is not empty: "
            f"{', '.join(differing)} differ (see diff-{stage.name}.log)"
        )
    raise LocalDeployError(f"cdk diff of {stage.name} failed: {cli_error(output)}")


def stacks_with_differences(output: str) -> list[str]:
    differing: list[str] = []
    current = None
    for line in output.splitlines():
        header = re.match(r"^Stack (\S+)", line)
        if header:
            current = header.group(1)
            differing.append(current)
        elif current and "There were no differences" in line:
            differing.remove(current)
            current = None
    return differing


def print_summary(
    stages: list[StagePlan], workspace: Workspace, timings: dict[str, float]
) -> None:
    say("What moto holds now (resources created / in the template):")
    for stage in stages:
        say(f"  {stage.name} (deployed in {timings[stage.name]:.1f} s)")
        for stack in stage.stacks:
            for line in describe_stack(stack, workspace):
                say(f"    {line}")
    say(
        "  Workarounds for moto in effect (scripts/moto_quirks.py): "
        + ", ".join(quirk.name for quirk in QUIRKS)
    )


def describe_stack(stack: StackPlan, workspace: Workspace) -> list[str]:
    cloudformation = client(workspace, "cloudformation", stack)
    (found,) = cloudformation.describe_stacks(StackName=stack.stack_name)["Stacks"]
    paginator = cloudformation.get_paginator("list_stack_resources")
    created = {
        summary["LogicalResourceId"]: summary
        for page in paginator.paginate(StackName=stack.stack_name)
        for summary in page["StackResourceSummaries"]
        if summary.get("LogicalResourceId")
    }
    lines = [
        f"{stack.display_name:<24} {found['StackStatus']:<16} "
        f"{len(created):>4} / {len(stack.resources):<4} resources, "
        f"{len(found.get('Outputs') or [])} outputs"
    ]
    skipped = Counter(
        resource["Type"]
        for logical_id, resource in stack.resources.items()
        if logical_id not in created
    )
    if skipped:
        lines.append(
            "  not created by moto: "
            + ", ".join(f"{kind} x{count}" for kind, count in sorted(skipped.items()))
        )
    for logical_id, summary in created.items():
        kind = summary["ResourceType"]
        physical_id = summary.get("PhysicalResourceId", "")
        if is_custom_resource(kind):
            lines.append(
                f"  stand-in, handler not run: {stack.path_of(logical_id)} ({kind})"
            )
        elif kind == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            (balancer,) = client(workspace, "elbv2", stack).describe_load_balancers(
                LoadBalancerArns=[physical_id]
            )["LoadBalancers"]
            lines.append(
                f"  load balancer {stack.path_of(logical_id)}: {balancer['DNSName']}"
            )
        elif kind == "AWS::Route53::HostedZone":
            zone = client(workspace, "route53", stack).get_hosted_zone(Id=physical_id)
            lines.append(
                f"  Route 53 zone {zone['HostedZone']['Name']} "
                f"id {zone['HostedZone']['Id'].rpartition('/')[2]}"
            )
    return lines


def credentials_for(workspace: Workspace, account: str, region: str) -> dict:
    """Credentials that moto files under `account` (quirk "accounts")."""
    if (account, region) not in workspace.credentials:
        sts = _boto3_client(workspace, "sts", region, None)
        workspace.credentials[account, region] = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/local-deploy",
            RoleSessionName="local-deploy",
        )["Credentials"]
    return workspace.credentials[account, region]


def client(workspace: Workspace, service: str, stack: StackPlan) -> Any:
    credentials = credentials_for(workspace, stack.account, stack.region)
    return _boto3_client(workspace, service, stack.region, credentials)


def _boto3_client(workspace: Workspace, service: str, region: str, credentials):
    import boto3

    env = workspace.env(region, credentials)
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=workspace.endpoint,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env["AWS_SESSION_TOKEN"],
    )


def run_cdk(
    args: list[str],
    env: dict[str, str],
    workspace: Workspace,
    log_name: str,
    deadline: Deadline,
    *,
    doing: str,
    check: bool = True,
) -> tuple[int, str]:
    """Run the pinned CDK CLI in the workspace (never the repository root)."""
    log = workspace.log(log_name)
    command = [str(NODE_BIN / "cdk"), "--no-notices", "--no-color", *args]
    process = _spawn(command, cwd=workspace.path, env=env, log=log)
    try:
        code = process.wait(timeout=deadline.remaining(doing))
    except subprocess.TimeoutExpired:
        _stop(process)
        deadline.remaining(doing)
        raise LocalDeployError(f"timed out {doing}") from None
    finally:
        if process in _children and process.poll() is not None:
            _children.remove(process)
    output = log.read_text(errors="replace")
    if check and code != 0:
        raise LocalDeployError(f"{doing} failed: {cli_error(output)}")
    return code, output


def _spawn(command: list[str], *, cwd: Path, env: dict, log: Path):
    with log.open("w") as sink:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one
            preexec_fn=_die_with_parent,  # safe: this process starts no threads
        )
    _children.append(process)
    return process


def _stop(process: subprocess.Popen) -> None:
    for signum, wait in ((signal.SIGTERM, STOP_GRACE_SECONDS), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    if process in _children:
        _children.remove(process)


def stop_children() -> None:
    while _children:
        _stop(_children[-1])


def _die_with_parent() -> None:
    """On Linux the child gets SIGTERM when this process dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _stop_on_signal(signum: int, frame: object) -> None:
    raise Stopped(signal.Signals(signum).name)


def _isolate_this_process(workspace: Workspace) -> None:
    """boto3 in this process follows the same rules as the children."""
    isolated = workspace.env()
    for key in list(os.environ):
        if key not in isolated:
            del os.environ[key]
    os.environ.update(isolated)


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def say(line: str = "") -> None:
    print(line, flush=True)  # noqa: T201 - this is a command-line report


if __name__ == "__main__":
    sys.exit(main())
