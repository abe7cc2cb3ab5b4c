"""Fixtures for the backup Lambdas and host script: fake AWS, handlers by path."""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from unittest import mock

import pytest
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_SRC = ROOT / "lambda_src"
LAYER = LAMBDA_SRC / "common" / "python"
# The layer's modules import by bare name, as they do inside Lambda.
if str(LAYER) not in sys.path:
    sys.path.insert(0, str(LAYER))

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Each handler reads its environment once at import; tests then swap SETTINGS.
HANDLER_ENV = {
    "backup_orchestrator": {
        "STAGE": "Test",
        "BACKUP_BUCKET": "import-time-bucket",
        "SSM_DOCUMENT_NAME": "import-time-document",
        "PRUNE_DAYS": "7",
        "COMMAND_TIMEOUT_SECONDS": "600",
    },
    "backup_verifier": {
        "STAGE": "Test",
        "BACKUP_BUCKET": "import-time-bucket",
        "SHARDS": "2",
        "MIN_BACKUP_BYTES": "16",
        "METRIC_NAMESPACE": "Test/Backups",
    },
}


def load_handler(name: str, env: dict[str, str] | None = None) -> ModuleType:
    """Import lambda_src/<name>/handler.py as its own module, as Lambda would."""
    # Both functions name their module handler.py, so each gets a unique name
    # here instead of a sys.path entry that would shadow the other.
    spec = importlib.util.spec_from_file_location(
        f"{name}_handler_{uuid.uuid4().hex[:8]}", LAMBDA_SRC / name / "handler.py"
    )
    module = importlib.util.module_from_spec(spec)
    # Dataclasses resolve their annotations through sys.modules.
    sys.modules[spec.name] = module
    with mock.patch.dict(os.environ, env or HANDLER_ENV[name], clear=False):
        spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a fixed region, so nothing can reach a real account."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[None]:
    """An in-process moto account for one test.

    boto3's default session (and the service models it has parsed) is kept
    between tests; moto's state is still reset for each one.
    """
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        yield


@pytest.fixture(scope="session")
def orchestrator_module() -> ModuleType:
    """The orchestrator handler, imported once with the test environment."""
    return load_handler("backup_orchestrator")


@pytest.fixture(scope="session")
def verifier_module() -> ModuleType:
    """The verifier handler, imported once with the test environment."""
    return load_handler("backup_verifier")


@pytest.fixture
def orchestrator(orchestrator_module: ModuleType, aws: None) -> Iterator[ModuleType]:
    """The orchestrator module with clients made inside this test's moto account."""
    orchestrator_module.aws.cache_clear()
    yield orchestrator_module
    orchestrator_module.aws.cache_clear()


@pytest.fixture
def verifier(verifier_module: ModuleType, aws: None) -> Iterator[ModuleType]:
    """The verifier module with clients made inside this test's moto account."""
    verifier_module.aws.cache_clear()
    yield verifier_module
    verifier_module.aws.cache_clear()


@dataclass
class FakeContext:
    """A Lambda context whose remaining time the test controls."""

    remaining_ms: int = 300_000
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        """Return the milliseconds left, as the test set them."""
        return self.remaining_ms


@pytest.fixture
def context() -> FakeContext:
    """A Lambda context with five minutes left and a fresh request id."""
    return FakeContext()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Make resource names that no other test uses."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:12]}"
