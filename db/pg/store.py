"""The store on PostgreSQL (psycopg 3): the same queries and commands as db/store.py's SQLite ``Store``, answering
with the same records, for teams whose agents work from many machines on one server. Those written alike for both
engines are db/queries.py's ``PortableQueries`` (the base of both); what is PostgreSQL's own is here.

What differs from SQLite, and why:
- One connection per store, in autocommit outside explicit transactions; a write is one transaction, retried whole
  on a serialization failure or a deadlock (SQLite's "busy").
- Writers take the feed lock (db/pg/schema.py) at their start, one at a time as on SQLite: the change feed's ids
  then become visible in id order, and the events' chain (last id + 1) has no races.
- Who acts is the database's word: ``session_login`` is ``session_user``, and the events' trigger sets ``actor``,
  ``entered_by``, ``recorded_at``, id and hash whatever this class sends (privileges.sql says who may write what).
- Text is ordered by code point (``COLLATE "C"``), as SQLite's BINARY does, so lists sort alike on both engines
  whatever locale the cluster was made with; the queue's text search is ILIKE, as SQLite's LIKE ignores case.
"""

from __future__ import annotations

import json
import os
import random
import select
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from db import schema as sqlite_schema
from db.copy import CopySource
from db.errors import BadLogin, DatabaseUnavailable, Duplicate, StoreError
from db.models import Agent, Customer, Event, KbArticle, Presence, QueueItem, Ticket
from db.pg import schema
from db.queries import (
    _COMPUTED_KEY,
    PAGE_ORDER,
    QUEUE_COLUMNS,
    STORED_ORDER,
    TICKET_COLUMNS,
    URGENCY_BAND,
    PortableQueries,
    _encode,
    _event,
    backup_files,
    chain_breaks,
    filter_sql,
    ts,
)
from db.records import QueueFacts, TicketFilter
from db.store import STALE_MERGE_LIMIT
from db.vocabulary import SYSTEM_ACTOR

if TYPE_CHECKING:
    from db.kb_search import KbHit

T = TypeVar("T")

_OPEN_LITERAL = schema._OPEN_SQL
LISTEN_RETRY_S = 1.0  # a lost listening connection is opened again no faster than this
_RETRIED = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected, pg_errors.LockNotAvailable)


