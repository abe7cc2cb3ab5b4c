"""Every synthesized stack, deployed into moto's CloudFormation, shared by modules.

Deploying every stage takes seconds, so the deployment outlives the module that
made it: each module re-enters the mock without resetting it and deploys again
only when another test's own `mock_aws()` has wiped moto's state since.
"""

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


@pytest.fixture(scope="session")
def deployments() -> list[Deployment]:
    """The latest deployment of this test process, once one has been made."""
    return []


@pytest.fixture(scope="module")
def moto_deployment(synthesized, deployments):
    """All stages of the session's assembly, created in moto if not there yet.

    A test in a module using this must not start its own `mock_aws()`: nested
    inside this one it would not reset, and what it made would stay beside
    the deployment.
    """
    mock = mock_aws()
    # Neither reset on entering nor wipe on leaving: the next module reuses it.
    mock.start(reset=False)
    kept = False
    try:
        with patched_moto():
            if not (deployments and deployments[-1].is_live()):
                # Start from nothing: what a wiped or failed one left would collide.
                mock.stop(remove_data=True)
                mock.start(reset=True)
                deployment = Deployment(read_plan(synthesized.outdir))
                with warnings.catch_warnings():
                    # moto warns of each type it skips; unsupported.py lists them.
                    warnings.filterwarnings("ignore", "Tried to parse", UserWarning)
                    deployment.deploy()
                deployments[:] = [deployment]
            kept = True
            yield deployments[-1]
    finally:
        # A deployment that failed part way is wiped, not left for the next.
        mock.stop(remove_data=not kept)
