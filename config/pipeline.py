"""Read and validate config/pipeline.json: where the delivery pipeline gets its code.

Problems are raised as one `ConfigError` naming the file, the key, the bad value
and what is allowed, like the stage file's, before any construct is built.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from config import rules
from config.loader import ConfigError, _Section
from config.model import StageConfig

DEFAULT_PIPELINE_PATH = Path(__file__).with_name("pipeline.json")
ROOT_KEY = "pipeline"

_NAME = rules.matching(
    re.compile(r"^[a-z][a-z0-9-]{1,39}$"),
    "lower-case letters, digits and hyphens, 2 to 40 long, e.g. slack-platform",
)
_CONNECTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:"
    r"(?P<account>\d{12}):connection/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$"
)
_REPOSITORY = rules.matching(
    re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"),
    "owner/name of the repository, e.g. example-org/slack-platform",
)
_BRANCH = rules.matching(
    re.compile(r"^(?!.*\.\.)(?!.*//)[A-Za-z0-9][A-Za-z0-9._/-]{0,99}(?<![/.])$"),
    "a branch name such as main",
)
_VERSION = rules.matching(
    re.compile(r"^\d+\.\d+\.\d+$"), "an exact npm version such as 4.7.3"
)
_KEYS = dict.fromkeys(
    (
        "name",
        "source",
        "test_stage",
        "production_stage",
        "smoke_test",
        "cdk_assets_version",
    )
)

_SOURCE_KEYS = ("connection_arn", "repository", "branch")


@dataclass(frozen=True)
class SourceConfig:
    """The repository branch the pipeline builds, reached through a connection."""

    connection_arn: str
    repository: str
    branch: str


@dataclass(frozen=True)
class SmokeTestConfig:
    """How long the health check after the test stage keeps trying."""

    attempts: int
    delay_seconds: int


@dataclass(frozen=True)
class PipelineConfig:
    """The pipeline: it lives in the production stage's account and region."""

    name: str
    source: SourceConfig
    test_stage: StageConfig
    production_stage: StageConfig
    smoke_test: SmokeTestConfig
    cdk_assets_version: str

    @property
    def account(self) -> str:
        return self.production_stage.account

    @property
    def region(self) -> str:
        return self.production_stage.region


def load_pipeline(
    stages: dict[str, StageConfig], path: str | Path = DEFAULT_PIPELINE_PATH
) -> PipelineConfig:
    """Read the pipeline file; its stage names must be stages of `stages`."""
    source = str(path)
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such configuration file") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"{source}: not valid JSON ({err})") from None
    s = _Section(raw, ROOT_KEY, source, _KEYS)
    test_stage = _stage(s, "test_stage", stages, production=False)
    production_stage = _stage(s, "production_stage", stages, production=True)
    return PipelineConfig(
        name=s.get("name", _NAME),
        source=_source(
            s.section("source", dict.fromkeys(_SOURCE_KEYS)),
            production_stage.account,
        ),
        test_stage=test_stage,
        production_stage=production_stage,
        smoke_test=_smoke_test(
            s.section("smoke_test", dict.fromkeys(("attempts", "delay_seconds")))
        ),
        cdk_assets_version=s.get("cdk_assets_version", _VERSION),
    )


def _stage(
    s: _Section, key: str, stages: dict[str, StageConfig], *, production: bool
) -> StageConfig:
    name = s.get(key, rules.one_of(tuple(stages)))
    if stages[name].production != production:
        kind = "a production" if production else "a non-production"
        raise s.fail(
            key,
            f"stage {name} has production = {str(not production).lower()}",
            f"{kind} stage of the stage file",
        )
    return stages[name]


def _source(s: _Section, account: str) -> SourceConfig:
    arn = s.get(
        "connection_arn",
        rules.matching(
            _CONNECTION_ARN,
            "the ARN of a CodeConnections connection, "
            "arn:aws:codeconnections:REGION:ACCOUNT:connection/UUID",
        ),
    )
    connection_account = _CONNECTION_ARN.match(arn).group("account")
    if connection_account != account:
        raise s.fail(
            "connection_arn",
            f"the connection is in account {connection_account}",
            f"a connection of the pipeline's account {account}",
        )
    return SourceConfig(
        connection_arn=arn,
        repository=s.get("repository", _REPOSITORY),
        branch=s.get("branch", _BRANCH),
    )


def _smoke_test(s: _Section) -> SmokeTestConfig:
    return SmokeTestConfig(
        attempts=s.get("attempts", rules.integer(1, 60)),
        delay_seconds=s.get("delay_seconds", rules.integer(1, 300)),
    )
