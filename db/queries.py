"""What both stores share: the SQL fragments and value encodings of the tickets and the queue's order, and the
queries and commands that are the same on SQLite and PostgreSQL, written once (``PortableQueries``).

``PortableQueries`` is the base of db/store.py's ``Store`` (SQLite) and db/pg/store.py's ``PgStore``
(PostgreSQL). Its methods are written against the few primitives each store provides (declared abstract here, so
mypy checks both): reads (``_rows``, ``_tuples``), commands (``_execute``, ``_insert``) in the scope ``_guarded``
gives, an outermost transaction (``_outermost``) and its retries (``_retry``), ``try_write`` and ``snapshot``, and a
hook wherever one detail of a method differs (``index_hint``, ``_limit_param``, ``_any_of``, ``_duplicate_error``).
Its SQL is written in SQLite's placeholders (``?``, ``:name``), which PgStore translates. A method whose SQL or
logic differs between the engines stays in each store; db/store_api.py's StoreAPI protocol is the contract both
answer.
"""

from __future__ import annotations

import json
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from db import schema
from db.errors import Conflict, DatabaseUnavailable, Duplicate, NotFound, ReadOnly
from db.models import Agent, Csat, Customer, Event, KbArticle, Message, QueueItem, Ticket
from db.records import Change, Feed, QueueFacts, TicketFilter
from db.vocabulary import OPEN_STATUSES

T = TypeVar("T")

TICKET_COLUMNS = (
    "id, subject, body, status, priority, channel, tier, assignee, customer_id, parent_id, created_at, updated_at,"
    " version, restore_summary, resolution_summary, resolution_code, resolved_at, closed_at, confirmed,"
    " unconfirmed_reason, asked_anything_else, kb_needed, followup_due, followup_done_at, public_replies,"
    " escalations, reopens, sla_clock, sla_due, sla_warn, sla_paused_remaining, confirmed_by"
)
QUEUE_COLUMNS = (
    "t.id, t.subject, t.status, t.priority, t.channel, t.tier, t.assignee, c.name AS customer,"
    " c.tier AS customer_tier, t.created_at, t.updated_at, t.version, t.sla_clock, t.sla_due, t.sla_warn,"
    " t.sla_paused_remaining"
)
# The queue's urgency order (README, "The queue's order"), in bands judged at an instant ``now``:
#   1  P1 with a running clock (breached, at risk or running): a major incident is above everything else;
#   2  P2-P4 breached or at risk (a warning passed): higher priority first, then the earlier due instant
#      (within a priority, breached come first, longest overdue on top);
#   3  P2-P4 running: the earlier due instant first, then priority;
#   4  clock paused (pending): least remaining first, then priority;
#   5  no running clock: priority;
# and the ticket number last. Bands 1-3 hold exactly the tickets with a due instant (sla_due).
URGENCY_BAND = (
    "CASE WHEN t.sla_due IS NULL THEN (CASE WHEN t.sla_paused_remaining IS NULL THEN 5 ELSE 4 END)"
    " WHEN t.priority = 'P1' THEN 1 WHEN t.sla_due <= ? OR t.sla_warn <= ? THEN 2 ELSE 3 END"
)
_URGENCY_KEYS = "CASE WHEN {band} = 2 THEN t.priority END, t.sla_due, t.sla_paused_remaining, t.priority, t.id"


def urgency_order(band: str) -> str:
    """The ORDER BY of the urgency bands, ``band`` being the band's expression or a column holding it."""
    return f" ORDER BY {band}, " + _URGENCY_KEYS.format(band=band)


