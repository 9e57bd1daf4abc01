"""Service-quality reports over a period, and the satisfaction and follow-up-call records they read.

A period selects tickets by creation time; each ticket's clocks are replayed from its history at the report's
instant under its own calendar and targets, so times are business seconds exactly as the SLA clocks count them
(pending time and resolved-to-reopened gaps excluded). Every figure is one function over per-ticket figures,
so groups (by agent, tier, priority, channel or customer) are the same functions over fewer tickets.

That replay (``collect``) is the definition; a report is normally read from the rollups instead (``rollup_report``:
per-day sums of each ticket's contribution, console/service/rollups.py), which give the same numbers at a cost that
follows the period's days and groups, not its tickets.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from console.i18n import _
from console.rules import metrics, sla
from console.rules.errors import BadInput, Refused
from console.rules.validation import clean_text
from console.service.rollups import (
    COUNTER_INDEX,
    FIRST_DAY,
    LAST_DAY,
    ZERO,
    Contribution,
    bucket,
    bucket_bounds,
    contribution,
    month_first,
    month_last,
    month_of,
)
from db import reports as db_reports
from db import rollups as db_rollups
from db.models import Csat, Ticket
from db.rollups import COUNTERS, GROUP_COLUMNS, MEASURES
from db.store import ts
from db.vocabulary import DONE_STATUSES, OPEN_STATUSES

if TYPE_CHECKING:
    from console.rules.policy import Policy
    from console.service.helpdesk import HelpdeskService

REPORT_ZONE = ZoneInfo("Asia/Shanghai")  # the default business calendar's zone: the team's own days
DAY = 86400
# (key, upper bound in seconds of age; None: no bound); keys are stable for --json and --csv.
BACKLOG_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("lt_1d", DAY),
    ("1d_3d", 3 * DAY),
    ("3d_7d", 7 * DAY),
    ("7d_30d", 30 * DAY),
    ("ge_30d", None),
)
MAX_COMMENT = 2000


# -- the period -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Local days ``first``..``last`` (both included; None: open) in ``zone``, as UTC ``[start, end)``."""

    first: date | None
    last: date | None
    zone: tzinfo = REPORT_ZONE

    @property
    def start(self) -> datetime | None:
        return None if self.first is None else _midnight(self.first, self.zone)

    @property
    def end(self) -> datetime | None:
        return None if self.last is None else _midnight(self.last + timedelta(days=1), self.zone)

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.first.isoformat() if self.first else None,
            "to": self.last.isoformat() if self.last else None,
            "zone": str(self.zone),
        }


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def team_zone(policy: Policy) -> tzinfo:
    """The team's days ("today" on the wallboard, a report's dates when no --tz is given): the policy's business
    zone (``Policy.business_zone``), the same days a closing and its follow-up date are counted in."""
    return policy.business_zone()


def zone_named(name: str | None) -> tzinfo:
    if not name:
        return REPORT_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadInput(_("unknown time zone: {name}").format(name=name)) from exc


def make_period(first: date | None, last: date | None, zone: tzinfo = REPORT_ZONE) -> Period:
    if first is not None and last is not None and last < first:
        raise BadInput(_("--to {to} is before --from {from_}").format(to=last, from_=first))
    return Period(first, last, zone)


# -- one ticket's figures ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TicketFigures:
    """What the report needs of one ticket: its state now, counters, clock outcomes and satisfaction answers."""

    id: int
    created_at: datetime
    status: str
    priority: str = "P3"
    channel: str = "email"
    tier: str = "L1"
    assignee: str | None = None
    customer_id: int | None = None
    customer: str | None = None
    public_replies: int = 0
    escalations: int = 0
    reopens: int = 0
    confirmed: bool | None = None
    resolved_once: bool = False  # reached resolved or closed at least once
    first_response_s: int | None = None
    resolution_s: int | None = None
    sla: Mapping[str, metrics.Attainment] = field(default_factory=dict)
    csat: tuple[int, ...] = ()
    kb_linked: bool = False  # a knowledge article is linked to the ticket
    kb_requested: bool = False  # its closure asked for a new article (a draft was made)


def facts_from_clock_events(events: Iterable[db_reports.ClockEvent]) -> list[sla.Fact]:
    """The SLA clocks' view of a history fetched in bulk (same rule as ``service.facts_from_events``)."""
    facts: list[sla.Fact] = []
    for event in events:
        at = datetime.fromisoformat(event.at)
        if event.kind == "created":
            facts.append(sla.Fact(at, "created"))
            if event.status and event.status != "new":
                facts.append(sla.Fact(at, "status", event.status))
            continue
        if event.status:
            facts.append(sla.Fact(at, "status", event.status))
        kind = sla.event_fact(event.kind, event.sub)
        if kind is not None:
            facts.append(sla.Fact(at, kind))
    return facts


