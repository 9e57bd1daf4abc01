"""What the supervisor wallboard shows at one instant, as plain data (built in a worker).

"Today" starts at local midnight in the team's zone (reports.team_zone: the policy's business-hours calendar's,
the same days `helpdesk report` counts without --tz), so a team in Shanghai sees its own day. Customer names and
contacts are masked unless the supervisor asked to see them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from console.i18n import _
from console.rules import metrics, sla
from console.rules.errors import Refused
from console.service.helpdesk import HelpdeskService
from console.service.reports import team_zone
from console.service.ticket_view import facts_from_events
from db import stats
from db.errors import NotFound
from db.models import Agent, Ticket
from db.vocabulary import PRIORITIES

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


def _resolve(service: HelpdeskService, ticket: Ticket) -> tuple[Any, sla.Targets]:
    """The ticket's calendar and targets, (customer tier > channel > priority)."""
    tier = service.store.get_customer(ticket.customer_id).tier if ticket.customer_id is not None else None
    return service.policy().resolve(ticket.priority, ticket.channel, tier)


def _cycles_today(
    service: HelpdeskService, ids: list[int], start: datetime, now: datetime
) -> dict[str, list[sla.Cycle]]:
    """Per clock: cycles that finished today or are overdue now, across the tickets touched today."""
    out: dict[str, list[sla.Cycle]] = {"first_response": [], "resolve": []}
    for ticket_id in ids:
        try:
            ticket = service.store.get_ticket(ticket_id)
            cal, targets = _resolve(service, ticket)
        except NotFound:
            continue  # gone between the two queries
        facts = facts_from_events(service.store.events(ticket_id))
        if not facts:
            continue
        for clock, runs in sla.cycles(facts, targets, cal, now).items():
            if clock in out:
                out[clock].extend(
                    c
                    for c in runs
                    if metrics.finished_in(c, start, now + timedelta(seconds=1))
                    or (c.stopped_at is None and c.met is False)
                )
    return out


def snapshot(service: HelpdeskService, now: datetime, show_customers: bool) -> BoardSnapshot:
    """Every tile's numbers at ``now`` (reads only). Unmasked customer data is for supervisors and admins."""
    if show_customers:
        service.require_role("supervisor", "admin")
    store = service.store
    policy = service.policy()
    zone = team_zone(policy)
    start = local_midnight(now, zone)
    now_ts = now.timestamp()

    by_priority = {p: 0 for p in PRIORITIES}
    by_priority.update(stats.open_by_priority(store))
    breached, at_risk = stats.breached_and_at_risk(store, now_ts)
    received = stats.created_since(store, start)
    resolved = stats.resolved_since(store, start)
    closed = stats.closed_since(store, start)
    csat_avg, csat_n = stats.csat_since(store, start)

    cycles = _cycles_today(service, stats.active_ticket_ids(store, start, now_ts), start, now)
    finished_fr = [c.elapsed_s for c in cycles["first_response"] if c.stopped_at is not None]
    finished_rv = [c.elapsed_s for c in cycles["resolve"] if c.stopped_at is not None]

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
        breached=breached,
        at_risk=at_risk,
        first_response_attainment=metrics.attainment(cycles["first_response"]),
        resolve_attainment=metrics.attainment(cycles["resolve"]),
        median_first_response_s=metrics.median(finished_fr),
        median_resolution_s=metrics.median(finished_rv),
        fcr=metrics.fcr_rate(closed),
        escalation=metrics.escalation_rate(received),
        reopen=metrics.reopen_rate(resolved),
        csat_average=csat_avg,
        csat_count=csat_n,
        received_today=len(received),
        closed_today=len(closed),
        agents=stats.agent_load(store, now_ts),
        urgent=urgent,
        per_hour=stats.created_per_hour(store, start, HOURS),
        urgent_total=stats.running_clocks(store),
    )