def _q(sql: str) -> str:
    """SQLite's ``?`` and ``:name`` placeholders (the SQL shared with db/store.py) as psycopg's."""
    out: list[str] = []
    quoted = False
    i = 0
    while i < len(sql):
        ch = sql[i]
        if ch == "'":
            quoted = not quoted
            out.append(ch)
        elif quoted:
            out.append("%%" if ch == "%" else ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        elif ch == ":" and i + 1 < len(sql) and (sql[i + 1].isalpha() or sql[i + 1] == "_") and sql[i - 1] != ":":
            j = i + 1
            while j < len(sql) and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            out.append(f"%({sql[i + 1 : j]})s")
            i = j
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def redacted(url: str) -> str:
    """The URL without its password, to name the database in messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc}" if user else netloc))


def is_postgres_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))


class PgStore(PortableQueries):
    """One PostgreSQL database. Thread-safe for Textual's thread workers (one lock around the connection). The
    queries and commands the same on SQLite are PortableQueries' (db/queries.py); what is PostgreSQL's own is here."""

    dialect = "postgresql"
    _duplicate_error = pg_errors.UniqueViolation  # add_csat's second score for a closure

    def __init__(self, url: str, *, readonly: bool = False, create: bool = True, migrate: bool = True):
        self.url = url
        self.path = redacted(url)  # what messages name the database by
        self.readonly = readonly
        self.damage: list[str] = []
        self._lock = threading.RLock()
        self._depth = 0
        # The listening connection (wait_for_commit): its own, opened on the first wait, again after it is lost;
        # a pipe (made with it) wakes a waiter when the store closes.
        self._listener: psycopg.Connection[tuple[Any, ...]] | None = None
        self._listen_lock = threading.Lock()
        self._wake: tuple[int, int] | None = None
        self._closed = False
        try:
            self.conn: psycopg.Connection[tuple[Any, ...]] = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"{self.path} cannot be reached: {_first_line(exc)}") from exc
        try:
            # The helpdesk's queries are short; the planner's guesses over arrays (the knowledge search's posting
            # lists) would have it compile some of them (JIT), which alone cost 15-20 ms.
            self.conn.execute("SET jit = off")
            if readonly:
                self.conn.execute("SET default_transaction_read_only = on")
                if schema.version(self.conn) != schema.LATEST:
                    raise DatabaseUnavailable(f"{self.path} is not a helpdesk database at schema {schema.LATEST}")
            elif migrate:
                if self._tuples("SELECT pg_is_in_recovery()")[0][0]:
                    raise DatabaseUnavailable(
                        f"{self.path} is a standby, read-only: work on the primary (a standby serves wallboards)"
                    )
                if schema.version(self.conn) == 0 and not create:
                    raise DatabaseUnavailable(f"{self.path} has no helpdesk schema: run 'helpdesk init'")
                before = schema.version(self.conn)
                schema.migrate(self.conn)
                self._ensure_privileges(force=before != schema.LATEST)
        except psycopg.Error as exc:
            self.conn.close()
            raise DatabaseUnavailable(f"{self.path} cannot be used: {_first_line(exc)}") from exc
        except StoreError:
            self.conn.close()
            raise

    # -- roles and privileges (db/pg/privileges.sql) ----------------------------------------------------------

    def groups(self) -> tuple[str, str]:
        """The database's group roles: every agent's login is in the first, admins' also in the second."""
        (database,) = self._tuples("SELECT current_database()")[0]
        return f"{database}_agent", f"{database}_admin"

    def owns_database(self) -> bool:
        """Whether this session's role owns the database (who may init, apply privileges and migrate into it)."""
        return self._is_owner()

    def _is_owner(self) -> bool:
        row = self._tuples(
            "SELECT pg_get_userbyid(datdba) = session_user FROM pg_database WHERE datname = current_database()"
        )
        return bool(row and row[0][0])

    def _ensure_privileges(self, force: bool) -> None:
        """The owner applies privileges.sql after a migration, and to a database new to it (copied from another,
        whose group roles carry the other's name); anyone else finds them applied."""
        if not self._is_owner():
            return
        agent, admin = self.groups()
        found = self._tuples("SELECT count(*) FROM pg_roles WHERE rolname = ANY(?)", [[agent, admin]])[0][0]
        if found == 2 and not force:
            return
        (database,) = self._tuples("SELECT current_database()")[0]
        script = sql.SQL(schema.privileges_sql()).format(  # type: ignore[arg-type,unused-ignore]
            database=sql.Identifier(database), agent=sql.Identifier(agent), admin=sql.Identifier(admin)
        )
        with self._lock, self.conn.transaction():
            for group in (agent, admin):
                if not self._tuples("SELECT 1 FROM pg_roles WHERE rolname = ?", [group]):
                    self.conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(group)))
            self.conn.execute(script)

    def _sync_role(self, login: str) -> None:
        """The agent's login in the database's groups as the agents table says: created as a login role when
        missing (no password: peer authentication; `agent add --password` sets one), granted when it exists
        already (a role of another helpdesk database on the server, a DBA's own). Done by the owner's function
        helpdesk_sync_role (schema v3), so any admin may, without CREATEROLE."""
        with self._refused_login(login):
            self.conn.execute("SELECT helpdesk_sync_role(%s)", [login])

    @contextmanager
    def _refused_login(self, login: str) -> Iterator[None]:
        """The role functions' refusal of a login, as BadLogin (the reason is the error's DETAIL)."""
        try:
            yield
        except (pg_errors.InvalidName, pg_errors.InsufficientPrivilege) as exc:
            reason = exc.diag.message_detail
            if reason in ("long", "chars", "reserved", "group", "foreign"):
                raise BadLogin(login, reason) from exc
            raise

    # -- plumbing -----------------------------------------------------------------------------------------

    def session_login(self) -> str | None:
        row = self._tuples("SELECT session_user")
        return str(row[0][0])

    def set_password(self, login: str, password: str) -> None:
        """The SCRAM verifier is computed here (libpq's PQencryptPasswordConn), so the password itself never
        reaches the server, its logs or pg_stat_statements. A login sets its own (any role may: ALTER ROLE
        CURRENT_USER); another's is set by the owner's function helpdesk_set_password (admins, roles it made)."""
        with self._lock:
            verifier = self.conn.pgconn.encrypt_password(password.encode(), login.encode(), b"scram-sha-256")
            with self._guarded(), self._refused_login(login):
                if login == self.session_login():
                    self.conn.execute(
                        sql.SQL("ALTER ROLE CURRENT_USER PASSWORD {}").format(sql.Literal(verifier.decode()))
                    )
                else:
                    self.conn.execute("SELECT helpdesk_set_password(%s, %s)", [login, verifier.decode()])

    def set_busy_timeout(self, seconds: float) -> None:
        """A writer waits this long for the feed lock (lock_timeout), then the write is retried whole."""
        with self._lock:
            self.conn.execute(f"SET lock_timeout = {int(seconds * 1000)}")

    def damaged_message(self) -> str:
        return f"{self.path} reports damage: run 'helpdesk check'"

    def close(self) -> None:
        self._closed = True
        wake = self._wake
        if wake is not None:
            os.write(wake[1], b"x")  # a waiter returns at once
        with self._listen_lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            if self._wake is not None:
                for fd in self._wake:
                    os.close(fd)
                self._wake = None
        with self._lock:
            self.conn.close()

    def relaxed_durability(self) -> AbstractContextManager[None]:
        """Commits that need not wait for the disk (synchronous_commit off for this session's commits)."""
        return self._setting("synchronous_commit", "off")

    @contextmanager
    def _setting(self, name: str, value: str) -> Iterator[None]:
        with self._lock:
            (before,) = self.conn.execute(f"SHOW {name}").fetchone() or ("on",)
            self.conn.execute(f"SET {name} = {value}")
        try:
            yield
        finally:
            with self._lock:
                self.conn.execute(f"SET {name} = {before}")

    def data_version(self) -> int:
        """The newest change's id: it moves whenever anyone commits a change (the feed's triggers)."""
        return self.feed_cursor()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one committed state (a REPEATABLE READ, read-only transaction)."""
        with self._lock:
            if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                yield
                return
            self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield
            finally:
                self.conn.execute("ROLLBACK")

    @contextmanager
    def _outermost(self) -> Iterator[None]:
        """An outermost transaction (PortableQueries.transaction), holding the feed lock."""
        with self.conn.transaction():
            # One writer at a time, as on SQLite (see the module's docstring).
            self.conn.execute("SELECT helpdesk_feed_lock()")
            yield

    def try_write(self, work: Callable[[], Any]) -> bool:
        """``work`` in one transaction if no other writer holds the feed lock this instant; False otherwise."""
        if self.readonly:
            return False
        with self._lock:
            try:
                with self.conn.transaction():
                    row = self.conn.execute("SELECT pg_try_advisory_xact_lock(1751478383)").fetchone()
                    if not row or not row[0]:
                        return False
                    self._depth = 1
                    try:
                        work()
                    finally:
                        self._depth = 0
                return True
            except _RETRIED:
                return False

    def _retry(self, unit: Callable[[], T], attempts: int = 12) -> T:
        """``unit`` retried whole on a serialization failure or deadlock; the server gone is one line."""
        delay = 0.02
        for attempt in range(attempts):
            try:
                return self._translated(unit)
            except _RETRIED as exc:
                if attempt == attempts - 1:
                    raise StoreError("the database stayed busy; try again in a moment") from exc
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.5)
        raise StoreError("the database stayed busy; try again in a moment")  # pragma: no cover

    def _translated(self, unit: Callable[[], T]) -> T:
        """The server going away mid-command is one line naming the database, not psycopg's exception."""
        try:
            return unit()
        except psycopg.OperationalError as exc:
            if isinstance(exc, _RETRIED):
                raise
            raise DatabaseUnavailable(f"{self.path} cannot be used: {_first_line(exc)}") from exc

    def _rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cur = self.conn.cursor(row_factory=dict_row)
            return self._translated(lambda: cur.execute(_q(sql), _params(params)).fetchall())

    def _tuples(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._translated(lambda: self.conn.execute(_q(sql), _params(params)).fetchall())

    def _exec(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """A command in the caller's transaction (or its own); the rows it affected."""
        with self._lock:
            return self._translated(lambda: self.conn.execute(_q(sql), _params(params)).rowcount)

    def _execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        return self._exec(sql, params)

    def _execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._lock:
            self._translated(lambda: self.conn.cursor().executemany(_q(sql), [list(r) for r in rows]))

    def _insert(self, table: str, record: Mapping[str, Any], returning: str = "id") -> Any:
        names = list(record)
        statement = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        if not returning:
            self._exec(statement, [record[n] for n in names])
            return None
        return self._tuples(f"{statement} RETURNING {returning}", [record[n] for n in names])[0][0]

    def _guarded(self) -> AbstractContextManager[None]:
        """A single command outside a transaction still takes the feed lock (its own transaction)."""
        if self._depth:
            return nullcontext()
        return self.transaction()

    def _limit_param(self, limit: int) -> int | None:
        return _limit(limit)

    def _any_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [list(values)]

    # -- agents -------------------------------------------------------------------------------------------

    def list_agents(self) -> list[Agent]:
        return [Agent(**r) for r in self._rows('SELECT * FROM agents ORDER BY tier COLLATE "C", name COLLATE "C"')]

    def count_agents(self) -> int:
        return int(self._tuples("SELECT count(*) FROM agents")[0][0])

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
        if self.get_agent(name) is not None:
            raise Duplicate(f"agent {name} already exists")
        login = name if login is None else login
        if self.agent_by_login(login) is not None:
            raise Duplicate(f"login {login} already belongs to an agent")
        record = {
            "name": name,
            "role": role,
            "tier": tier,
            "display_name": display_name,
            "active": 1,
            "created_at": ts(at),
            "login": login,
            "board_only": int(board_only),
        }
        with self._guarded():
            self._insert("agents", record, returning="")
            self._sync_role(login)
        agent = self.get_agent(name)
        assert agent is not None
        return agent

    def update_agent(self, name: str, fields: Mapping[str, Any]) -> None:
        record = _encode(fields)
        if not record:
            return
        sets = ", ".join(f"{k} = :{k}" for k in record)
        with self._guarded():
            before = self.get_agent(name)
            self._exec(f"UPDATE agents SET {sets} WHERE name = :__name", {**record, "__name": name})
            agent = self.get_agent(name)
            # the login given up leaves the groups (unless another agent holds it), the new one joins them
            for login in {a.login for a in (before, agent) if a is not None and a.login}:
                self._sync_role(login)

    # -- customers ----------------------------------------------------------------------------------------

    def list_customers(self) -> list[Customer]:
        return [Customer(**r) for r in self._rows('SELECT * FROM customers ORDER BY name COLLATE "C", id')]

    # -- tickets ------------------------------------------------------------------------------------------

    def page_sql(self, flt: TicketFilter, now: float, offset: int, limit: int) -> tuple[str, list[Any]]:
        """As Store.page_sql: the stored order read from the v6 partial indexes (an index range, LIMIT rows, no
        sort), the few stale tickets computed and merged in; with many stale ones every band computed and sorted.

        Written for PostgreSQL: its planner picks the partial index by itself (SQLite's is told, INDEXED BY); it
        neither coalesces a comparison to 0 (booleans) nor orders by an expression over an output column, and
        every subquery in FROM has a name."""
        where, params = _filter_sql(flt)
        join = " LEFT JOIN customers c ON c.id = t.customer_id" if flt.needs_customer else ""
        rows = _limit(limit)
        reach = None if rows is None else rows + offset
        stale = self.stale_count(now)
        computed = (
            f"SELECT t.id, {URGENCY_BAND} AS band, {_COMPUTED_KEY} AS ukey, t.priority AS pr FROM tickets t{join}"
        )
        if stale > STALE_MERGE_LIMIT:
            return (
                f"SELECT * FROM ({computed}{where}) banded{PAGE_ORDER} LIMIT ? OFFSET ?",
                [now, now, now, now, *params, rows, offset],
            )
        and_ = " AND " if where else " WHERE "
        fresh = (
            f"SELECT t.id, t.q_band AS band, t.q_key AS ukey, t.priority AS pr FROM tickets t{join}{where}{and_}"
            f"(t.sla_next IS NULL OR t.sla_next > ?) AND (t.q_at IS NULL OR t.q_at <= ?){STORED_ORDER}"
        )
        if not stale:
            return f"{fresh} LIMIT ? OFFSET ?", [*params, now, now, rows, offset]
        judged = (
            "SELECT id FROM tickets WHERE sla_next <= ?"
            f" UNION SELECT id FROM tickets WHERE {_OPEN_LITERAL} AND q_at > ?"
        )
        page = (
            f"SELECT * FROM ({fresh} LIMIT ?) fresh UNION ALL SELECT * FROM ({computed}{where}{and_}t.id IN ({judged}))"
            f" late{PAGE_ORDER} LIMIT ? OFFSET ?"
        )
        return page, [*params, now, now, reach, now, now, now, now, *params, now, now, rows, offset]

    def index_hint(self, index: str) -> str:
        """PostgreSQL has no index hints: its planner chooses the partial index from the query's own WHERE."""
        return ""

    def queue_count(self, flt: TicketFilter) -> int:
        where, params = _filter_sql(flt)
        join = " LEFT JOIN customers c ON c.id = t.customer_id" if flt.needs_customer else ""
        return int(self._tuples(f"SELECT count(*) FROM tickets t{join}{where}", params)[0][0])

    def queue_items(self, ids: Sequence[int]) -> list[QueueItem]:
        if not ids:
            return []
        sql = (
            f"SELECT {QUEUE_COLUMNS} FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id"
            " WHERE t.id = ANY(?) ORDER BY t.id"
        )
        return [QueueItem(**r) for r in self._rows(sql, [list(ids)])]

    def queue_facts(self, ids: Sequence[int]) -> list[QueueFacts]:
        if not ids:
            return []
        rows = self._tuples(
            "SELECT id, status, assignee, tier, sla_alert, q_band, q_key, priority FROM tickets"
            " WHERE id = ANY(?) ORDER BY id",
            [list(ids)],
        )
        return [QueueFacts(*row) for row in rows]

    # -- the change feed ------------------------------------------------------------------------------------

    def feed_cursor(self) -> int:
        """The newest committed change's id (prune_changes always keeps the newest row, so it never goes back)."""
        return int(self._tuples("SELECT coalesce(max(id), 0) FROM changes")[0][0])

    # -- live updates: LISTEN/NOTIFY (db/pg/schema.py v2) ---------------------------------------------------------

    def listens(self) -> bool:
        """Whether commits are pushed to this store's readers: yes, unless the server is a hot standby, which
        refuses LISTEN (a wallboard there polls its feed)."""
        return not self._tuples("SELECT pg_is_in_recovery()")[0][0]

    def wait_for_commit(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a commit to the change feed, announced on the dedicated listening
        connection (only the change's id travels). True when one came, or when the listening connection has just
        been opened or lost (commits may have gone unseen meanwhile): read the feed then. False when the time
        passed without one, or the store is closing. One waiter at a time; a lost connection is opened again at
        the next call, retried no faster than every LISTEN_RETRY_S while the server is away."""
        with self._listen_lock:
            if self._closed:
                return False
            if self._wake is None:
                self._wake = os.pipe()
            wake = self._wake[0]
            if self._listener is None:
                started = time.monotonic()
                try:
                    conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(schema.FEED_CHANNEL)))
                except psycopg.Error:
                    pause = min(timeout, LISTEN_RETRY_S) - (time.monotonic() - started)
                    select.select([wake], [], [], max(0.0, pause))  # or less when the store closes
                    return False
                self._listener = conn
                return True
            try:
                if list(self._listener.notifies(timeout=0)):  # came while nobody waited
                    return True
                ready, _, _ = select.select([self._listener.fileno(), wake], [], [], timeout)
                if not ready or wake in ready or self._closed:
                    return False  # the time passed, or the store is closing
                # Readable: notifications (all that came are taken: one read of the feed covers them), or else
                # the server ending the connection, which a query finds (raised: lost)
                if list(self._listener.notifies(timeout=0)):
                    return True
                self._listener.execute("SELECT 1")
                return False
            except (psycopg.Error, OSError):
                self._listener.close()
                self._listener = None
                return True

    def prune_changes(self, before: float, batch: int = 5000) -> int:
        """Delete up to ``batch`` of the oldest feed rows written before ``before``, never the newest row (the
        cursor of a reader that has read everything is the newest id: SQLite keeps it in sqlite_sequence)."""

        def work() -> int:
            return self._exec(
                "DELETE FROM changes WHERE id IN (SELECT id FROM changes WHERE at < ?"
                " AND id < (SELECT max(id) FROM changes) ORDER BY id LIMIT ?)",
                [before, batch],
            )

        return self.write(work)

    # -- stored figures ------------------------------------------------------------------------------------

    def set_figures(self, ticket_id: int, fields: Mapping[str, Any]) -> None:
        names = list(fields)
        # INSERT OR REPLACE: the columns not given go back to their defaults, as a replaced SQLite row's do.
        updates = ", ".join(f"{n} = excluded.{n}" for n in _FIGURE_COLUMNS)
        with self._guarded():
            self._exec(
                f"INSERT INTO ticket_figures (ticket_id, {', '.join(names)}) VALUES (?, {', '.join('?' * len(names))})"
                f" ON CONFLICT (ticket_id) DO UPDATE SET {updates}",
                [ticket_id, *(fields[n] for n in names)],
            )

    def ticket_ids(self, statuses: Sequence[str] | None = None) -> list[int]:
        if statuses:
            rows = self._tuples("SELECT id FROM tickets WHERE status = ANY(?) ORDER BY id", [list(statuses)])
        else:
            rows = self._tuples("SELECT id FROM tickets ORDER BY id")
        return [int(r[0]) for r in rows]

    def tickets_to_judge(self, now: float, limit: int) -> list[int]:
        rows = self._tuples(
            "SELECT id FROM tickets WHERE sla_next <= ? ORDER BY sla_next, id LIMIT ?", [now, _limit(limit)]
        )
        return [int(r[0]) for r in rows]

    def resolved_before(self, cutoff: datetime, limit: int = -1) -> list[int]:
        rows = self._tuples(
            "SELECT id FROM tickets WHERE status = 'resolved' AND resolved_at <= ? ORDER BY resolved_at, id LIMIT ?",
            [ts(cutoff), _limit(limit)],
        )
        return [int(r[0]) for r in rows]

    def count_tickets(self) -> int:
        return int(self._tuples("SELECT count(*) FROM tickets")[0][0])

    def all_tickets(self) -> Iterator[Ticket]:
        for row in self._rows(f"SELECT {TICKET_COLUMNS} FROM tickets ORDER BY id"):
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
        """Append an event. Its id, hash, ``recorded_at`` and who entered it are the database's (db/pg/schema.py's
        ``helpdesk_event_stamp``): ``recorded_at`` and ``entered_by`` sent here are only the service's wish, and
        what was stored is returned."""
        payload = json.dumps(dict(detail or {}), ensure_ascii=False, sort_keys=True)
        record = {
            "id": 0,  # given by the trigger
            "ticket_id": None if ticket_id is None else int(ticket_id),
            "actor": str(actor),
            "at": ts(at),
            "kind": str(kind),
            "from_value": None if from_value is None else str(from_value),
            "to_value": None if to_value is None else str(to_value),
            "detail": payload,
            "backfilled": int(backfilled),
        }
        if actor == SYSTEM_ACTOR:  # the sweep's: only through its function (schema v3, privileges.sql)
            keys = ["ticket_id", "at", "kind", "from_value", "to_value", "detail", "backfilled"]
            statement = "SELECT * FROM helpdesk_system_event(?, ?, ?, ?, ?, ?, ?)"
            values = [record[k] for k in keys]
        else:
            names = list(record)
            statement = f"INSERT INTO events ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) RETURNING *"
            values = list(record.values())
        with self._guarded():
            rows = self._rows(statement, values)
        return _event(rows[0])

    def last_event_at(self, ticket_id: int) -> datetime | None:
        row = self._tuples("SELECT max(at) FROM events WHERE ticket_id = ?", [ticket_id])
        return datetime.fromisoformat(row[0][0]) if row and row[0][0] else None

    def count_events(self) -> int:
        return int(self._tuples("SELECT count(*) FROM events")[0][0])

    def add_sla_mark(self, ticket_id: int, clock: str, kind: str, cycle_start: datetime) -> bool:
        with self._guarded():
            return (
                self._exec(
                    "INSERT INTO sla_marks (ticket_id, clock, kind, cycle_start) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    [ticket_id, clock, kind, ts(cycle_start)],
                )
                == 1
            )

    # -- settings -------------------------------------------------------------------------------------------

    def set_setting(self, key: str, value: str, by: str, at: datetime) -> None:
        with self._guarded():
            self._exec(
                "INSERT INTO settings (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (key)"
                " DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by,"
                " updated_at = excluded.updated_at",
                [key, value, by, ts(at)],
            )

    # -- knowledge base (the search: db/pg/kb_search.py) -------------------------------------------------------

    def insert_article(self, fields: Mapping[str, Any], at: datetime) -> KbArticle:
        record = {"created_at": ts(at), "updated_at": ts(at), **fields}
        with self._guarded():
            if record.get("ref"):
                existing = self._tuples("SELECT id FROM kb_articles WHERE ref = ?", [record["ref"]])
                if existing:
                    raise Duplicate(f"an article with ref {record['ref']} already exists (#{existing[0][0]})")
            aid = int(self._insert("kb_articles", record))
            self._index_article(aid)
        return self.get_article(aid)

    def update_article(self, article_id: int, fields: Mapping[str, Any], at: datetime) -> KbArticle:
        record = {**_encode(fields), "updated_at": ts(at)}
        sets = ", ".join(f"{k} = :{k}" for k in record)
        with self._guarded():
            self._exec(f"UPDATE kb_articles SET {sets} WHERE id = :__id", {**record, "__id": article_id})
            self._index_article(article_id)
        return self.get_article(article_id)

    def _index_article(self, article_id: int) -> None:
        """The article's search document, in the transaction that wrote the article (as SQLite's index_article)."""
        from db.pg import kb_search  # the search module loads with the first knowledge-base use

        with self._lock:
            self._translated(lambda: kb_search.index_article(self.conn, article_id))

    def search_articles(self, query: str, limit: int = 10, include_drafts: bool = False) -> list[KbHit]:
        from db.pg import kb_search  # the search module loads with the first knowledge-base use

        with self._lock:
            return self._translated(
                lambda: kb_search.search_articles(self.conn, query, limit=limit, include_drafts=include_drafts)
            )

    def suggest_articles(self, text: str, limit: int = 5) -> list[KbHit]:
        from db.pg import kb_search  # the search module loads with the first knowledge-base use

        with self._lock:
            return self._translated(lambda: kb_search.suggest_for_text(self.conn, text, limit=limit))

    def count_articles(self) -> int:
        return int(self._tuples("SELECT count(*) FROM kb_articles")[0][0])

    def link_article(self, ticket_id: int, article_id: int, by: str, at: datetime) -> bool:
        with self._guarded():
            return (
                self._exec(
                    "INSERT INTO ticket_kb (ticket_id, article_id, linked_by, linked_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    [ticket_id, article_id, by, ts(at)],
                )
                == 1
            )

    def linked_articles(self, ticket_id: int) -> list[KbArticle]:
        rows = self._rows(
            "SELECT a.* FROM kb_articles a JOIN ticket_kb l ON l.article_id = a.id"
            " WHERE l.ticket_id = ? ORDER BY l.linked_at, a.id",
            [ticket_id],
        )
        return [KbArticle(**r) for r in rows]

    # -- satisfaction and presence --------------------------------------------------------------------------

    def heartbeat(self, agent: str, ticket_id: int, now: float) -> None:
        # presence is no change of the floor: no feed row, so no feed lock either
        self._exec(
            "INSERT INTO presence (agent, ticket_id, seen_at) VALUES (?, ?, ?)"
            " ON CONFLICT (agent, ticket_id) DO UPDATE SET seen_at = excluded.seen_at",
            [agent, ticket_id, now],
        )

    def viewers(self, ticket_id: int, since: float) -> list[Presence]:
        rows = self._rows(
            'SELECT * FROM presence WHERE ticket_id = ? AND seen_at >= ? ORDER BY agent COLLATE "C"',
            [ticket_id, since],
        )
        return [Presence(**r) for r in rows]

    # -- maintenance --------------------------------------------------------------------------------------

    def backup(self, dest: str | Path) -> Path:
        """pg_dump's custom format (one consistent snapshot while others write), to a temporary file renamed into
        place, mode 0600: never readable by more people than the person who made it. Restore it with pg_restore
        as a superuser with --disable-triggers, so the events keep their stamps (the insert trigger would stamp
        them again). The password goes to pg_dump by its environment, never its command line."""
        target, tmp = backup_files(dest, ".pgdump")
        tool = _pg_dump()
        params = conninfo_to_dict(self.url)
        env = {**os.environ, "PGPASSWORD": str(params.pop("password", "") or "")}
        if not env["PGPASSWORD"]:
            del env["PGPASSWORD"]
        command = [tool, "--format=custom", f"--file={tmp}", f"--dbname={make_conninfo('', **params)}"]
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600, umask=0o077)
            if done.returncode != 0:
                raise StoreError(f"backup to {target} failed: {_first_line(RuntimeError(done.stderr))}")
            tmp.replace(target)
        except (OSError, subprocess.SubprocessError) as exc:
            raise StoreError(f"backup to {target} failed: {exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        return target

    # -- the whole database, table by table (db/copy.py) -------------------------------------------------------

    def copy_from(
        self, source: CopySource, *, bind: str | None = None, progress: Callable[[int, int | None], None] | None = None
    ) -> dict[str, int]:
        """Copy every row of ``source`` (a SQLite helpdesk, read in one snapshot) into this database, which must be
        empty, in one transaction: all of it or nothing. Run by the database's owner only, through the audited
        path of db/pg/schema.py (helpdesk_copies): the events keep their stamps and hashes, the server verifying
        each link of the chain as it goes. ``bind``: the admin whose login becomes this session's role (the owner's,
        as `init` binds the first admin). Every agent's login is then made a role of this database (created when
        missing, granted when it exists). Returns the rows copied per table; CopyRefused says why nothing was."""
        from db.copy import SEEDED, TABLES, CopyRefused

        if not self._is_owner():
            raise CopyRefused(CopyRefused.NOT_OWNER, str(self.session_login()))
        held = {t: n for t, n in self.table_counts().items() if n and t not in SEEDED}
        if held:
            named = [f"{t} {n}" for t, n in held.items()]
            raise CopyRefused(CopyRefused.NOT_EMPTY, ", ".join(named[:3]) + (", …" if len(named) > 3 else ""))
        present = {
            table: [str(r[0]) for r in rows]
            for table in TABLES
            if (
                rows := self._tuples(
                    "SELECT column_name FROM information_schema.columns"
                    " WHERE table_schema = 'public' AND table_name = ? ORDER BY ordinal_position",
                    [table],
                )
            )
        }
        with source.snapshot():
            counts = source.table_counts()
            head_id, head_hash = source.chain_head()
            feed = source.feed_cursor()
            columns = {table: source.copy_columns(table) for table in TABLES}
            for table in TABLES:  # a column PostgreSQL adds of its own (a search vector) takes its default
                if not set(columns[table]) <= set(present.get(table, ())):
                    raise CopyRefused(CopyRefused.TABLES_DIFFER, table)
            total, done = sum(counts.values()), 0
            with self._lock:
                try:
                    with self.conn.transaction():
                        self.conn.execute("SET LOCAL helpdesk.copy = 'on'")
                        self.conn.execute(
                            "INSERT INTO helpdesk_copies (source, events, last_hash) VALUES (%s, %s, %s)",
                            [str(source.path), head_id, head_hash],
                        )
                        for table in SEEDED:
                            self.conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
                        for table in TABLES:
                            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns[table]))
                            )
                            with self.conn.cursor().copy(statement) as copy:
                                for n, row in enumerate(source.copy_rows(table), 1):
                                    copy.write_row(row)
                                    if progress is not None and n % 500 == 0:
                                        progress(done + n, total)
                            done += counts[table]
                            if progress is not None:
                                progress(done, total)
                            if table == "agents" and bind is not None:
                                self.conn.execute("UPDATE agents SET login = session_user WHERE name = %s", [bind])
                        for (login,) in self._tuples("SELECT login FROM agents WHERE login IS NOT NULL ORDER BY name"):
                            self._sync_role(str(login))
                        self._continue_ids(feed)
                        from db.pg import kb_search

                        kb_search.reindex_all(self.conn)  # the search index is this engine's own, built from the rows
                        copied = self.table_counts()
                        if copied != counts:
                            wrong = [t for t in TABLES if copied[t] != counts[t]]
                            raise CopyRefused(CopyRefused.ROWS, ", ".join(wrong))
                except pg_errors.DataException as exc:
                    if exc.sqlstate == "22000":  # raised by helpdesk_event_copied: the chain does not hold
                        raise CopyRefused(CopyRefused.BROKEN_CHAIN, _first_line(exc)) from exc
                    raise CopyRefused(CopyRefused.ROWS, _first_line(exc)) from exc  # a value the column refuses
                except BadLogin as exc:  # a SQLite login PostgreSQL cannot take as a role
                    raise CopyRefused(CopyRefused.ROLES, str(exc)) from exc
                except pg_errors.InsufficientPrivilege as exc:  # CREATE ROLE without CREATEROLE, mostly
                    raise CopyRefused(CopyRefused.ROLES, _first_line(exc)) from exc
                except pg_errors.ObjectNotInPrerequisiteState as exc:  # another copy came first
                    raise CopyRefused(CopyRefused.NOT_EMPTY, _first_line(exc)) from exc
                except psycopg.OperationalError as exc:
                    raise DatabaseUnavailable(f"{self.path} cannot be used: {_first_line(exc)}") from exc
                except psycopg.Error as exc:
                    raise StoreError(f"copy into {self.path} failed: {_first_line(exc)}") from exc
        return counts

    def _continue_ids(self, feed: int) -> None:
        """Each identity column goes on after the highest id copied (the change feed after the source's position,
        which may be past its newest row): the next ticket, message or feed row gets the next number."""
        for table, column in self._tuples(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND is_identity = 'YES' ORDER BY table_name"
        ):
            top = int(
                self._tuples(
                    sql.SQL("SELECT coalesce(max({}), 0) FROM {}")
                    .format(sql.Identifier(column), sql.Identifier(table))
                    .as_string(self.conn)
                )[0][0]
            )
            if table == "changes":
                top = max(top, feed)
            if top:
                self._tuples("SELECT setval(pg_get_serial_sequence(?, ?), ?)", [table, column, top])

    # -- checks ---------------------------------------------------------------------------------------------

    def integrity_problems(self) -> list[str]:
        """What PostgreSQL can be left in that breaks its own guarantees: a constraint added NOT VALID (rows it
        never checked), a trigger disabled (the append-only events, the feed, the stamp). Pages and foreign keys
        are the server's to keep (checksums, amcheck): a DBA's tools, not the helpdesk's."""
        problems = [
            f"constraint {name} on {table} is not validated (rows were never checked against it)"
            for name, table in self._tuples(
                "SELECT c.conname, c.conrelid::regclass::text FROM pg_constraint c"
                " JOIN pg_namespace n ON n.oid = c.connamespace"
                " WHERE n.nspname = 'public' AND NOT c.convalidated ORDER BY 1"
            )
        ]
        problems += [
            f"trigger {name} on {table} is disabled"
            for name, table in self._tuples(
                "SELECT t.tgname, t.tgrelid::regclass::text FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid"
                " JOIN pg_namespace n ON n.oid = r.relnamespace"
                " WHERE n.nspname = 'public' AND NOT t.tgisinternal AND t.tgenabled = 'D' ORDER BY 1"
            )
        ]
        return problems

    def schema_problems(self) -> list[str]:
        """Every index and trigger the migrations create is there, and no other (db/pg/schema.py)."""
        expected = schema.expected_objects()
        found = {
            "index": {
                str(r[0])
                for r in self._tuples(
                    "SELECT i.indexname FROM pg_indexes i WHERE i.schemaname = 'public' AND NOT EXISTS"
                    " (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"  # primary keys, UNIQUE columns
                )
            },
            "trigger": {
                str(r[0])
                for r in self._tuples(
                    "SELECT t.tgname FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid"
                    " JOIN pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = 'public' AND NOT t.tgisinternal"
                )
            },
        }
        problems: list[str] = []
        for kind in ("index", "trigger"):
            problems += [f"{kind} {name} is missing (dropped?)" for name in sorted(expected[kind] - found[kind])]
            problems += [
                f"{kind} {name} is not part of the schema (added by hand?)"
                for name in sorted(found[kind] - expected[kind])
            ]
        return problems

    def chain_problems(self) -> list[str]:
        """The events' hash chain recomputed in Python (db/queries.py's chain_breaks), as on SQLite: the trigger and
        the Python code must agree link for link."""
        problems: list[str] = []
        chain_breaks(self._tuples(f"{sqlite_schema.EVENT_SELECT} ORDER BY id"), problems)
        return problems


