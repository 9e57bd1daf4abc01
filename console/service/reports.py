"""Service-quality reports over a period, and the satisfaction and follow-up-call records they read.

A period selects tickets by creation time; each ticket's clocks are replayed from its history at the report's
instant under its own calendar and targets, so times are business seconds exactly as the SLA clocks count them
(pending time and resolved-to-reopened gaps excluded). Every figure is one function over per-ticket figures,
so groups (by agent, tier, priority, channel or customer) are the same functions over fewer tickets.
"""

from __future__ import annotations

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
from db import reports as db_reports
from db.models import Csat, Ticket
from db.vocabulary import OPEN_STATUSES

if TYPE_CHECKING:
    from console.rules.policy import Policy
    from console.service.helpdesk import HelpdeskService

REPORT_ZONE = ZoneInfo("Asia/Shanghai")  # the default business calendar's zone: the team's own days
DONE = ("resolved", "closed")
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
    resolved_once = any(f.kind == "status" and f.status in DONE and f.at <= now for f in facts)
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
                resolved_once=resolved_once or t.status in DONE,
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
    return metrics.rate(sum(1 for f in figs if f.status in DONE), len(figs))


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
) -> Report:
    """Read-only: any agent may see the figures. Tickets whose history holds claimed times (backfilled: imports,
    --at) are counted, and left out of every figure with ``exclude_backfilled``."""
    service.me()
    instant = service.core.at(now)
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
