"""`make bench`: how long synth, the tests and the local deploy take, and stack sizes.

    python -m scripts.bench [--runs N] [--quick] [--no-warm-up] [--skip-tests]
                            [--skip-local-deploy] [--stages 1,2,4,8] [--profile]
                            [--config FILE] [--output FILE]

Every synth is a fresh `python app.py` process with CDK_OUTDIR set to a temporary
directory and the context the CDK CLI would pass in CDK_CONTEXT_JSON, so each one
pays the jsii start-up a developer pays. The floor is the same process with an
empty app that imports the same modules: no app synthesizes faster. The full
synth is also timed with CDK_VALIDATION=false, which shows what the CDK's
built-in CloudFormation validation (cfn-lint's rules as WebAssembly) costs each
synth; the targets use the synth with every gate on. Figures are
medians of interleaved runs after one untimed warm-up, in wall seconds (what the
targets use) and CPU seconds (steadier when other work shares the machine). The
report is printed as a table and written to build/bench.json; `--profile` adds
where synth time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib import metadata
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from scripts.assembly import ROOT, emit

NODE_BIN = ROOT / "node_modules" / ".bin"
BUILD = ROOT / "build"
WORK = BUILD / "bench"
DEFAULT_OUTPUT = BUILD / "bench.json"
DEFAULT_RUNS = 3
STAGE_COUNTS = (1, 2, 4, 8)
TEMPLATE_STAGE = "Dev"
CFN_MAX_RESOURCES = 500
CFN_MAX_TEMPLATE_BYTES = 1_000_000
SYNTH_RATIO_TARGET = 1.5
STAGE_SCALING_TARGET = 3.0
TEST_SUITE_TARGET_S = 120.0
TEST_SUITE_TARGET_CORES = 2
LOCAL_DEPLOY_TARGET_S = 60.0
# A hung child must not hang the bench; no measured step comes near these.
SYNTH_TIMEOUT_S = 600
MAKE_TIMEOUT_S = 1800
SLOWEST_TESTS = 15
NO_CFN_VALIDATION = "synth_without_cfn_validation"
DURATION_LINE = re.compile(r"^\s*([0-9.]+)s (setup|call|teardown)\s+(\S+)")
# What `cdk synth` adds to the cdk.json context for this project's cdk.json
# (pathMetadata, assetMetadata and staging default on, versionReporting off);
# mirrored so the templates measured are the ones the CLI writes.
CLI_SETTINGS_CONTEXT = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:disable-version-reporting": True,
    "aws:cdk:bundling-stacks": ["**"],
    "@aws-cdk/core:failSynthOnValidationErrors": False,
}
# An empty app that loads what app.py loads, every stack module included.
FLOOR_PROGRAM = """
import importlib, pkgutil
import aws_cdk as cdk
import cdk_nag
import app
for module in pkgutil.iter_modules(["stacks"]):
    importlib.import_module(f"stacks.{module.name}")
cdk.App().synth()
"""


class BenchError(Exception):
    """A measured step failed, so its time would mean nothing."""


def cli_context(**extra: Any) -> dict[str, Any]:
    """The context `cdk synth -c KEY=VALUE ...` hands the app."""
    cdk_json = json.loads((ROOT / "cdk.json").read_text(encoding="utf-8"))
    return {**cdk_json.get("context", {}), **extra, **CLI_SETTINGS_CONTEXT}


def child_env(**extra: str) -> dict[str, str]:
    """The environment the Makefile gives its commands: pinned Node first."""
    env = {
        **os.environ,
        "PATH": f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        **extra,
    }
    # Settings from the caller's shell that would change what a synth does: a
    # CDK_VALIDATION=false left over from a quick local loop would time the
    # full synth without its validation. (PYTEST_ADDOPTS is passed on to
    # `make test` on purpose, so the suite can be timed as it is run here.)
    for key in ("CDK_OUTDIR", "CDK_CONTEXT_JSON", "NODE_OPTIONS", "CDK_VALIDATION"):
        if key not in extra:
            env.pop(key, None)
    return env


def timed(command: list[str], **kwargs: Any) -> tuple[int, float, float]:
    """Exit status, wall seconds and CPU seconds of a command and its children.

    CPU time counts every process it waited for (Node included); it moves far
    less than wall time when other work shares the machine.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    status = subprocess.run(command, cwd=ROOT, check=False, **kwargs).returncode
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return status, wall, cpu


