"""Shared fixtures: every stage is synthesized once per test session."""

from __future__ import annotations

import fcntl
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Tests never reach AWS: fake credentials, and no region or profile of the user's.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
os.environ.update(FAKE_CREDENTIALS)
os.environ.pop("AWS_PROFILE", None)
# The pinned Node LTS first, as the Makefile does, when pytest is run directly.
os.environ["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"


@dataclass(frozen=True)
class Synthesized:
    """A synthesized cloud assembly: where it is and each stack's template."""

    outdir: Path
    # stage name -> stack id (e.g. "Network") -> parsed template
    templates: dict[str, dict[str, dict]]

    def template(self, stage: str, stack: str) -> dict:
        return self.templates[stage][stack]

    def resources(self, stage: str, stack: str, type_: str) -> dict[str, dict]:
        resources = self.template(stage, stack)["Resources"]
        return {k: v for k, v in resources.items() if v["Type"] == type_}

    def all_templates(self):
        for stage, stacks in self.templates.items():
            for stack, template in stacks.items():
                yield stage, stack, template


def synthesize(outdir: Path, **kwargs) -> Synthesized:
    """Synthesize the app in-process, as `cdk synth` would, into `outdir`."""
    import aws_cdk as cdk

    from stacks.platform import build_app

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    app = cdk.App(outdir=str(outdir), context=context)
    build_app(app, **kwargs)
    app.synth()
    return read_assembly(outdir)


def read_assembly(outdir: Path) -> Synthesized:
    templates: dict[str, dict[str, dict]] = {}
    for manifest in sorted(outdir.glob("assembly-*/manifest.json")):
        stage = manifest.parent.name.removeprefix("assembly-")
        artifacts = json.loads(manifest.read_text())["artifacts"]
        for artifact in artifacts.values():
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            stack_id = artifact["displayName"].split("/")[-1]
            path = manifest.parent / artifact["properties"]["templateFile"]
            templates.setdefault(stage, {})[stack_id] = json.loads(path.read_text())
    return Synthesized(outdir=outdir, templates=templates)


@pytest.fixture(scope="session")
def synthesized(request, tmp_path_factory) -> Synthesized:
    """Every stage of config/stages.json, synthesized once with all gates on.

    Under pytest-xdist the workers share one synth: the first to take the lock
    writes it, the others wait and read it (two synths at once on two cores
    would each take nearly twice as long). Tests read it and never write it.
    """
    worker = getattr(request.config, "workerinput", None)
    if worker is None:
        assembly = synthesize(tmp_path_factory.mktemp("cdk.out"))
    else:
        # The controller's folder for this run: new each run, shared by its workers.
        shared = tmp_path_factory.getbasetemp().parent
        outdir = shared / "cdk.out"
        with (shared / "cdk.out.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (outdir / "manifest.json").exists():
                partial = shared / f"cdk.out.{worker['workerid']}"
                synthesize(partial)
                partial.rename(outdir)
        assembly = read_assembly(outdir)
    # Tests that loop over the templates would pass on an empty assembly.
    from config import load_stages

    stages = load_stages().values()
    expected = {s.name for s in stages} | {
        s.disaster_recovery.name for s in stages if s.disaster_recovery
    }
    assert set(assembly.templates) == expected, f"{assembly.outdir} lacks stages"
    return assembly
