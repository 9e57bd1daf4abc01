"""The reports' queries: a period's tickets with their clock-relevant history in a few bulk queries, and the
writes behind satisfaction scores and follow-up calls.

A period selects tickets by creation time, ``[start, end)`` in UTC (either bound may be open). Histories are
fetched for all the period's tickets in one query, and only the events the SLA clocks read (creation, public
replies, customer messages, calls, on-site visits, handover notices, status changes), with the new status pulled
out of the JSON detail by SQLite, so a report over 100,000 tickets builds no per-event record it would throw away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from db.queries import time_range, ts
from db.store_api import StoreAPI

# The new status an event recorded: the initial one for a creation, else the second item of changes.status.
_STATUS_SQL = (
    "CASE WHEN e.kind = 'created' THEN json_extract(e.detail, '$.initial.status')"
    " ELSE json_extract(e.detail, '$.changes.status[1]') END"
)
# What tells apart the clock events of one kind (console.rules.sla.event_fact): a call's direction, a visit's
# stage, whether an escalation sent the customer its handover notice.
# PostgreSQL's: the same values from the detail as jsonb; a CASE has one type there, so the notice is '1' or NULL
# (SQLite's json_extract gives 1 or 0: only its truth is read).
_STATUS_PG = (
    "CASE WHEN e.kind = 'created' THEN e.detail::jsonb #>> '{initial,status}'"
    " ELSE e.detail::jsonb #>> '{changes,status,1}' END"
)
_SUB_PG = (
    "CASE e.kind WHEN 'call' THEN e.detail::jsonb ->> 'direction'"
    " WHEN 'visit' THEN e.detail::jsonb ->> 'stage'"
    " WHEN 'escalated' THEN CASE WHEN e.detail::jsonb -> 'notice' = 'true'::jsonb THEN '1' END END"
)


def _status_sub(store: StoreAPI) -> tuple[str, str]:
    return (_STATUS_PG, _SUB_PG) if store.dialect == "postgresql" else (_STATUS_SQL, _SUB_SQL)


_SUB_SQL = (
    "CASE e.kind WHEN 'call' THEN json_extract(e.detail, '$.direction')"
    " WHEN 'visit' THEN json_extract(e.detail, '$.stage')"
    " WHEN 'escalated' THEN json_extract(e.detail, '$.notice') END"
)
CLOCK_KINDS = ("created", "reply", "customer_message", "call", "visit", "escalated")


@dataclass(frozen=True, slots=True)
class ReportTicket:
    """A ticket's state now, as the reports read it."""

    id: int
    created_at: str  # UTC ISO text, as stored
    status: str
    priority: str
    channel: str
    tier: str
    assignee: str | None
    customer_id: int | None
    customer: str | None
    customer_tier: str | None
    public_replies: int
    escalations: int
    reopens: int
    confirmed: int | None  # 1 / 0 as stored; None until a closure


@dataclass(frozen=True, slots=True)
class ClockEvent:
    """One event as the SLA clocks see it: ``status`` is the status it entered, if it changed one."""

    ticket_id: int
    at: str  # UTC ISO text
    kind: str
    status: str | None
    sub: str | int | None = None  # see _SUB_SQL


@dataclass(frozen=True, slots=True)
class PendingFollowup:
    id: int
    subject: str
    priority: str
    assignee: str | None
    closed_at: str | None
    followup_due: str
    customer: str | None
    phone: str | None
    email: str | None


def _period(start: datetime | None, end: datetime | None) -> tuple[str, list[str]]:
    """The WHERE clause on the tickets' creation time (UTC text sorts as time; the index covers it)."""
    clauses, params = time_range("t.created_at", start, end)
    return (" AND ".join(clauses) or "1 = 1"), params


def period_tickets(store: StoreAPI, start: datetime | None, end: datetime | None) -> list[ReportTicket]:
    """Tickets created in ``[start, end)``, oldest first, with their customer's name and tier."""
    where, params = _period(start, end)
    sql = (
        "SELECT t.id, t.created_at, t.status, t.priority, t.channel, t.tier, t.assignee, t.customer_id,"
        " c.name, c.tier, t.public_replies, t.escalations, t.reopens, t.confirmed"
        f" FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id WHERE {where} ORDER BY t.created_at, t.id"
    )
    rows = store._tuples(sql, params)
    # Positional rows, in ReportTicket's field order: for a year of tickets a dict per row costs more than the query.
    return [ReportTicket(*row) for row in rows]


def period_backfilled(store: StoreAPI, start: datetime | None, end: datetime | None) -> set[int]:
    """Tickets created in ``[start, end)`` with any event whose time was claimed, not clocked (backfilled)."""
    where, params = _period(start, end)
    sql = (
        "SELECT DISTINCT e.ticket_id FROM events e JOIN tickets t ON t.id = e.ticket_id"
        f" WHERE {where} AND e.backfilled = 1"
    )
    return {int(row[0]) for row in store._tuples(sql, params)}


