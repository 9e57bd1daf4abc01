"""The SLA clocks of a ticket, derived from its history.

Clocks: `first_response` (created -> first public agent reply), `next_update` (each agent reply or
customer message -> the next agent reply), `restore` (created -> service restored), `resolve`
(created -> resolved) and `onsite` (an engineer dispatched -> arrived on site). Pending time never counts;
the time between a resolution (or a restoration) and a reopen does not count either. The on-site clock is
the exception: the engineer travels whatever the ticket waits for, so it counts every minute (24x7 calendar,
never paused) until arrival, and a resolution stops it like every other clock. Everything is recomputed from
the facts, so the result only depends on (facts, targets, calendar, now); the service layer turns
warn_at/due_at into audit events. Which events are which facts is `event_fact`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from console.i18n import _
from console.rules.calendars import BusinessCalendar, get_calendar
from db.vocabulary import DONE_STATUSES, LIVE_CLOCK_STATES, STATUSES

__all__ = [
    "CLOCKS",
    "ONSITE_CALENDAR",
    "STATUSES",
    "ClockName",
    "ClockState",
    "ClockStatus",
    "Cycle",
    "Fact",
    "Targets",
    "clock_calendar",
    "compute_clocks",
    "cycles",
    "event_fact",
    "most_urgent",
    "remaining",
]

ClockName = Literal["first_response", "next_update", "restore", "resolve", "onsite"]
ClockState = Literal["running", "warning", "paused", "met", "breached", "none"]
FactKind = Literal["created", "reply", "customer", "status", "dispatched", "arrived"]

CLOCKS: tuple[ClockName, ...] = ("first_response", "next_update", "restore", "resolve", "onsite")
ONSITE_CALENDAR = "24x7"  # the on-site promise ("on site within 1 hour") runs around the clock
_DONE = frozenset(DONE_STATUSES)
_LIVE_STATES = frozenset(LIVE_CLOCK_STATES)
# Timestamps are floats; sums of differences may be off by a few ulps, far below a microsecond.
_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class Fact:
    at: datetime  # aware
    kind: FactKind
    status: str | None = None  # for kind "status": the status entered


def event_fact(kind: str, sub: object = None) -> FactKind | None:
    """The clock fact an event of ``kind`` is (status changes aside), or None. ``sub`` is what tells apart events of
    one kind: a call's direction, a visit's stage, whether an escalation sent the customer a notice. One rule for
    the live clocks and the reports' bulk replay.

    An outbound call reaches the customer as a public reply does (the standards' 30-minute callback), so it stops
    the first-response clock and starts a new next-update cycle; an inbound call is the customer's contact, like a
    message (it starts a new next-update cycle: the customer is owed the next update from then)."""
    if kind == "reply":
        return "reply"
    if kind == "customer_message":
        return "customer"
    if kind == "call":
        return "reply" if sub == "out" else "customer" if sub == "in" else None
    if kind == "escalated":
        return "reply" if sub else None  # the handover notice is a public reply
    if kind == "visit" and sub in ("dispatched", "arrived"):
        return "dispatched" if sub == "dispatched" else "arrived"
    return None


@dataclass(frozen=True, slots=True)
class Targets:
    """Target minutes per clock (None: the policy sets no target) and the warning fraction."""

    first_response: int | None = None
    next_update: int | None = None
    restore: int | None = None
    resolve: int | None = None
    onsite: int | None = None
    warning: float = 0.75

    def minutes(self, clock: ClockName) -> int | None:
        value: int | None = getattr(self, clock)
        return value


@dataclass(frozen=True, slots=True)
class ClockStatus:
    clock: ClockName
    state: ClockState
    due_at: datetime | None  # running: when it falls due; breached: when it fell due; else None
    remaining_s: int | None  # business seconds left, negative when overdue; None without a target
    target_min: int | None
    warn_at: datetime | None
    elapsed_s: int  # business seconds counted so far
    started_at: datetime | None  # identity of the clock's current cycle (for audit events)
    stopped_at: datetime | None = None  # None while the clock runs or is paused
    # Where counting resumed last and what had been counted before, so `remaining` needs no history.
    _counted_from: float | None = field(default=None, repr=False, compare=False)
    _counted_before: float = field(default=0.0, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Cycle:
    clock: ClockName
    started_at: datetime
    stopped_at: datetime | None
    elapsed_s: int
    target_min: int | None
    met: bool | None  # None: no target, or still running and not yet overdue


class _Run:
    """One cycle of a clock: counted segments (pauses and reopen gaps are the holes between them)."""

    __slots__ = ("open_at", "segs", "started", "stopped", "stopped_ts")

    def __init__(self, started: datetime, t: float, paused: bool) -> None:
        self.started = started
        self.segs: list[tuple[float, float]] = []
        self.open_at: float | None = None if paused else t
        self.stopped: datetime | None = None
        self.stopped_ts: float | None = None

    def pause(self, t: float) -> None:
        if self.open_at is not None:
            if t > self.open_at:
                self.segs.append((self.open_at, t))
            self.open_at = None

    def resume(self, t: float) -> None:
        self.open_at = t

    def stop(self, at: datetime, t: float) -> None:
        self.pause(t)
        self.stopped, self.stopped_ts = at, t

    def reopen(self, t: float, paused: bool) -> None:
        self.stopped = self.stopped_ts = None
        self.open_at = None if paused else t


def _timeline(facts: Iterable[Fact], now_ts: float) -> dict[ClockName, list[_Run]]:
    runs: dict[ClockName, list[_Run]] = {c: [] for c in CLOCKS}
    status = "new"
    fr: _Run | None = None
    rs: _Run | None = None
    rv: _Run | None = None
    nu: _Run | None = None
    site: _Run | None = None  # the on-site visit: never paused, stopped by the arrival
    for i, fact in enumerate(facts):
        if fact.at.tzinfo is None:
            raise ValueError(_("facts[{index}]: a time zone (UTC offset) is required").format(index=i))
        t = fact.at.timestamp()
        if t > now_ts:
            break  # facts are ordered; the future does not exist yet
        kind = fact.kind
        if fr is None or rs is None or rv is None:
            if kind != "created":
                raise ValueError(_("facts[{index}]: history must start with a 'created' fact").format(index=i))
            fr, rs, rv = _Run(fact.at, t, False), _Run(fact.at, t, False), _Run(fact.at, t, False)
            runs["first_response"].append(fr)
            runs["restore"].append(rs)
            runs["resolve"].append(rv)
            continue
        pending = status == "pending"
        if kind == "reply" or kind == "customer":
            if kind == "reply" and fr.stopped is None:
                fr.stop(fact.at, t)
            # No next_update cycle runs while the ticket is resolved/closed.
            if status not in _DONE and (nu is None or nu.stopped is not None or nu.started != fact.at):
                if nu is not None and nu.stopped is None:
                    nu.stop(fact.at, t)
                nu = _Run(fact.at, t, pending)
                runs["next_update"].append(nu)
        elif kind == "status":
            new = fact.status
            if new not in STATUSES:
                raise ValueError(_("facts[{index}]: unknown status {status!r}").format(index=i, status=new))
            if new == status:
                continue
            prev, status = status, new
            live = [r for r in (fr, rs, rv, nu) if r is not None and r.stopped is None]
            if prev == "pending":
                for r in live:
                    r.resume(t)
            if new == "pending":
                for r in live:
                    r.pause(t)
            paused = new == "pending"
            if new in _DONE:
                for r in live:
                    r.stop(fact.at, t)
                if site is not None and site.stopped is None:
                    site.stop(fact.at, t)
            elif prev in _DONE:
                # A reopen: restore and resolve resume (the gap does not count), a new update cycle starts.
                rv.reopen(t, paused)
                if new != "restored" and rs.stopped is not None:
                    rs.reopen(t, paused)
                nu = _Run(fact.at, t, paused)
                runs["next_update"].append(nu)
            elif new == "restored":
                if rs.stopped is None:
                    rs.stop(fact.at, t)
            elif prev == "restored" and new in ("new", "open") and rs.stopped is not None:
                rs.reopen(t, paused)  # the workaround no longer holds
        elif kind == "dispatched":
            # A second dispatch while one is still on its way keeps the first promise (the service refuses it).
            if status not in _DONE and (site is None or site.stopped is not None):
                site = _Run(fact.at, t, False)
                runs["onsite"].append(site)
        elif kind == "arrived":
            if site is not None and site.stopped is None:
                site.stop(fact.at, t)
        elif kind != "created":
            raise ValueError(_("facts[{index}]: unknown kind {kind!r}").format(index=i, kind=kind))
    return runs


class _Eval:
    """A run measured at `now`: elapsed business seconds and threshold crossings."""

    __slots__ = ("before", "cal", "closed", "elapsed", "open_at")

    def __init__(self, run: _Run, cal: BusinessCalendar, now_ts: float) -> None:
        self.cal = cal
        self.closed = [(a, b, cal.elapsed_ts(a, b)) for a, b in run.segs]
        self.open_at = run.open_at
        e = self.before = sum(x[2] for x in self.closed)
        if run.open_at is not None:
            e += cal.elapsed_ts(run.open_at, now_ts)
        self.elapsed = e

    def crossing(self, seconds: float) -> float | None:
        """First instant at which the counted time reaches `seconds` (None if it never will)."""
        cum = 0.0
        for a, _b, e in self.closed:
            if e > 0 and cum + e >= seconds - _EPS:
                return self.cal.add_ts(a, max(seconds - cum, 0.0))
            cum += e
        if self.open_at is not None:
            return self.cal.add_ts(self.open_at, max(seconds - cum, 0.0))
        return None


def _status(
    clock: ClockName,
    run: _Run | None,
    target: int | None,
    warning: float,
    cal: BusinessCalendar,
    now_ts: float,
) -> ClockStatus:
    if run is None:
        return ClockStatus(clock, "none", None, None, target, None, 0, None)
    ev = _Eval(run, cal, now_ts)
    elapsed_s = int(ev.elapsed + _EPS)
    if target is None:
        return ClockStatus(clock, "none", None, None, None, None, elapsed_s, run.started, run.stopped)
    target_s = target * 60
    remaining_s = target_s - elapsed_s
    like = run.started
    if run.stopped is None and run.open_at is None:
        return ClockStatus(clock, "paused", None, remaining_s, target, None, elapsed_s, run.started)
    due = ev.crossing(target_s)
    warn = ev.crossing(target_s * warning)
    due_at = cal.to_zone(due, like) if due is not None else None
    warn_at = cal.to_zone(warn, like) if warn is not None else None
    state: ClockState
    if run.stopped_ts is not None:
        state = "met" if due is None or run.stopped_ts <= due else "breached"
        if state == "met":
            due_at = None  # only a breach has a due instant worth an audit event
    elif due is not None and now_ts > due:
        state = "breached"
    elif warn is not None and now_ts >= warn:
        state = "warning"
    else:
        state = "running"
    return ClockStatus(
        clock,
        state,
        due_at,
        remaining_s,
        target,
        warn_at,
        elapsed_s,
        run.started,
        run.stopped,
        run.open_at,
        ev.before,
    )


def _now_ts(now: datetime) -> float:
    if now.tzinfo is None:
        raise ValueError(_("now: a time zone (UTC offset) is required"))
    return now.timestamp()


def clock_calendar(clock: ClockName, calendar: BusinessCalendar) -> BusinessCalendar:
    """The calendar a clock counts in: the ticket's, except the on-site clock's 24x7."""
    return get_calendar(ONSITE_CALENDAR) if clock == "onsite" else calendar


def compute_clocks(
    facts: Sequence[Fact], targets: Targets, calendar: BusinessCalendar, now: datetime
) -> dict[str, ClockStatus]:
    """The state of each clock at `now` (facts after `now` are ignored)."""
    now_ts = _now_ts(now)
    return _statuses(_timeline(facts, now_ts), targets, calendar, now_ts)


def _statuses(
    runs: dict[ClockName, list[_Run]], targets: Targets, calendar: BusinessCalendar, now_ts: float
) -> dict[str, ClockStatus]:
    return {
        clock: _status(
            clock,
            runs[clock][-1] if runs[clock] else None,
            targets.minutes(clock),
            targets.warning,
            clock_calendar(clock, calendar),
            now_ts,
        )
        for clock in CLOCKS
    }


def cycles(
    facts: Sequence[Fact], targets: Targets, calendar: BusinessCalendar, now: datetime
) -> dict[str, list[Cycle]]:
    """Every cycle of every clock, for reports (resolution time excludes resolved -> reopen gaps)."""
    now_ts = _now_ts(now)
    return _cycles(_timeline(facts, now_ts), targets, calendar, now_ts)


def clocks_and_cycles(
    facts: Sequence[Fact], targets: Targets, calendar: BusinessCalendar, now: datetime
) -> tuple[dict[str, ClockStatus], dict[str, list[Cycle]]]:
    """`compute_clocks` and `cycles` from one replay of the facts (what the service stores with every change)."""
    now_ts = _now_ts(now)
    runs = _timeline(facts, now_ts)
    return _statuses(runs, targets, calendar, now_ts), _cycles(runs, targets, calendar, now_ts)


def _cycles(
    runs: dict[ClockName, list[_Run]], targets: Targets, calendar: BusinessCalendar, now_ts: float
) -> dict[str, list[Cycle]]:
    out: dict[str, list[Cycle]] = {}
    for clock in CLOCKS:
        target = targets.minutes(clock)
        items: list[Cycle] = []
        cal = clock_calendar(clock, calendar)
        for run in runs[clock]:
            ev = _Eval(run, cal, now_ts)
            met: bool | None = None
            if target is not None:
                due = ev.crossing(target * 60)
                if run.stopped_ts is not None:
                    met = due is None or run.stopped_ts <= due
                elif due is not None and now_ts > due:
                    met = False  # still running but already overdue: the outcome is settled
            items.append(Cycle(clock, run.started, run.stopped, int(ev.elapsed + _EPS), target, met))
        out[clock] = items
    return out


def ever_resolved(facts: Sequence[Fact], now: datetime) -> bool:
    """Whether the history reached resolved or closed at least once by ``now`` (the reopen rate's denominator)."""
    return any(f.kind == "status" and f.status in _DONE and f.at <= now for f in facts)


def most_urgent(statuses: Mapping[str, ClockStatus] | Iterable[ClockStatus]) -> ClockStatus | None:
    """The running clock that matters most: breached ones first, then the earliest due."""
    values = statuses.values() if isinstance(statuses, Mapping) else statuses
    live = [s for s in values if s.state in _LIVE_STATES and s.stopped_at is None and s.due_at is not None]
    if not live:
        return None
    return min(live, key=lambda s: (s.state != "breached", s.due_at))


def remaining(status: ClockStatus, calendar: BusinessCalendar, now: datetime) -> int | None:
    """Business seconds left at `now` for a clock computed earlier, without replaying its history.

    Matches `compute_clocks(...)[clock].remaining_s` as long as no new fact arrived in between.
    """
    if status.target_min is None:
        return None
    if status.state not in _LIVE_STATES or status.stopped_at is not None:
        return status.remaining_s  # paused (frozen) or stopped (final)
    calendar = clock_calendar(status.clock, calendar)
    now_ts = _now_ts(now)
    if status._counted_from is not None:
        # The same sum compute_clocks makes, so both agree to the second.
        counted = status._counted_before + calendar.elapsed_ts(status._counted_from, now_ts)
        return status.target_min * 60 - int(counted + _EPS)
    if status.due_at is None:
        return status.remaining_s
    # Built elsewhere: assume no pause between the due instant and now.
    due_ts = status.due_at.timestamp()
    if now_ts <= due_ts:
        return math.ceil(calendar.elapsed_ts(now_ts, due_ts) - _EPS)
    return -int(calendar.elapsed_ts(due_ts, now_ts) + _EPS)
