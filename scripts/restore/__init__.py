"""The restore drill's parts: the backup to restore, the host, the remote restore.

scripts/restore_drill.py composes them into the command; each part raises
`DrillFailed` with a one-line reason the command prints as it is.
"""

from __future__ import annotations

import time

from botocore.exceptions import ClientError


class DrillFailed(Exception):
    """The drill cannot go on, or what it proved is not enough; says why in one line."""


def error_code(err: ClientError) -> str:
    """The AWS error code of a failed call, e.g. AccessDenied."""
    return err.response.get("Error", {}).get("Code", "Unknown")


def error_text(err: ClientError) -> str:
    """The error code and AWS's own message, for a one-line reason."""
    message = err.response.get("Error", {}).get("Message", "")
    return f"{error_code(err)}: {message}" if message else error_code(err)


class Deadline:
    """A point in time some seconds from now, on the monotonic clock."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    @property
    def passed(self) -> bool:
        """Whether the time is up."""
        return time.monotonic() >= self._end