def run_synth(
    program: list[str], context: dict[str, Any], outdir: Path, **env: str
) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh synth; fails on any error or finding."""
    stderr = outdir.with_name(f"{outdir.name}.stderr")
    with stderr.open("w", encoding="utf-8") as errors:
        status, wall, cpu = timed(
            [sys.executable, *program],
            env=child_env(
                CDK_OUTDIR=str(outdir), CDK_CONTEXT_JSON=json.dumps(context), **env
            ),
            stdout=subprocess.DEVNULL,
            stderr=errors,
            timeout=SYNTH_TIMEOUT_S,
        )
    if status != 0:
        tail = "\n".join(stderr.read_text().strip().splitlines()[-15:])
        raise BenchError(f"{' '.join(program)} exited {status}:\n{tail}")
    # With the CLI's context the app leaves failing on findings to the CLI.
    report = json.loads((outdir / "validation-report.json").read_text())
    failed = [
        plugin["pluginName"]
        for plugin in report.get("pluginReports", [])
        if plugin.get("conclusion") != "success"
    ]
    if failed:
        raise BenchError(f"synth reported findings from {', '.join(failed)}")
    return wall, cpu


def stage_configs(counts: tuple[int, ...], directory: Path) -> dict[int, Path]:
    """One stage file per count: copies of Dev, each with its own VPC range."""
    stages = json.loads((ROOT / "config" / "stages.json").read_text())
    template = stages[TEMPLATE_STAGE]
    first = IPv4Network(template["vpc_cidr"])
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for count in counts:
        copies = {}
        for index in range(count):
            name = f"Bench{index + 1}"
            network = first.network_address + index * first.num_addresses
            copies[name] = {
                **template,
                "vpc_cidr": f"{network}/{first.prefixlen}",
                "edge": {
                    **template["edge"],
                    "domain_name": f"{name.lower()}.chat.example.com",
                    "internal_domain": f"{name.lower()}.slack.internal",
                },
            }
        paths[count] = directory / f"stages-{count}.json"
        paths[count].write_text(json.dumps(copies, indent=2) + "\n")
    return paths


def stack_sizes(outdir: Path) -> dict[str, dict[str, int]]:
    """Resources and template bytes of every stack, stage assemblies included."""
    sizes: dict[str, dict[str, int]] = {}
    for manifest in sorted(outdir.rglob("manifest.json")):
        artifacts = json.loads(manifest.read_text())["artifacts"]
        for artifact in artifacts.values():
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            path = manifest.parent / artifact["properties"]["templateFile"]
            template = json.loads(path.read_text())
            sizes[artifact.get("displayName", path.stem)] = {
                "resources": len(template.get("Resources", {})),
                "template_bytes": path.stat().st_size,
            }
    return dict(sorted(sizes.items()))


def measure_synths(
    runs: int,
    counts: tuple[int, ...],
    progress: Callable[[str], None],
    warm_up: bool = True,
    config: Path | None = None,
) -> dict[str, Any]:
    """Interleave floor, full and per-count synths so drift hits all alike."""
    configs = stage_configs(counts, WORK / "config")
    config_context = {"config": str(config.resolve())} if config else {}
    programs: dict[str, tuple[list[str], dict[str, Any], dict[str, str]]] = {
        "floor": (["-c", FLOOR_PROGRAM], {}, {}),
        "synth": (["app.py"], config_context, {}),
        # The same synth without the CDK's built-in CloudFormation validation
        # (cfn-lint's rules compiled to WebAssembly): what that gate costs.
        NO_CFN_VALIDATION: (["app.py"], config_context, {"CDK_VALIDATION": "false"}),
    }
    for count in counts:
        programs[str(count)] = (["app.py"], {"config": str(configs[count])}, {})
    wall: dict[str, list[float]] = {key: [] for key in programs}
    cpu: dict[str, list[float]] = {key: [] for key in programs}
    sizes: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory(prefix="cdk-bench-") as scratch:
        if warm_up:
            progress("warm-up synth (not counted)")
            run_synth(["-c", FLOOR_PROGRAM], cli_context(), Path(scratch) / "warm-up")
        for run in range(1, runs + 1):
            for key, (program, extra, env) in programs.items():
                what = f"{key} stage(s)" if key.isdigit() else key
                progress(f"run {run}/{runs}: {what}")
                outdir = Path(scratch) / f"{key}-{run}"
                seconds, cpu_seconds = run_synth(
                    program, cli_context(**extra), outdir, **env
                )
                wall[key].append(seconds)
                cpu[key].append(cpu_seconds)
                if key == "synth" and not sizes:
                    sizes = stack_sizes(outdir)
                shutil.rmtree(outdir, ignore_errors=True)
    return {
        "wall": {key: statistics.median(values) for key, values in wall.items()},
        "cpu": {key: statistics.median(values) for key, values in cpu.items()},
        "samples": {"wall_s": wall, "cpu_s": cpu},
        "stacks": sizes,
    }


def has_make_target(name: str) -> bool:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return re.search(rf"^{re.escape(name)}\s*:", makefile, re.MULTILINE) is not None


def time_make(target: str, log: Path) -> tuple[int, float, float]:
    """Exit status, wall and CPU seconds of `make TARGET`, after an untimed setup."""
    make = ["make", "--no-print-directory"]
    setup = subprocess.run(
        [*make, "setup"], cwd=ROOT, env=child_env(), capture_output=True, text=True
    )
    if setup.returncode != 0:
        raise BenchError(f"make setup exited {setup.returncode}: {setup.stderr}")
    log.parent.mkdir(parents=True, exist_ok=True)
    # pytest lists every test's phases at the end of the log; no extra run needed.
    addopts = f"{os.environ.get('PYTEST_ADDOPTS', '')} --durations=0"
    with log.open("w", encoding="utf-8") as out:
        return timed(
            [*make, target],
            env=child_env(PYTEST_ADDOPTS=addopts.strip()),
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=MAKE_TIMEOUT_S,
        )


def durations_from_log(log: Path) -> dict[str, Any]:
    """The slowest test phases and the seconds spent per file, from `--durations`.

    With `-n 2` the per-file seconds add up to about twice the wall time.
    """
    phases, by_file = [], {}
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        match = DURATION_LINE.match(line)
        if match:
            seconds, phase, test = float(match[1]), match[2], match[3]
            phases.append({"seconds": seconds, "phase": phase, "test": test})
            path = test.split("::")[0]
            by_file[path] = by_file.get(path, 0.0) + seconds
    ranked = sorted(by_file.items(), key=lambda item: item[1], reverse=True)
    return {
        "slowest": phases[:SLOWEST_TESTS],
        "seconds_by_file": {path: round(total, 1) for path, total in ranked},
    }


def timed_target(
    key: str, target: str, skip_reason: str | None, progress: Callable[[str], None]
) -> dict[str, Any]:
    """`{key}_s` with the wall time, or None beside `{key}_reason`."""
    if skip_reason is None and not has_make_target(target):
        skip_reason = f"the Makefile has no {target} target"
    if skip_reason is not None:
        return {f"{key}_s": None, f"{key}_reason": skip_reason}
    log = WORK / f"{target}.log"
    progress(f"make {target} (output in {log})")
    status, wall, cpu = time_make(target, log)
    result: dict[str, Any] = {
        f"{key}_s": wall,
        f"{key}_cpu_s": cpu,
        f"{key}_exit_status": status,
    }
    if status != 0:
        result[f"{key}_reason"] = f"make {target} exited {status}; see {log}"
    if target == "test":
        result[f"{key}_durations"] = durations_from_log(log)
    return result


def machine() -> dict[str, Any]:
    node = subprocess.run(
        ["node", "--version"], env=child_env(), capture_output=True, text=True
    )
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    cli = json.loads((ROOT / "node_modules/aws-cdk/package.json").read_text())
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(pages / 2**30, 1),
        "python": platform.python_version(),
        "node": node.stdout.strip() or None,
        "node_binary": shutil.which("node", path=child_env()["PATH"]),
        "os": platform.platform(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "aws_cdk_lib": metadata.version("aws-cdk-lib"),
        "cdk_nag": metadata.version("cdk-nag"),
        "cdk_cli": cli.get("version"),
    }


def _target(name: str, value: Any, limit: float, ok: bool, note: str = "") -> dict:
    status = "skipped" if value is None else ("pass" if ok else "miss")
    return {"name": name, "value": value, "limit": limit, "status": status} | (
        {"note": note} if note else {}
    )


def _timed_target(report: dict[str, Any], key: str, limit: float, note: str = ""):
    seconds, failed = report[f"{key}_s"], report.get(f"{key}_exit_status")
    ok = seconds is not None and seconds < limit and not failed
    return _target(key, seconds, limit, ok, report.get(f"{key}_reason", note))


def evaluate(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured value and pass, miss or skipped."""
    ratio, stages = report["synth_ratio"], report["stages"]
    scaling = stages["8"] / stages["1"] if {"1", "8"} <= stages.keys() else None
    resources, size = report["max_stack_resources"], report["max_template_bytes"]
    half_resources, half_bytes = CFN_MAX_RESOURCES // 2, CFN_MAX_TEMPLATE_BYTES // 2
    cores = report["machine"]["cores"]
    return [
        _target(
            "synth_ratio",
            ratio,
            SYNTH_RATIO_TARGET,
            ratio <= SYNTH_RATIO_TARGET,
            f"{report['synth_without_cfn_validation_ratio']:.2f} without the CDK's "
            "built-in CloudFormation validation",
        ),
        _target(
            "stages_8_over_1",
            scaling,
            STAGE_SCALING_TARGET,
            scaling is not None and scaling <= STAGE_SCALING_TARGET,
            "" if scaling is not None else "needs --stages with 1 and 8",
        ),
        _target(
            "max_stack_resources",
            resources,
            half_resources,
            resources <= half_resources,
            report["max_stack_resources_stack"],
        ),
        _target(
            "max_template_bytes",
            size,
            half_bytes,
            size <= half_bytes,
            report["max_template_bytes_stack"],
        ),
        _timed_target(
            report,
            "test_suite",
            TEST_SUITE_TARGET_S,
            "" if cores == TEST_SUITE_TARGET_CORES else f"measured on {cores} cores",
        ),
        _timed_target(report, "local_deploy", LOCAL_DEPLOY_TARGET_S),
    ]