def clock_figures(
    facts: Sequence[sla.Fact], targets: sla.Targets, calendar: Any, now: datetime
) -> tuple[int | None, int | None, dict[str, metrics.Attainment], bool]:
    """First response and resolution business seconds, attainment per clock, and whether it was ever resolved."""
    if not facts or facts[0].kind != "created":
        return None, None, {}, False  # a history the clocks cannot read counts for volume only
    runs = sla.cycles(facts, targets, calendar, now)
    attained: dict[str, metrics.Attainment] = {}
    for clock in sla.CLOCKS:
        # metrics.attainment, inlined: this runs four times per ticket of the period.
        met = total = 0
        for cycle in runs[clock]:
            if cycle.met is not None:
                total += 1
                met += cycle.met
        attained[clock] = metrics.Attainment(met, total)
    resolved_once = sla.ever_resolved(facts, now)
    by_clock = cast("dict[sla.ClockName, list[sla.Cycle]]", runs)
    return metrics.first_response_time(by_clock), metrics.resolution_time(by_clock), attained, resolved_once


def collect(service: HelpdeskService, period: Period, now: datetime) -> list[TicketFigures]:
    """Every ticket created in the period, with its clocks replayed at ``now`` (three queries in all)."""
    store = service.store
    policy = service.policy()
    tickets = db_reports.period_tickets(store, period.start, period.end)
    history: dict[int, list[db_reports.ClockEvent]] = defaultdict(list)
    for event in db_reports.period_clock_events(store, period.start, period.end):
        history[event.ticket_id].append(event)
    scores: dict[int, list[int]] = defaultdict(list)
    for ticket_id, score in db_reports.period_csat(store, period.start, period.end):
        scores[ticket_id].append(score)
    linked, requested = db_reports.period_knowledge(store, period.start, period.end)
    # A local cache: the policy's own lookup goes through pydantic attribute access, slow at this volume.
    resolved: dict[tuple[str, str, str | None], tuple[Any, sla.Targets]] = {}
    out: list[TicketFigures] = []
    for t in tickets:
        key = (t.priority, t.channel, t.customer_tier)
        if key not in resolved:
            resolved[key] = policy.resolve(*key)
        calendar, targets = resolved[key]
        facts = facts_from_clock_events(history.get(t.id, ()))
        first, resolution, attained, resolved_once = clock_figures(facts, targets, calendar, now)
        out.append(
            TicketFigures(
                id=t.id,
                created_at=datetime.fromisoformat(t.created_at),
                status=t.status,
                priority=t.priority,
                channel=t.channel,
                tier=t.tier,
                assignee=t.assignee,
                customer_id=t.customer_id,
                customer=t.customer,
                public_replies=t.public_replies,
                escalations=t.escalations,
                reopens=t.reopens,
                confirmed=None if t.confirmed is None else bool(t.confirmed),
                resolved_once=resolved_once or t.status in DONE_STATUSES,
                first_response_s=first,
                resolution_s=resolution,
                sla=attained,
                csat=tuple(scores.get(t.id, ())),
                kb_linked=t.id in linked,
                kb_requested=t.id in requested,
            )
        )
    return out


# -- the metrics: one function each -------------------------------------------------------------------------


def tickets_received(figs: Sequence[TicketFigures]) -> int:
    return len(figs)


def tickets_closed(figs: Sequence[TicketFigures]) -> int:
    """Tickets of the period closed at the report's instant."""
    return sum(1 for f in figs if f.status == "closed")


def first_response_median(figs: Sequence[TicketFigures]) -> float | None:
    return metrics.median([f.first_response_s for f in figs if f.first_response_s is not None])


def first_response_p90(figs: Sequence[TicketFigures]) -> float | None:
    return metrics.p90([f.first_response_s for f in figs if f.first_response_s is not None])


def resolution_median(figs: Sequence[TicketFigures]) -> float | None:
    return metrics.median([f.resolution_s for f in figs if f.resolution_s is not None])


def resolution_p90(figs: Sequence[TicketFigures]) -> float | None:
    return metrics.p90([f.resolution_s for f in figs if f.resolution_s is not None])


