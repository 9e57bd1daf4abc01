"""The store: every query and command the application runs against SQLite.

Writers open ``BEGIN IMMEDIATE`` (a deferred read-then-write transaction cannot upgrade its lock and fails with
"database is locked" under contention) and the whole unit of work is retried when SQLite stays busy.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import sqlite_utils

from db import schema
from db.connection import BUSY_TIMEOUT_MS, connect, copy_database, file_mode, is_busy, quick_check, unclean_shutdown
from db.errors import Conflict, DatabaseUnavailable, Duplicate, NotFound, ReadOnly, SameFile, StoreError
from db.models import Agent, Csat, Customer, Event, KbArticle, Message, Presence, QueueItem, Ticket
from db.records import Change, Feed, QueueFacts, TicketFilter
from db.vocabulary import OPEN_STATUSES

if TYPE_CHECKING:
    from db import kb_search

T = TypeVar("T")

# SQLite result codes that describe the file, not the query: reported as an unusable database.
DAMAGE = ("SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_IOERR", "SQLITE_FULL", "SQLITE_READONLY", "SQLITE_CANTOPEN")
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
STALE_MERGE_LIMIT = 2000  # stale tickets merged into a stored-order page; more and the selection is sorted
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


def ts(value: datetime) -> str:
    """Timestamps are stored as UTC ISO-8601 text to the second, so they sort as text."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class Store:
    """One SQLite database. Thread-safe for use from Textual thread workers (one lock per connection)."""

    dialect = "sqlite"  # the SQL a module of db/ writes for this store (db/pg/store.py: "postgresql")

    def __init__(self, path: str | Path, *, readonly: bool = False, create: bool = True, migrate: bool = True):
        self.path = Path(path)
        self.readonly = readonly
        # What `PRAGMA quick_check` found at open (see `_open_checked`); while not empty, nothing is written.
        self.damage: list[str] = []
        try:
            existed = self.path.exists() and self.path.stat().st_size > 0
        except PermissionError as exc:  # a directory on the way this user may not enter
            raise DatabaseUnavailable(f"{self.path} cannot be reached: permission denied") from exc
        if not readonly and existed and unclean_shutdown(self.path):  # before our own connection makes a -wal
            self.conn = self._open_checked(create)
        else:
            self.conn = connect(self.path, readonly=readonly, create=create)
        # No plugins: finding them scans every installed package (~40 ms on each start), and none may add SQL
        # functions or change settings on the connection that keeps the service records.
        self.db = sqlite_utils.Database(self.conn, execute_plugins=False)
        self._lock = threading.RLock()
        self._depth = 0  # nesting of `transaction` on this connection (held under the lock)
        try:
            current = schema.version(self.conn)
            if readonly:
                if current != schema.LATEST:
                    raise DatabaseUnavailable(f"{self.path} is not a helpdesk database at schema {schema.LATEST}")
            elif migrate and not self.damage:
                if existed and current == 0 and self._is_foreign():
                    raise DatabaseUnavailable(f"{self.path} is a SQLite database of another application")
                # Processes opening a new database together all try to migrate it: busy is retried like a write.
                self._retry_busy(lambda: schema.migrate(self.conn, before=self._backup_before_migration))
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise DatabaseUnavailable(f"{self.path} cannot be used: {exc}") from exc
        except StoreError as exc:
            self.conn.close()
            if isinstance(exc, DatabaseUnavailable) and str(self.path) in str(exc):
                raise
            raise DatabaseUnavailable(f"{self.path}: {exc}") from exc

    def _open_checked(self, create: bool) -> sqlite3.Connection:
        """After an unclean shutdown (a -wal left behind, see `unclean_shutdown`), the pages are checked before
        anything is written on them: writing on a damaged b-tree spreads the damage. The check runs on a read-only
        connection, and a damaged file keeps it: SQLite can then neither write (`query_only` refuses at BEGIN, see
        `_damage_reported` for the message) nor, on close, checkpoint the log into the damaged file and delete it —
        so the next open finds the log and checks again. Reads still work: `helpdesk check`, backups. Not done on
        every open: it reads the whole file (about 0.3 s for 100,000 tickets)."""
        conn = connect(self.path, readonly=True, create=False)
        try:
            self.damage = quick_check(conn)
            if self.damage:
                conn.execute("PRAGMA query_only = ON")
                return conn
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise DatabaseUnavailable(f"{self.path} cannot be used: {exc}") from exc
        conn.close()
        return connect(self.path, readonly=False, create=create)

    def session_login(self) -> str | None:
        """None: SQLite has no logins of its own; the operating system's login decides (console/rules/whoami.py)."""
        return None

    def set_password(self, login: str, password: str) -> None:
        raise StoreError("a SQLite database has no logins of its own: its file's permissions decide who opens it")

    def set_busy_timeout(self, seconds: float) -> None:
        with self._lock:
            self.conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")

    def damaged_message(self) -> str:
        return f"{self.path} is damaged: run 'helpdesk check'; restore from a backup"

    # -- plumbing -----------------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def _is_foreign(self) -> bool:
        """Tables without a schema version. Both are read in one snapshot: another process's first migration
        commits its tables and its version together, and reading them apart once took its work for a stranger's."""
        self.conn.execute("BEGIN")
        try:
            current = schema.version(self.conn)
            tables = self.conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")
        return current == 0 and bool(tables)

    def _backup_before_migration(self, current: int) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.backup(self.path.with_name(f"{self.path.name}.v{current}-{stamp}.bak"))

    @contextmanager
    def relaxed_durability(self) -> Iterator[None]:
        """Commits that need not wait for the disk (bulk generation that can be repeated); in WAL mode NORMAL
        never corrupts the file, a power cut may only lose the last commits."""
        with self._lock:
            (mode,) = self.conn.execute("PRAGMA synchronous").fetchone()
            self.conn.execute("PRAGMA synchronous = NORMAL")
        try:
            yield
        finally:
            with self._lock:
                self.conn.execute(f"PRAGMA synchronous = {int(mode)}")

    def data_version(self) -> int:
        """Changes whenever another connection commits (cheap: no table is read)."""
        with self._lock:
            return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one committed state (one WAL read transaction), such as the change feed's position
        and the counts read with it. Holds this connection for the duration: keep it short."""
        with self._lock:
            if self.conn.in_transaction:
                yield
                return
            self.conn.execute("BEGIN")
            try:
                yield
            finally:
                # only reads were made: ending it cannot lose anything, and must not hide the reads' own error
                if self.conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")

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
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth = 0

    def write(self, work: Callable[[], T], attempts: int = 12) -> T:
        """Run ``work`` in one write transaction, retrying the whole unit while SQLite stays busy."""

        def unit() -> T:
            with self.transaction():
                return work()

        with self._damage_reported():
            return self._retry_busy(unit, attempts)

    def try_write(self, work: Callable[[], Any]) -> bool:
        """Run ``work`` in one write transaction if the database is free this instant; False (nothing done) when
        another process holds the write lock. For best-effort writes (presence) that must never make this
        connection's readers wait: a busy wait here would hold the connection for up to the busy timeout."""
        if self.readonly:
            return False
        with self._lock:
            self.conn.execute("PRAGMA busy_timeout = 0")
            try:
                try:
                    self.conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    if is_busy(exc):
                        return False
                    raise
                try:
                    work()
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
                try:
                    self.conn.execute("COMMIT")
                except sqlite3.OperationalError as exc:
                    if self.conn.in_transaction:
                        self.conn.execute("ROLLBACK")
                    if is_busy(exc):
                        return False
                    raise
                return True
            finally:
                self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    @contextmanager
    def _damage_reported(self) -> Iterator[None]:
        """A damaged, full or unwritable file found mid-command becomes one line naming it (DatabaseUnavailable),
        not SQLite's exception; other SQLite errors are left alone (they are bugs, not the file's state)."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if self.damage and getattr(exc, "sqlite_errorname", "") == "SQLITE_READONLY":
                # a write refused on the query-only connection of a file found damaged at open (_open_checked)
                raise DatabaseUnavailable(self.damaged_message()) from exc
            if str(getattr(exc, "sqlite_errorname", "")).startswith(DAMAGE):
                raise DatabaseUnavailable(f"{self.path} cannot be used: {exc}") from exc
            raise

    @contextmanager
    def _read_reported(self) -> Iterator[None]:
        """A read SQLite cannot finish is one line naming the file (a StoreError for every layer above), whatever
        the damage looks like: a malformed page, but also a damaged schema or search index ("no such table",
        "vtable constructor failed"). Misuse of the API (ProgrammingError) stays the program's error."""
        try:
            with self._damage_reported():
                yield
        except sqlite3.ProgrammingError:
            raise
        except sqlite3.DatabaseError as exc:
            raise DatabaseUnavailable(f"{self.path} cannot be read: {exc}") from exc

    @staticmethod
    def _retry_busy(unit: Callable[[], T], attempts: int = 12) -> T:
        delay = 0.02
        for attempt in range(attempts):
            try:
                return unit()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or attempt == attempts - 1:
                    if is_busy(exc):
                        raise StoreError("the database stayed busy; try again in a moment") from exc
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.5)
        raise StoreError("the database stayed busy; try again in a moment")  # pragma: no cover

    def _rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        with self._lock, self._read_reported():
            return list(self.db.query(sql, params if isinstance(params, dict) else list(params)))

    def _tuples(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[tuple[Any, ...]]:
        """Rows as plain tuples, in the SELECT's column order (bulk reads where a dict per row costs too much)."""
        with self._lock, self._read_reported():
            return self.conn.execute(sql, params if isinstance(params, Mapping) else list(params)).fetchall()

    def _one(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> dict[str, Any] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """A command in the caller's transaction; the rows it changed."""
        with self._lock:
            return int(self.conn.execute(sql, params if isinstance(params, Mapping) else list(params)).rowcount)

    def _execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._lock:
            self.conn.executemany(sql, rows)

    def _insert(self, table: str, record: Mapping[str, Any]) -> int:
        # A plain INSERT through sqlite-utils' execute: Table.insert re-reads the table's columns on every call,
        # which was most of the cost of writing a ticket.
        names = list(record)
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        with self._lock:
            cur = self.db.execute(sql, [record[n] for n in names])
            return int(cur.lastrowid or 0)

    # -- agents -------------------------------------------------------------------------------------------

    def get_agent(self, name: str) -> Agent | None:
        row = self._one("SELECT * FROM agents WHERE name = ?", [name])
        return Agent(**row) if row else None

    def agent_by_login(self, login: str) -> Agent | None:
        row = self._one("SELECT * FROM agents WHERE login = ?", [login])
        return Agent(**row) if row else None

    def list_agents(self) -> list[Agent]:
        return [Agent(**r) for r in self._rows("SELECT * FROM agents ORDER BY tier, name")]

    def count_agents(self) -> int:
        row = self._one("SELECT count(*) AS n FROM agents")
        return int(row["n"]) if row else 0

    def insert_agent(
        self,
        name: str,
        role: str,
        tier: str,
        display_name: str,
        at: datetime,
        *,
        login: str | None = None,
        board_only: bool = False,
    ) -> Agent:
        """``login`` defaults to the name (the usual case: the agent's login on the host is their name)."""
        if self.get_agent(name) is not None:
            raise Duplicate(f"agent {name} already exists")
        login = name if login is None else login
        if self.agent_by_login(login) is not None:
            raise Duplicate(f"login {login} already belongs to an agent")
        self._insert(
            "agents",
            {
                "name": name,
                "role": role,
                "tier": tier,
                "display_name": display_name,
                "active": 1,
                "created_at": ts(at),
                "login": login,
                "board_only": int(board_only),
            },
        )
        agent = self.get_agent(name)
        assert agent is not None
        return agent

    def update_agent(self, name: str, fields: Mapping[str, Any]) -> None:
        with self._lock:
            self.db.table("agents").update(name, dict(fields))

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
        record = {"created_at": ts(at), **fields}
        return self.get_customer(self._insert("customers", record))

    def list_customers(self) -> list[Customer]:
        return [Customer(**r) for r in self._rows("SELECT * FROM customers ORDER BY name")]

    # -- tickets ------------------------------------------------------------------------------------------

    def get_ticket(self, ticket_id: int) -> Ticket:
        row = self._one(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?", [ticket_id])
        if row is None:
            raise NotFound("ticket", ticket_id)
        return Ticket(**row)

    def insert_ticket(self, fields: Mapping[str, Any]) -> int:
        return self._insert("tickets", _encode(fields))

    def update_ticket(self, ticket_id: int, fields: Mapping[str, Any], expected_version: int) -> Ticket:
        """Apply ``fields`` only if the ticket is still at ``expected_version``; bumps the version."""
        record = _encode(fields)
        sets = ", ".join(f"{k} = :{k}" for k in record)
        params = {**record, "__id": ticket_id, "__v": expected_version}
        with self._lock:
            cur = self.db.execute(
                f"UPDATE tickets SET {sets}{', ' if sets else ''}version = version + 1"
                " WHERE id = :__id AND version = :__v",
                params,
            )
            if cur.rowcount != 1:
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
        with self._lock:
            self.db.execute(f"UPDATE tickets SET {sets} WHERE id = :__id", {**record, "__id": ticket_id})

    def queue(self, flt: TicketFilter, offset: int = 0, limit: int = 100) -> list[QueueItem]:
        """One page of the selection in urgency order (URGENCY_BAND), judged at ``flt.now`` (default: now)."""
        now = flt.now if flt.now is not None else time.time()
        page, params = self.page_sql(flt, now, offset, limit)
        sql = (
            f"SELECT {QUEUE_COLUMNS} FROM ({page}) page JOIN tickets t ON t.id = page.id"
            f" LEFT JOIN customers c ON c.id = t.customer_id{PAGE_ORDER_OUTER}"
        )
        return [QueueItem(**r) for r in self._rows(sql, params)]

    def page_sql(self, flt: TicketFilter, now: float, offset: int, limit: int) -> tuple[str, list[Any]]:
        """A SELECT of the page's ``id, band, ukey, pr`` (sort with PAGE_ORDER) and its parameters.

        The stored order (schema 6) serves every ticket judged at or before ``now`` whose next crossing is still to
        come: those are read in order from one of the order indexes, LIMIT rows and nothing sorted. The few tickets
        whose crossing has come since the sweeper last judged them (or judged after ``now``: a what-if in the past)
        get their band computed here and are merged in; so the order is the urgency order at ``now`` while reading
        only the page and the stale tickets. With many stale tickets (a fresh import, no sweeper yet) every band is
        computed and the selection sorted, the ids from the covering index tickets_urgency."""
        where, params = filter_sql(flt)
        join = " LEFT JOIN customers c ON c.id = t.customer_id" if flt.needs_customer else ""
        stale = self.stale_count(now)
        if stale > STALE_MERGE_LIMIT:
            page = (
                f"SELECT t.id, {URGENCY_BAND} AS band, {_COMPUTED_KEY} AS ukey, t.priority AS pr"
                f" FROM tickets t{join}{where}{urgency_order('band')} LIMIT ? OFFSET ?"
            )
            return page, [now, now, now, now, *params, limit, offset]
        and_ = " AND " if where else " WHERE "
        fresh = (
            f"SELECT t.id, t.q_band AS band, t.q_key AS ukey, t.priority AS pr FROM tickets t{_order_index(flt)}{join}"
            f"{where}{and_}NOT (coalesce(t.sla_next <= ?, 0) OR coalesce(t.q_at > ?, 0)){STORED_ORDER} LIMIT ?"
        )
        if not stale:
            return f"SELECT * FROM ({fresh}) LIMIT ? OFFSET ?", [*params, now, now, limit + offset, limit, offset]
        judged = (
            "SELECT id FROM tickets WHERE sla_next <= ?"
            f" UNION SELECT id FROM tickets INDEXED BY tickets_judged WHERE {_OPEN_LITERAL} AND q_at > ?"
        )
        late = (
            f"SELECT t.id, {URGENCY_BAND} AS band, {_COMPUTED_KEY} AS ukey, t.priority AS pr FROM tickets t{join}"
            f"{where}{and_}t.id IN ({judged})"
        )
        page = f"SELECT * FROM ({fresh}) UNION ALL SELECT * FROM ({late}){PAGE_ORDER} LIMIT ? OFFSET ?"
        return page, [*params, now, now, limit + offset, now, now, now, now, *params, now, now, limit, offset]

    def stale_count(self, now: float) -> int:
        """Open tickets whose stored place in the order is not their place at ``now``: a crossing has come since
        they were judged, or they were judged after ``now`` (two index ranges)."""
        row = self._tuples(
            "SELECT (SELECT count(*) FROM tickets WHERE sla_next <= ?),"
            # named: SQLite's planner would rather walk (status, sla_due) for the open rows (4 ms at 100,000 tickets,
            # against microseconds from the partial index)
            f" (SELECT count(*) FROM tickets INDEXED BY tickets_judged WHERE {_OPEN_LITERAL} AND q_at > ?)",
            [now, now],
        )[0]
        return int(row[0]) + int(row[1])

    def index_hint(self, index: str) -> str:
        """``INDEXED BY index``, for db/'s modules: SQLite's planner may prefer a walk it cannot see is longer."""
        return f" INDEXED BY {index}"

    def stored_order_holds(self, now: float) -> bool:
        """Whether every open ticket's stored urgency is its urgency at ``now`` (no stale ticket)."""
        return self.stale_count(now) == 0

    def queue_count(self, flt: TicketFilter) -> int:
        where, params = filter_sql(flt)
        # Without the join, SQLite counts from a covering index: ~50× faster on 100k tickets.
        join = " LEFT JOIN customers c ON c.id = t.customer_id" if flt.needs_customer else ""
        row = self._one(f"SELECT count(*) AS n FROM tickets t{_order_index(flt)}{join}{where}", params)
        return int(row["n"]) if row else 0

    def queue_items(self, ids: Sequence[int]) -> list[QueueItem]:
        """The queue rows of ``ids`` (a reader refreshing rows it shows)."""
        if not ids:
            return []
        sql = (
            f"SELECT {QUEUE_COLUMNS} FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id"
            f" WHERE t.id IN ({','.join('?' * len(ids))})"
        )
        return [QueueItem(**r) for r in self._rows(sql, list(ids))]

    def queue_facts(self, ids: Sequence[int]) -> list[QueueFacts]:
        """The view-deciding columns of ``ids`` (a reader applying changes)."""
        if not ids:
            return []
        rows = self._tuples(
            "SELECT id, status, assignee, tier, sla_alert, q_band, q_key, priority FROM tickets"
            f" WHERE id IN ({','.join('?' * len(ids))})",
            list(ids),
        )
        return [QueueFacts(*row) for row in rows]

    # -- the change feed (schema v6) -------------------------------------------------------------------------

    def feed_cursor(self) -> int:
        """The newest change's id: a reader that has just read everything starts from here."""
        row = self._tuples("SELECT seq FROM sqlite_sequence WHERE name = 'changes'")
        return int(row[0][0]) if row else 0

    def listens(self) -> bool:
        """SQLite announces no commits: its readers poll the feed (one indexed read, nothing when nothing changed)."""
        return False

    def wait_for_commit(self, timeout: float) -> bool:
        """Nothing is announced here (`listens`): the time passes, and the feed may have moved meanwhile."""
        time.sleep(timeout)
        return True

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

    def prune_changes(self, before: float, batch: int = 5000) -> int:
        """Delete feed rows written before ``before`` (epoch seconds), up to ``batch`` of the oldest in one
        transaction; how many were deleted. Read in id order (no index on the time: rows are written in time order,
        and the feed's writers should not pay for one)."""

        def work() -> int:
            rows = self.conn.execute("SELECT id, at FROM changes ORDER BY id LIMIT ?", [batch]).fetchall()
            old = [int(row_id) for row_id, at in rows if at < before]
            if not old:
                return 0
            cur = self.conn.execute("DELETE FROM changes WHERE id <= ? AND at < ?", [max(old), before])
            return int(cur.rowcount)

        return self.write(work)

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
            cur = self.conn.execute(
                "INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE"
                " SET holder = excluded.holder, expires = excluded.expires"
                " WHERE leases.holder = excluded.holder OR leases.expires <= ?",
                [name, holder, now + ttl, now],
            )
            taken.append(cur.rowcount == 1)

        return self.try_write(work) and bool(taken and taken[0])

    def release_lease(self, name: str, holder: str) -> None:
        if not self.readonly:
            self.try_write(
                lambda: self.conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", [name, holder])
            )

    # -- stored figures ----------------------------------------------------------------------------------------

    def set_figures(self, ticket_id: int, fields: Mapping[str, Any]) -> None:
        names = list(fields)
        with self._lock:
            self.conn.execute(
                f"INSERT OR REPLACE INTO ticket_figures (ticket_id, {', '.join(names)})"
                f" VALUES (?, {', '.join('?' * len(names))})",
                [ticket_id, *(fields[n] for n in names)],
            )

    def tickets_without_figures(self, limit: int) -> list[int]:
        """Up to ``limit`` tickets left without figures by the v6 migration, lowest ids first; [] when none are left
        (then the mark is cleared, so the question costs nothing from then on)."""
        mark = self._tuples("SELECT value FROM upkeep WHERE key = 'figures_before'")
        below = int(mark[0][0]) if mark else 0
        if below <= 0:
            return []
        rows = self._tuples(
            "SELECT t.id FROM tickets t WHERE t.id < ? AND NOT EXISTS"
            " (SELECT 1 FROM ticket_figures f WHERE f.ticket_id = t.id) ORDER BY t.id LIMIT ?",
            [below, limit],
        )
        if not rows and not self.readonly:
            self.try_write(lambda: self.conn.execute("UPDATE upkeep SET value = 0 WHERE key = 'figures_before'"))
        return [int(r[0]) for r in rows]

    def ticket_ids(self, statuses: Sequence[str] | None = None) -> list[int]:
        if statuses:
            rows = self._rows(
                f"SELECT id FROM tickets WHERE status IN ({','.join('?' * len(statuses))})", list(statuses)
            )
        else:
            rows = self._rows("SELECT id FROM tickets ORDER BY id")
        return [int(r["id"]) for r in rows]

    def tickets_to_judge(self, now: float, limit: int) -> list[int]:
        """Tickets whose stored SLA state changes by ``now`` (a warning or due time crossed since they were judged),
        the earliest crossing first."""
        rows = self._tuples("SELECT id FROM tickets WHERE sla_next <= ? ORDER BY sla_next LIMIT ?", [now, limit])
        return [int(r[0]) for r in rows]

    def count_to_judge(self, now: float) -> int:
        return int(self._tuples("SELECT count(*) FROM tickets WHERE sla_next <= ?", [now])[0][0])

    def next_judgement(self) -> float | None:
        row = self._tuples("SELECT min(sla_next) FROM tickets WHERE sla_next IS NOT NULL")
        return None if not row or row[0][0] is None else float(row[0][0])

    def resolved_before(self, cutoff: datetime, limit: int = -1) -> list[int]:
        rows = self._rows(
            "SELECT id FROM tickets WHERE status = 'resolved' AND resolved_at <= ? ORDER BY resolved_at LIMIT ?",
            [ts(cutoff), limit],
        )
        return [int(r["id"]) for r in rows]

    def count_tickets(self) -> int:
        row = self._one("SELECT count(*) AS n FROM tickets")
        return int(row["n"]) if row else 0

    def all_tickets(self) -> Iterator[Ticket]:
        with self._lock, self._damage_reported():
            rows = list(self.db.query(f"SELECT {TICKET_COLUMNS} FROM tickets ORDER BY id"))
        for row in rows:
            yield Ticket(**row)

    # -- messages and events ------------------------------------------------------------------------------

    def add_message(self, ticket_id: int, kind: str, author: str, body: str, at: datetime) -> Message:
        mid = self._insert(
            "messages",
            {"ticket_id": ticket_id, "kind": kind, "author": author, "body": body, "created_at": ts(at)},
        )
        return Message(id=mid, ticket_id=ticket_id, kind=kind, author=author, body=body, created_at=at)  # type: ignore[arg-type]

    def messages(self, ticket_id: int) -> list[Message]:
        return [Message(**r) for r in self._rows("SELECT * FROM messages WHERE ticket_id = ? ORDER BY id", [ticket_id])]

    def add_event(
        self,
        ticket_id: int | None,
        actor: str,
        at: datetime,
        kind: str,
        from_value: str | None = None,
        to_value: str | None = None,
        detail: Mapping[str, Any] | None = None,
        *,
        recorded_at: datetime | None = None,
        backfilled: bool = False,
        entered_by: str | None = None,
    ) -> Event:
        """The only writer of events: each is chained to the one before it (db/schema.py's event_hash). The
        caller's write transaction (BEGIN IMMEDIATE) makes reading the last link and appending one step; called
        outside one, it opens its own."""
        payload = json.dumps(dict(detail or {}), ensure_ascii=False, sort_keys=True)
        # Hashed as SQLite will store and return them: column affinity would turn a number into text.
        from_text = None if from_value is None else str(from_value)
        to_text = None if to_value is None else str(to_value)
        row = [
            None if ticket_id is None else int(ticket_id),
            str(actor),
            ts(at),
            str(kind),
            from_text,
            to_text,
            payload,
            None if recorded_at is None else ts(recorded_at),
            int(backfilled),
            None if entered_by is None else str(entered_by),
        ]

        def append() -> int:
            last = self.conn.execute("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
            eid, previous = (1, schema.GENESIS) if last is None else (int(last[0]) + 1, last[1])
            link = schema.event_hash(previous, [eid, *row])
            self.conn.execute(
                f"INSERT INTO events ({', '.join(schema.EVENT_COLUMNS)}, hash)"
                f" VALUES ({', '.join('?' * (len(schema.EVENT_COLUMNS) + 1))})",
                [eid, *row, link],
            )
            return eid

        with self._lock:
            if self.conn.in_transaction:
                eid = append()
            else:
                eid = self.write(append)
        return Event(
            id=eid,
            ticket_id=ticket_id,
            actor=actor,
            at=at,
            kind=kind,
            from_value=from_text,
            to_value=to_text,
            detail=dict(detail or {}),
            recorded_at=recorded_at,
            backfilled=backfilled,
            entered_by=entered_by,
        )

    def events(self, ticket_id: int) -> list[Event]:
        return [_event(r) for r in self._rows("SELECT * FROM events WHERE ticket_id = ? ORDER BY id", [ticket_id])]

    def events_between(self, start: datetime | None, end: datetime | None, kinds: Sequence[str] = ()) -> list[Event]:
        clauses, params = [], []
        if start is not None:
            clauses.append("at >= ?")
            params.append(ts(start))
        if end is not None:
            clauses.append("at < ?")
            params.append(ts(end))
        if kinds:
            clauses.append(f"kind IN ({','.join('?' * len(kinds))})")
            params.extend(kinds)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        return [_event(r) for r in self._rows(f"SELECT * FROM events{where} ORDER BY id", params)]

    def last_event(self, ticket_id: int) -> Event | None:
        row = self._one("SELECT * FROM events WHERE ticket_id = ? ORDER BY id DESC LIMIT 1", [ticket_id])
        return _event(row) if row else None

    def last_event_at(self, ticket_id: int) -> datetime | None:
        row = self._one("SELECT max(at) AS at FROM events WHERE ticket_id = ?", [ticket_id])
        return parse_ts(row["at"]) if row and row["at"] else None

    def count_events(self) -> int:
        row = self._one("SELECT count(*) AS n FROM events")
        return int(row["n"]) if row else 0

    def add_sla_mark(self, ticket_id: int, clock: str, kind: str, cycle_start: datetime) -> bool:
        """True when this process is the first to notice the crossing (the mark did not exist yet)."""
        with self._lock:
            cur = self.db.execute(
                "INSERT OR IGNORE INTO sla_marks (ticket_id, clock, kind, cycle_start) VALUES (?, ?, ?, ?)",
                [ticket_id, clock, kind, ts(cycle_start)],
            )
            return cur.rowcount == 1

    # -- settings (policies, macros, phrase rules are JSON documents) ---------------------------------------

    def get_setting(self, key: str) -> str | None:
        row = self._one("SELECT value FROM settings WHERE key = ?", [key])
        return str(row["value"]) if row else None

    def set_setting(self, key: str, value: str, by: str, at: datetime) -> None:
        with self._lock:
            self.db.table("settings").upsert(
                {"key": key, "value": value, "updated_by": by, "updated_at": ts(at)}, pk="key"
            )

    # -- knowledge base -----------------------------------------------------------------------------------

    def insert_article(self, fields: Mapping[str, Any], at: datetime) -> KbArticle:
        from db import kb_search  # the search module loads with the first knowledge-base use

        record = {"created_at": ts(at), "updated_at": ts(at), **fields}
        if record.get("ref"):
            existing = self._one("SELECT id FROM kb_articles WHERE ref = ?", [record["ref"]])
            if existing:
                raise Duplicate(f"an article with ref {record['ref']} already exists (#{existing['id']})")
        aid = self._insert("kb_articles", record)
        with self._lock:
            kb_search.index_article(self.conn, aid)
        return self.get_article(aid)

    def update_article(self, article_id: int, fields: Mapping[str, Any], at: datetime) -> KbArticle:
        from db import kb_search  # the search module loads with the first knowledge-base use

        with self._lock:
            self.db.table("kb_articles").update(article_id, {**fields, "updated_at": ts(at)})
            kb_search.index_article(self.conn, article_id)
        return self.get_article(article_id)

    def get_article(self, article_id: int) -> KbArticle:
        row = self._one("SELECT * FROM kb_articles WHERE id = ?", [article_id])
        if row is None:
            raise NotFound("article", article_id)
        return KbArticle(**row)

    def list_articles(self, status: str | None = None) -> list[KbArticle]:
        if status:
            rows = self._rows("SELECT * FROM kb_articles WHERE status = ? ORDER BY id", [status])
        else:
            rows = self._rows("SELECT * FROM kb_articles ORDER BY id")
        return [KbArticle(**r) for r in rows]

    def count_articles(self) -> int:
        row = self._one("SELECT count(*) AS n FROM kb_articles")
        return int(row["n"]) if row else 0

    def search_articles(self, query: str, limit: int = 10, include_drafts: bool = False) -> list[kb_search.KbHit]:
        from db import kb_search  # the search module loads with the first knowledge-base use

        with self._lock:
            return kb_search.search_articles(self.conn, query, limit=limit, include_drafts=include_drafts)

    def suggest_articles(self, text: str, limit: int = 5) -> list[kb_search.KbHit]:
        from db import kb_search  # the search module loads with the first knowledge-base use

        with self._lock:
            return kb_search.suggest_for_text(self.conn, text, limit=limit)

    def link_article(self, ticket_id: int, article_id: int, by: str, at: datetime) -> bool:
        with self._lock:
            cur = self.db.execute(
                "INSERT OR IGNORE INTO ticket_kb (ticket_id, article_id, linked_by, linked_at) VALUES (?, ?, ?, ?)",
                [ticket_id, article_id, by, ts(at)],
            )
            return cur.rowcount == 1

    def linked_articles(self, ticket_id: int) -> list[KbArticle]:
        rows = self._rows(
            "SELECT a.* FROM kb_articles a JOIN ticket_kb l ON l.article_id = a.id"
            " WHERE l.ticket_id = ? ORDER BY l.linked_at",
            [ticket_id],
        )
        return [KbArticle(**r) for r in rows]

    # -- satisfaction and presence -----------------------------------------------------------------------

    def add_csat(self, ticket_id: int, closure: int, score: int, comment: str, at: datetime) -> Csat:
        try:
            cid = self._insert(
                "csat",
                {
                    "ticket_id": ticket_id,
                    "closure": closure,
                    "score": score,
                    "comment": comment,
                    "at": ts(at),
                },
            )
        except sqlite3.IntegrityError as exc:
            raise Duplicate(f"ticket {ticket_id} already has a satisfaction score for this closure") from exc
        return Csat(id=cid, ticket_id=ticket_id, closure=closure, score=score, comment=comment, at=at)

    def csat_for(self) -> list[Csat]:
        return [Csat(**r) for r in self._rows("SELECT * FROM csat ORDER BY id")]

    def heartbeat(self, agent: str, ticket_id: int, now: float) -> None:
        with self._lock:
            self.db.table("presence").upsert(
                {"agent": agent, "ticket_id": ticket_id, "seen_at": now}, pk=("agent", "ticket_id")
            )

    def leave(self, agent: str, ticket_id: int) -> None:
        with self._lock:
            self.db.execute("DELETE FROM presence WHERE agent = ? AND ticket_id = ?", [agent, ticket_id])

    def viewers(self, ticket_id: int, since: float) -> list[Presence]:
        rows = self._rows(
            "SELECT * FROM presence WHERE ticket_id = ? AND seen_at >= ? ORDER BY agent", [ticket_id, since]
        )
        return [Presence(**r) for r in rows]

    # -- maintenance ------------------------------------------------------------------------------------

    def backup(self, dest: str | Path) -> Path:
        """SQLite's online backup in one step (a consistent snapshot while others write), written to a temporary
        file and renamed into place so a failed backup never leaves a half-written file. The backup gets the
        database's mode limited to 0660 (db/connection.py's `file_mode`), never wider; SameFile when ``dest`` is
        the database itself or its -wal/-shm, under whatever name (symlink, other spelling, hard link)."""
        target = Path(dest)
        if target.is_dir():
            target = target / f"helpdesk-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.db"
        if not target.parent.exists():
            raise DatabaseUnavailable(f"directory {target.parent} does not exist")
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")  # two processes backing up at once
        if self._is_own_file(target) or self._is_own_file(tmp):  # the temporary file replaces any leftover
            raise SameFile(dest)
        try:
            with self._lock:
                copy_database(self.conn, tmp, file_mode(self.path))
            tmp.replace(target)
        except (OSError, sqlite3.Error) as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"backup to {target} failed: {exc}") from exc
        return target

    def _is_own_file(self, target: Path) -> bool:
        for own in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
            try:
                if os.path.samefile(target, own):
                    return True
            except OSError:  # either does not exist
                continue
        return False

    # -- the whole database, table by table (db/copy.py: `helpdesk migrate`, `helpdesk check --json`) --------

    def table_counts(self) -> dict[str, int]:
        """Rows in each table of db/copy.py's TABLES, read in one snapshot."""
        from db.copy import TABLES

        with self.snapshot():
            return {table: int(self._tuples(f"SELECT count(*) FROM {table}")[0][0]) for table in TABLES}

    def copy_columns(self, table: str) -> list[str]:
        return [str(r[1]) for r in self._tuples(f"PRAGMA table_info({table})")]

    def copy_rows(self, table: str) -> Iterator[tuple[Any, ...]]:
        """Every row of ``table`` as stored, in id order where it has ids (the events' chain is copied in order);
        read in batches, so a large table is never all in memory. A damaged page is DatabaseUnavailable."""
        from db.copy import BATCH

        columns = self.copy_columns(table)
        order = " ORDER BY id" if "id" in columns else ""
        with self._lock:
            try:
                cursor = self.conn.execute(f"SELECT {', '.join(columns)} FROM {table}{order}")
                while rows := cursor.fetchmany(BATCH):
                    yield from rows
            except sqlite3.DatabaseError as exc:
                raise DatabaseUnavailable(f"{self.path} cannot be read: {exc}") from exc

    def chain_head(self) -> tuple[int, str | None]:
        """The newest event's id and hash ((0, None) without events): where the copied chain must end."""
        row = self._tuples("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1")
        return (int(row[0][0]), row[0][1]) if row else (0, None)

    def integrity_problems(self) -> list[str]:
        problems: list[str] = []
        with self._lock:
            try:
                problems += [str(r[0]) for r in self.conn.execute("PRAGMA integrity_check") if str(r[0]) != "ok"]
                for row in self.conn.execute("PRAGMA foreign_key_check"):
                    problems.append(f"foreign key: {row[0]} row {row[1]} refers to missing {row[2]}")
            except sqlite3.DatabaseError as exc:  # a check that cannot finish is itself the finding
                problems.append(str(exc))
        return problems

    def schema_problems(self) -> list[str]:
        """Every index and trigger db/schema.py creates is there with the SQL it creates, and no other: a dropped
        append-only trigger would let history be rewritten, an altered one would not stop it."""
        expected = schema.expected_objects()
        with self._lock:
            try:
                found = schema.schema_objects(self.conn)
            except sqlite3.DatabaseError as exc:
                return [str(exc)]
        problems: list[str] = []
        for (kind, name), sql in expected.items():
            if (kind, name) not in found:
                problems.append(f"{kind} {name} is missing (dropped?)")
            elif found[kind, name] != sql:
                problems.append(f"{kind} {name} is not the one the schema creates (altered?)")
        for kind, name in sorted(found.keys() - expected.keys()):
            problems.append(f"{kind} {name} is not part of the schema (added by hand?)")
        return problems

    def chain_problems(self) -> list[str]:
        """The events' hash chain recomputed in id order (db/schema.py's event_hash), one line per broken link:
        each link is checked against the stored hash before it, so an edited event is named alone, and a deleted
        one shows at the next id (ids are given out without gaps)."""
        problems: list[str] = []
        previous, previous_id = schema.GENESIS, 0
        with self._lock:
            try:
                for *row, stored in self.conn.execute(f"{schema.EVENT_SELECT} ORDER BY id"):
                    eid = row[0]
                    if stored is None:
                        problems.append(f"event {eid}: has no hash (written outside the helpdesk?)")
                    elif schema.event_hash(previous, row) != stored:
                        if eid == previous_id + 1:
                            problems.append(f"event {eid}: its hash does not match its content (edited?)")
                        else:
                            problems.append(
                                f"event {eid}: does not chain to the event before it"
                                " (an event was deleted or reordered?)"
                            )
                    previous, previous_id = stored, eid
            except sqlite3.DatabaseError as exc:  # a check that cannot finish is itself the finding
                problems.append(str(exc))
        return problems


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


def _order_index(flt: TicketFilter) -> str:
    """The v6 index a stored-order page of ``flt`` is read from (named, as SQLite's planner may prefer a
    sort it cannot see is bigger); "" where the planner's own choice serves."""
    if tuple(flt.statuses) != OPEN_STATUSES or flt.customer_id is not None or flt.priority:
        return ""  # a few rows found by another index (tickets_urgency, tickets_customer), then sorted
    if flt.assignee:
        return " INDEXED BY tickets_order_assignee"
    if flt.unassigned and flt.tier:
        return " INDEXED BY tickets_order_tier"
    if flt.alerting:
        return " INDEXED BY tickets_order_alert"
    return " INDEXED BY tickets_order"


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