def table(report: dict[str, Any]) -> Iterator[str]:
    m, cpu, load = report["machine"], report["cpu"], report["load_average"]
    yield (
        f"bench: median of {report['runs']} run(s); {m['cores']} cores, "
        f"{m['memory_gib']} GiB, Python {m['python']}, Node {m['node']}, {m['date']}"
    )
    yield f"  load average before {load['before'][0]:.1f}, after {load['after'][0]:.1f}"
    yield f"  {'':<40} {'wall':>10} {'cpu':>10}"
    rows = [
        ("floor: empty app, same imports", report["floor_s"], cpu["floor_s"]),
        (
            f"synth: every stage of {report['config']}",
            report["synth_s"],
            cpu["synth_s"],
        ),
        (
            "  the same, CDK_VALIDATION=false",
            report["synth_without_cfn_validation_s"],
            cpu["synth_without_cfn_validation_s"],
        ),
    ]
    for count, seconds in report["stages"].items():
        label = f"synth: {count} stage(s) copied from Dev"
        rows.append((label, seconds, cpu["stages"][count]))
    for key, target in (("test_suite", "test"), ("local_deploy", "local-deploy")):
        rows.append((f"make {target}", report[f"{key}_s"], report.get(f"{key}_cpu_s")))
    for label, seconds, cpu_seconds in rows:
        yield f"  {label:<40} {_s(seconds):>10} {_s(cpu_seconds):>10}"
    ratios = f"{report['synth_ratio']:>10.2f} {cpu['synth_ratio']:>10.2f}"
    yield f"  {'synth / floor':<40} {ratios}"
    yield ""
    yield f"  {'target':<22} {'measured':>12} {'limit':>12}  result"
    for t in report["targets"]:
        value, limit = _number(t["value"]), _number(t["limit"])
        note = f"  ({t['note']})" if t.get("note") else ""
        yield f"  {t['name']:<22} {value:>12} {limit:>12}  {t['status']}{note}"


