"""The privilege model (db/pg/privileges.sql) enforced by PostgreSQL itself: two agents connect with their own
database roles, as a colleague with psql would, and every attempt to rewrite the record is refused by the server —
not by the helpdesk, which is not in the way here."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import errors as pg_errors

from console.rules.errors import PermissionDenied
from console.service.helpdesk import HelpdeskService
from db.pg.store import PgStore
from tests.pg import Cluster


@dataclass
class Floor:
    cluster: Cluster
    database: str
    ann: str  # the database roles (logins) of agent ann and agent kai
    kai: str

    def connect(self, login: str) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.cluster.url(self.database, login), autocommit=True)


@pytest.fixture
def floor(pg_cluster: Cluster) -> Iterator[Floor]:
    """A database whose owner ran `init` (admin boss) and added agents ann and kai with logins of their own."""
    database = pg_cluster.new_database()
    suffix = secrets.token_hex(3)
    ann, kai = f"ann_{suffix}", f"kai_{suffix}"
    boss = HelpdeskService.open(pg_cluster.url(database), "boss", create=True)
    boss.init("boss")
    boss.add_agent("ann", "agent", "L1", login=ann)
    boss.add_agent("kai", "agent", "L2", login=kai)
    boss.shutdown()
    for login in (ann, kai):  # `agent add` made them login roles for peer auth; the tests log in with a password
        pg_cluster.role(login)
    yield Floor(pg_cluster, database, ann, kai)
    pg_cluster.drop_database(database)


def _now_text(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def _insert_event(
    conn: psycopg.Connection[tuple[object, ...]], actor: str, at: str, **extra: object
) -> tuple[object, ...]:
    columns = {"id": 0, "actor": actor, "at": at, "kind": "note", "detail": "{}", **extra}
    names = ", ".join(columns)
    marks = ", ".join(["%s"] * len(columns))
    row = conn.execute(
        f"INSERT INTO events ({names}) VALUES ({marks}) RETURNING id, actor, at, recorded_at, entered_by, backfilled",
        list(columns.values()),
    ).fetchone()
    assert row is not None
    return row


def test_an_agent_records_events_as_themselves_at_the_servers_time(floor: Floor) -> None:
    with floor.connect(floor.ann) as conn:
        eid, actor, _at, recorded_at, entered_by, backfilled = _insert_event(
            conn, "ann", _now_text(), recorded_at="2001-01-01T00:00:00Z", entered_by="boss", id=999
        )
    assert actor == "ann" and entered_by is None and backfilled == 0
    assert str(recorded_at) >= _now_text(timedelta(minutes=-1))  # the server's clock, not the client's claim
    store = PgStore(floor.cluster.url(floor.database))
    assert eid == store.count_events()  # ids without gaps: the client's id was replaced
    assert store.chain_problems() == []  # the trigger's hash is the one the Python check computes
    store.close()


def test_an_agent_cannot_forge_the_actor(floor: Floor) -> None:
    with floor.connect(floor.ann) as conn, pytest.raises(pg_errors.InsufficientPrivilege, match="only record"):
        _insert_event(conn, "kai", _now_text())
    with floor.connect(floor.kai) as conn, pytest.raises(pg_errors.InsufficientPrivilege, match="only record"):
        _insert_event(conn, "boss", _now_text())


def test_an_agent_cannot_backdate_an_event(floor: Floor) -> None:
    with floor.connect(floor.ann) as conn:
        with pytest.raises(pg_errors.InsufficientPrivilege, match="another time"):
            _insert_event(conn, "ann", _now_text(timedelta(days=-3)))
        with pytest.raises(pg_errors.InsufficientPrivilege, match="another time"):
            _insert_event(conn, "ann", _now_text(), backfilled=1)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET actor = 'kai'",
        "UPDATE events SET at = '2020-01-01T00:00:00Z' WHERE id = 1",
        "DELETE FROM events",
        "TRUNCATE events",
    ],
)
def test_nobody_changes_a_past_event(floor: Floor, statement: str) -> None:
    with floor.connect(floor.ann) as conn, pytest.raises(pg_errors.InsufficientPrivilege):
        conn.execute(statement)
    # nor the owner, whose table it is: the append-only triggers refuse
    owner = psycopg.connect(floor.cluster.url(floor.database), autocommit=True)
    with owner, pytest.raises(pg_errors.InsufficientPrivilege, match="append-only"):
        owner.execute(statement)


def test_an_agent_cannot_raise_their_own_role(floor: Floor) -> None:
    admin_group = f"{floor.database}_admin"
    with floor.connect(floor.ann) as conn:
        with pytest.raises(pg_errors.InsufficientPrivilege):
            conn.execute("UPDATE agents SET role = 'admin' WHERE name = 'ann'")
        with pytest.raises(pg_errors.InsufficientPrivilege):
            conn.execute("INSERT INTO agents (name, role, created_at, login) VALUES ('ann2', 'admin', 'x', 'ann2')")
        with pytest.raises(pg_errors.InsufficientPrivilege):
            conn.execute(f'GRANT "{admin_group}" TO "{floor.ann}"')
        with pytest.raises(pg_errors.InsufficientPrivilege):
            conn.execute(f'SET ROLE "{admin_group}"')
        with pytest.raises(pg_errors.InsufficientPrivilege):  # the policies are admins' too
            conn.execute("UPDATE settings SET value = '{}'")
        (role,) = conn.execute("SELECT role FROM agents WHERE name = 'ann'").fetchone() or ("?",)
    assert role == "agent"


def test_the_helpdesk_knows_the_agent_by_the_database_role(floor: Floor) -> None:
    """ann's console identifies ann from the session's role; --as is an admin's only; her work needs no more than
    the privileges her role has (a ticket taken, replied to and noted through the whole service)."""
    url = floor.cluster.url(floor.database, floor.ann)
    with pytest.raises(PermissionDenied, match="only admins"):
        HelpdeskService.open(url, "kai")
    ann = HelpdeskService.open(url)
    assert ann.actor_name == "ann"
    ticket = ann.create_ticket(subject="VPN drops", priority="P2", channel="phone")
    ann.assign(ticket.id)
    ann.reply(ticket.id, "on it")
    ann.note(ticket.id, "checked the logs")
    events = ann.store.events(ticket.id)
    assert {e.actor for e in events} == {"ann"} and {e.entered_by for e in events} == {None}
    assert ann.store.chain_problems() == []
    ann.shutdown()


def test_an_existing_role_is_granted_not_refused(floor: Floor) -> None:
    """Roles are cluster-wide: an agent whose login already exists (a DBA's own role, another helpdesk database's
    agent) is made a member of this database's groups."""
    other = f"dba_{secrets.token_hex(3)}"
    floor.cluster.role(other)
    boss = HelpdeskService.open(floor.cluster.url(floor.database), create=False)
    boss.add_agent("dana", "admin", "L3", login=other)
    boss.shutdown()
    with floor.connect(other) as conn:
        conn.execute("UPDATE settings SET updated_by = updated_by")  # an admin may
        (name,) = conn.execute("SELECT name FROM agents WHERE login = session_user").fetchone() or ("?",)
    assert name == "dana"


