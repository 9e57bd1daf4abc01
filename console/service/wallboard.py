"""What the supervisor wallboard shows at one instant, as plain data (built in a worker).

"Today" starts at local midnight in the team's zone (reports.team_zone: the policy's business-hours calendar's,
the same days `helpdesk report` counts without --tz), so a team in Shanghai sees its own day. Customer names and
contacts are masked unless the supervisor asked to see them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, tzinfo
from typing import Any

from console.i18n import _
from console.rules import metrics
from console.rules.errors import Refused
from console.service.helpdesk import HelpdeskService
from console.service.reports import team_zone
from db import stats
from db.models import Agent
from db.records import Change
from db.vocabulary import PRIORITIES

Backlog = stats.Backlog  # the board keeps it between snapshots and moves it by the changed tickets

# Rows of the urgent list read: more than any terminal shows (the board draws what fits, then "+N more").
URGENT_LIMIT = 100
HOURS = 24
_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]")


@dataclass(frozen=True)
class UrgentRow:
    ticket_id: int
    priority: str
    subject: str
    customer: str
    contact: str
    assignee: str
    clock: str | None
    due_at: float
    warn_at: float | None
    calendar: Any = field(default=None, compare=False)  # BusinessCalendar: countdowns count open hours only


@dataclass(frozen=True)
class BoardSnapshot:
    at: float
    day_start: datetime
    open_by_priority: dict[str, int]
    breached: int
    at_risk: int
    first_response_attainment: metrics.Attainment
    resolve_attainment: metrics.Attainment
    median_first_response_s: float | None
    median_resolution_s: float | None
    fcr: float | None
    escalation: float | None
    reopen: float | None
    csat_average: float | None
    csat_count: int
    received_today: int
    closed_today: int
    agents: list[stats.AgentLoad]
    urgent: list[UrgentRow]  # the first URGENT_LIMIT, in the queue's urgency order
    per_hour: list[int]
    urgent_total: int = 0  # every open ticket with a running clock
    backlog: stats.Backlog | None = None  # what the next snapshot moves by the changed tickets

    def breached_shown(self, shown: int) -> int:
        """How many of the first ``shown`` urgent rows are breached (at the snapshot's instant)."""
        return sum(1 for row in self.urgent[:shown] if row.due_at <= self.at)

    @property
    def open_total(self) -> int:
        return sum(self.open_by_priority.values())


# -- masking --------------------------------------------------------------------------------------------


def board_account(service: HelpdeskService, login: str) -> Agent:
    """The wallboard login ``login`` (`helpdesk ssh-config --user`): asked by supervisors and admins; a login that
    is not an active board-only agent is refused with what to run, so sshd never serves an account that the
    database would turn away (or, worse, one that could act)."""
    service.core.require_role("supervisor", "admin")
    agent = service.core.store.agent_by_login(login)
    if agent is not None and agent.active and agent.board_only:
        return agent
    if agent is not None and agent.active:
        raise Refused(
            _(
                "login {login} belongs to agent {name}, who may do more than watch the board: give the board an "
                "account of its own and run 'helpdesk agent add NAME --board'"
            ).format(login=login, name=agent.name)
        )
    raise Refused(
        _("{login} is not a wallboard login of this database: run 'helpdesk agent add {login} --board'").format(
            login=login
        )
    )


def mask_name(name: str | None) -> str:
    """``张三`` → ``张*``, ``John Smith`` → ``J*** S***`` (Latin words hide their length too)."""
    if not name:
        return "—"
    words = []
    for word in name.split():
        if _CJK.match(word[0]):
            words.append(word[0] + "*" * (len(word) - 1))
        else:
            words.append(word[0] + "***")
    return " ".join(words)


def mask_email(email: str | None) -> str:
    """``john@example.com`` → ``j***@example.com``."""
    if not email:
        return ""
    local, at, domain = email.partition("@")
    if not at:
        return mask_name(email)
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str | None) -> str:
    """``13812345678`` → ``138****5678``; short numbers keep only their last two digits."""
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if len(digits) >= 8:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * max(len(digits) - 2, 1) + digits[-2:]