def sla_attainment(figs: Sequence[TicketFigures], clock: str) -> metrics.Attainment:
    """Met cycles ÷ settled cycles of one clock (``next_update``: proactive-update compliance)."""
    met = total = 0
    for f in figs:
        a = f.sla.get(clock)
        if a is not None:
            met, total = met + a.met, total + a.total
    return metrics.Attainment(met, total)


def resolution_rate(figs: Sequence[TicketFigures]) -> float | None:
    """Tickets resolved or closed at the report's instant ÷ tickets received."""
    return metrics.rate(sum(1 for f in figs if f.status in DONE_STATUSES), len(figs))


def fcr_rate(figs: Sequence[TicketFigures]) -> float | None:
    return metrics.fcr_rate([f for f in figs if f.status == "closed"])


def escalation_rate(figs: Sequence[TicketFigures]) -> float | None:
    return metrics.escalation_rate(figs)


def reopen_rate(figs: Sequence[TicketFigures]) -> float | None:
    """Tickets reopened at least once ÷ tickets resolved at least once."""
    return metrics.reopen_rate([f for f in figs if f.resolved_once])


def unconfirmed_closures(figs: Sequence[TicketFigures]) -> int:
    """Closed tickets whose closure the customer did not confirm (by an agent's reason, or automatically)."""
    return sum(1 for f in figs if f.status == "closed" and f.confirmed is False)


def csat(figs: Sequence[TicketFigures]) -> tuple[float | None, int]:
    """Average score and number of answers about the period's tickets."""
    scores = [s for f in figs for s in f.csat]
    return (sum(scores) / len(scores) if scores else None), len(scores)


def knowledge_linked(figs: Sequence[TicketFigures]) -> int:
    """Tickets with a knowledge article linked: the knowledge base at work."""
    return sum(1 for f in figs if f.kb_linked)


def knowledge_capture_rate(figs: Sequence[TicketFigures]) -> float | None:
    """Closed tickets that linked an article or asked for one ÷ closed tickets: solved cases flowing back."""
    closed = [f for f in figs if f.status == "closed"]
    return metrics.rate(sum(1 for f in closed if f.kb_linked or f.kb_requested), len(closed))


def backlog_by_age(figs: Sequence[TicketFigures], now: datetime) -> dict[str, int]:
    """Tickets still open at ``now`` by wall-clock age since creation (a bucket's upper bound is excluded)."""
    out = {key: 0 for key, _bound in BACKLOG_BUCKETS}
    for f in figs:
        if f.status not in OPEN_STATUSES:
            continue
        age = (now - f.created_at).total_seconds()
        for key, bound in BACKLOG_BUCKETS:
            if bound is None or age < bound:
                out[key] += 1
                break
    return out


# -- rows, groups and days --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    group: str | None
    tickets: int
    closed: int
    first_response_median_s: float | None
    first_response_p90_s: float | None
    resolution_median_s: float | None
    resolution_p90_s: float | None
    sla: dict[str, metrics.Attainment]
    resolution_rate: float | None
    fcr_rate: float | None
    escalation_rate: float | None
    reopen_rate: float | None
    unconfirmed_closures: int
    csat_avg: float | None
    csat_count: int
    backlog_by_age: dict[str, int]
    kb_linked: int = 0
    kb_capture_rate: float | None = None

    def as_json(self, grouped: bool) -> dict[str, Any]:
        data: dict[str, Any] = {"group": self.group} if grouped else {}
        data.update(
            tickets=self.tickets,
            closed=self.closed,
            first_response_median_s=self.first_response_median_s,
            first_response_p90_s=self.first_response_p90_s,
            resolution_median_s=self.resolution_median_s,
            resolution_p90_s=self.resolution_p90_s,
            sla_attainment={clock: a.rate for clock, a in self.sla.items()},
            sla_cycles={clock: {"met": a.met, "total": a.total} for clock, a in self.sla.items()},
            resolution_rate=self.resolution_rate,
            fcr_rate=self.fcr_rate,
            escalation_rate=self.escalation_rate,
            reopen_rate=self.reopen_rate,
            unconfirmed_closures=self.unconfirmed_closures,
            csat_avg=self.csat_avg,
            csat_count=self.csat_count,
            backlog_by_age=dict(self.backlog_by_age),
            kb_linked=self.kb_linked,
            kb_capture_rate=self.kb_capture_rate,
        )
        return data