# The urgency order stored with each ticket (schema v6): the same bands and keys as URGENCY_BAND / urgency_order,
# computed when the ticket is written and when the sweeper judges it again at a crossing.
STORED_ORDER = " ORDER BY t.q_band, t.q_key, t.priority, t.id"
_PRIORITY_RANK = {"P1": 1, "P2": 2, "P3": 3, "P4": 4}
_OPEN_LITERAL = schema._OPEN_SQL
FEED_LIMIT = 2000  # changes a reader applies one by one; more and it reads everything again
PAGE_ORDER = " ORDER BY band, ukey, pr, id"
PAGE_ORDER_OUTER = " ORDER BY page.band, page.ukey, page.pr, page.id"  # a page joined to its tickets
# The stored key (stored_urgency) computed at an instant, for tickets whose stored one is stale.
_COMPUTED_KEY = (
    "(CASE WHEN t.sla_due IS NULL THEN coalesce(t.sla_paused_remaining, 0)"
    " WHEN t.priority <> 'P1' AND (t.sla_due <= ? OR t.sla_warn <= ?)"
    " THEN (CASE t.priority WHEN 'P2' THEN 2 WHEN 'P3' THEN 3 ELSE 4 END) * 1e10 + t.sla_due"
    " ELSE t.sla_due END)"
)


def stored_urgency(
    priority: str, due: float | None, warn: float | None, paused: int | None, now: float
) -> tuple[int, float, int]:
    """``(q_band, q_key, sla_alert)`` of a ticket at ``now``: URGENCY_BAND and its keys, as stored columns."""
    alert = 2 if due is not None and due <= now else 1 if warn is not None and warn <= now else 0
    if due is None:
        return (5, 0.0, 0) if paused is None else (4, float(paused), 0)
    if priority == "P1":
        return 1, float(due), alert
    if alert:
        # priority first, then the due instant: instants stay below 1e10 (the year 2286), past the clock's range
        return 2, _PRIORITY_RANK.get(priority, 4) * 1e10 + float(due), alert
    return 3, float(due), alert


def time_range(column: str, start: datetime | str | None, end: datetime | str | None) -> tuple[list[str], list[str]]:
    """``column`` in [start, end) as WHERE clauses and their parameters (UTC text sorts as time; a bound left None is
    open; a datetime is written as stored)."""
    clauses: list[str] = []
    params: list[str] = []
    for bound, operator in ((start, ">="), (end, "<")):
        if bound is not None:
            clauses.append(f"{column} {operator} ?")
            params.append(bound if isinstance(bound, str) else ts(bound))
    return clauses, params


def ts(value: datetime) -> str:
    """Timestamps are stored as UTC ISO-8601 text to the second, so they sort as text."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _encode(fields: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, datetime):
            out[key] = ts(value)
        elif isinstance(value, bool):
            out[key] = int(value)
        else:
            out[key] = value
    return out


def _event(row: Mapping[str, Any]) -> Event:
    data = dict(row)
    data["detail"] = json.loads(data.get("detail") or "{}")
    return Event(**data)


def filter_sql(flt: TicketFilter) -> tuple[str, list[Any]]:
    """The WHERE clause (and its parameters) of a queue filter. The open statuses are written out literally: the
    stored order's partial indexes only serve a query with the same text."""
    clauses: list[str] = []
    params: list[Any] = []
    if tuple(flt.statuses) == OPEN_STATUSES:
        clauses.append("t." + _OPEN_LITERAL)
    elif flt.statuses:
        clauses.append(f"t.status IN ({','.join('?' * len(flt.statuses))})")
        params.extend(flt.statuses)
    if flt.alerting:
        clauses.append("t.sla_alert > 0")
    if flt.running:
        clauses.append("t.sla_due IS NOT NULL")
    if flt.priority:
        clauses.append("t.priority = ?")
        params.append(flt.priority)
    if flt.assignee:
        clauses.append("t.assignee = ?")
        params.append(flt.assignee)
    if flt.unassigned:
        clauses.append("t.assignee IS NULL")
    if flt.tier:
        clauses.append("t.tier = ?")
        params.append(flt.tier)
    if flt.customer_id is not None:
        clauses.append("t.customer_id = ?")
        params.append(flt.customer_id)
    if flt.due_before is not None:
        clauses.append("t.sla_due <= ?")
        params.append(flt.due_before)
    if flt.warn_before is not None:
        clauses.append("t.sla_warn <= ? AND t.sla_due > ?")
        params.extend([flt.warn_before, flt.warn_before])
    if flt.at_risk_or_breaching is not None:
        clauses.append("(t.sla_warn <= ? OR t.sla_due <= ?)")
        params.extend([flt.at_risk_or_breaching, flt.at_risk_or_breaching])
    if flt.text:
        needle = "%" + flt.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(
            "(t.subject LIKE ? ESCAPE '\\' OR c.name LIKE ? ESCAPE '\\' OR c.organisation LIKE ? ESCAPE '\\'"
            " OR CAST(t.id AS TEXT) = ?)"
        )
        params.extend([needle, needle, needle, flt.text.strip().lstrip("#")])
    if flt.exclude_ids:
        clauses.append(f"t.id NOT IN ({','.join('?' * len(flt.exclude_ids))})")
        params.extend(flt.exclude_ids)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def chain_breaks(rows: Iterable[Sequence[Any]], problems: list[str]) -> None:
    """The events' hash chain recomputed in id order (db/schema.py's event_hash) over ``rows`` (EVENT_SELECT's
    columns, then the stored hash), one line per broken link added to ``problems`` as it is found (a read that
    fails midway keeps what was found before): each link is checked against the stored hash before it, so an
    edited event is named alone, and a deleted one shows at the next id (ids are given out without gaps)."""
    previous, previous_id = schema.GENESIS, 0
    for *row, stored in rows:
        eid = row[0]
        if stored is None:
            problems.append(f"event {eid}: has no hash (written outside the helpdesk?)")
        elif schema.event_hash(previous, row) != stored:
            if eid == previous_id + 1:
                problems.append(f"event {eid}: its hash does not match its content (edited?)")
            else:
                problems.append(
                    f"event {eid}: does not chain to the event before it (an event was deleted or reordered?)"
                )
        previous, previous_id = stored, eid