def test_agent_add_password_makes_a_scram_login_from_another_host(pg_cluster: Cluster, monkeypatch: Any) -> None:
    """`helpdesk agent add --password` (the password on standard input, as a script gives it): the agent logs in
    over TCP with SCRAM, and the server never saw the password itself (only its verifier is stored)."""
    from tests.conftest import run_cli

    database = pg_cluster.new_database()
    login = f"remote_{secrets.token_hex(3)}"
    cli = run_cli(pg_cluster.url(database), monkeypatch)
    assert cli("init", "--admin", "boss", actor=None).code == 0
    short = cli("agent", "add", "rita", "--login", login, "--password", stdin="short\n")
    assert short.code == 2 and "at least" in short.err
    added = cli("agent", "add", "rita", "--login", login, "--password", "--json", stdin="correct horse battery\n")
    assert added.code == 0, added.err
    (verifier,) = pg_cluster.admin_sql("SELECT rolpassword FROM pg_authid WHERE rolname = %s", params=[login])[0]
    assert str(verifier).startswith("SCRAM-SHA-256$") and "correct horse" not in str(verifier)
    url = f"postgresql://{login}:correct%20horse%20battery@127.0.0.1:{pg_cluster.port}/{database}"
    rita = HelpdeskService.open(url)
    assert rita.actor_name == "rita"
    rita.shutdown()
    with pytest.raises(Exception, match="password authentication failed"):
        psycopg.connect(f"postgresql://{login}:wrong@127.0.0.1:{pg_cluster.port}/{database}").close()
    pg_cluster.drop_database(database)


def test_agent_add_password_is_refused_on_sqlite(seeded: Any) -> None:
    r = seeded("agent", "add", "rita", "--password", stdin="correct horse battery\n")
    assert r.code == 2 and "SQLite" in r.err and r.err.count("\n") == 1