def summarise(figs: Sequence[TicketFigures], now: datetime, group: str | None = None) -> ReportRow:
    avg, count = csat(figs)
    return ReportRow(
        group=group,
        tickets=tickets_received(figs),
        closed=tickets_closed(figs),
        first_response_median_s=first_response_median(figs),
        first_response_p90_s=first_response_p90(figs),
        resolution_median_s=resolution_median(figs),
        resolution_p90_s=resolution_p90(figs),
        sla={clock: sla_attainment(figs, clock) for clock in sla.CLOCKS},
        resolution_rate=resolution_rate(figs),
        fcr_rate=fcr_rate(figs),
        escalation_rate=escalation_rate(figs),
        reopen_rate=reopen_rate(figs),
        unconfirmed_closures=unconfirmed_closures(figs),
        csat_avg=avg,
        csat_count=count,
        backlog_by_age=backlog_by_age(figs, now),
        kb_linked=knowledge_linked(figs),
        kb_capture_rate=knowledge_capture_rate(figs),
    )


_GROUP_KEYS: dict[str, Callable[[TicketFigures], Any]] = {
    "agent": lambda f: f.assignee,
    "tier": lambda f: f.tier,
    "priority": lambda f: f.priority,
    "channel": lambda f: f.channel,
    "customer": lambda f: f.customer_id,
}


def group_rows(figs: Sequence[TicketFigures], by: str, now: datetime) -> list[ReportRow]:
    """One row per value of ``by``, by label, the ticket-less group (unassigned, no customer) last."""
    if by not in _GROUP_KEYS:
        raise BadInput(_("--by must be one of: {values}").format(values=", ".join(_GROUP_KEYS)))
    key_of = _GROUP_KEYS[by]
    groups: dict[Any, list[TicketFigures]] = defaultdict(list)
    names: dict[Any, str | None] = {}
    for f in figs:
        key = key_of(f)
        groups[key].append(f)
        names[key] = f.customer if by == "customer" else key
    if by == "customer":
        # Customers are told apart by id; a name shared by two of them gets the id added.
        seen = [n for k, n in names.items() if k is not None]
        for key, name in names.items():
            if key is not None and (not name or seen.count(name) > 1):
                names[key] = f"{name or ''} #{key}".strip()
    order = sorted(groups, key=lambda k: (names[k] is None, names[k] or ""))
    return [summarise(groups[k], now, names[k]) for k in order]


@dataclass(frozen=True)
class DayRow:
    day: date
    tickets: int
    closed: int
    sla: metrics.Attainment  # all four clocks of the day's tickets together

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "tickets": self.tickets,
            "closed": self.closed,
            "sla_attainment": self.sla.rate,
        }


def daily(figs: Sequence[TicketFigures], period: Period, now: datetime) -> list[DayRow]:
    """Per local day of creation: volume, closures and SLA attainment; empty days included."""
    by_day: dict[date, list[TicketFigures]] = defaultdict(list)
    for f in figs:
        by_day[f.created_at.astimezone(period.zone).date()].append(f)
    if not by_day and (period.first is None or period.last is None):
        return []
    first = period.first or min(by_day)
    last = period.last or max(max(by_day, default=first), now.astimezone(period.zone).date())
    out: list[DayRow] = []
    day = first
    while day <= last:
        items = by_day.get(day, [])
        met = total = 0
        for clock in sla.CLOCKS:
            a = sla_attainment(items, clock)
            met, total = met + a.met, total + a.total
        out.append(DayRow(day, len(items), tickets_closed(items), metrics.Attainment(met, total)))
        day += timedelta(days=1)
    return out


@dataclass(frozen=True)
class Report:
    period: Period
    now: datetime
    by: str | None
    total: ReportRow
    groups: list[ReportRow]
    days: list[DayRow]
    backfilled: int = 0  # tickets of the period whose history holds claimed times (--at, imports)
    backfilled_excluded: bool = False

    def as_json(self) -> dict[str, Any] | list[dict[str, Any]]:
        """With ``by``: the list of group objects; else the one object, with its period and days."""
        if self.by:
            return [row.as_json(grouped=True) for row in self.groups]
        return {
            **self.total.as_json(grouped=False),
            "period": {**self.period.as_json(), "now": self.now.isoformat()},
            "backfilled": {"tickets": self.backfilled, "excluded": self.backfilled_excluded},
            "daily": [d.as_json() for d in self.days],
        }

    def rows(self) -> list[ReportRow]:
        """The rows ``--csv`` writes: the groups, or the total alone."""
        return self.groups if self.by else [self.total]


