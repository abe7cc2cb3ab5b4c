"""What deploying a synthesized cloud assembly takes, read from its manifests.

Stages, each with its stacks in dependency order, every stack's account, region,
template and the file assets it expects in the bootstrap bucket. Shared by the
local deploy (scripts/local_deploy.py) and the in-process moto tests.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STACK = "aws:cloudformation:stack"
NESTED_ASSEMBLY = "cdk:cloud-assembly"
ASSET_MANIFEST = "cdk:asset-manifest"
# A fixed timestamp keeps zipped directory assets byte-identical between runs.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class PlanError(Exception):
    """The assembly cannot be deployed as it is; the message says why."""


@dataclass(frozen=True)
class FileAsset:
    """A file or directory of cdk.out that a stack expects at bucket/key."""

    source: Path
    packaging: str
    bucket: str
    key: str

    def body(self) -> bytes:
        """The bytes the CDK CLI would upload: the file, or the directory zipped."""
        if self.packaging == "file":
            return self.source.read_bytes()
        if self.packaging != "zip":
            raise PlanError(f"{self.source}: unknown asset packaging {self.packaging}")
        if self.source.is_file():
            return self.source.read_bytes()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in self.source.rglob("*") if p.is_file()):
                info = zipfile.ZipInfo(path.relative_to(self.source).as_posix())
                info.date_time = ZIP_EPOCH
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
        return buffer.getvalue()


@dataclass(frozen=True)
class StackPlan:
    """One stack as the CDK CLI would deploy it."""

    display_name: str
    stack_name: str
    account: str
    region: str
    template: dict[str, Any] = field(repr=False)
    template_url: str | None = None
    assets: tuple[FileAsset, ...] = ()
    container_images: tuple[str, ...] = ()
    bootstrap_parameter: str | None = None
    bootstrap_version: int | None = None

    @property
    def stage(self) -> str:
        return self.display_name.rpartition("/")[0]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template.get("Resources", {})

    def path_of(self, logical_id: str) -> str:
        """The construct path of a resource, which reads better than its logical id."""
        metadata = self.resources.get(logical_id, {}).get("Metadata", {})
        return metadata.get("aws:cdk:path", f"{self.display_name}/{logical_id}")


@dataclass(frozen=True)
class StagePlan:
    """The stacks of one stage, each after the stacks it depends on."""

    name: str
    stacks: tuple[StackPlan, ...]

    @property
    def environments(self) -> list[tuple[str, str]]:
        return sorted({(s.account, s.region) for s in self.stacks})


def read_plan(outdir: str | Path) -> dict[str, StagePlan]:
    """Every stage of the assembly in `outdir`, in the order the manifest lists them."""
    outdir = Path(outdir)
    if not (outdir / "manifest.json").is_file():
        raise PlanError(f"{outdir} holds no cloud assembly; run `make synth` first")
    stages: dict[str, list[StackPlan]] = {}
    _read_assembly(outdir, stages)
    return {name: StagePlan(name, tuple(stacks)) for name, stacks in stages.items()}


def _read_assembly(directory: Path, stages: dict[str, list[StackPlan]]) -> None:
    manifest = _load(directory / "manifest.json")
    artifacts: dict[str, dict] = manifest.get("artifacts", {})
    missing = [m.get("key", "?") for m in manifest.get("missing", [])]
    if missing:
        raise PlanError(
            f"{directory} still needs context lookups ({', '.join(missing)}); "
            "a deployable synth needs none"
        )
    for artifact_id in _dependency_order(artifacts):
        artifact = artifacts[artifact_id]
        if artifact["type"] == NESTED_ASSEMBLY:
            nested = artifact["properties"]["directoryName"]
            _read_assembly(directory / nested, stages)
        elif artifact["type"] == STACK:
            stack = _stack(directory, artifacts, artifact)
            stages.setdefault(stack.stage or stack.display_name, []).append(stack)


def _dependency_order(artifacts: dict[str, dict]) -> list[str]:
    """Artifact ids so that each comes after the ones it depends on."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(artifact_id: str) -> None:
        if artifact_id in ordered:
            return
        if artifact_id in visiting:
            raise PlanError(f"dependency cycle through {artifact_id}")
        visiting.add(artifact_id)
        for dependency in artifacts[artifact_id].get("dependencies", []):
            if dependency in artifacts:
                visit(dependency)
        visiting.discard(artifact_id)
        ordered.append(artifact_id)

    for artifact_id in artifacts:
        visit(artifact_id)
    return ordered


def _stack(directory: Path, artifacts: dict[str, dict], artifact: dict) -> StackPlan:
    properties = artifact["properties"]
    display_name = artifact.get("displayName") or properties["stackName"]
    account, region = _environment(display_name, artifact.get("environment", ""))

    def placeholders(text: str) -> str:
        return (
            text.replace("${AWS::AccountId}", account)
            .replace("${AWS::Region}", region)
            .replace("${AWS::Partition}", "aws")
        )

    assets: list[FileAsset] = []
    images: list[str] = []
    for dependency in artifact.get("dependencies", []):
        if artifacts.get(dependency, {}).get("type") != ASSET_MANIFEST:
            continue
        manifest_file = directory / artifacts[dependency]["properties"]["file"]
        asset_manifest = _load(manifest_file)
        for asset in asset_manifest.get("files", {}).values():
            for destination in asset["destinations"].values():
                assets.append(
                    FileAsset(
                        source=directory / asset["source"]["path"],
                        packaging=asset["source"].get("packaging", "file"),
                        bucket=placeholders(destination["bucketName"]),
                        key=placeholders(destination["objectKey"]),
                    )
                )
        images += list(asset_manifest.get("dockerImages", {}))
    template_url = properties.get("stackTemplateAssetObjectUrl")
    return StackPlan(
        display_name=display_name,
        stack_name=properties.get("stackName", display_name.replace("/", "-")),
        account=account,
        region=region,
        template=_load(directory / properties["templateFile"]),
        template_url=placeholders(template_url) if template_url else None,
        assets=tuple(assets),
        container_images=tuple(images),
        bootstrap_parameter=properties.get("bootstrapStackVersionSsmParameter"),
        bootstrap_version=properties.get("requiresBootstrapStackVersion"),
    )


def _environment(display_name: str, environment: str) -> tuple[str, str]:
    account, _, region = environment.removeprefix("aws://").partition("/")
    if not account.isdigit() or not region or region.startswith("unknown"):
        raise PlanError(
            f"{display_name} has no explicit account and region ({environment!r}); "
            "every stack must name both"
        )
    return account, region


def _load(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise PlanError(f"cannot read {path}: {err}") from err
