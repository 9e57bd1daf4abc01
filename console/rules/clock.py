"""Wall-clock access in one place, so tests and `--at`/`--now` can substitute their own instant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def parse_instant(text: str, *, field: str = "time") -> datetime:
    """ISO 8601; a time without an offset is taken as UTC. Raises ValueError naming the field."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"{field}: not an ISO 8601 time: {text!r}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)