def build_report(
    service: HelpdeskService,
    period: Period,
    by: str | None = None,
    now: datetime | None = None,
    *,
    exclude_backfilled: bool = False,
    rollups: bool = True,
) -> Report:
    """Read-only: any agent may see the figures. Tickets whose history holds claimed times (backfilled: imports,
    --at) are counted, and left out of every figure with ``exclude_backfilled``.

    The figures come from the rollups (console/service/rollups.py) when they can give them exactly, else (or with
    ``rollups=False``) from replaying every clock of the period (``collect``): grouping by customer, days in
    another zone than the team's, a ``now`` before the latest stored judgement, rollups still being filled."""
    service.me()
    if by is not None and by not in _GROUP_KEYS:
        raise BadInput(_("--by must be one of: {values}").format(values=", ".join(_GROUP_KEYS)))
    instant = service.core.at(now)
    if rollups:
        report = rollup_report(service, period, by, instant, exclude_backfilled)
        if report is not None:
            return report
    figs = collect(service, period, instant)
    backfilled = db_reports.period_backfilled(service.store, period.start, period.end)
    if exclude_backfilled:
        figs = [f for f in figs if f.id not in backfilled]
    groups = group_rows(figs, by, instant) if by else []
    return Report(
        period,
        instant,
        by,
        summarise(figs, instant),
        groups,
        daily(figs, period, instant),
        backfilled=len(backfilled),
        backfilled_excluded=exclude_backfilled,
    )


# -- reports from the rollups (console/service/rollups.py) -----------------------------------------------------------


def _bounds(period: Period) -> tuple[int, int]:
    first = period.first.toordinal() if period.first else FIRST_DAY
    last = period.last.toordinal() if period.last else LAST_DAY
    return first, last


def _add(target: list[int], values: Sequence[int], sign: int = 1) -> None:
    for i, v in enumerate(values):
        target[i] += sign * v


@dataclass
class _Sums:
    """The report's sums before rows are made of them: per day (the whole floor) and per group value."""

    days: dict[int, list[int]]
    groups: dict[str, list[int]]
    total: list[int]
    backfilled: int


def _sums(service: HelpdeskService, dim: str | None, first: int, last: int, exclude: bool) -> _Sums:
    store = service.store
    days: dict[int, list[int]] = {}
    total = [0] * len(COUNTERS)
    backfilled = 0
    for day, bf, *counters in db_rollups.day_sums(store, first, last, exclude):
        if bf:
            backfilled += int(counters[0])
        sums = days.setdefault(int(day), [0] * len(COUNTERS))
        _add(sums, counters)
        _add(total, counters)
    if exclude:  # the count of backfilled tickets is shown whether or not they are left out
        backfilled = sum(int(c[0]) for d, bf, *c in db_rollups.day_sums(store, first, last, False) if bf)
    groups: dict[str, list[int]] = {}
    if dim:
        for value, *counters in db_rollups.group_sums(store, dim, first, last, exclude):
            groups[str(value)] = [int(v or 0) for v in counters]
    return _Sums(days, groups, total, backfilled)


def _replayed(service: HelpdeskService, ids: list[int], now: datetime) -> dict[int, tuple[Any, ...]]:
    """The clock figures of ``ids`` replayed at ``now`` (``(fr_s, rv_s, resolved_once, *CLOCK_COLUMNS)``)."""
    policy = service.policy()
    history: dict[int, list[db_reports.ClockEvent]] = defaultdict(list)
    for event in db_reports.clock_events_of(service.store, ids):
        history[event.ticket_id].append(event)
    out: dict[int, tuple[Any, ...]] = {}
    for t in db_reports.tickets_of(service.store, ids):
        calendar, targets = policy.resolve(t.priority, t.channel, t.customer_tier)
        first, resolution, attained, resolved_once = clock_figures(
            facts_from_clock_events(history.get(t.id, ())), targets, calendar, now
        )
        clocks: list[int] = []
        for clock in sla.CLOCKS:
            a = attained.get(clock, metrics.Attainment(0, 0))
            clocks += [a.met, a.total]
        out[t.id] = (first, resolution, int(resolved_once), *clocks)
    return out


