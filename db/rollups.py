"""The report rollups' SQL (schema v7): each ticket's contribution, the per-day sums and the per-month duration
histograms, and the reads a report makes of them.

- ``report_tickets``: one row per ticket, what it adds to the sums (so a change subtracts the old row and adds the
  new one), keyed by its creation day in the team's zone and its group values (``agent`` '' = unassigned).
- ``report_days``: the sums of those rows per (dim, value, day, backfilled); dim '' is the whole floor (value ''),
  else 'agent', 'priority', 'channel' or 'tier'.
- ``report_hist``: per (measure, dim, value, month, backfilled, bucket) how many first-response ('fr') or
  resolution ('rv') durations fall in the bucket (console/service/rollups.py EDGES): a percentile's rank is found
  in the buckets, then read exactly from ``report_tickets`` through the duration's index, within that bucket only.
- ``report_state``: 'zone' the team zone the days are counted in, 'through' tickets with an id up to it may have no
  contribution yet (0: none), 'judged' the latest instant a stored figure was judged at.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from db.errors import DatabaseUnavailable
from db.queries import time_range
from db.store import Store
from db.store_api import StoreAPI

CLOCK_COLUMNS = tuple(
    f"{clock}_{part}"
    for clock in ("first_response", "next_update", "restore", "resolve", "onsite")
    for part in ("met", "total")
)
# What a ticket adds to the sums, in this order everywhere (a contribution is a tuple of these).
COUNTERS = (
    "tickets",
    "closed",
    "done",
    "resolved_once",
    "reopened",
    "escalated",
    "first_contact",
    "unconfirmed",
    "kb_linked",
    "kb_capture",
    "csat_sum",
    "csat_n",
    "fr_n",
    "rv_n",
    *CLOCK_COLUMNS,
)
GROUP_COLUMNS = ("agent", "priority", "channel", "tier")  # the dims besides '' (the whole floor)
MEASURES = ("fr", "rv")
CHUNK = 500  # tickets read and written per statement batch

_OPEN = "('new','open','pending','restored')"

# -- the service's inputs ------------------------------------------------------------------------------------

_INPUT_SQL = (
    "SELECT t.id, t.created_at, t.status, t.priority, t.channel, t.tier, t.assignee, t.public_replies,"
    " t.escalations, t.reopens, t.confirmed, t.kb_needed, t.q_at, f.ticket_id IS NOT NULL, f.fr_s, f.rv_s,"
    f" f.resolved_once, {', '.join('f.' + c for c in CLOCK_COLUMNS)},"
    " (SELECT coalesce(sum(score), 0) FROM csat c WHERE c.ticket_id = t.id),"
    " (SELECT count(*) FROM csat c WHERE c.ticket_id = t.id),"
    " EXISTS (SELECT 1 FROM ticket_kb k WHERE k.ticket_id = t.id),"
    " EXISTS (SELECT 1 FROM events e WHERE e.ticket_id = t.id AND e.backfilled = 1)"
    " FROM tickets t LEFT JOIN ticket_figures f ON f.ticket_id = t.id WHERE t.id IN ({ids})"
)


def _marks(ids: Sequence[int]) -> str:
    return ",".join("?" * len(ids))


def inputs(store: StoreAPI, ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """What a contribution is made of, per ticket (see ``_INPUT_SQL`` for the columns' order)."""
    return store._tuples(_INPUT_SQL.format(ids=_marks(ids)), list(ids)) if ids else []


_STORED = ("day", "backfilled", "agent", "priority", "channel", "tier", "fr_s", "rv_s", *COUNTERS)


def stored(store: StoreAPI, ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
    """The stored contributions of ``ids``: ticket id -> the row in ``_STORED`` order."""
    if not ids:
        return {}
    rows = store._tuples(
        f"SELECT ticket_id, {', '.join(_STORED)} FROM report_tickets WHERE ticket_id IN ({_marks(ids)})", list(ids)
    )
    return {int(r[0]): tuple(r[1:]) for r in rows}


def write(
    store: StoreAPI,
    rows: Sequence[tuple[Any, ...]],
    days: Mapping[tuple[str, str, int, int], Sequence[int]],
    hist: Mapping[tuple[str, str, str, int, int, int], int],
) -> None:
    """Store contributions (``(ticket_id, *_STORED)``) and add the deltas to the sums, in the caller's transaction."""
    if rows:
        replace = ", ".join(f"{c} = excluded.{c}" for c in _STORED)
        store._execute_many(
            f"INSERT INTO report_tickets (ticket_id, {', '.join(_STORED)})"
            f" VALUES ({', '.join('?' * (len(_STORED) + 1))}) ON CONFLICT (ticket_id) DO UPDATE SET {replace}",
            rows,
        )
    if days:
        sets = ", ".join(f"{c} = report_days.{c} + excluded.{c}" for c in COUNTERS)
        store._execute_many(
            f"INSERT INTO report_days (dim, value, day, backfilled, {', '.join(COUNTERS)})"
            f" VALUES ({', '.join('?' * (len(COUNTERS) + 4))})"
            f" ON CONFLICT (dim, value, day, backfilled) DO UPDATE SET {sets}",
            [(*key, *delta) for key, delta in days.items()],
        )
    if hist:
        store._execute_many(
            "INSERT INTO report_hist (measure, dim, value, month, backfilled, bucket, n)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (measure, dim, value, month, backfilled, bucket)"
            " DO UPDATE SET n = report_hist.n + excluded.n",
            [(*key, n) for key, n in hist.items()],
        )


def clear(store: StoreAPI) -> None:
    """Empty the rollups (a rebuild from scratch follows: ``through`` is set to the newest ticket)."""
    for table in ("report_tickets", "report_days", "report_hist"):
        store._execute(f"DELETE FROM {table}")
    # PostgreSQL's report_state holds text (SQLite's column has no type)
    newest = "(SELECT coalesce(max(id), 0) FROM tickets)"
    newest = f"{newest}::text" if store.dialect == "postgresql" else newest
    store._execute(f"UPDATE report_state SET value = {newest} WHERE key = 'through'")


# -- state -----------------------------------------------------------------------------------------------------


def state(store: StoreAPI) -> dict[str, Any]:
    """'zone', 'through' and 'judged' ({} on a database from before v7)."""
    try:
        rows = store._tuples("SELECT key, value FROM report_state")
    except DatabaseUnavailable:  # a file not migrated yet (the read-only wallboard's): no rollups, reports replay
        return {}
    found = {str(k): v for k, v in rows}
    if store.dialect == "postgresql":  # text there: back to SQLite's types (through an integer, judged a number)
        for key, kind in (("through", int), ("judged", float)):
            if found.get(key) is not None:
                found[key] = kind(found[key])
    return found


def set_state(store: StoreAPI, key: str, value: Any) -> None:
    if store.dialect == "postgresql" and value is not None:
        value = str(value)  # a text column there; ``state`` reads it back as what it was
    store._execute(
        "INSERT INTO report_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def raise_judged(store: StoreAPI, judged: float) -> None:
    if store.dialect == "postgresql":
        store._execute(
            "UPDATE report_state SET value = ? WHERE key = 'judged' AND (value IS NULL OR value::double precision < ?)",
            [repr(float(judged)), judged],
        )
        return
    store._execute(
        "UPDATE report_state SET value = ? WHERE key = 'judged' AND (value IS NULL OR value < ?)", [judged, judged]
    )


def max_ticket_id(store: StoreAPI) -> int:
    row = store._tuples("SELECT coalesce(max(id), 0) FROM tickets")
    return int(row[0][0])


def ids_through(store: StoreAPI, through: int, limit: int) -> list[int]:
    """Up to ``limit`` ticket ids at or below ``through``, newest first (the fill's next batch)."""
    rows = store._tuples("SELECT id FROM tickets WHERE id <= ? ORDER BY id DESC LIMIT ?", [through, limit])
    return [int(r[0]) for r in rows]


def ids_without_figures(store: StoreAPI, ids: Sequence[int]) -> list[int]:
    if not ids:
        return []
    rows = store._tuples(
        f"SELECT t.id FROM tickets t WHERE t.id IN ({_marks(ids)}) AND NOT EXISTS"
        " (SELECT 1 FROM ticket_figures f WHERE f.ticket_id = t.id)",
        list(ids),
    )
    return [int(r[0]) for r in rows]


@contextmanager
def snapshot(store: StoreAPI) -> Iterator[None]:
    """A report's reads in one read transaction (one committed state). Unlike ``Store.snapshot`` the read
    transaction is ended with ROLLBACK, which a damaged file does not refuse, so the read's own error is the one
    reported. (PostgreSQL's snapshot is a read-only transaction ended by ROLLBACK already.)"""
    if not isinstance(store, Store):
        with store.snapshot():
            yield
        return
    with store._lock:
        if store.conn.in_transaction:
            yield
            return
        with store._read_reported():
            store.conn.execute("BEGIN")
        try:
            yield
        finally:
            if store.conn.in_transaction:
                try:
                    store.conn.execute("ROLLBACK")
                except sqlite3.Error:  # pragma: no cover - the error being raised already says what is wrong
                    pass


# -- the report's reads ------------------------------------------------------------------------------------------


def _indexed(store: StoreAPI, index: str) -> str:
    """SQLite is told the index (its planner may prefer a sort it cannot see is bigger); PostgreSQL chooses."""
    return "" if store.dialect == "postgresql" else f" INDEXED BY {index}"


def _bf(exclude_backfilled: bool, prefix: str = "") -> str:
    return f" AND {prefix}backfilled = 0" if exclude_backfilled else ""


def day_sums(store: StoreAPI, first: int, last: int, exclude_backfilled: bool) -> list[tuple[Any, ...]]:
    """(day, backfilled, *COUNTERS) of the whole floor, per day of ``[first, last]``."""
    return store._tuples(
        f"SELECT day, backfilled, {', '.join(COUNTERS)} FROM report_days WHERE dim = '' AND value = ''"
        f" AND day BETWEEN ? AND ?{_bf(exclude_backfilled)} ORDER BY day",
        [first, last],
    )


def group_sums(store: StoreAPI, dim: str, first: int, last: int, exclude_backfilled: bool) -> list[tuple[Any, ...]]:
    """(value, *COUNTERS) summed over ``[first, last]`` per value of ``dim``."""
    return store._tuples(
        f"SELECT value, {', '.join(f'sum({c})' for c in COUNTERS)} FROM report_days WHERE dim = ?"
        f" AND day BETWEEN ? AND ?{_bf(exclude_backfilled)} GROUP BY value",
        [dim, first, last],
    )


def hist_sums(
    store: StoreAPI, measure: str, dim: str, first_month: int, last_month: int, exclude_backfilled: bool
) -> list[tuple[str, int, int]]:
    """(value, bucket, n) over the months ``[first_month, last_month]``."""
    rows = store._tuples(
        "SELECT value, bucket, sum(n) FROM report_hist WHERE measure = ? AND dim = ? AND month BETWEEN ? AND ?"
        f"{_bf(exclude_backfilled)} GROUP BY value, bucket",
        [measure, dim, first_month, last_month],
    )
    return [(str(v), int(b), int(n)) for v, b, n in rows]


def edge_durations(
    store: StoreAPI, dim: str, first: int, last: int, exclude_backfilled: bool
) -> list[tuple[str, int | None, int | None]]:
    """(group value, fr_s, rv_s) of the tickets created on the days ``[first, last]`` with either duration."""
    column = dim or "''"
    return store._tuples(
        f"SELECT {column}, fr_s, rv_s FROM report_tickets{_indexed(store, 'report_tickets_day')}"
        " WHERE day BETWEEN ? AND ?"
        f" AND (fr_s IS NOT NULL OR rv_s IS NOT NULL){_bf(exclude_backfilled)}",
        [first, last],
    )


def durations_in(
    store: StoreAPI,
    measure: str,
    low: int | None,
    high: int | None,
    first: int,
    last: int,
    exclude_backfilled: bool,
    dim: str,
    value: str,
    offset: int,
    count: int,
) -> list[int]:
    """The durations ``[low, high)`` (None: unbounded) of the period's tickets of one group, in order, ``count`` of
    them from ``offset``: a walk along the duration's index over one histogram bucket."""
    column = f"{measure}_s"
    clauses = [f"{column} IS NOT NULL", "day BETWEEN ? AND ?"]
    params: list[Any] = [first, last]
    if low is not None:
        clauses.append(f"{column} >= ?")
        params.append(low)
    if high is not None:
        clauses.append(f"{column} < ?")
        params.append(high)
    if dim:
        clauses.append(f"{dim} = ?")
        params.append(value)
    sql = (
        f"SELECT {column} FROM report_tickets{_indexed(store, f'report_tickets_{measure}')}"
        f" WHERE {' AND '.join(clauses)}"
        f"{_bf(exclude_backfilled)} ORDER BY {column} LIMIT ? OFFSET ?"
    )
    return [int(r[0]) for r in store._tuples(sql, [*params, count, offset])]


def stale_tickets(store: StoreAPI, now: float, first: int, last: int) -> list[tuple[Any, ...]]:
    """Contributions (ticket id, *_STORED) of the period's tickets whose stored figures are out of date at ``now``: a
    running clock fell due since they were judged (the sweeper has not come to them yet)."""
    return store._tuples(
        # CROSS JOIN: from the few stale figures (their index) to their rows, never the period's rows to their figures
        f"SELECT r.ticket_id, {', '.join('r.' + c for c in _STORED)} FROM ticket_figures f"
        f" {'JOIN' if store.dialect == 'postgresql' else 'CROSS JOIN'} report_tickets r ON r.ticket_id = f.ticket_id"
        " WHERE f.stale_at IS NOT NULL AND f.stale_at <= ?"
        " AND r.day BETWEEN ? AND ?",
        [now, first, last],
    )


def open_backlog(
    store: StoreAPI, start: str | None, end: str | None, exclude_backfilled: bool
) -> list[tuple[Any, ...]]:
    """(created_at, agent, priority, channel, tier) of the open tickets created in ``[start, end)`` (UTC text)."""
    clauses, params = time_range("t.created_at", start, end)
    clauses.insert(0, f"t.status IN {_OPEN}")
    return store._tuples(
        "SELECT t.created_at, r.agent, r.priority, r.channel, r.tier FROM tickets t"
        f" JOIN report_tickets r ON r.ticket_id = t.id WHERE {' AND '.join(clauses)}{_bf(exclude_backfilled, 'r.')}",
        params,
    )


def contributions(store: StoreAPI) -> Iterable[tuple[Any, ...]]:
    """Every stored contribution (ticket id, *_STORED), for checks."""
    return store._tuples(f"SELECT ticket_id, {', '.join(_STORED)} FROM report_tickets ORDER BY ticket_id")


def all_days(store: StoreAPI) -> list[tuple[Any, ...]]:
    """Every non-empty day row, for comparing a rebuild with the incremental sums."""
    return store._tuples(
        f"SELECT dim, value, day, backfilled, {', '.join(COUNTERS)} FROM report_days"
        " WHERE tickets <> 0 ORDER BY dim, value, day, backfilled"
    )


def all_hist(store: StoreAPI) -> list[tuple[Any, ...]]:
    return store._tuples(
        "SELECT measure, dim, value, month, backfilled, bucket, n FROM report_hist WHERE n <> 0"
        " ORDER BY measure, dim, value, month, backfilled, bucket"
    )