# -- the snapshot ---------------------------------------------------------------------------------------


def local_midnight(now: datetime, zone: tzinfo) -> datetime:
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone)


def snapshot(
    service: HelpdeskService, now: datetime, show_customers: bool, backlog: stats.Backlog | None = None
) -> BoardSnapshot:
    """Every tile's numbers at ``now`` (reads only). Unmasked customer data is for supervisors and admins.

    Nothing here replays a history: today's clock figures come from the figures stored with each ticket
    (ticket_figures, schema v6), the counts from index ranges over today's rows and the open backlog, in one read
    snapshot, so the numbers agree with each other."""
    if show_customers:
        service.require_role("supervisor", "admin")
    store = service.store
    with store.snapshot():
        return _snapshot(service, now, show_customers, backlog or stats.backlog(store))


def moved_backlog(service: HelpdeskService, backlog: stats.Backlog, changes: Mapping[int, Change]) -> stats.Backlog:
    """``backlog`` moved by the changed tickets (their columns before, from the feed, and now: one read by id)."""
    moved = copy.deepcopy(backlog)
    changed = {cid: c for cid, c in changes.items() if c.created or c.before is not None}
    after = {f.id: f for f in service.live.facts(list(changed))}
    for ticket_id, change in changed.items():
        moved.moved(change.before, after.get(ticket_id))
    return moved


def _snapshot(service: HelpdeskService, now: datetime, show_customers: bool, backlog: stats.Backlog) -> BoardSnapshot:
    store = service.store
    policy = service.policy()
    zone = team_zone(policy)
    start = local_midnight(now, zone)
    now_ts = now.timestamp()

    by_priority = {p: 0 for p in PRIORITIES}
    by_priority.update(backlog.by_priority)
    shown = backlog.judged_at(store, now_ts)  # the kept backlog stays as stored: the changes move it
    day = stats.day_counts(store, start)
    csat_avg, csat_n = stats.csat_since(store, start)
    first = stats.clock_day(store, "fr", start.timestamp(), now_ts)
    resolve = stats.clock_day(store, "rv", start.timestamp(), now_ts)

    urgent: list[UrgentRow] = []
    for item in stats.urgent_tickets(store, now_ts, URGENT_LIMIT):
        contact = item.email or item.phone
        if not show_customers:
            contact = mask_email(item.email) if item.email else mask_phone(item.phone)
        # The same resolution as _resolve, from the row's own columns: no two queries a row on every refresh.
        ticket_cal = policy.resolve(item.priority, item.channel, item.customer_tier)[0]
        urgent.append(
            UrgentRow(
                ticket_id=item.id,
                priority=item.priority,
                subject=item.subject,
                customer=(item.customer or "—") if show_customers else mask_name(item.customer),
                contact=contact or "",
                assignee=item.assignee or "—",
                clock=item.sla_clock,
                due_at=item.sla_due,
                warn_at=item.sla_warn,
                calendar=ticket_cal,
            )
        )

    return BoardSnapshot(
        at=now_ts,
        day_start=start,
        open_by_priority=by_priority,
        breached=shown.breached,
        at_risk=shown.at_risk,
        first_response_attainment=metrics.Attainment(first.met, first.finished + first.overdue),
        resolve_attainment=metrics.Attainment(resolve.met, resolve.finished + resolve.overdue),
        median_first_response_s=metrics.median(first.durations),
        median_resolution_s=metrics.median(resolve.durations),
        fcr=metrics.rate(day.first_contact, day.closed),
        escalation=metrics.rate(day.escalated, day.received),
        reopen=metrics.rate(day.reopened, day.resolved),
        csat_average=csat_avg,
        csat_count=csat_n,
        received_today=day.received,
        closed_today=day.closed,
        agents=shown.agent_load(),
        urgent=urgent,
        per_hour=stats.created_per_hour(store, start, HOURS),
        urgent_total=backlog.running,
        backlog=backlog,
    )
