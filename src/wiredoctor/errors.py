"""The one exception family: caller mistakes and environment problems, never packet bytes.

Packet bytes never raise (they become values such as truncated or bad-length); everything
that does raise is a `WiredoctorError`, and the CLI turns it into one line and an exit status.
"""

from __future__ import annotations


class WiredoctorError(Exception):
    """Base of every error wiredoctor raises on purpose."""

    exit_status = 3


class InputError(WiredoctorError):
    """Input that cannot be read as what it claims to be (exit 3).

    `path` names the file, `offset` the byte offset where reading failed (None when unknown),
    `expected` says what was expected there.
    """

    def __init__(self, path: str, expected: str, offset: int | None = None) -> None:
        self.path = path
        self.offset = offset
        self.expected = expected
        where = f"{path}" if offset is None else f"{path}: at byte {offset}"
        super().__init__(f"{where}: {expected}")


class UsageError(WiredoctorError):
    """A wrong combination of arguments that the argument parser could not catch (exit 2)."""

    exit_status = 2


class EnvironmentProblem(WiredoctorError):
    """Something on the machine is missing or not permitted (exit 3)."""