def _correct(
    service: HelpdeskService, sums: _Sums, period: Period, dim: str | None, now: datetime, exclude: bool
) -> bool:
    """Replay the period's tickets whose running clock fell due since they were judged, and put their live figures
    in place of the stored ones. False when a replay disagrees with a stored duration (never expected: durations
    change only with events): the caller then replays the whole period."""
    store = service.store
    first, last = _bounds(period)
    stale = db_rollups.stale_tickets(store, now.timestamp(), first, last)
    if not stale:
        return True
    zone = period.zone  # the rollups' own (rollup_report checked)
    stored = {int(r[0]): Contribution.stored(r[1:]) for r in stale}
    ids = sorted(stored)
    rows: list[tuple[Any, ...]] = []
    live_figures: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(ids), db_rollups.CHUNK):
        chunk = ids[start : start + db_rollups.CHUNK]
        live_figures.update(_replayed(service, chunk, now))
        rows += db_rollups.inputs(store, chunk)
    for row in rows:
        ticket_id = int(row[0])
        old = stored[ticket_id]
        new = contribution(row, zone, live_figures.get(ticket_id))
        if (new.fr_s, new.rv_s) != (old.fr_s, old.rv_s) or new.day != old.day:
            return False
        if exclude and old.backfilled:
            continue
        delta = [n - o for n, o in zip(new.counters, old.counters, strict=True)]
        _add(sums.total, delta)
        _add(sums.days.setdefault(old.day, [0] * len(COUNTERS)), delta)
        if dim:
            value = getattr(old, dim)
            _add(sums.groups.setdefault(value, [0] * len(COUNTERS)), delta)
    return True


def _full_months(first: int, last: int) -> tuple[int, int] | None:
    """The first and last months wholly inside the days ``[first, last]`` (None: none is)."""
    m1 = month_of(first)
    if month_first(m1) < first:
        m1 += 1
    m2 = month_of(last)
    if month_last(m2) > last:
        m2 -= 1
    return (m1, m2) if m1 <= m2 else None


