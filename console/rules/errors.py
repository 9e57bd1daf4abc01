"""Errors the service layer raises. Each carries the exit code the CLI uses and a one-line message."""

from __future__ import annotations


class HelpdeskError(Exception):
    exit_code = 1


class BadInput(HelpdeskError):
    """The request itself is malformed (bad flag value, bad file, bad time)."""

    exit_code = 2


class ImportFailed(BadInput):
    """Every bad row, one `FILE:LINE: reason` line each."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(lines[0] if lines else "import failed")
        self.lines = lines


class Refused(HelpdeskError):
    """A well-formed request that the rules refuse (transition, permission, stale view)."""

    exit_code = 1


class PermissionDenied(Refused):
    exit_code = 3


class Stale(Refused):
    """The ticket changed since the caller looked at it."""

    exit_code = 4


class Unavailable(HelpdeskError):
    """The database cannot be used."""

    exit_code = 5
