"""The store on PostgreSQL (psycopg 3): the same queries and commands as db/store.py's SQLite ``Store``, answering
with the same records, for teams whose agents work from many machines on one server.

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
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from db import schema as sqlite_schema
from db.errors import Conflict, DatabaseUnavailable, Duplicate, NotFound, ReadOnly, StoreError
from db.models import Agent, Csat, Customer, Event, KbArticle, Message, Presence, QueueItem, Ticket
from db.pg import schema
from db.records import Change, Feed, QueueFacts, TicketFilter
from db.store import (
    FEED_LIMIT,
    QUEUE_COLUMNS,
    STORED_ORDER,
    TICKET_COLUMNS,
    URGENCY_BAND,
    _encode,
    filter_sql,
    stored_urgency,
    ts,
)

if TYPE_CHECKING:
    from db.kb_search import KbHit

T = TypeVar("T")

_OPEN_LITERAL = schema._OPEN_SQL
# SQLite sorts NULL first; the urgency keys rely on it.
_URGENCY_KEYS = (
    "CASE WHEN {band} = 2 THEN t.priority END NULLS FIRST, t.sla_due NULLS FIRST,"
    " t.sla_paused_remaining NULLS FIRST, t.priority, t.id"
)
_RETRIED = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected, pg_errors.LockNotAvailable)


def _urgency_order(band: str) -> str:
    return f" ORDER BY {band}, " + _URGENCY_KEYS.format(band=band)


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


class PgStore:
    """One PostgreSQL database. Thread-safe for Textual's thread workers (one lock around the connection)."""

    dialect = "postgresql"

    def __init__(self, url: str, *, readonly: bool = False, create: bool = True, migrate: bool = True):
        self.url = url
        self.path = redacted(url)  # what messages name the database by
        self.readonly = readonly
        self.damage: list[str] = []
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self.conn: psycopg.Connection[tuple[Any, ...]] = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"{self.path} cannot be reached: {_first_line(exc)}") from exc
        try:
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

    def _sync_role(self, login: str, role: str, active: bool) -> None:
        """The agent's login in the database's groups as their role says: created as a login role when missing
        (no password: peer authentication; `agent add --password` sets one), granted when it exists already
        (a role of another helpdesk database on the server, a DBA's own)."""
        agent, admin = self.groups()
        ident = sql.Identifier(login)
        if not self._tuples("SELECT 1 FROM pg_roles WHERE rolname = ?", [login]):
            self.conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
        wanted = {agent: active, admin: active and role == "admin"}
        for group, member in wanted.items():
            is_member = self._tuples(
                "SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
                " JOIN pg_roles u ON u.oid = m.member WHERE g.rolname = ? AND u.rolname = ?",
                [group, login],
            )
            if member and not is_member:
                self.conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), ident))
            elif not member and is_member:
                self.conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(group), ident))

    # -- plumbing -----------------------------------------------------------------------------------------

    def session_login(self) -> str | None:
        row = self._tuples("SELECT session_user")
        return str(row[0][0])

    def set_password(self, login: str, password: str) -> None:
        """The SCRAM verifier is computed here (libpq's PQencryptPasswordConn), so the password itself never
        reaches the server, its logs or pg_stat_statements."""
        with self._lock:
            verifier = self.conn.pgconn.encrypt_password(password.encode(), login.encode(), b"scram-sha-256")
            with self._guarded():
                self.conn.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(login), sql.Literal(verifier.decode()))
                )

    def set_busy_timeout(self, seconds: float) -> None:
        """A writer waits this long for the feed lock (lock_timeout), then the write is retried whole."""
        with self._lock:
            self.conn.execute(f"SET lock_timeout = {int(seconds * 1000)}")

    def damaged_message(self) -> str:
        return f"{self.path} reports damage: run 'helpdesk check'"

    def close(self) -> None:
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
    def transaction(self) -> Iterator[None]:
        if self.readonly:
            raise ReadOnly("this database is open read-only")
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                with self.conn.transaction():
                    # One writer at a time, as on SQLite (see the module's docstring).
                    self.conn.execute("SELECT helpdesk_feed_lock()")
                    yield
            finally:
                self._depth = 0

    def write(self, work: Callable[[], T], attempts: int = 12) -> T:
        """Run ``work`` in one transaction, retried whole on a serialization failure or deadlock."""

        def unit() -> T:
            with self.transaction():
                return work()

        return self._retry(unit, attempts)

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

    def _one(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> dict[str, Any] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

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

    # -- agents -------------------------------------------------------------------------------------------

    def get_agent(self, name: str) -> Agent | None:
        row = self._one("SELECT * FROM agents WHERE name = ?", [name])
        return Agent(**row) if row else None

    def agent_by_login(self, login: str) -> Agent | None:
        row = self._one("SELECT * FROM agents WHERE login = ?", [login])
        return Agent(**row) if row else None

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
            self._sync_role(login, role, True)
        agent = self.get_agent(name)
        assert agent is not None
        return agent

    def update_agent(self, name: str, fields: Mapping[str, Any]) -> None:
        record = _encode(fields)
        if not record:
            return
        sets = ", ".join(f"{k} = :{k}" for k in record)
        with self._guarded():
            self._exec(f"UPDATE agents SET {sets} WHERE name = :__name", {**record, "__name": name})
            agent = self.get_agent(name)
            if agent is not None and agent.login:
                self._sync_role(agent.login, agent.role, agent.active)

    # -- customers ----------------------------------------------------------------------------------------

    def get_customer(self, customer_id: int) -> Customer:
        row = self._one("SELECT * FROM customers WHERE id = ?", [customer_id])
        if row is None:
            raise NotFound("customer", customer_id)
        return Customer(**row)

    def find_customer(self, *, email: str | None = None, name: str | None = None) -> Customer | None:
        if email:
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

    def list_customers(self) -> list[Customer]:
        return [Customer(**r) for r in self._rows('SELECT * FROM customers ORDER BY name COLLATE "C", id')]

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
            count = self._exec(
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
        """As Store.set_ticket_sla: derived columns, no version bump; the stored urgency judged now if not given."""
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
            self._exec(f"UPDATE tickets SET {sets} WHERE id = :__id", {**record, "__id": ticket_id})

    def queue(self, flt: TicketFilter, offset: int = 0, limit: int = 100) -> list[QueueItem]:
        """One page in urgency order at ``flt.now``: the stored order while it holds (a range of the v6 partial
        indexes), else the bands computed and sorted (see Store.queue)."""
        now = flt.now if flt.now is not None else time.time()
        where, params = _filter_sql(flt)
        if self.stored_order_holds(now):
            sql = (
                f"SELECT {QUEUE_COLUMNS} FROM tickets t"
                f" LEFT JOIN customers c ON c.id = t.customer_id{where}{STORED_ORDER} LIMIT ? OFFSET ?"
            )
            return [QueueItem(**r) for r in self._rows(sql, [*params, _limit(limit), offset])]
        join = " LEFT JOIN customers c ON c.id = t.customer_id" if flt.needs_customer else ""
        # PostgreSQL orders by an output column's name alone, never inside an expression: the band is a column of
        # a subquery here.
        banded = (
            f"SELECT t.id, t.priority, t.sla_due, t.sla_paused_remaining, {URGENCY_BAND} AS band"
            f" FROM tickets t{join}{where}"
        )
        page = f"SELECT t.id, t.band FROM ({banded}) t{_urgency_order('t.band')} LIMIT ? OFFSET ?"
        sql = (
            f"SELECT {QUEUE_COLUMNS} FROM ({page}) page JOIN tickets t ON t.id = page.id"
            f" LEFT JOIN customers c ON c.id = t.customer_id{_urgency_order('page.band')}"
        )
        return [QueueItem(**r) for r in self._rows(sql, [now, now, *params, _limit(limit), offset])]

    def stored_order_holds(self, now: float) -> bool:
        row = self._tuples(
            "SELECT (SELECT min(sla_next) FROM tickets WHERE sla_next IS NOT NULL),"
            f" (SELECT max(q_at) FROM tickets WHERE {_OPEN_LITERAL})"
        )[0]
        earliest, latest = row
        return (earliest is None or earliest > now) and (latest is None or latest <= now)

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

    def changes_since(self, since: int) -> Feed:
        """As Store.changes_since: the tickets changed after ``since``, each with its queue columns as they were."""
        rows = self._tuples(
            "SELECT id, ticket_id, created, status_was, assignee_was, tier_was, alert_was, band_was, key_was,"
            " priority_was FROM changes WHERE id > ? ORDER BY id LIMIT ?",
            [since, FEED_LIMIT + 1],
        )
        if not rows:
            return Feed(since, since, False, {})
        cursor = int(rows[-1][0])
        if len(rows) > FEED_LIMIT or int(rows[0][0]) != since + 1:
            return Feed(since, self.feed_cursor() if len(rows) > FEED_LIMIT else cursor, True, {})
        tickets: dict[int, Change] = {}
        reload = False
        for _id, ticket_id, created, status, assignee, tier, alert, band, key, priority in rows:
            if ticket_id is None:
                reload = True
                continue
            ticket_id = int(ticket_id)
            seen = tickets.get(ticket_id)
            before = None
            if status is not None:
                before = QueueFacts(ticket_id, status, assignee, tier, int(alert), int(band), float(key), priority)
            if seen is None:
                tickets[ticket_id] = Change(ticket_id, bool(created), None if created else before)
            elif seen.before is None and not seen.created and before is not None:
                tickets[ticket_id] = Change(ticket_id, False, before)
        return Feed(since, cursor, reload, tickets)

    def tickets_changed_after(self, since: int) -> list[int]:
        rows = self._tuples(
            "SELECT DISTINCT ticket_id FROM changes WHERE id > ? AND ticket_id IS NOT NULL ORDER BY ticket_id", [since]
        )
        return [int(r[0]) for r in rows]

    def oldest_change(self) -> float | None:
        row = self._tuples("SELECT at FROM changes ORDER BY id LIMIT 1")
        return None if not row else float(row[0][0])

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

    # -- the sweeper's lease --------------------------------------------------------------------------------

    def lease_holder(self, name: str, now: float) -> str | None:
        row = self._tuples("SELECT holder, expires FROM leases WHERE name = ?", [name])
        if not row or float(row[0][1]) <= now:
            return None
        return str(row[0][0])

    def take_lease(self, name: str, holder: str, now: float, ttl: float) -> bool:
        if self.readonly:
            return False
        if self.lease_holder(name, now) not in (None, holder):
            return False
        taken: list[bool] = []

        def work() -> None:
            count = self._exec(
                "INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE"
                " SET holder = excluded.holder, expires = excluded.expires"
                " WHERE leases.holder = excluded.holder OR leases.expires <= ?",
                [name, holder, now + ttl, now],
            )
            taken.append(count == 1)

        return self.try_write(work) and bool(taken and taken[0])

    def release_lease(self, name: str, holder: str) -> None:
        if not self.readonly:
            self.try_write(lambda: self._exec("DELETE FROM leases WHERE name = ? AND holder = ?", [name, holder]))

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

    def tickets_without_figures(self, limit: int) -> list[int]:
        """None on this engine: the figures are written with every change, and no migration left tickets without
        (the mark SQLite's v6 sets is 0 from the start)."""
        mark = self._tuples("SELECT value FROM upkeep WHERE key = 'figures_before'")
        below = int(mark[0][0]) if mark else 0
        if below <= 0:
            return []
        rows = self._tuples(
            "SELECT t.id FROM tickets t WHERE t.id < ? AND NOT EXISTS"
            " (SELECT 1 FROM ticket_figures f WHERE f.ticket_id = t.id) ORDER BY t.id LIMIT ?",
            [below, _limit(limit)],
        )
        if not rows and not self.readonly:
            self.try_write(lambda: self._exec("UPDATE upkeep SET value = 0 WHERE key = 'figures_before'"))
        return [int(r[0]) for r in rows]

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

    def count_to_judge(self, now: float) -> int:
        return int(self._tuples("SELECT count(*) FROM tickets WHERE sla_next <= ?", [now])[0][0])

    def next_judgement(self) -> float | None:
        row = self._tuples("SELECT min(sla_next) FROM tickets WHERE sla_next IS NOT NULL")
        return None if not row or row[0][0] is None else float(row[0][0])

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

    def add_message(self, ticket_id: int, kind: str, author: str, body: str, at: datetime) -> Message:
        record = {"ticket_id": ticket_id, "kind": kind, "author": author, "body": body, "created_at": ts(at)}
        with self._guarded():
            mid = int(self._insert("messages", record))
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
        names = list(record)
        statement = f"INSERT INTO events ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) RETURNING *"
        with self._guarded():
            rows = self._rows(statement, list(record.values()))
        return _event(rows[0])

    def events(self, ticket_id: int) -> list[Event]:
        return [_event(r) for r in self._rows("SELECT * FROM events WHERE ticket_id = ? ORDER BY id", [ticket_id])]

    def events_between(self, start: datetime | None, end: datetime | None, kinds: Sequence[str] = ()) -> list[Event]:
        clauses: list[str] = []
        params: list[Any] = []
        if start is not None:
            clauses.append("at >= ?")
            params.append(ts(start))
        if end is not None:
            clauses.append("at < ?")
            params.append(ts(end))
        if kinds:
            clauses.append("kind = ANY(?)")
            params.append(list(kinds))
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        return [_event(r) for r in self._rows(f"SELECT * FROM events{where} ORDER BY id", params)]

    def last_event(self, ticket_id: int) -> Event | None:
        row = self._one("SELECT * FROM events WHERE ticket_id = ? ORDER BY id DESC LIMIT 1", [ticket_id])
        return _event(row) if row else None

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

    def get_setting(self, key: str) -> str | None:
        row = self._tuples("SELECT value FROM settings WHERE key = ?", [key])
        return str(row[0][0]) if row else None

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

    def add_csat(self, ticket_id: int, closure: int, score: int, comment: str, at: datetime) -> Csat:
        record = {"ticket_id": ticket_id, "closure": closure, "score": score, "comment": comment, "at": ts(at)}
        try:
            with self._guarded():
                cid = int(self._insert("csat", record))
        except pg_errors.UniqueViolation as exc:
            raise Duplicate(f"ticket {ticket_id} already has a satisfaction score for this closure") from exc
        return Csat(id=cid, ticket_id=ticket_id, closure=closure, score=score, comment=comment, at=at)

    def csat_for(self) -> list[Csat]:
        return [Csat(**r) for r in self._rows("SELECT * FROM csat ORDER BY id")]

    def heartbeat(self, agent: str, ticket_id: int, now: float) -> None:
        # presence is no change of the floor: no feed row, so no feed lock either
        self._exec(
            "INSERT INTO presence (agent, ticket_id, seen_at) VALUES (?, ?, ?)"
            " ON CONFLICT (agent, ticket_id) DO UPDATE SET seen_at = excluded.seen_at",
            [agent, ticket_id, now],
        )

    def leave(self, agent: str, ticket_id: int) -> None:
        self._exec("DELETE FROM presence WHERE agent = ? AND ticket_id = ?", [agent, ticket_id])

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
        target = Path(dest)
        if target.is_dir():
            target = target / f"helpdesk-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.pgdump"
        if not target.parent.exists():
            raise DatabaseUnavailable(f"directory {target.parent} does not exist")
        tool = _pg_dump()
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
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
        """The events' hash chain recomputed in Python (db/schema.py's event_hash), as on SQLite: the trigger and
        the Python code must agree link for link, and a broken link is named as Store.chain_problems names it."""
        problems: list[str] = []
        previous, previous_id = sqlite_schema.GENESIS, 0
        for *row, stored in self._tuples(f"{sqlite_schema.EVENT_SELECT} ORDER BY id"):
            eid = row[0]
            if stored is None:
                problems.append(f"event {eid}: has no hash (written outside the helpdesk?)")
            elif sqlite_schema.event_hash(previous, row) != stored:
                if eid == previous_id + 1:
                    problems.append(f"event {eid}: its hash does not match its content (edited?)")
                else:
                    problems.append(
                        f"event {eid}: does not chain to the event before it (an event was deleted or reordered?)"
                    )
            previous, previous_id = stored, eid
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


def _event(row: Mapping[str, Any]) -> Event:
    data = dict(row)
    data["detail"] = json.loads(data.get("detail") or "{}")
    return Event(**data)


def _filter_sql(flt: TicketFilter) -> tuple[str, list[Any]]:
    """db/store.py's filter, with SQLite's case-blind LIKE as ILIKE."""
    where, params = filter_sql(flt)
    return where.replace(" LIKE ", " ILIKE "), params


__all__ = ["PgStore", "is_postgres_url", "redacted"]
