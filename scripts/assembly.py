"""Read a synthesized cloud assembly (cdk.out) into stacks keyed by display name.

Shared by the review tools (risk, cost, diagram, snapshots). A stack is named by
its display name, e.g. "Prod/Data": the stage is everything before the last "/",
so stacks of two assemblies are matched by what they are, not by hashed ids.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
NO_STAGE = "(app)"


class AssemblyError(Exception):
    """The directory is not a readable cloud assembly."""


@dataclass(frozen=True)
class Stack:
    """One CloudFormation stack of the assembly, with its parsed template."""

    stage: str
    name: str
    stack_name: str
    template: dict[str, Any] = field(repr=False)
    termination_protection: bool = False
    # Hashes of the file and image assets the stack's asset manifests publish.
    asset_hashes: frozenset[str] = frozenset()

    @property
    def display_name(self) -> str:
        return self.name if self.stage == NO_STAGE else f"{self.stage}/{self.name}"

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template.get("Resources", {})

    def of_type(self, *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.resources.items():
            if resource.get("Type") in types:
                yield logical_id, resource


def read_assembly(outdir: str | Path) -> dict[str, Stack]:
    """Every stack of the assembly, stage assemblies included, by display name."""
    outdir = Path(outdir)
    if not (outdir / "manifest.json").is_file():
        raise AssemblyError(
            f"{outdir}: no manifest.json, not a cloud assembly (run `make synth`)"
        )
    stacks: dict[str, Stack] = {}
    _read_manifest(outdir, stacks)
    return dict(sorted(stacks.items()))


def _read_manifest(directory: Path, stacks: dict[str, Stack]) -> None:
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    artifacts = manifest.get("artifacts", {})
    for artifact in artifacts.values():
        properties = artifact.get("properties", {})
        if artifact.get("type") == "cdk:cloud-assembly":
            _read_manifest(directory / properties["directoryName"], stacks)
        elif artifact.get("type") == "aws:cloudformation:stack":
            hashes = _asset_hashes(
                directory, artifacts, artifact.get("dependencies", [])
            )
            stack = _stack(directory, artifact, properties, hashes)
            stacks[stack.display_name] = stack


def _asset_hashes(directory: Path, artifacts: dict, dependencies: list) -> frozenset:
    hashes: set[str] = set()
    for name in dependencies:
        dependency = artifacts.get(name, {})
        if dependency.get("type") != "cdk:asset-manifest":
            continue
        path = directory / dependency["properties"]["file"]
        assets = json.loads(path.read_text(encoding="utf-8"))
        hashes |= set(assets.get("files", {})) | set(assets.get("dockerImages", {}))
    return frozenset(hashes)


def _stack(
    directory: Path, artifact: dict, properties: dict, hashes: frozenset
) -> Stack:
    display = artifact.get("displayName") or properties.get("stackName")
    stage, _, name = display.rpartition("/")
    template = json.loads(
        (directory / properties["templateFile"]).read_text(encoding="utf-8")
    )
    return Stack(
        stage=stage or NO_STAGE,
        name=name,
        stack_name=properties.get("stackName", name),
        template=template,
        termination_protection=bool(properties.get("terminationProtection", False)),
        asset_hashes=hashes,
    )


def stages(stacks: dict[str, Stack]) -> dict[str, list[Stack]]:
    """Stacks grouped by stage, in name order."""
    grouped: dict[str, list[Stack]] = {}
    for stack in stacks.values():
        grouped.setdefault(stack.stage, []).append(stack)
    return grouped


class StageIndex:
    """Follows Ref, Fn::GetAtt and Fn::ImportValue between the stacks of a stage."""

    def __init__(self, stacks: list[Stack]):
        self.stacks = {stack.name: stack for stack in stacks}
        self.exports: dict[str, tuple[Stack, Any]] = {}
        for stack in stacks:
            for output in stack.template.get("Outputs", {}).values():
                name = output.get("Export", {}).get("Name")
                if isinstance(name, str):
                    self.exports[name] = (stack, output.get("Value"))

    def target(self, stack: Stack, expr: Any) -> tuple[Stack, str] | None:
        """The resource an expression is a reference to, if it is exactly one."""
        if not isinstance(expr, dict) or len(expr) != 1:
            return None
        ((function, argument),) = expr.items()
        if function == "Ref" and isinstance(argument, str):
            logical_id = argument
        elif function == "Fn::GetAtt" and isinstance(argument, list) and argument:
            logical_id = argument[0]
        elif function == "Fn::ImportValue" and argument in self.exports:
            exporter, value = self.exports[argument]
            return self.target(exporter, value)
        else:
            return None
        return (stack, logical_id) if logical_id in stack.resources else None

    def references(self, stack: Stack, value: Any) -> set[tuple[str, str]]:
        """(stack name, logical id) of every resource a value refers to."""
        found: set[tuple[str, str]] = set()
        direct = self.target(stack, value)
        if direct:
            found.add((direct[0].name, direct[1]))
        elif isinstance(value, dict):
            for item in value.values():
                found |= self.references(stack, item)
        elif isinstance(value, list):
            for item in value:
                found |= self.references(stack, item)
        return found

    def resource(self, key: tuple[str, str]) -> dict[str, Any]:
        return self.stacks[key[0]].resources[key[1]]


def tags(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource's tags as a dict, whichever of the CloudFormation shapes it uses."""
    raw = resource.get("Properties", {}).get("Tags")
    if isinstance(raw, dict):
        return dict(raw)
    found = {}
    for tag in raw or []:
        if isinstance(tag, dict) and "Key" in tag:
            found[tag["Key"]] = tag.get("Value")
    return found


