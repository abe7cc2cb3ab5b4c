"""Template snapshots: every stack of every stage, stored as readable JSON files.

A failing snapshot test names the command that accepts the change:
`make snapshots` (or UPDATE_SNAPSHOTS=1 for this test file).
"""

from __future__ import annotations

import os

import pytest

from scripts.assembly import read_assembly, write_assembly
from scripts.snapshots import (
    ASSET_HASH,
    differences,
    failure_message,
    normalize,
    render,
    snapshot_files,
    update,
)

HASH_A = "a" * 64
HASH_B = "0123456789abcdef" * 4


def lambda_template(asset: str, memory: int = 128) -> dict:
    """A small template with a file asset, as the CDK writes it."""
    return {
        "Parameters": {
            "BootstrapVersion": {
                "Type": "AWS::SSM::Parameter::Value<String>",
                "Default": "/cdk-bootstrap/hnb659fds/version",
            }
        },
        "Resources": {
            "Handler": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Code": {"S3Bucket": "cdk-assets", "S3Key": f"{asset}.zip"},
                    "MemorySize": memory,
                },
                "Metadata": {
                    "aws:cdk:path": "Dev/Ops/Handler/Resource",
                    "aws:asset:path": f"asset.{asset}",
                    "cdk_nag": {"rules_to_suppress": [{"id": "AwsSolutions-L1"}]},
                },
            }
        },
    }


def test_asset_hashes_and_location_metadata_are_normalized():
    normalized = normalize(lambda_template(HASH_A), frozenset({HASH_A}))
    handler = normalized["Resources"]["Handler"]

    assert handler["Properties"]["Code"]["S3Key"] == f"{ASSET_HASH}.zip"
    assert handler["Metadata"] == {
        "cdk_nag": {"rules_to_suppress": [{"id": "AwsSolutions-L1"}]}
    }
    assert normalize({f"AssetParameters{HASH_B}S3Bucket": 1}, frozenset({HASH_B})) == {
        f"AssetParameters{ASSET_HASH}S3Bucket": 1
    }
    assert normalized["Parameters"]["BootstrapVersion"]["Default"].endswith("version")


def test_a_pinned_checksum_that_is_no_asset_stays_visible():
    template = lambda_template(HASH_A)
    template["Resources"]["Handler"]["Properties"]["Description"] = f"sha256 {HASH_B}"

    text = render(template, frozenset({HASH_A}))

    assert f"sha256 {HASH_B}" in text
    assert HASH_A not in text


def test_unchanged_code_with_a_new_asset_hash_does_not_churn_the_snapshot(tmp_path):
    def snapshot(name: str, asset: str, memory: int = 128) -> str:
        assembly = write_assembly(
            tmp_path / name,
            {"Dev/Ops": lambda_template(asset, memory)},
            assets={"Dev/Ops": [asset]},
        )
        return next(iter(snapshot_files(read_assembly(assembly), tmp_path).values()))

    assert snapshot("a", HASH_A) == snapshot("b", HASH_B)
    assert snapshot("a", HASH_A) != snapshot("c", HASH_A, 256)


def test_snapshots_are_pretty_json_with_sorted_keys():
    text = render({"Resources": {"B": {"Type": "x"}, "A": {"Type": "y"}}})

    assert text == (
        '{\n  "Resources": {\n    "A": {\n      "Type": "y"\n    },\n'
        '    "B": {\n      "Type": "x"\n    }\n  }\n}\n'
    )


def test_a_changed_missing_or_stale_snapshot_is_reported_with_the_command(tmp_path):
    root = tmp_path / "snapshots"
    first = read_assembly(
        write_assembly(
            tmp_path / "first",
            {"Dev/Ops": lambda_template(HASH_A), "Dev/Old": lambda_template(HASH_A)},
        )
    )
    update(first, root)
    second = read_assembly(
        write_assembly(
            tmp_path / "second",
            {
                "Dev/Ops": lambda_template(HASH_B, 256),
                "Dev/New": lambda_template(HASH_A),
            },
        )
    )

    problems = differences(second, root)

    assert [p.splitlines()[0].split("/")[-1] for p in problems] == [
        "New.json: no snapshot yet for this stack",
        "Ops.json: changed",
        "Old.json: snapshot of a stack that no longer exists",
    ]
    assert '+        "MemorySize": 256' in problems[1]
    assert "run `make snapshots`" in failure_message(problems)

    update(second, root)
    assert differences(second, root) == []
    assert sorted(p.name for p in (root / "Dev").iterdir()) == ["New.json", "Ops.json"]


def test_every_template_of_every_stage_matches_its_snapshot(synthesized):
    stacks = read_assembly(synthesized.outdir)
    assert stacks, "the synthesized assembly has no stacks"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        update(stacks)

    problems = differences(stacks)

    if problems:
        pytest.fail(failure_message(problems), pytrace=False)


def test_no_snapshot_of_the_app_carries_an_asset_hash(synthesized):
    stacks = read_assembly(synthesized.outdir)
    hashes = set().union(*(stack.asset_hashes for stack in stacks.values()))
    assert hashes, "the app publishes no assets"

    texts = snapshot_files(stacks).values()

    assert [h for h in sorted(hashes) if any(h in text for text in texts)] == []
