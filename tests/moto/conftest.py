"""Every synthesized stack, deployed into moto's CloudFormation once per module."""

from __future__ import annotations

import warnings

import pytest
from moto import mock_aws

from scripts.moto_patches import patched_moto
from scripts.stage_plan import StackPlan, read_plan
from tests.moto.harness import Deployment


@pytest.fixture(scope="session")
def every_stack(synthesized) -> list[StackPlan]:
    """Every stack of the session's assembly, those outside a stage included."""
    plan = read_plan(synthesized.outdir)
    return [stack for stage in plan.values() for stack in stage.stacks]


@pytest.fixture(scope="module")
def moto_deployment(synthesized):
    """All stages of the session's assembly, created in a fresh mock."""
    with mock_aws(), patched_moto():
        deployment = Deployment(read_plan(synthesized.outdir))
        with warnings.catch_warnings():
            # moto warns of each type it skips; tests/moto/unsupported.py lists them.
            warnings.filterwarnings("ignore", "Tried to parse", UserWarning)
            deployment.deploy()
        yield deployment
