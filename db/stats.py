"""The wallboard's queries: small aggregates over indexed columns and the stored figures (schema v6), cheap enough
to rerun on every commit: none reads more than the open backlog or today's rows, none replays a history.

Times in ``tickets`` are UTC ISO text (they sort as text), SLA instants are epoch floats; every function takes
the instant it is evaluated at so the same data always gives the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.store import URGENCY_BAND, ts, urgency_order
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


def _binary(store: StoreAPI) -> str:
    """Text ordered by code point on PostgreSQL too, as SQLite's BINARY does, whatever the cluster's locale."""
    return ' COLLATE "C"' if store.dialect == "postgresql" else ""


def open_by_priority(store: StoreAPI) -> dict[str, int]:
    rows = store._rows(f"SELECT priority, count(*) AS n FROM tickets WHERE {_OPEN} GROUP BY priority")
    return {str(r["priority"]): int(r["n"]) for r in rows}


def breached_and_at_risk(store: StoreAPI, now: float) -> tuple[int, int]:
    """Open tickets past a due time, and open tickets past a warning but not yet due."""
    row = store._one(
        # CASE, not a comparison summed: PostgreSQL's comparisons are booleans, which it does not add up
        f"SELECT coalesce(sum(CASE WHEN sla_due <= :now THEN 1 ELSE 0 END), 0) AS breached,"
        f" coalesce(sum(CASE WHEN sla_warn <= :now AND sla_due > :now THEN 1 ELSE 0 END), 0) AS at_risk"
        f" FROM tickets WHERE {_OPEN} AND sla_due IS NOT NULL",
        {"now": now},
    )
    return (int(row["breached"]), int(row["at_risk"])) if row else (0, 0)


def agent_load(store: StoreAPI, now: float) -> list[AgentLoad]:
    """Every active agent with their open and breached tickets, busiest first."""
    rows = store._rows(
        "SELECT a.name AS agent, count(t.id) AS open,"
        " coalesce(sum(CASE WHEN t.sla_due <= :now THEN 1 ELSE 0 END), 0) AS breached"
        f" FROM agents a LEFT JOIN tickets t ON t.assignee = a.name AND t.{_OPEN}"
        f" WHERE a.active = 1 GROUP BY a.name ORDER BY breached DESC, open DESC, a.name{_binary(store)}",
        {"now": now},
    )
    return [AgentLoad(str(r["agent"]), int(r["open"]), int(r["breached"])) for r in rows]


def urgent_tickets(store: StoreAPI, now: float, limit: int) -> list[UrgentTicket]:
    """Open tickets with a running clock in the queue's urgency order at ``now`` (P1 first, then breached and at
    risk by priority, then the soonest due), with the customer's contacts."""
    # As the queue reads a page (Store.queue): the ids sorted from the covering index, then only their rows.
    page = (
        f"SELECT t.id, {URGENCY_BAND} AS band FROM tickets t WHERE t.{_OPEN} AND t.sla_due IS NOT NULL"
        f"{urgency_order('band')} LIMIT ?"
    )
    if store.dialect == "postgresql":  # it orders by an output column's name alone, never inside an expression
        banded = (
            f"SELECT t.id, t.priority, t.sla_due, t.sla_paused_remaining, {URGENCY_BAND} AS band FROM tickets t"
            f" WHERE t.{_OPEN} AND t.sla_due IS NOT NULL"
        )
        page = f"SELECT t.id, t.band FROM ({banded}) t{urgency_order('t.band')} LIMIT ?"
    rows = store._rows(
        "SELECT t.id, t.subject, t.priority, t.assignee, t.sla_clock, t.sla_due, t.sla_warn, t.channel,"
        " c.name AS customer, c.tier AS customer_tier, c.email, c.phone"
        f" FROM ({page}) page JOIN tickets t ON t.id = page.id LEFT JOIN customers c ON c.id = t.customer_id"
        f"{urgency_order('page.band')}",
        [now, now, limit],
    )
    return [UrgentTicket(**r) for r in rows]


def running_clocks(store: StoreAPI) -> int:
    """Open tickets with a running clock: the urgent list's full length."""
    row = store._one(f"SELECT count(*) AS n FROM tickets WHERE {_OPEN} AND sla_due IS NOT NULL")
    return int(row["n"]) if row else 0


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
