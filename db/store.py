"""The store on SQLite: the queries and commands the application runs against it that are SQLite's own; those the
same on PostgreSQL are written once in db/queries.py (``PortableQueries``, this ``Store``'s base).

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
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import sqlite_utils

from db import schema
from db.connection import BUSY_TIMEOUT_MS, connect, copy_database, file_mode, is_busy, quick_check, unclean_shutdown
from db.errors import DatabaseUnavailable, Duplicate, SameFile, StoreError
from db.models import Agent, Customer, Event, KbArticle, Presence, QueueItem, Ticket
from db.queries import (
    _COMPUTED_KEY,
    _OPEN_LITERAL,
    PAGE_ORDER,
    QUEUE_COLUMNS,
    STORED_ORDER,
    TICKET_COLUMNS,
    URGENCY_BAND,
    PortableQueries,
    backup_files,
    chain_breaks,
    filter_sql,
    parse_ts,
    ts,
    urgency_order,
)
from db.records import QueueFacts, TicketFilter
from db.vocabulary import OPEN_STATUSES

if TYPE_CHECKING:
    from db import kb_search

T = TypeVar("T")

# SQLite result codes that describe the file, not the query: reported as an unusable database.
DAMAGE = ("SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_IOERR", "SQLITE_FULL", "SQLITE_READONLY", "SQLITE_CANTOPEN")
STALE_MERGE_LIMIT = 2000  # stale tickets merged into a stored-order page; more and the selection is sorted


class Store(PortableQueries):
    """One SQLite database. Thread-safe for use from Textual thread workers (one lock per connection). The queries
    and commands the same on PostgreSQL are PortableQueries' (db/queries.py); what is SQLite's own is here."""

    dialect = "sqlite"  # the SQL a module of db/ writes for this store (db/pg/store.py: "postgresql")
    _duplicate_error = sqlite3.IntegrityError  # add_csat's second score for a closure (or a ticket not there)

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
    def _outermost(self) -> Iterator[None]:
        """An outermost transaction (PortableQueries.transaction): BEGIN IMMEDIATE (see the module's docstring),
        committed when the work ends, rolled back when it fails."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def _retry(self, unit: Callable[[], T], attempts: int = 12) -> T:
        """``unit`` retried whole while SQLite stays busy; a damaged file is one line naming it."""
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

    def _guarded(self) -> AbstractContextManager[Any]:
        """A command of PortableQueries under the connection's lock: outside a transaction it commits by itself."""
        return self._lock

    def _limit_param(self, limit: int) -> int | None:
        return limit  # SQLite's LIMIT -1 is no limit

    def _any_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} IN ({','.join('?' * len(values))})", list(values)

    # -- agents -------------------------------------------------------------------------------------------

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

    def list_customers(self) -> list[Customer]:
        return [Customer(**r) for r in self._rows("SELECT * FROM customers ORDER BY name")]

    # -- tickets ------------------------------------------------------------------------------------------

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

    def index_hint(self, index: str) -> str:
        """``INDEXED BY index``, for db/'s modules: SQLite's planner may prefer a walk it cannot see is longer."""
        return f" INDEXED BY {index}"

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

    # -- stored figures ----------------------------------------------------------------------------------------

    def set_figures(self, ticket_id: int, fields: Mapping[str, Any]) -> None:
        names = list(fields)
        with self._lock:
            self.conn.execute(
                f"INSERT OR REPLACE INTO ticket_figures (ticket_id, {', '.join(names)})"
                f" VALUES (?, {', '.join('?' * len(names))})",
                [ticket_id, *(fields[n] for n in names)],
            )

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

    def heartbeat(self, agent: str, ticket_id: int, now: float) -> None:
        with self._lock:
            self.db.table("presence").upsert(
                {"agent": agent, "ticket_id": ticket_id, "seen_at": now}, pk=("agent", "ticket_id")
            )

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
        target, tmp = backup_files(dest, ".db")
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
        """The events' hash chain recomputed in id order, one line per broken link (db/queries.py's chain_breaks),
        read as it goes (the events are never all in memory)."""
        problems: list[str] = []
        with self._lock:
            try:
                chain_breaks(self.conn.execute(f"{schema.EVENT_SELECT} ORDER BY id"), problems)
            except sqlite3.DatabaseError as exc:  # a check that cannot finish is itself the finding
                problems.append(str(exc))
        return problems


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
