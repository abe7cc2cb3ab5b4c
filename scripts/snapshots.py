"""Readable snapshots of every synthesized template, one file per stack.

    python -m scripts.snapshots [--assembly cdk.out] [--update]

tests/snapshots/<Stage>/<Stack>.json holds each template as pretty JSON with
sorted keys, so a change of any template is a plain file diff in review. What
changes without the code changing is normalized away: the asset hashes the
assembly's asset manifests publish (S3 keys of file assets, image tags) and the
construct-path and asset metadata the CLI adds. Without --update the snapshots
are checked and every difference is printed; `make snapshots` (and
UPDATE_SNAPSHOTS=1 for the tests) rewrites them.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path
from typing import Any

from scripts.assembly import ROOT, AssemblyError, Stack, emit, read_assembly

SNAPSHOTS = ROOT / "tests" / "snapshots"
UPDATE_COMMAND = "make snapshots"
ASSET_HASH = "<asset-hash>"
# Metadata keys that say where a resource came from, not what it is.
_LOCATION_METADATA = re.compile(r"^aws:(cdk:path|asset:.*)$")
_DIFF_LINES = 40


def normalize(value: Any, hashes: frozenset[str] = frozenset()) -> Any:
    """The template with asset hashes replaced and location metadata removed.

    Only the hashes the assembly's asset manifests publish are replaced, so a
    pinned checksum that happens to be 64 hex digits still shows in review.
    """
    pattern = re.compile("|".join(sorted(hashes))) if hashes else None

    def clean(item: Any) -> Any:
        if isinstance(item, str):
            return pattern.sub(ASSET_HASH, item) if pattern else item
        if isinstance(item, list):
            return [clean(entry) for entry in item]
        if isinstance(item, dict):
            cleaned = {}
            for key, entry in item.items():
                if key == "Metadata" and isinstance(entry, dict):
                    entry = {
                        k: v
                        for k, v in entry.items()
                        if not _LOCATION_METADATA.match(k)
                    }
                    if not entry:
                        continue
                cleaned[clean(key)] = clean(entry)
            return cleaned
        return item

    return clean(value)


def render(template: dict, hashes: frozenset[str] = frozenset()) -> str:
    """The snapshot text of a template."""
    return json.dumps(normalize(template, hashes), indent=2, sort_keys=True) + "\n"


def snapshot_files(stacks: dict[str, Stack], root: Path = SNAPSHOTS) -> dict[Path, str]:
    """Snapshot path -> expected text, for every stack of the assembly."""
    # A stack may name another stack's asset, so every hash is replaced everywhere.
    hashes = frozenset().union(*(stack.asset_hashes for stack in stacks.values()))
    return {
        root / stack.stage / f"{stack.name}.json": render(stack.template, hashes)
        for stack in stacks.values()
    }


def _stale(expected: dict[Path, str], root: Path, stages: set[str]) -> list[Path]:
    """Stored snapshots of the given stages that no stack produces any more."""
    return sorted(
        path
        for stage in stages
        for path in (root / stage).glob("*.json")
        if path not in expected
    )


def differences(stacks: dict[str, Stack], root: Path = SNAPSHOTS) -> list[str]:
    """One message per snapshot that is changed, missing or stale."""
    expected = snapshot_files(stacks, root)
    stored_stages = (
        {p.name for p in root.iterdir() if p.is_dir()} if root.exists() else set()
    )
    problems = []
    for path, text in sorted(expected.items()):
        shown = _shown(path)
        if not path.exists():
            problems.append(f"{shown}: no snapshot yet for this stack")
            continue
        stored = path.read_text(encoding="utf-8")
        if stored != text:
            diff = list(
                difflib.unified_diff(
                    stored.splitlines(),
                    text.splitlines(),
                    f"{shown} (snapshot)",
                    f"{shown} (synthesized)",
                    lineterm="",
                )
            )
            more = len(diff) - _DIFF_LINES
            tail = [f"... {more} more diff lines"] if more > 0 else []
            problems.append(
                "\n".join([f"{shown}: changed", *diff[:_DIFF_LINES], *tail])
            )
    stages = stored_stages | {stack.stage for stack in stacks.values()}
    for path in _stale(expected, root, stages):
        problems.append(f"{_shown(path)}: snapshot of a stack that no longer exists")
    return problems


def update(stacks: dict[str, Stack], root: Path = SNAPSHOTS) -> list[Path]:
    """Write every snapshot and delete stale ones of the assembly's stages."""
    expected = snapshot_files(stacks, root)
    changed = []
    for path, text in sorted(expected.items()):
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    for path in _stale(expected, root, {stack.stage for stack in stacks.values()}):
        path.unlink()
        changed.append(path)
    return changed


def failure_message(problems: list[str]) -> str:
    return (
        f"{len(problems)} template snapshot(s) differ from the synthesized app. "
        f"Review the diff; if the change is intended run `{UPDATE_COMMAND}` and "
        "commit tests/snapshots/.\n\n" + "\n\n".join(problems)
    )


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make snapshots", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--assembly", default=str(ROOT / "cdk.out"))
    parser.add_argument("--update", action="store_true", help="rewrite the snapshots")
    args = parser.parse_args(argv)
    try:
        stacks = read_assembly(args.assembly)
    except AssemblyError as err:
        emit(f"snapshots: {err}", sys.stderr)
        return 2
    if args.update:
        for path in update(stacks):
            emit(f"snapshots: updated {_shown(path)}")
        emit(f"snapshots: {len(stacks)} stack(s) written to {_shown(SNAPSHOTS)}")
        return 0
    problems = differences(stacks)
    if problems:
        emit(failure_message(problems))
        return 1
    emit(f"snapshots: {len(stacks)} stack(s) match {_shown(SNAPSHOTS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