def period_clock_events(store: StoreAPI, start: datetime | None, end: datetime | None) -> list[ClockEvent]:
    """The clock-relevant events of every ticket created in ``[start, end)``, by ticket then in order."""
    where, params = _period(start, end)
    status, sub = _status_sub(store)
    sql = (
        f"SELECT e.ticket_id, e.at, e.kind, {status} AS status, {sub} AS sub FROM events e"
        f" JOIN tickets t ON t.id = e.ticket_id WHERE {where}"
        f" AND (e.kind IN ({', '.join(repr(k) for k in CLOCK_KINDS)}) OR {status} IS NOT NULL)"
        " ORDER BY e.ticket_id, e.id"
    )
    rows = store._tuples(sql, params)
    return [ClockEvent(tid, at, kind, status, sub) for tid, at, kind, status, sub in rows]


def tickets_of(store: StoreAPI, ids: Sequence[int]) -> list[ReportTicket]:
    """The tickets ``ids``, as ``period_tickets`` reads them (a report replaying a few tickets only)."""
    if not ids:
        return []
    sql = (
        "SELECT t.id, t.created_at, t.status, t.priority, t.channel, t.tier, t.assignee, t.customer_id,"
        " c.name, c.tier, t.public_replies, t.escalations, t.reopens, t.confirmed"
        f" FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id WHERE t.id IN ({','.join('?' * len(ids))})"
        " ORDER BY t.id"
    )
    return [ReportTicket(*row) for row in store._tuples(sql, list(ids))]


def clock_events_of(store: StoreAPI, ids: Sequence[int]) -> list[ClockEvent]:
    """The clock-relevant events of the tickets ``ids``, by ticket then in order (as ``period_clock_events``)."""
    if not ids:
        return []
    status, sub = _status_sub(store)
    sql = (
        f"SELECT e.ticket_id, e.at, e.kind, {status} AS status, {sub} AS sub FROM events e"
        f" WHERE e.ticket_id IN ({','.join('?' * len(ids))})"
        f" AND (e.kind IN ({', '.join(repr(k) for k in CLOCK_KINDS)}) OR {status} IS NOT NULL)"
        " ORDER BY e.ticket_id, e.id"
    )
    return [ClockEvent(tid, at, kind, status, sub) for tid, at, kind, status, sub in store._tuples(sql, list(ids))]


def period_csat(store: StoreAPI, start: datetime | None, end: datetime | None) -> list[tuple[int, int]]:
    """(ticket id, score) of every satisfaction answer about a ticket created in ``[start, end)``."""
    where, params = _period(start, end)
    rows = store._rows(
        f"SELECT c.ticket_id, c.score FROM csat c JOIN tickets t ON t.id = c.ticket_id WHERE {where} ORDER BY c.id",
        params,
    )
    return [(int(r["ticket_id"]), int(r["score"])) for r in rows]


def period_knowledge(store: StoreAPI, start: datetime | None, end: datetime | None) -> tuple[set[int], set[int]]:
    """Of the tickets created in ``[start, end)``: those with a knowledge article linked, and those whose closure
    asked for a new article."""
    where, params = _period(start, end)
    linked = store._rows(
        f"SELECT DISTINCT l.ticket_id FROM ticket_kb l JOIN tickets t ON t.id = l.ticket_id WHERE {where}", params
    )
    requested = store._rows(f"SELECT t.id FROM tickets t WHERE {where} AND t.kb_needed = 1", params)
    return {int(r["ticket_id"]) for r in linked}, {int(r["id"]) for r in requested}


# -- satisfaction ---------------------------------------------------------------------------------------------


def closures(store: StoreAPI, ticket_id: int) -> int:
    """How many times the ticket has been closed (each closure may be scored once)."""
    row = store._one("SELECT count(*) AS n FROM events WHERE ticket_id = ? AND kind = 'closed'", [ticket_id])
    return int(row["n"]) if row else 0


def has_csat(store: StoreAPI, ticket_id: int, closure: int) -> bool:
    row = store._one("SELECT 1 AS x FROM csat WHERE ticket_id = ? AND closure = ?", [ticket_id, closure])
    return row is not None


# -- follow-up calls ------------------------------------------------------------------------------------------


def pending_followups(store: StoreAPI, due_by: str | None = None) -> list[PendingFollowup]:
    """Closed P1/P2 tickets whose follow-up call is not yet recorded (due on or before ``due_by``, a
    YYYY-MM-DD date, when given), earliest date first."""
    clauses = [
        "t.status = 'closed'",
        "t.priority IN ('P1', 'P2')",
        "t.followup_due IS NOT NULL",
        "t.followup_done_at IS NULL",
    ]
    params: list[str] = []
    if due_by is not None:
        clauses.append("t.followup_due <= ?")
        params.append(due_by)
    rows = store._rows(
        "SELECT t.id, t.subject, t.priority, t.assignee, t.closed_at, t.followup_due, c.name AS customer,"
        " c.phone, c.email FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id"
        f" WHERE {' AND '.join(clauses)} ORDER BY t.followup_due, t.id",
        params,
    )
    return [PendingFollowup(**r) for r in rows]


def mark_followup_done(store: StoreAPI, ticket_id: int, at: datetime) -> bool:
    """Record the call; False when it was already recorded (the guard makes a second writer lose cleanly).

    Like the SLA columns this is not a change of the ticket the agent is editing, so the version stays."""
    changed = store._execute(
        "UPDATE tickets SET followup_done_at = ? WHERE id = ? AND followup_done_at IS NULL", [ts(at), ticket_id]
    )
    return changed == 1