def _percentiles(
    service: HelpdeskService, measure: str, dim: str, first: int, last: int, exclude: bool, counts: dict[str, int]
) -> dict[str, tuple[float | None, float | None]]:
    """Exact (median, p90) of the durations per group value, ``counts`` being how many each group has."""
    store = service.store
    buckets: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    months = _full_months(first, last)
    edges: list[tuple[int, int]] = []
    if months is None:
        edges.append((first, last))
    else:
        for value, b, n in db_rollups.hist_sums(store, measure, dim, months[0], months[1], exclude):
            buckets[value][b] += n
        if first < month_first(months[0]):
            edges.append((first, month_first(months[0]) - 1))
        if month_last(months[1]) < last:
            edges.append((month_last(months[1]) + 1, last))
    position = MEASURES.index(measure) + 1
    for low, high in edges:
        for row in db_rollups.edge_durations(store, dim, low, high, exclude):
            duration = row[position]
            if duration is not None:
                buckets[str(row[0])][bucket(int(duration))] += 1
    out: dict[str, tuple[float | None, float | None]] = {}
    for value, n in counts.items():
        if n <= 0:
            out[value] = (None, None)
            continue
        ranks = [n // 2] if n % 2 else [n // 2 - 1, n // 2]
        p90_rank = max(1, math.ceil(0.9 * n)) - 1
        found = _at_ranks(
            service, measure, dim, value, first, last, exclude, buckets.get(value, {}), [*ranks, p90_rank]
        )
        median = float(found[ranks[0]]) if len(ranks) == 1 else (found[ranks[0]] + found[ranks[1]]) / 2
        out[value] = (median, float(found[p90_rank]))
    return out


def _at_ranks(
    service: HelpdeskService,
    measure: str,
    dim: str,
    value: str,
    first: int,
    last: int,
    exclude: bool,
    counts: dict[int, int],
    ranks: list[int],
) -> dict[int, int]:
    """The durations at 0-based ``ranks`` in order: each rank's bucket from the counts, then one index walk per
    bucket (a bucket one second wide needs none)."""
    wanted: dict[int, list[tuple[int, int]]] = defaultdict(list)  # bucket -> (rank, offset inside it)
    below = 0
    pending = sorted(set(ranks))
    for b in sorted(counts):
        n = counts[b]
        while pending and pending[0] < below + n:
            rank = pending.pop(0)
            wanted[b].append((rank, rank - below))
        below += n
        if not pending:
            break
    out: dict[int, int] = {}
    for b, items in wanted.items():
        low, high = bucket_bounds(b)
        if low is not None and high is not None and high - low == 1:
            out.update((rank, low) for rank, _offset in items)
            continue
        start = min(o for _r, o in items)
        stop = max(o for _r, o in items)
        values = db_rollups.durations_in(
            service.store, measure, low, high, first, last, exclude, dim, value, start, stop - start + 1
        )
        for rank, offset in items:
            out[rank] = values[offset - start]
    return out


def _backlog(
    service: HelpdeskService, period: Period, now: datetime, dim: str | None, exclude: bool
) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    start = ts(period.start) if period.start else None
    end = ts(period.end) if period.end else None
    total = {key: 0 for key, _bound in BACKLOG_BUCKETS}
    groups: dict[str, dict[str, int]] = {}
    column = GROUP_COLUMNS.index(dim) + 1 if dim else 0
    for row in db_rollups.open_backlog(service.store, start, end, exclude):
        age = (now - datetime.fromisoformat(row[0])).total_seconds()
        for key, bound in BACKLOG_BUCKETS:
            if bound is None or age < bound:
                total[key] += 1
                if dim:
                    mine = groups.setdefault(str(row[column]), {k: 0 for k, _b in BACKLOG_BUCKETS})
                    mine[key] += 1
                break
    return total, groups


def _row(
    counters: Sequence[int],
    fr: tuple[float | None, float | None],
    rv: tuple[float | None, float | None],
    backlog: dict[str, int],
    group: str | None,
) -> ReportRow:
    c = dict(zip(COUNTERS, counters, strict=True))
    return ReportRow(
        group=group,
        tickets=c["tickets"],
        closed=c["closed"],
        first_response_median_s=fr[0],
        first_response_p90_s=fr[1],
        resolution_median_s=rv[0],
        resolution_p90_s=rv[1],
        sla={clock: metrics.Attainment(c[f"{clock}_met"], c[f"{clock}_total"]) for clock in sla.CLOCKS},
        resolution_rate=metrics.rate(c["done"], c["tickets"]),
        fcr_rate=metrics.rate(c["first_contact"], c["closed"]),
        escalation_rate=metrics.rate(c["escalated"], c["tickets"]),
        reopen_rate=metrics.rate(c["reopened"], c["resolved_once"]),
        unconfirmed_closures=c["unconfirmed"],
        csat_avg=c["csat_sum"] / c["csat_n"] if c["csat_n"] else None,
        csat_count=c["csat_n"],
        backlog_by_age=dict(backlog) if backlog else {k: 0 for k, _b in BACKLOG_BUCKETS},
        kb_linked=c["kb_linked"],
        kb_capture_rate=metrics.rate(c["kb_capture"], c["closed"]),
    )


def rollup_report(
    service: HelpdeskService, period: Period, by: str | None, now: datetime, exclude_backfilled: bool
) -> Report | None:
    """The report from the rollups, or None when they cannot give it exactly: not complete yet, days counted in
    another zone, a figure judged after ``now`` (a report of the past), grouping by customer. Read in one snapshot:
    the sums, the buckets and the durations read inside a bucket must be of the same commit."""
    if by == "customer":
        return None
    with db_rollups.snapshot(service.store):
        return _rollup_report(service, period, by, now, exclude_backfilled)


def _rollup_report(
    service: HelpdeskService, period: Period, by: str | None, now: datetime, exclude_backfilled: bool
) -> Report | None:
    state = db_rollups.state(service.store)
    if not state or int(state.get("through") or 0) != 0 or state.get("zone") != str(period.zone):
        return None
    if float(state.get("judged") or 0) > now.timestamp():
        return None
    first, last = _bounds(period)
    exclude = exclude_backfilled
    sums = _sums(service, by, first, last, exclude)
    if not _correct(service, sums, period, by, now, exclude):
        return None
    backlog, group_backlog = _backlog(service, period, now, by, exclude)
    fr_n, rv_n = COUNTER_INDEX["fr_n"], COUNTER_INDEX["rv_n"]
    fr = _percentiles(service, "fr", "", first, last, exclude, {"": sums.total[fr_n]})[""]
    rv = _percentiles(service, "rv", "", first, last, exclude, {"": sums.total[rv_n]})[""]
    total = _row(sums.total, fr, rv, backlog, None)
    rows: list[ReportRow] = []
    if by:
        live = {v: c for v, c in sums.groups.items() if c[0] > 0}
        frs = _percentiles(service, "fr", by, first, last, exclude, {v: c[fr_n] for v, c in live.items()})
        rvs = _percentiles(service, "rv", by, first, last, exclude, {v: c[rv_n] for v, c in live.items()})
        names = {v: (v or None) if by == "agent" else v for v in live}
        for value in sorted(live, key=lambda v: (names[v] is None, names[v] or "")):
            rows.append(_row(live[value], frs[value], rvs[value], group_backlog.get(value, {}), names[value]))
    return Report(
        period,
        now,
        by,
        total,
        rows,
        _daily(sums, period, now),
        backfilled=sums.backfilled,
        backfilled_excluded=exclude_backfilled,
    )


def _daily(sums: _Sums, period: Period, now: datetime) -> list[DayRow]:
    """As reports.daily: every day from the first (or the first with tickets) to the last (or today)."""
    present = {d: c for d, c in sums.days.items() if c[0] > 0}
    if not present and (period.first is None or period.last is None):
        return []
    first = period.first or date.fromordinal(min(present))
    last = period.last or max(date.fromordinal(max(present)) if present else first, now.astimezone(period.zone).date())
    met_columns = [COUNTER_INDEX[f"{clock}_met"] for clock in sla.CLOCKS]
    total_columns = [COUNTER_INDEX[f"{clock}_total"] for clock in sla.CLOCKS]
    out: list[DayRow] = []
    day = first
    while day <= last:
        c = sums.days.get(day.toordinal(), ZERO)
        attained = metrics.Attainment(sum(c[i] for i in met_columns), sum(c[i] for i in total_columns))
        out.append(DayRow(day, c[0], c[COUNTER_INDEX["closed"]], attained))
        day += timedelta(days=1)
    return out


# -- satisfaction and follow-up calls ----------------------------------------------------------------------


def record_csat(
    service: HelpdeskService, ticket_id: int, score: int, comment: str = "", *, at: datetime | None = None
) -> Csat:
    """The customer's score for the ticket's latest closure, once per closure; any agent may record it. Only a
    ticket with a customer has one to ask."""
    service.me()
    if not 1 <= score <= 5:
        raise BadInput(_("a satisfaction score is 1 to 5, not {score}").format(score=score))
    text = clean_text(comment or "", field=_("comment"), limit=MAX_COMMENT).strip()
    service.ticket(ticket_id)
    store = service.store

    def work() -> Csat:
        ticket = store.get_ticket(ticket_id)
        if ticket.status != "closed":
            raise Refused(_("ticket {id} is not closed; satisfaction is asked after closing").format(id=ticket_id))
        if ticket.customer_id is None:
            raise Refused(_("ticket {id} has no customer to ask for satisfaction").format(id=ticket_id))
        when = service.core.check_order(ticket_id, service.core.when(at))
        closure = db_reports.closures(store, ticket_id)
        if db_reports.has_csat(store, ticket_id, closure):
            raise Refused(_("ticket {id} already has a satisfaction score for this closure").format(id=ticket_id))
        row = store.add_csat(ticket_id, closure, score, text, when)
        service.core.record(
            ticket_id,
            when,
            "csat",
            None,
            str(score),
            {"score": score, "closure": closure, "comment": text},
        )
        return row

    return service.core.write(work)


def local_today(service: HelpdeskService, zone: tzinfo | None = None) -> date:
    """Today in ``zone`` (default: the team's zone, the wallboard's day)."""
    return service.core.at(None).astimezone(zone or team_zone(service.policy())).date()


def followups(
    service: HelpdeskService, *, due_only: bool = False, today: date | None = None
) -> list[db_reports.PendingFollowup]:
    """Closed P1/P2 tickets whose follow-up call is still to be made (``due_only``: due today or earlier)."""
    service.me()
    due_by = (today or local_today(service)).isoformat() if due_only else None
    return db_reports.pending_followups(service.store, due_by)


def record_followup(service: HelpdeskService, ticket_id: int, note: str, *, at: datetime | None = None) -> Ticket:
    """The follow-up call was made: one event (kind ``followup``) and ``followup_done_at``, one transaction."""
    service.me()
    text = clean_text(note or "", field=_("note"), limit=MAX_COMMENT).strip()
    if not text:
        raise BadInput(_("{what} must not be empty").format(what=_("note")))
    service.ticket(ticket_id)
    store = service.store

    def work() -> Ticket:
        ticket = store.get_ticket(ticket_id)
        if ticket.followup_due is None:
            raise Refused(_("ticket {id} has no follow-up call planned").format(id=ticket_id))
        when = service.core.check_order(ticket_id, service.core.when(at))
        if ticket.followup_done_at is not None or not db_reports.mark_followup_done(store, ticket_id, when):
            raise Refused(_("the follow-up call of ticket {id} is already recorded").format(id=ticket_id))
        service.core.record(
            ticket_id,
            when,
            "followup",
            None,
            None,
            {"note": text, "due": ticket.followup_due},
        )
        return store.get_ticket(ticket_id)

    return service.core.write(work)