def backup_files(dest: str | Path, suffix: str) -> tuple[Path, Path]:
    """Where a backup to ``dest`` goes (in a directory: a stamped name ending in ``suffix``), and the temporary file
    it is written to first and renamed into place from, so a failed backup never leaves a half-written file (one
    per process: two processes may back up at once). DatabaseUnavailable when the directory does not exist."""
    target = Path(dest)
    if target.is_dir():
        target = target / f"helpdesk-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}{suffix}"
    if not target.parent.exists():
        raise DatabaseUnavailable(f"directory {target.parent} does not exist")
    return target, target.with_name(f".{target.name}.{os.getpid()}.tmp")


class PortableQueries(ABC):
    """The queries and commands whose SQL and logic are the same on both engines (see the module's docstring)."""

    readonly: bool
    _lock: threading.RLock  # around the store's one connection
    _depth: int  # nesting of `transaction` on that connection (held under the lock)
    # What the engine raises when add_csat's row breaks the table's constraints (one score per closure).
    _duplicate_error: ClassVar[type[Exception]]

    # -- the primitives each store provides ---------------------------------------------------------------

    @abstractmethod
    def _rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        """The rows of a query, each a dict by column name."""

    @abstractmethod
    def _tuples(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of a query as plain tuples, in the SELECT's column order."""

    def _one(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> dict[str, Any] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """A command in the caller's transaction (or on its own); the rows it changed."""

    @abstractmethod
    def _insert(self, table: str, record: Mapping[str, Any]) -> int:
        """A row in the caller's transaction (or on its own); its id."""

    @abstractmethod
    def _guarded(self) -> AbstractContextManager[Any]:
        """The scope of a write of the methods below: inside a transaction it joins it; outside one the command
        is its own (SQLite: under the connection's lock, committing by itself; PostgreSQL: its own transaction,
        holding the feed lock as every writer does)."""

    @abstractmethod
    def _limit_param(self, limit: int) -> int | None:
        """A LIMIT's parameter for ``limit``, -1 meaning no limit (SQLite's own -1; PostgreSQL's NULL)."""

    @abstractmethod
    def _any_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """The condition that ``column`` is one of ``values`` (not empty), and its parameters: SQLite's
        ``IN (?, ?, …)``, PostgreSQL's ``= ANY(?)`` with one array."""

    @abstractmethod
    def _outermost(self) -> AbstractContextManager[None]:
        """An outermost write transaction: begun, committed when the work ends, rolled back when it fails."""

    @abstractmethod
    def _retry(self, unit: Callable[[], T], attempts: int = 12) -> T:
        """``unit`` run, and run again whole while the engine says to try again (SQLite busy; PostgreSQL a
        serialization failure or deadlock), up to ``attempts`` times."""

    @abstractmethod
    def try_write(self, work: Callable[[], Any]) -> bool: ...

    @abstractmethod
    def snapshot(self) -> AbstractContextManager[None]: ...

    @abstractmethod
    def index_hint(self, index: str) -> str: ...

    @abstractmethod
    def page_sql(self, flt: TicketFilter, now: float, offset: int, limit: int) -> tuple[str, list[Any]]: ...

    @abstractmethod
    def feed_cursor(self) -> int: ...

    # -- units of work --------------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self.readonly:
            raise ReadOnly("this database is open read-only")
        with self._lock:
            if self._depth:
                # A unit of work inside another joins it (the mail channel files a customer's reply and its
                # Message-ID in one transaction): the outer one commits or rolls back both.
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                with self._outermost():
                    yield
            finally:
                self._depth = 0

    def write(self, work: Callable[[], T], attempts: int = 12) -> T:
        """Run ``work`` in one write transaction, retrying the whole unit while the engine says to try again."""

        def unit() -> T:
            with self.transaction():
                return work()

        return self._retry(unit, attempts)

    # -- agents and articles -------------------------------------------------------------------------------

    def get_agent(self, name: str) -> Agent | None:
        row = self._one("SELECT * FROM agents WHERE name = ?", [name])
        return Agent(**row) if row else None

    def agent_by_login(self, login: str) -> Agent | None:
        row = self._one("SELECT * FROM agents WHERE login = ?", [login])
        return Agent(**row) if row else None

    def get_article(self, article_id: int) -> KbArticle:
        row = self._one("SELECT * FROM kb_articles WHERE id = ?", [article_id])
        if row is None:
            raise NotFound("article", article_id)
        return KbArticle(**row)

    # -- customers ----------------------------------------------------------------------------------------

    def get_customer(self, customer_id: int) -> Customer:
        row = self._one("SELECT * FROM customers WHERE id = ?", [customer_id])
        if row is None:
            raise NotFound("customer", customer_id)
        return Customer(**row)

    def find_customer(self, *, email: str | None = None, name: str | None = None) -> Customer | None:
        if email:
            # the conditions repeat the partial index's, so SQLite can use it instead of scanning
            row = self._one(
                "SELECT * FROM customers WHERE lower(email) = lower(?) AND email IS NOT NULL AND email <> ''", [email]
            )
            if row:
                return Customer(**row)
        if name:
            row = self._one("SELECT * FROM customers WHERE name = ? ORDER BY id LIMIT 1", [name])
            if row:
                return Customer(**row)
        return None

    def insert_customer(self, fields: Mapping[str, Any], at: datetime) -> Customer:
        with self._guarded():
            cid = self._insert("customers", {"created_at": ts(at), **fields})
        return self.get_customer(int(cid))

    # -- tickets ------------------------------------------------------------------------------------------

    def get_ticket(self, ticket_id: int) -> Ticket:
        row = self._one(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?", [ticket_id])
        if row is None:
            raise NotFound("ticket", ticket_id)
        return Ticket(**row)

    def insert_ticket(self, fields: Mapping[str, Any]) -> int:
        with self._guarded():
            return int(self._insert("tickets", _encode(fields)))

    def update_ticket(self, ticket_id: int, fields: Mapping[str, Any], expected_version: int) -> Ticket:
        """Apply ``fields`` only if the ticket is still at ``expected_version``; bumps the version."""
        record = _encode(fields)
        sets = ", ".join(f"{k} = :{k}" for k in record)
        params = {**record, "__id": ticket_id, "__v": expected_version}
        with self._guarded():
            count = self._execute(
                f"UPDATE tickets SET {sets}{', ' if sets else ''}version = version + 1"
                " WHERE id = :__id AND version = :__v",
                params,
            )
            if count != 1:
                current = self._one("SELECT version FROM tickets WHERE id = ?", [ticket_id])
                if current is None:
                    raise NotFound("ticket", ticket_id)
                raise Conflict(ticket_id, expected_version, int(current["version"]))
        return self.get_ticket(ticket_id)

    def set_ticket_sla(self, ticket_id: int, fields: Mapping[str, Any]) -> None:
        """SLA columns are derived data: refreshing them is not a change of the ticket (no version bump). Columns
        given without their stored urgency (``q_band``…) get it judged at the current time, so the stored order
        never disagrees with the columns it is made of."""
        record = _encode(fields)
        if not record:
            return
        if "q_band" not in record and {"sla_due", "sla_warn", "sla_paused_remaining"} & set(record):
            row = self._tuples(
                "SELECT priority, sla_due, sla_warn, sla_paused_remaining FROM tickets WHERE id = ?", [ticket_id]
            )
            if row:
                priority, due, warn, paused = row[0]
                due = record.get("sla_due", due)
                warn = record.get("sla_warn", warn)
                paused = record.get("sla_paused_remaining", paused)
                now = time.time()
                band, key, alert = stored_urgency(priority, due, warn, paused, now)
                future = [x for x in (warn, due) if x is not None and x > now]
                record.update(q_band=band, q_key=key, sla_alert=alert, q_at=now, sla_next=min(future, default=None))
        sets = ", ".join(f"{k} = :{k}" for k in record)
        with self._guarded():
            self._execute(f"UPDATE tickets SET {sets} WHERE id = :__id", {**record, "__id": ticket_id})

    def queue(self, flt: TicketFilter, offset: int = 0, limit: int = 100) -> list[QueueItem]:
        """One page of the selection in urgency order (URGENCY_BAND), judged at ``flt.now`` (default: now): the
        page's ids (``page_sql``, each engine's), then only their rows."""
        now = flt.now if flt.now is not None else time.time()
        page, params = self.page_sql(flt, now, offset, limit)
        sql = (
            f"SELECT {QUEUE_COLUMNS} FROM ({page}) page JOIN tickets t ON t.id = page.id"
            f" LEFT JOIN customers c ON c.id = t.customer_id{PAGE_ORDER_OUTER}"
        )
        return [QueueItem(**r) for r in self._rows(sql, params)]

    def stale_count(self, now: float) -> int:
        """Open tickets whose stored place in the order is not their place at ``now``: a crossing has come since
        they were judged, or they were judged after ``now`` (two index ranges: tickets_next, tickets_judged)."""
        row = self._tuples(
            "SELECT (SELECT count(*) FROM tickets WHERE sla_next <= ?),"
            # named on SQLite: its planner would rather walk (status, sla_due) for the open rows (4 ms at 100,000
            # tickets, against microseconds from the partial index)
            f" (SELECT count(*) FROM tickets{self.index_hint('tickets_judged')} WHERE {_OPEN_LITERAL} AND q_at > ?)",
            [now, now],
        )[0]
        return int(row[0]) + int(row[1])

    def stored_order_holds(self, now: float) -> bool:
        """Whether every open ticket's stored urgency is its urgency at ``now`` (no stale ticket)."""
        return self.stale_count(now) == 0

    # -- the change feed (schema v6) -------------------------------------------------------------------------

    def changes_since(self, since: int) -> Feed:
        """The tickets changed after change ``since``, each with its queue columns as they were then."""
        rows = self._tuples(
            "SELECT id, ticket_id, created, status_was, assignee_was, tier_was, alert_was, band_was, key_was,"
            " priority_was FROM changes WHERE id > ? ORDER BY id LIMIT ?",
            [since, FEED_LIMIT + 1],
        )
        if not rows:
            return Feed(since, since, False, {})
        cursor = int(rows[-1][0])
        if len(rows) > FEED_LIMIT or int(rows[0][0]) != since + 1:
            # too many to apply one by one, or the rows after ``since`` were pruned
            return Feed(since, self.feed_cursor() if len(rows) > FEED_LIMIT else cursor, True, {})
        tickets: dict[int, Change] = {}
        reload = False
        for _id, ticket_id, created, status, assignee, tier, alert, band, key, priority in rows:
            if ticket_id is None:
                reload = True
                continue
            ticket_id = int(ticket_id)
            seen = tickets.get(ticket_id)
            # the first UPDATE row after ``since`` holds the ticket as the reader last saw it
            before = None
            if status is not None:
                before = QueueFacts(ticket_id, status, assignee, tier, int(alert), int(band), float(key), priority)
            if seen is None:
                tickets[ticket_id] = Change(ticket_id, bool(created), None if created else before)
            elif seen.before is None and not seen.created and before is not None:
                tickets[ticket_id] = Change(ticket_id, False, before)
        return Feed(since, cursor, reload, tickets)

    def tickets_changed_after(self, since: int) -> list[int]:
        """The tickets of the feed's rows after ``since`` (in a write transaction: the tickets it changed)."""
        rows = self._tuples(
            "SELECT DISTINCT ticket_id FROM changes WHERE id > ? AND ticket_id IS NOT NULL ORDER BY ticket_id", [since]
        )
        return [int(r[0]) for r in rows]

    def oldest_change(self) -> float | None:
        """When the oldest feed row was written (ids grow with time: the first row by id)."""
        row = self._tuples("SELECT at FROM changes ORDER BY id LIMIT 1")
        return None if not row else float(row[0][0])

    # -- the sweeper's lease --------------------------------------------------------------------------------

    def lease_holder(self, name: str, now: float) -> str | None:
        row = self._tuples("SELECT holder, expires FROM leases WHERE name = ?", [name])
        if not row or float(row[0][1]) <= now:
            return None
        return str(row[0][0])

    def take_lease(self, name: str, holder: str, now: float, ttl: float) -> bool:
        """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``, if it is free, expired or already
        ``holder``'s; False (nothing written, no waiting) when another holds it or the database is busy."""
        if self.readonly:
            return False
        if self.lease_holder(name, now) not in (None, holder):
            return False
        taken: list[bool] = []

        def work() -> None:
            count = self._execute(
                "INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE"
                " SET holder = excluded.holder, expires = excluded.expires"
                " WHERE leases.holder = excluded.holder OR leases.expires <= ?",
                [name, holder, now + ttl, now],
            )
            taken.append(count == 1)

        return self.try_write(work) and bool(taken and taken[0])

    def release_lease(self, name: str, holder: str) -> None:
        if not self.readonly:
            self.try_write(lambda: self._execute("DELETE FROM leases WHERE name = ? AND holder = ?", [name, holder]))

    # -- stored figures and the sweeper's judgements --------------------------------------------------------

    def tickets_without_figures(self, limit: int) -> list[int]:
        """Up to ``limit`` tickets left without figures by SQLite's v6 migration, lowest ids first; [] when none are
        left (then the mark is cleared, so the question costs nothing from then on). None on PostgreSQL: the figures
        are written with every change, and no migration left tickets without (its mark is 0 from the start)."""
        mark = self._tuples("SELECT value FROM upkeep WHERE key = 'figures_before'")
        below = int(mark[0][0]) if mark else 0
        if below <= 0:
            return []
        rows = self._tuples(
            "SELECT t.id FROM tickets t WHERE t.id < ? AND NOT EXISTS"
            " (SELECT 1 FROM ticket_figures f WHERE f.ticket_id = t.id) ORDER BY t.id LIMIT ?",
            [below, self._limit_param(limit)],
        )
        if not rows and not self.readonly:
            self.try_write(lambda: self._execute("UPDATE upkeep SET value = 0 WHERE key = 'figures_before'"))
        return [int(r[0]) for r in rows]

    def count_to_judge(self, now: float) -> int:
        return int(self._tuples("SELECT count(*) FROM tickets WHERE sla_next <= ?", [now])[0][0])

    def next_judgement(self) -> float | None:
        row = self._tuples("SELECT min(sla_next) FROM tickets WHERE sla_next IS NOT NULL")
        return None if not row or row[0][0] is None else float(row[0][0])

    # -- messages and events ------------------------------------------------------------------------------

    def add_message(self, ticket_id: int, kind: str, author: str, body: str, at: datetime) -> Message:
        record = {"ticket_id": ticket_id, "kind": kind, "author": author, "body": body, "created_at": ts(at)}
        with self._guarded():
            mid = int(self._insert("messages", record))
        return Message(id=mid, ticket_id=ticket_id, kind=kind, author=author, body=body, created_at=at)  # type: ignore[arg-type]

    def messages(self, ticket_id: int) -> list[Message]:
        return [Message(**r) for r in self._rows("SELECT * FROM messages WHERE ticket_id = ? ORDER BY id", [ticket_id])]

    def events(self, ticket_id: int) -> list[Event]:
        return [_event(r) for r in self._rows("SELECT * FROM events WHERE ticket_id = ? ORDER BY id", [ticket_id])]

    def events_between(self, start: datetime | None, end: datetime | None, kinds: Sequence[str] = ()) -> list[Event]:
        clauses, bounds = time_range("at", start, end)
        params: list[Any] = list(bounds)
        if kinds:
            clause, values = self._any_of("kind", kinds)
            clauses.append(clause)
            params.extend(values)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        return [_event(r) for r in self._rows(f"SELECT * FROM events{where} ORDER BY id", params)]

    def last_event(self, ticket_id: int) -> Event | None:
        row = self._one("SELECT * FROM events WHERE ticket_id = ? ORDER BY id DESC LIMIT 1", [ticket_id])
        return _event(row) if row else None

    # -- settings (policies, macros, phrase rules are JSON documents) ---------------------------------------

    def get_setting(self, key: str) -> str | None:
        row = self._tuples("SELECT value FROM settings WHERE key = ?", [key])
        return str(row[0][0]) if row else None

    # -- knowledge base -----------------------------------------------------------------------------------

    def list_articles(self, status: str | None = None) -> list[KbArticle]:
        if status:
            rows = self._rows("SELECT * FROM kb_articles WHERE status = ? ORDER BY id", [status])
        else:
            rows = self._rows("SELECT * FROM kb_articles ORDER BY id")
        return [KbArticle(**r) for r in rows]

    # -- satisfaction and presence -----------------------------------------------------------------------

    def add_csat(self, ticket_id: int, closure: int, score: int, comment: str, at: datetime) -> Csat:
        record = {"ticket_id": ticket_id, "closure": closure, "score": score, "comment": comment, "at": ts(at)}
        try:
            with self._guarded():
                cid = int(self._insert("csat", record))
        except self._duplicate_error as exc:
            raise Duplicate(f"ticket {ticket_id} already has a satisfaction score for this closure") from exc
        return Csat(id=cid, ticket_id=ticket_id, closure=closure, score=score, comment=comment, at=at)

    def csat_for(self) -> list[Csat]:
        return [Csat(**r) for r in self._rows("SELECT * FROM csat ORDER BY id")]

    def leave(self, agent: str, ticket_id: int) -> None:
        # presence is no change of the floor: no feed row, so no feed lock either
        self._execute("DELETE FROM presence WHERE agent = ? AND ticket_id = ?", [agent, ticket_id])

    # -- the whole database, table by table (db/copy.py: `helpdesk migrate`, `helpdesk check --json`) --------

    def table_counts(self) -> dict[str, int]:
        """Rows in each table of db/copy.py's TABLES, read in one snapshot."""
        from db.copy import TABLES

        with self.snapshot():
            return {table: int(self._tuples(f"SELECT count(*) FROM {table}")[0][0]) for table in TABLES}
