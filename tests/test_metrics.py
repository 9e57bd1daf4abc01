"""Service-level metrics on hand-built data, checked to the second."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from console.rules import metrics, sla
from console.rules.calendars import get_calendar

MON = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
BIZ = get_calendar("cn-business")
TARGETS = sla.Targets(first_response=60, next_update=None, restore=None, resolve=480)


def t(minutes: float) -> datetime:
    return MON + timedelta(minutes=minutes)


def by_clock(cycles: dict[str, list[sla.Cycle]]) -> dict[sla.ClockName, list[sla.Cycle]]:
    """``sla.cycles`` keyed by clock name, as the metrics take them (it returns every clock)."""
    return {clock: cycles[clock] for clock in sla.CLOCKS}


@dataclass(frozen=True)
class TicketCounts:
    """A ticket's counters as the rates read them (metrics.Counters)."""

    id: int
    public_replies: int
    escalations: int
    reopens: int


def counts(replies: int, escalations: int = 0, reopens: int = 0, id: int = 0) -> TicketCounts:
    return TicketCounts(id=id, public_replies=replies, escalations=escalations, reopens=reopens)


def test_median_and_p90() -> None:
    assert metrics.median([]) is None
    assert metrics.median([5]) == 5
    assert metrics.median([9, 1, 5]) == 5
    assert metrics.median([4, 1, 3, 2]) == 2.5  # even count: mean of the two middle values
    assert metrics.p90([]) is None
    assert metrics.p90(list(range(1, 11))) == 9  # nearest rank: ceil(0.9 * 10) = 9th
    assert metrics.p90(list(range(1, 12))) == 10  # ceil(9.9) = 10th
    assert metrics.p90([7]) == 7


def test_rates() -> None:
    received = [counts(1), counts(2, escalations=1), counts(0, escalations=3), counts(1)]
    assert metrics.escalation_rate(received) == 0.5
    assert metrics.escalation_rate([]) is None
    resolved = [counts(1, reopens=2), counts(1), counts(1), counts(1)]
    assert metrics.reopen_rate(resolved) == 0.25
    closed = [counts(1), counts(2), counts(1, escalations=1), counts(1, reopens=1), counts(0), counts(1)]
    assert metrics.fcr_rate(closed) == pytest.approx(2 / 6)


def test_first_response_and_resolution_in_business_seconds() -> None:
    # Created Monday 17:30 Shanghai (30 min before closing), answered Tuesday 09:15, pending 10:00-11:00,
    # resolved Tuesday 12:00: first response 30 + 15 min; resolution 30 + 180 - 60 = 150 min.
    created = MON + timedelta(hours=8, minutes=30)
    tuesday = MON + timedelta(days=1)
    facts = [
        sla.Fact(created, "created"),
        sla.Fact(tuesday + timedelta(minutes=15), "reply"),
        sla.Fact(tuesday + timedelta(hours=1), "status", "pending"),
        sla.Fact(tuesday + timedelta(hours=2), "status", "open"),
        sla.Fact(tuesday + timedelta(hours=3), "status", "resolved"),
    ]
    cycles = by_clock(sla.cycles(facts, TARGETS, BIZ, tuesday + timedelta(hours=5)))
    assert metrics.first_response_time(cycles) == 45 * 60
    assert metrics.resolution_time(cycles) == 150 * 60


def test_resolution_excludes_the_gap_before_a_reopen() -> None:
    facts = [
        sla.Fact(t(0), "created"),
        sla.Fact(t(10), "reply"),
        sla.Fact(t(40), "status", "resolved"),
        sla.Fact(t(100), "status", "open"),  # reopened: 60 min gap not counted
        sla.Fact(t(130), "status", "resolved"),
    ]
    cycles = by_clock(sla.cycles(facts, TARGETS, BIZ, t(200)))
    assert metrics.resolution_time(cycles) == 70 * 60
    assert metrics.first_response_time(cycles) == 10 * 60
    open_facts = facts[:2]
    assert metrics.resolution_time(by_clock(sla.cycles(open_facts, TARGETS, BIZ, t(200)))) is None
    assert metrics.first_response_time(by_clock(sla.cycles(facts[:1], TARGETS, BIZ, t(5)))) is None


def test_attainment_counts_finished_and_breached_cycles_only() -> None:
    met = sla.cycles([sla.Fact(t(0), "created"), sla.Fact(t(59), "reply")], TARGETS, BIZ, t(300))
    late = sla.cycles([sla.Fact(t(0), "created"), sla.Fact(t(61), "reply")], TARGETS, BIZ, t(300))
    overdue = sla.cycles([sla.Fact(t(0), "created")], TARGETS, BIZ, t(120))  # still unanswered, past due
    running = sla.cycles([sla.Fact(t(0), "created")], TARGETS, BIZ, t(30))  # not yet due: not counted
    all_fr = [*met["first_response"], *late["first_response"], *overdue["first_response"], *running["first_response"]]
    result = metrics.attainment(all_fr)
    assert (result.met, result.total) == (1, 3)
    assert result.rate == pytest.approx(1 / 3)
    assert metrics.attainment([]).rate is None
    assert metrics.finished_in(met["first_response"][0], t(0), t(60))
    assert not metrics.finished_in(met["first_response"][0], t(60), t(120))
    assert not metrics.finished_in(running["first_response"][0], t(0), t(60))