def _shown(path: Path) -> str:
    """A path as the report shows it: relative to the checkout when inside it."""
    resolved = path.resolve()
    return (
        str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else path.name
    )


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f} s"


def _number(value: float | int | None) -> str:
    if value is None:
        return "-"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def build_report(args: argparse.Namespace, progress: Callable[[str], None]) -> dict:
    if not (NODE_BIN / "node").exists():
        raise BenchError(
            f"{NODE_BIN / 'node'} is missing: run `make setup` so the figures are "
            "taken on the pinned Node, not the machine's"
        )
    load_before = os.getloadavg()
    synths = measure_synths(
        args.runs, args.stages, progress, not args.no_warm_up, args.config
    )
    wall, cpu, stacks = synths["wall"], synths["cpu"], synths["stacks"]
    most = max(stacks, key=lambda name: stacks[name]["resources"])
    largest = max(stacks, key=lambda name: stacks[name]["template_bytes"])
    report: dict[str, Any] = {
        "runs": args.runs,
        "config": _shown(args.config or ROOT / "config" / "stages.json"),
        "floor_s": wall["floor"],
        "synth_s": wall["synth"],
        "synth_ratio": wall["synth"] / wall["floor"],
        "synth_without_cfn_validation_s": wall[NO_CFN_VALIDATION],
        "synth_without_cfn_validation_ratio": wall[NO_CFN_VALIDATION] / wall["floor"],
        "stages": {str(count): wall[str(count)] for count in args.stages},
        # The same medians in CPU seconds: steadier on a busy machine.
        "cpu": {
            "floor_s": cpu["floor"],
            "synth_s": cpu["synth"],
            "synth_ratio": cpu["synth"] / cpu["floor"],
            "synth_without_cfn_validation_s": cpu[NO_CFN_VALIDATION],
            "synth_without_cfn_validation_ratio": cpu[NO_CFN_VALIDATION] / cpu["floor"],
            "stages": {str(count): cpu[str(count)] for count in args.stages},
        },
        "max_stack_resources": stacks[most]["resources"],
        "max_stack_resources_stack": most,
        "max_template_bytes": stacks[largest]["template_bytes"],
        "max_template_bytes_stack": largest,
        "cloudformation_limits": {
            "resources": CFN_MAX_RESOURCES,
            "template_bytes": CFN_MAX_TEMPLATE_BYTES,
        },
        "stacks": stacks,
        "samples": synths["samples"],
    }
    skip_tests = "--skip-tests or --quick was given" if args.skip_tests else None
    report.update(timed_target("test_suite", "test", skip_tests, progress))
    skip_deploy = "--skip-local-deploy or --quick was given"
    report.update(
        timed_target(
            "local_deploy",
            "local-deploy",
            skip_deploy if args.skip_local_deploy else None,
            progress,
        )
    )
    report["machine"] = machine()
    report["load_average"] = {"before": load_before, "after": os.getloadavg()}
    report["targets"] = evaluate(report)
    if args.profile:
        try:
            report["profile"] = profile_synth(WORK / "profile", progress)
        except (BenchError, OSError, ValueError) as err:
            report["profile"] = {"error": str(err)}
    return report