def tier_of(resource: dict[str, Any]) -> str | None:
    """The `tier` tag of a resource, when it has a literal one."""
    value = tags(resource).get("tier")
    return value if isinstance(value, str) else None


def emit(line: str = "", stream: TextIO | None = None) -> None:
    """Write one line of a tool's report (stdout unless told otherwise)."""
    (stream or sys.stdout).write(line + "\n")


def write_assembly(
    outdir: str | Path,
    templates: dict[str, dict[str, Any]],
    *,
    protected: frozenset[str] = frozenset(),
    assets: dict[str, list[str]] | None = None,
) -> Path:
    """Write a minimal cloud assembly of hand-made templates, keyed "Stage/Stack".

    It has the layout `cdk synth` writes (one nested assembly per stage), so the
    review tools can be tried on small examples. Stacks named in `protected` have
    termination protection; `assets` lists the file asset hashes of a stack.
    """
    outdir = Path(outdir)
    by_stage: dict[str, dict[str, dict]] = {}
    for display_name, template in templates.items():
        stage, _, name = display_name.rpartition("/")
        by_stage.setdefault(stage, {})[name] = template
    top: dict[str, Any] = {}
    for stage, stacks in by_stage.items():
        directory = outdir / f"assembly-{stage}"
        directory.mkdir(parents=True, exist_ok=True)
        artifacts = {}
        for name, template in stacks.items():
            artifact_id = f"{stage}{name}"
            (directory / f"{artifact_id}.template.json").write_text(
                json.dumps(template, indent=1), encoding="utf-8"
            )
            hashes = (assets or {}).get(f"{stage}/{name}", [])
            manifest = {"version": "55.0.0", "files": dict.fromkeys(hashes, {})}
            (directory / f"{artifact_id}.assets.json").write_text(json.dumps(manifest))
            artifacts[f"{artifact_id}.assets"] = {
                "type": "cdk:asset-manifest",
                "properties": {"file": f"{artifact_id}.assets.json"},
            }
            artifacts[artifact_id] = {
                "type": "aws:cloudformation:stack",
                "properties": {
                    "templateFile": f"{artifact_id}.template.json",
                    "stackName": f"{stage}-{name}",
                    "terminationProtection": f"{stage}/{name}" in protected,
                },
                "dependencies": [f"{artifact_id}.assets"],
                "displayName": f"{stage}/{name}",
            }
        _write_manifest(directory, artifacts)
        top[f"assembly-{stage}"] = {
            "type": "cdk:cloud-assembly",
            "properties": {"directoryName": f"assembly-{stage}", "displayName": stage},
        }
    _write_manifest(outdir, top)
    return outdir


def _write_manifest(directory: Path, artifacts: dict[str, Any]) -> None:
    manifest = {"version": "55.0.0", "artifacts": artifacts}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1))