_FIGURE_COLUMNS = [
    "fr_s",
    "fr_at",
    "fr_met",
    "fr_due",
    "rv_s",
    "rv_at",
    "rv_met",
    "rv_due",
    "resolved_once",
    "first_response_met",
    "first_response_total",
    "next_update_met",
    "next_update_total",
    "restore_met",
    "restore_total",
    "resolve_met",
    "resolve_total",
    "onsite_met",
    "onsite_total",
    "stale_at",
]


def _pg_dump() -> str:
    """pg_dump from the PATH, else from Debian's PostgreSQL 15 (it must be as new as the server)."""
    found = shutil.which("pg_dump")
    for candidate in (os.environ.get("HELPDESK_PG_BIN", "/usr/lib/postgresql/15/bin") + "/pg_dump", found):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise StoreError("pg_dump is not installed: install the PostgreSQL client (postgresql-client-15)")


def _limit(limit: int) -> int | None:
    """SQLite's LIMIT -1 (no limit) is PostgreSQL's LIMIT NULL."""
    return None if limit < 0 else limit


def _params(params: Sequence[Any] | Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
    return params if isinstance(params, Mapping) else list(params)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _filter_sql(flt: TicketFilter) -> tuple[str, list[Any]]:
    """db/queries.py's filter, with SQLite's case-blind LIKE as ILIKE."""
    where, params = filter_sql(flt)
    return where.replace(" LIKE ", " ILIKE "), params


__all__ = ["PgStore", "is_postgres_url", "redacted"]
