"""The shared structured logger: JSON lines, correlation id, nothing secret."""

from __future__ import annotations

import json
from typing import Any

import platform_logging
import pytest


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The JSON lines written since the last read."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_each_call_is_one_json_line_with_fixed_keys_first(capsys, context):
    log = platform_logging.Logger("backup-test", level="INFO")
    log.bind(context)

    log.info("shard backup succeeded", shard=2, status="Success")

    [line] = lines(capsys)
    assert list(line)[:5] == list(platform_logging.RESERVED_KEYS)
    assert line["level"] == "INFO"
    assert line["service"] == "backup-test"
    assert line["correlation_id"] == context.aws_request_id
    assert (line["message"], line["shard"], line["status"]) == (
        "shard backup succeeded",
        2,
        "Success",
    )


def test_lines_below_the_level_are_not_written(capsys):
    log = platform_logging.Logger("backup-test", level="WARNING")

    log.info("routine")
    log.debug("detail")
    log.error("broken")

    assert [line["message"] for line in lines(capsys)] == ["broken"]


def test_the_level_comes_from_log_level_when_not_given(capsys, monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "debug")

    platform_logging.Logger("backup-test").debug("detail")

    assert [line["level"] for line in lines(capsys)] == ["DEBUG"]


def test_secret_looking_fields_are_redacted_even_when_nested(capsys):
    log = platform_logging.Logger("backup-test", level="INFO")

    log.info(
        "connecting",
        password="hunter2",  # noqa: S106 - a fake secret that must not appear
        session_token="abc",  # noqa: S106 - a fake secret that must not appear
        request={"Authorization": "Bearer xyz", "bucket": "b"},
    )

    [line] = lines(capsys)
    assert line["password"] == line["session_token"] == platform_logging.REDACTED
    assert line["request"] == {
        "Authorization": platform_logging.REDACTED,
        "bucket": "b",
    }
    assert "hunter2" not in json.dumps(line)


def test_a_field_never_overwrites_a_fixed_key(capsys, context):
    log = platform_logging.Logger("backup-test", level="INFO")
    log.bind(context)

    log.info("real message", message="spoofed", correlation_id="spoofed")

    [line] = lines(capsys)
    assert line["message"] == "real message"
    assert line["correlation_id"] == context.aws_request_id
    assert line["message_"] == line["correlation_id_"] == "spoofed"


def test_a_huge_value_is_cut_so_a_whole_event_cannot_be_dumped(capsys):
    log = platform_logging.Logger("backup-test", level="INFO")
    event = {"Records": [{"body": "x" * 500} for _ in range(50)]}

    log.info("received", event=event, note="y" * 5000)

    [line] = lines(capsys)
    limit = platform_logging.MAX_VALUE_CHARS
    assert isinstance(line["event"], str)
    assert len(line["event"]) < limit + 100
    assert line["note"].startswith("y" * limit)
    assert line["note"].endswith("[3000 more characters cut]")


def test_without_a_context_the_correlation_id_is_null(capsys):
    log = platform_logging.Logger("backup-test", level="INFO")
    log.bind(None)

    log.warning("started outside Lambda")

    assert lines(capsys)[0]["correlation_id"] is None
