"""Service-level metrics as pure functions over plain data (shared by the wallboard and reports).

Times are business seconds under each ticket's calendar, exactly what the `first_response` and `resolve` SLA
clocks count (pending time and resolved-to-reopened gaps excluded). A rate is None when its denominator is 0,
so "no data" never reads as 0 %.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from console.rules.sla import ClockName, Cycle

__all__ = [
    "Attainment",
    "Counters",
    "attainment",
    "escalation_rate",
    "fcr_rate",
    "finished_in",
    "first_response_time",
    "median",
    "p90",
    "rate",
    "reopen_rate",
    "resolution_time",
]


class Counters(Protocol):
    """What the rates read from a ticket (``db.stats.TicketCounts`` and ``db.models.Ticket`` both fit)."""

    @property
    def public_replies(self) -> int: ...
    @property
    def escalations(self) -> int: ...
    @property
    def reopens(self) -> int: ...


def median(values: Sequence[float]) -> float | None:
    """The middle value; with an even count, the mean of the two middle values."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[mid])
    return (ordered[mid - 1] + ordered[mid]) / 2


def p90(values: Sequence[float]) -> float | None:
    """90th percentile, nearest-rank: the smallest value with at least 90 % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(1, math.ceil(0.9 * len(ordered))) - 1])


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def escalation_rate(received: Sequence[Counters]) -> float | None:
    """Tickets escalated at least once ÷ tickets received."""
    return rate(sum(1 for t in received if t.escalations > 0), len(received))


def reopen_rate(resolved: Sequence[Counters]) -> float | None:
    """Tickets reopened at least once ÷ tickets resolved."""
    return rate(sum(1 for t in resolved if t.reopens > 0), len(resolved))


def fcr_rate(closed: Sequence[Counters]) -> float | None:
    """Closed with exactly one public reply, never escalated nor reopened ÷ closed."""
    first_contact = sum(1 for t in closed if t.public_replies == 1 and t.escalations == 0 and t.reopens == 0)
    return rate(first_contact, len(closed))


@dataclass(frozen=True)
class Attainment:
    met: int
    total: int

    @property
    def rate(self) -> float | None:
        return rate(self.met, self.total)


def attainment(cycles: Iterable[Cycle]) -> Attainment:
    """Met cycles ÷ cycles that finished or already breached (not yet due or untargeted ones don't count)."""
    settled = [c.met for c in cycles if c.met is not None]
    return Attainment(sum(1 for m in settled if m), len(settled))


def finished_in(cycle: Cycle, start: datetime, end: datetime) -> bool:
    """The cycle stopped within [start, end)."""
    return cycle.stopped_at is not None and start <= cycle.stopped_at < end


def _stopped_elapsed(cycles: Mapping[ClockName, Sequence[Cycle]], clock: ClockName) -> int | None:
    runs = cycles.get(clock, ())
    if not runs or runs[-1].stopped_at is None:
        return None
    return runs[-1].elapsed_s


def first_response_time(cycles: Mapping[ClockName, Sequence[Cycle]]) -> int | None:
    """Business seconds from creation to the first public reply (None until there is one)."""
    return _stopped_elapsed(cycles, "first_response")


def resolution_time(cycles: Mapping[ClockName, Sequence[Cycle]]) -> int | None:
    """Business seconds from creation to resolution, pending and reopen gaps excluded (None if unresolved)."""
    return _stopped_elapsed(cycles, "resolve")