# app.py with each jsii request counted by the project line that made it.
ROUND_TRIP_PROGRAM = """
import collections, json, runpy, sys
from jsii._kernel.providers import process
root, app, out = sys.argv[1:4]
kinds, lines = collections.Counter(), collections.Counter()
send = process._NodeProcess.send
def counted(self, request, response_type):
    kinds[type(request).__name__.lstrip("_")] += 1
    frame = sys._getframe(1)
    while frame and not (frame.f_code.co_filename.startswith(root + "/")
                         and "/.venv/" not in frame.f_code.co_filename):
        frame = frame.f_back
    code = frame.f_code if frame else None
    where = (f"{code.co_filename[len(root) + 1:]}:{frame.f_lineno} {code.co_name}"
             if frame else "(no project frame)")
    lines[where] += 1
    return send(self, request, response_type)
process._NodeProcess.send = counted
sys.argv = [app]
try:
    runpy.run_path(app, run_name="__main__")
except SystemExit:
    pass
with open(out, "w") as f:
    json.dump({"requests": sum(kinds.values()), "by_kind": dict(kinds.most_common()),
               "top_lines": dict(lines.most_common(20))}, f, indent=2)
"""
# Inclusive CPU time of the jsii kernel (Node) under these frames: (name, file).
NODE_MARKERS = {
    "synthesize": ("synthesize", "core/lib/private/synthesis.js"),
    "validate_templates": ("validateTemplates", "synthesis-validation.js"),
    "cfn_validate_engine_start": ("WasmCompositeEngine", "bindings_wasm.js"),
    "cfn_validate_templates": ("validate", "cloudformation-validate-plugin.js"),
    "cdk_nag_packs": ("validate", "cdk-nag/lib/nag-pack.js"),
    "token_resolution": ("resolve", "core/lib/private/resolve.js"),
    "module_loading": ("wrapModuleLoad", ""),
    "waiting_for_python": ("readSync", ""),
    "garbage_collection": ("(garbage collector)", ""),
}
PERF_COUNTERS = (
    "phase:Load",
    "phase:Construction",
    "phase:Synthesis",
    "validateTemplates",
    "CloudFormationValidate.validate",
    "Stack.resolve",
    "count:Constructs(cnt)",
)


