"""The wallboard's queries: small aggregates over indexed columns and the stored figures (schema v6), cheap enough
to rerun on every commit: none reads more than the open backlog or today's rows, none replays a history.

Times in ``tickets`` are UTC ISO text (they sort as text), SLA instants are epoch floats; every function takes
the instant it is evaluated at so the same data always gives the same numbers.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime

from db.queries import _OPEN_LITERAL, PAGE_ORDER_OUTER, ts
from db.records import QueueFacts, TicketFilter
from db.store_api import StoreAPI
from db.vocabulary import OPEN_STATUSES

_OPEN = f"status IN ({','.join(repr(s) for s in OPEN_STATUSES)})"


@dataclass(frozen=True)
class AgentLoad:
    agent: str
    open: int
    breached: int


@dataclass(frozen=True)
class UrgentTicket:
    id: int
    subject: str
    priority: str
    assignee: str | None
    sla_clock: str | None
    sla_due: float
    sla_warn: float | None
    channel: str
    customer: str | None
    customer_tier: str | None
    email: str | None
    phone: str | None


@dataclass
class Backlog:
    """The open backlog as the board counts it, from the stored columns (as judged: the sweeper keeps the alerts
    current): open tickets per priority, breached and at risk, those with a running clock, and per active agent
    their open and breached tickets. Read whole on start, then moved by the changed tickets alone (`moved`)."""

    by_priority: dict[str, int]
    breached: int
    at_risk: int
    running: int
    agents: dict[str, list[int]]  # name -> [open, breached]

    def moved(self, before: QueueFacts | None, after: QueueFacts | None) -> None:
        """One ticket changed from ``before`` to ``after`` (None: it did not exist, or it is gone)."""
        for facts, sign in ((before, -1), (after, 1)):
            if facts is None or facts.status not in OPEN_STATUSES:
                continue
            self.by_priority[facts.priority] = self.by_priority.get(facts.priority, 0) + sign
            self.breached += sign * (facts.alert == 2)
            self.at_risk += sign * (facts.alert == 1)
            self.running += sign * (facts.band <= 3)
            if facts.assignee is not None and facts.assignee in self.agents:
                load = self.agents[facts.assignee]
                load[0] += sign
                load[1] += sign * (facts.alert == 2)

    def judged_at(self, store: StoreAPI, now: float) -> Backlog:
        """A copy as it stands at ``now``: the tickets whose warning or due time has come since the sweeper last
        judged them (few: `tickets.sla_next`, indexed) counted with their alert at ``now``."""
        shown = copy.deepcopy(self)
        for assignee, stored, alert in store._tuples(
            "SELECT assignee, sla_alert, CASE WHEN sla_due <= ? THEN 2 WHEN sla_warn <= ? THEN 1 ELSE 0 END"
            # By the time index: SQLite would walk every open ticket by status (4.5 ms at 4,400 open, each
            # snapshot) to find the few whose time has come.
            f" FROM tickets{store.index_hint('tickets_next')} WHERE sla_next <= ? AND {_OPEN}",
            [now, now, now],
        ):
            shown.breached += (alert == 2) - (stored == 2)
            shown.at_risk += (alert == 1) - (stored == 1)
            if assignee in shown.agents:
                shown.agents[assignee][1] += (alert == 2) - (stored == 2)
        return shown

    def agent_load(self) -> list[AgentLoad]:
        """Busiest first: most breached, then most open, then by name."""
        loads = [AgentLoad(name, counts[0], counts[1]) for name, counts in self.agents.items()]
        return sorted(loads, key=lambda a: (-a.breached, -a.open, a.agent))


def backlog(store: StoreAPI) -> Backlog:
    """The backlog read whole (O(open tickets): on start, and now and then to be sure of the sums)."""
    by_priority = {
        str(p): int(n)
        for p, n in store._tuples(f"SELECT priority, count(*) FROM tickets WHERE {_OPEN} GROUP BY priority")
    }
    alerts = dict(
        store._tuples(
            f"SELECT sla_alert, count(*) FROM tickets{store.index_hint('tickets_order_alert')} WHERE {_OPEN_LITERAL}"
            " AND sla_alert > 0 GROUP BY sla_alert"
        )
    )
    running = store._tuples(
        f"SELECT count(*) FROM tickets{store.index_hint('tickets_order')} WHERE {_OPEN_LITERAL} AND q_band <= 3"
    )
    agents: dict[str, list[int]] = {
        str(name): [0, 0] for (name,) in store._tuples("SELECT name FROM agents WHERE active = 1")
    }
    for name, open_, breached in store._tuples(
        # CASE, not a comparison summed: PostgreSQL's comparisons are booleans, which it does not add up
        "SELECT assignee, count(*), sum(CASE WHEN sla_alert = 2 THEN 1 ELSE 0 END) FROM tickets"
        f" WHERE {_OPEN} AND assignee IS NOT NULL"
        " GROUP BY assignee"
    ):
        if name in agents:
            agents[name] = [int(open_), int(breached)]
    return Backlog(by_priority, int(alerts.get(2, 0)), int(alerts.get(1, 0)), int(running[0][0]), agents)


def urgent_tickets(store: StoreAPI, now: float, limit: int) -> list[UrgentTicket]:
    """Open tickets with a running clock in the queue's urgency order at ``now`` (P1 first, then breached and at
    risk by priority, then the soonest due), with the customer's contacts: a page read as the queue reads one
    (Store.page_sql: the stored order, the stale tickets merged in)."""
    page, params = store.page_sql(TicketFilter(running=True, now=now), now, 0, limit)
    rows = store._rows(
        "SELECT t.id, t.subject, t.priority, t.assignee, t.sla_clock, t.sla_due, t.sla_warn, t.channel,"
        " c.name AS customer, c.tier AS customer_tier, c.email, c.phone"
        f" FROM ({page}) page JOIN tickets t ON t.id = page.id LEFT JOIN customers c ON c.id = t.customer_id"
        f"{PAGE_ORDER_OUTER}",
        params,
    )
    return [UrgentTicket(**r) for r in rows]


def created_per_hour(store: StoreAPI, since: datetime, hours: int) -> list[int]:
    """Tickets created in each hour from ``since`` (a local midnight), ``hours`` buckets."""
    start = since.timestamp()
    seconds = (
        "extract(epoch FROM created_at::timestamptz)" if store.dialect == "postgresql" else "strftime('%s', created_at)"
    )
    rows = store._rows(
        f"SELECT CAST(floor(({seconds} - ?) / 3600) AS INTEGER) AS h, count(*) AS n FROM tickets"
        " WHERE created_at >= ? GROUP BY h"
        if store.dialect == "postgresql"
        else f"SELECT CAST(({seconds} - ?) / 3600 AS INTEGER) AS h, count(*) AS n FROM tickets"
        " WHERE created_at >= ? GROUP BY h",
        [start, ts(since)],
    )
    buckets = [0] * hours
    for r in rows:
        if 0 <= int(r["h"]) < hours:
            buckets[int(r["h"])] = int(r["n"])
    return buckets


@dataclass(frozen=True)
class DayCounts:
    """Tickets created, resolved and closed since an instant, with the counts the rates need."""

    received: int
    escalated: int  # of the received, escalated at least once
    resolved: int
    reopened: int  # of the resolved, reopened at least once
    closed: int
    first_contact: int  # of the closed, one public reply, never escalated nor reopened


def day_counts(store: StoreAPI, since: datetime) -> DayCounts:
    """Three index ranges (created_at, resolved_at, closed_at: today's rows only), summed by SQLite."""
    at = ts(since)
    row = store._tuples(
        "SELECT (SELECT count(*) FROM tickets WHERE created_at >= :at),"
        " (SELECT count(*) FROM tickets WHERE created_at >= :at AND escalations > 0),"
        " (SELECT count(*) FROM tickets WHERE resolved_at >= :at),"
        " (SELECT count(*) FROM tickets WHERE resolved_at >= :at AND reopens > 0),"
        " (SELECT count(*) FROM tickets WHERE closed_at >= :at),"
        " (SELECT count(*) FROM tickets WHERE closed_at >= :at"
        "   AND public_replies = 1 AND escalations = 0 AND reopens = 0)",
        {"at": at},
    )[0]
    return DayCounts(*(int(x) for x in row))


@dataclass(frozen=True)
class ClockDay:
    """One clock's figures since an instant, from the stored figures (no history replayed): cycles that finished
    since then, met ones, the breached ones still running, and the finished durations (business seconds)."""

    finished: int
    met: int
    overdue: int
    durations: list[int]


def clock_day(store: StoreAPI, prefix: str, since: float, now: float) -> ClockDay:
    """``prefix`` is ``fr`` (first response) or ``rv`` (resolution): ticket_figures' columns (schema v6)."""
    if prefix not in ("fr", "rv"):
        raise ValueError(prefix)
    rows = store._tuples(
        f"SELECT {prefix}_s, {prefix}_met FROM ticket_figures WHERE {prefix}_at >= ? AND {prefix}_at < ?",
        [since, now + 1],
    )
    overdue = store._tuples(f"SELECT count(*) FROM ticket_figures WHERE {prefix}_due <= ?", [now])[0][0]
    settled = [met for _s, met in rows if met is not None]
    return ClockDay(
        finished=len(settled),
        met=sum(settled),
        overdue=int(overdue),
        durations=[int(s) for s, _met in rows if s is not None],
    )


def csat_since(store: StoreAPI, since: datetime) -> tuple[float | None, int]:
    """Average score and number of answers since ``since``."""
    row = store._one("SELECT avg(score) AS avg, count(*) AS n FROM csat WHERE at >= ?", [ts(since)])
    if not row or not row["n"]:
        return None, 0
    return float(row["avg"]), int(row["n"])
