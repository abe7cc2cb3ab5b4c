"""Every stack of every stage deploys into moto and holds its whole template."""

from __future__ import annotations

import base64
import hashlib

import pytest
from moto.cloudformation.parsing import get_model_map


def test_every_stage_of_the_app_is_deployed(moto_deployment, synthesized):
    deployed = {stack.stage for stack in moto_deployment.stacks}

    assert set(synthesized.templates) <= deployed


def test_every_stack_is_complete_in_the_mock(moto_deployment, every_stack):
    for stack in every_stack:
        cloudformation = moto_deployment.client("cloudformation", stack)
        (held,) = cloudformation.describe_stacks(StackName=stack.stack_name)["Stacks"]

        assert held["StackStatus"] == "CREATE_COMPLETE", stack.display_name


def test_stacks_are_created_after_the_stacks_they_import_from(moto_deployment):
    exported_by: dict[str, int] = {}
    for position, stack in enumerate(moto_deployment.stacks):
        for output in stack.template.get("Outputs", {}).values():
            if "Export" in output:
                exported_by[str(output["Export"]["Name"])] = position
        for imported in _imports(stack.template):
            assert exported_by.get(imported, position) < position, (
                f"{stack.display_name} imports {imported} before it exists"
            )


def test_every_resource_moto_implements_is_in_the_mock(moto_deployment):
    implemented = get_model_map()
    absent = [
        stack.path_of(logical_id)
        for stack in moto_deployment.stacks
        for logical_id, resource in stack.resources.items()
        if resource["Type"] in implemented
        and "Condition" not in resource
        and (stack.display_name, logical_id) not in moto_deployment.physical_ids
    ]

    assert absent == []


def test_custom_resources_are_answered_by_the_stand_in(moto_deployment):
    custom = [
        (stack.display_name, logical_id)
        for stack in moto_deployment.stacks
        for logical_id, resource in stack.resources.items()
        if resource["Type"].startswith("Custom::")
    ]

    if not custom:
        pytest.skip("no template has a custom resource")
    assert all(key in moto_deployment.physical_ids for key in custom)


def test_every_function_runs_the_code_of_its_asset(moto_deployment):
    assets = {
        (asset.bucket, asset.key): asset
        for stack in moto_deployment.stacks
        for asset in stack.assets
    }
    functions = moto_deployment.resources("AWS::Lambda::Function")

    assert functions
    for function in functions:
        code = function.declared("Code")
        held = function.client("lambda").get_function(
            FunctionName=function.physical_id
        )["Configuration"]
        body = assets[code["S3Bucket"], code["S3Key"]].body()
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        assert held["CodeSha256"] == digest, function.path


def _imports(value) -> list[str]:
    if isinstance(value, list):
        return [name for item in value for name in _imports(item)]
    if not isinstance(value, dict):
        return []
    if set(value) == {"Fn::ImportValue"} and isinstance(value["Fn::ImportValue"], str):
        return [value["Fn::ImportValue"]]
    return [name for item in value.values() for name in _imports(item)]
