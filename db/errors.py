"""Errors the storage layer raises; callers turn them into one-line messages."""

from __future__ import annotations


class StoreError(Exception):
    """Base class: anything the store refuses or cannot do."""


class DatabaseUnavailable(StoreError):
    """The database file cannot be used (missing directory, not SQLite, corrupt, read-only)."""


class NotFound(StoreError):
    """A record that was asked for does not exist."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key} not found")
        self.kind = kind
        self.key = key


class Conflict(StoreError):
    """A write was based on a stale version of a record (optimistic concurrency)."""

    def __init__(self, ticket_id: int, expected: int, actual: int) -> None:
        super().__init__(f"ticket {ticket_id} changed (version {actual}, expected {expected})")
        self.ticket_id = ticket_id
        self.expected = expected
        self.actual = actual


class Duplicate(StoreError):
    """A unique key already exists."""


class BadLogin(StoreError):
    """A login the database refuses as a role of its own (``reason``: ``long``, ``chars``, ``reserved`` or
    ``group``; ``foreign``: a role the helpdesk did not make, whose password it may not set)."""

    def __init__(self, login: str, reason: str) -> None:
        super().__init__(f"login {login!r} cannot be a database role here ({reason})")
        self.login = login
        self.reason = reason


class ReadOnly(StoreError):
    """A write was attempted on a store opened read-only (e.g. the wallboard)."""


class SameFile(StoreError):
    """A backup was asked to overwrite the database it copies (``path`` is the destination as given)."""

    def __init__(self, path: object) -> None:
        super().__init__(f"{path} is the database itself")
        self.path = path