def profile_synth(directory: Path, progress: Callable[[str], None]) -> dict[str, Any]:
    """Three instrumented synths of every stage: jsii requests, Python, Node."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    app = str(ROOT / "app.py")
    with tempfile.TemporaryDirectory(prefix="cdk-bench-") as scratch:
        progress("profile: jsii requests by project line")
        requests = directory / "jsii-requests.json"
        program = ["-c", ROUND_TRIP_PROGRAM, str(ROOT), app, str(requests)]
        run_synth(program, cli_context(), Path(tempfile.mkdtemp(dir=scratch)))
        progress("profile: cProfile of python app.py")
        stats = directory / "synth.prof"
        program = ["-m", "cProfile", "-o", str(stats), app]
        run_synth(program, cli_context(), Path(tempfile.mkdtemp(dir=scratch)))
        progress("profile: CDK performance counters and a Node CPU profile")
        counters, cpu = directory / "perf-counters.json", directory / "node-cpu"
        run_synth(
            [app],
            cli_context(**{"@aws-cdk/core.slowSynthThreshold": 0}),
            Path(tempfile.mkdtemp(dir=scratch)),
            CDK_PERF_COUNTERS_FILE=str(counters),
            NODE_OPTIONS=f"--cpu-prof --cpu-prof-dir={cpu}",
        )
    perf = json.loads(counters.read_text())["counters"]
    # The jsii runtime starts two Node processes; the kernel's profile is larger.
    kernel = max(cpu.glob("*.cpuprofile"), key=lambda path: path.stat().st_size)
    return {
        "note": "instrumented runs: compare shares, not absolute times",
        "files": str(directory.relative_to(ROOT)),
        "jsii_requests": json.loads(requests.read_text()),
        "python_cumulative": python_hotspots(stats, directory / "synth-cumulative.txt"),
        "cdk_perf_counters_ms": {
            key: perf[key] for key in PERF_COUNTERS if key in perf
        },
        "node_cpu_ms": node_hotspots(kernel),
    }


def python_hotspots(stats_file: Path, text_file: Path) -> list[dict[str, Any]]:
    """The cProfile by cumulative time: full text to a file, the top in JSON."""
    import pstats

    with text_file.open("w", encoding="utf-8") as out:
        stats = pstats.Stats(str(stats_file), stream=out)
        stats.sort_stats("cumulative").print_stats(60)
    rows = sorted(stats.stats.items(), key=lambda item: item[1][3], reverse=True)
    top = []
    for (filename, line, function), (_, calls, _, cumulative, _) in rows[:25]:
        where = filename.removeprefix(f"{ROOT}/").removeprefix(".venv/lib/")
        top.append(
            {
                "function": f"{where}:{line}({function})",
                "calls": calls,
                "cumulative_s": round(cumulative, 3),
            }
        )
    return top


def node_hotspots(cpuprofile: Path) -> dict[str, int]:
    """Milliseconds of Node CPU samples with each marker frame on the stack."""
    profile = json.loads(cpuprofile.read_text())
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {
        child: node["id"]
        for node in profile["nodes"]
        for child in node.get("children", ())
    }
    spent: dict[int, float] = {}
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        spent[sample] = spent.get(sample, 0) + delta
    totals = dict.fromkeys(NODE_MARKERS, 0.0)
    for node_id, micros in spent.items():
        hit, current = set(), node_id
        while current is not None:
            frame = nodes[current]["callFrame"]
            for marker, (name, suffix) in NODE_MARKERS.items():
                if frame["functionName"] == name and frame["url"].endswith(suffix):
                    hit.add(marker)
            current = parent.get(current)
        for marker in hit:
            totals[marker] += micros
    result = {"total": round(sum(spent.values()) / 1000)}
    result.update({key: round(value / 1000) for key, value in totals.items()})
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, metavar="N")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one run; skip the test suite and the local deploy",
    )
    parser.add_argument(
        "--no-warm-up",
        action="store_true",
        help="skip the untimed first synth (the smoke test uses this)",
    )
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--skip-local-deploy", action="store_true")
    parser.add_argument(
        "--stages",
        default=",".join(map(str, STAGE_COUNTS)),
        metavar="COUNTS",
        help="comma-separated stage counts to synthesize (default: %(default)s)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="also profile one synth of every stage"
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="stages file for the full synth (default: config/stages.json)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.skip_tests, args.skip_local_deploy = 1, True, True
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.config is not None and not args.config.is_file():
        parser.error(f"--config {args.config}: no such file")
    try:
        args.stages = tuple(sorted({int(n) for n in args.stages.split(",") if n}))
    except ValueError:
        parser.error(f"--stages {args.stages!r}: expected counts such as 1,2,4,8")
    if any(count < 1 for count in args.stages):
        parser.error("--stages: every count must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def progress(line: str) -> None:
        emit(f"bench: {line}", sys.stderr)

    try:
        report = build_report(args, progress)
    except (BenchError, subprocess.TimeoutExpired) as err:
        emit(f"bench: {err}", sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for line in table(report):
        emit(line)
    emit(f"\nwritten: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
