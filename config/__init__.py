"""Stage configuration: read `config/stages.json`, validate it, return dataclasses."""

from config.loader import DEFAULT_CONFIG_PATH, ConfigError, load_stages, select_stages
from config.model import StageConfig

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "ConfigError",
    "StageConfig",
    "load_stages",
    "select_stages",
]
