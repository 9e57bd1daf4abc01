"""The privilege model (db/pg/privileges.sql) enforced by PostgreSQL itself: two agents connect with their own
database roles, as a colleague with psql would, and every attempt to rewrite the record is refused by the server —
not by the helpdesk, which is not in the way here."""

from __future__ import annotations

import json
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


def test_agent_password_sets_ones_own_and_admins_set_anyones(floor: Floor, monkeypatch: Any) -> None:
    """`helpdesk agent password [NAME]`: an agent changes their own login's password (ALTER ROLE CURRENT_USER), an
    admin anyone's (helpdesk_set_password); an agent cannot set another's; the record says who set whose."""
    from tests.conftest import run_cli

    port, database = floor.cluster.port, floor.database

    def can_log_in(login: str, password: str) -> bool:
        try:
            psycopg.connect(f"postgresql://{login}:{password}@127.0.0.1:{port}/{database}").close()
        except psycopg.OperationalError:
            return False
        return True

    boss = run_cli(floor.cluster.url(database), monkeypatch)
    set_by_admin = boss("agent", "password", "kai", "--json", stdin="kai's new secret\n")
    assert set_by_admin.code == 0, set_by_admin.err
    assert can_log_in(floor.kai, "kai's%20new%20secret") and not can_log_in(floor.kai, "wrong")
    ann = HelpdeskService.open(floor.cluster.url(database, floor.ann))
    try:
        with pytest.raises(PermissionDenied):
            ann.set_password("ann sets kai's", "kai")
        assert can_log_in(floor.kai, "kai's%20new%20secret")
        ann.set_password("ann's own secret")
    finally:
        ann.shutdown()
    assert can_log_in(floor.ann, "ann's%20own%20secret")
    rows = floor.cluster.admin_sql(
        "SELECT actor, detail FROM events WHERE kind = 'agent_password' ORDER BY id", dbname=database
    )
    assert [(actor, json.loads(detail)["name"]) for actor, detail in rows] == [("boss", "kai"), ("ann", "ann")]
    assert all("secret" not in detail for _, detail in rows)


def test_agent_password_is_refused_on_sqlite(seeded: Any) -> None:
    r = seeded("agent", "password", stdin="correct horse battery\n")
    assert r.code == 2 and "SQLite" in r.err and r.err.count("\n") == 1


# -- `agent add` by an admin who is not the database's owner (schema v3: helpdesk_sync_role) -------------------


def _second_admin(floor: Floor) -> tuple[str, HelpdeskService]:
    """dana, an admin the owner added, on her own login (no CREATEROLE), and her service."""
    dana = f"dana_{secrets.token_hex(3)}"
    boss = HelpdeskService.open(floor.cluster.url(floor.database), create=False)
    boss.add_agent("dana", "admin", "L3", login=dana)
    boss.shutdown()
    floor.cluster.role(dana)  # the tests log in with a password
    return dana, HelpdeskService.open(floor.cluster.url(floor.database, dana))


def _role(floor: Floor, login: str) -> tuple[Any, ...] | None:
    rows = floor.cluster.admin_sql(
        "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls"
        " FROM pg_roles WHERE rolname = %s",
        params=[login],
    )
    return rows[0] if rows else None


def _groups(floor: Floor, login: str) -> set[str]:
    rows = floor.cluster.admin_sql(
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
        " JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s",
        params=[login],
    )
    return {str(r[0]) for r in rows}


def test_an_admin_who_is_not_the_owner_adds_an_agent_who_then_works(floor: Floor) -> None:
    dana, service = _second_admin(floor)
    assert _role(floor, dana) == (True, False, False, False, False, False)  # no CREATEROLE for admins
    rita, rex = f"rita_{secrets.token_hex(3)}", f"rex_{secrets.token_hex(3)}"
    service.add_agent("rita", "agent", "L1", login=rita, password="correct horse battery")
    service.add_agent("rex", "admin", "L2", login=rex)  # an admin may make admins: the admin group too
    service.shutdown()
    assert _role(floor, rita) == (True, False, False, False, False, False)  # a plain login, nothing more
    assert _groups(floor, rita) == {f"{floor.database}_agent"}
    assert _groups(floor, rex) == {f"{floor.database}_agent", f"{floor.database}_admin"}
    url = f"postgresql://{rita}:correct%20horse%20battery@127.0.0.1:{floor.cluster.port}/{floor.database}"
    worker = HelpdeskService.open(url)  # SCRAM: the verifier dana's client computed
    assert worker.actor_name == "rita"
    ticket = worker.create_ticket(subject="printer on fire", priority="P2", channel="phone")
    worker.assign(ticket.id)
    assert {e.actor for e in worker.store.events(ticket.id)} == {"rita"}
    worker.shutdown()


def test_a_plain_agent_cannot_call_the_role_functions(floor: Floor) -> None:
    admin_group = f"{floor.database}_admin"
    with floor.connect(floor.ann) as conn:
        for statement, params in (
            ("SELECT helpdesk_sync_role(%s)", [floor.ann]),
            ("SELECT helpdesk_sync_role(%s)", ["newbie"]),
            ("SELECT helpdesk_set_password(%s, %s)", [floor.kai, "SCRAM-SHA-256$4096:x"]),
        ):
            with pytest.raises(pg_errors.InsufficientPrivilege, match="permission denied for function"):
                conn.execute(statement, params)
    # nor an admin's promotion through them: the membership is the agents table's word, not the caller's
    assert admin_group not in _groups(floor, floor.ann) and _role(floor, "newbie") is None


def test_hostile_and_impossible_logins_are_refused_or_quoted(floor: Floor) -> None:
    from console.rules.errors import BadInput

    dana, service = _second_admin(floor)
    hostile = 'x";CREATE_ROLE_evil_SUPERUSER;--'
    service.add_agent("hostile", "agent", "L1", login=hostile)
    assert _role(floor, hostile) == (True, False, False, False, False, False)  # the name, verbatim: one role
    assert _role(floor, "evil") is None and _role(floor, "x") is None
    for login, why in (
        ("a" * 64, "1-63 bytes"),  # the server would cut it to another (perhaps existing) role's name
        ("pg_helper", "PostgreSQL's own"),
        (f"{floor.database}_agent", "group"),  # every agent would become… itself: refused
        (f"{floor.database}_admin", "group"),
    ):
        with pytest.raises(BadInput, match=why):
            service.add_agent(f"n{secrets.token_hex(2)}", "admin", "L1", login=login)
        assert service.store.agent_by_login(login) is None  # nothing half-written
    service.shutdown()
    # called directly, the function refuses the same names
    with psycopg.connect(floor.cluster.url(floor.database, dana), autocommit=True) as conn:
        with pytest.raises(pg_errors.InvalidName):
            conn.execute("SELECT helpdesk_sync_role(%s)", ["pg_signal_backend"])


def test_an_existing_role_is_granted_by_an_admin_but_its_password_is_not_theirs(floor: Floor) -> None:
    dba = f"dba_{secrets.token_hex(3)}"
    floor.cluster.role(dba)
    (before,) = floor.cluster.admin_sql("SELECT rolpassword FROM pg_authid WHERE rolname = %s", params=[dba])[0]
    _dana, service = _second_admin(floor)
    with pytest.raises(PermissionDenied, match="not made by this helpdesk"):  # a DBA's role: not a helpdesk's to take
        service.add_agent("dora", "agent", "L2", login=dba, password="correct horse battery")
    assert service.store.agent_by_login(dba) is None and _groups(floor, dba) == set()  # nothing half-written
    service.add_agent("dora", "agent", "L2", login=dba)  # granted, not refused
    assert _groups(floor, dba) == {f"{floor.database}_agent"}
    (after,) = floor.cluster.admin_sql("SELECT rolpassword FROM pg_authid WHERE rolname = %s", params=[dba])[0]
    assert after == before
    service.shutdown()
    with floor.connect(dba) as conn:
        (name,) = conn.execute("SELECT name FROM agents WHERE login = session_user").fetchone() or ("?",)
    assert name == "dora"


# -- the sweep's `system` events (schema v3: helpdesk_system_event) ---------------------------------------------


def _system_event(
    conn: psycopg.Connection[tuple[object, ...]], ticket: int, kind: str, *, at: str | None = None, **extra: Any
) -> tuple[object, ...] | None:
    args = {"from": None, "to": "first_response", "detail": "{}", "backfilled": 0, **extra}
    return conn.execute(
        "SELECT id, actor FROM helpdesk_system_event(%s, %s, %s, %s, %s, %s, %s)",
        [ticket, at or _now_text(), kind, args["from"], args["to"], args["detail"], args["backfilled"]],
    ).fetchone()


def test_a_plain_agent_cannot_record_events_as_the_system(floor: Floor) -> None:
    boss = HelpdeskService.open(floor.cluster.url(floor.database), create=False)
    ticket = boss.create_ticket(subject="down", priority="P1", channel="phone").id
    solved = boss.create_ticket(subject="fixed", priority="P3", channel="phone").id
    boss.resolve(solved, "rebooted")
    boss.shutdown()
    with floor.connect(floor.ann) as conn:
        with pytest.raises(pg_errors.InsufficientPrivilege, match="only the sweep"):
            _insert_event(conn, "system", _now_text(), ticket_id=ticket)
        with pytest.raises(pg_errors.InsufficientPrivilege, match="no assigned events"):
            _system_event(conn, ticket, "assigned", to="ann")
        with pytest.raises(pg_errors.InsufficientPrivilege, match="no new breach mark"):
            _system_event(conn, ticket, "sla_breach")
        with pytest.raises(pg_errors.InsufficientPrivilege, match="another time"):
            _system_event(conn, ticket, "sla_breach", backfilled=1)
        with pytest.raises(pg_errors.InsufficientPrivilege, match="another time"):
            _system_event(conn, ticket, "sla_breach", at=_now_text(timedelta(hours=2)))
        with pytest.raises(pg_errors.InsufficientPrivilege, match="not due to close"), conn.transaction():
            conn.execute("UPDATE tickets SET status = 'closed', confirmed = 0 WHERE id = %s", [solved])
            _system_event(conn, solved, "closed", **{"from": "resolved", "to": "closed"})
        with pytest.raises(pg_errors.InsufficientPrivilege):  # the witness rows are the function's to write
            conn.execute(
                "INSERT INTO helpdesk_system_events (txid, kind, login, recorded_at) VALUES (1, 'x', 'y', 'z')"
            )
        # What the database cannot tell from a real one (it cannot recompute an SLA clock): a fresh mark's one
        # event, which then names whose console wrote it.
        with conn.transaction():
            conn.execute(
                "INSERT INTO sla_marks (ticket_id, clock, kind, cycle_start)"
                " VALUES (%s, 'first_response', 'breach', %s)",
                [ticket, _now_text()],
            )
            row = _system_event(conn, ticket, "sla_breach")
            assert row is not None and row[1] == "system"
            with pytest.raises(pg_errors.InsufficientPrivilege, match="no new breach mark"), conn.transaction():
                _system_event(conn, ticket, "sla_breach")  # one event per mark (a savepoint: the first one stays)
        (login,) = conn.execute(
            "SELECT login FROM helpdesk_system_events WHERE event_id = %s", [row[0]]
        ).fetchone() or ("?",)
    assert login == floor.ann
    # the owner, an admin, writes `system` only through the sweep's path too
    owner = psycopg.connect(floor.cluster.url(floor.database), autocommit=True)
    with owner, pytest.raises(pg_errors.InsufficientPrivilege, match="only the sweep"):
        _insert_event(owner, "system", _now_text(), ticket_id=ticket)


def test_a_plain_agents_console_sweeps_on_postgresql(floor: Floor) -> None:
    """The sweeper runs in whichever console holds its lease: here ann's, a plain agent's, noticing crossings of
    hours ago (recorded at their own times, before the trigger's two minutes) and closing an unconfirmed ticket."""
    now = datetime.now(UTC).replace(microsecond=0)
    boss = HelpdeskService.open(floor.cluster.url(floor.database), create=False)
    late = boss.create_ticket(subject="down since", priority="P1", channel="phone", at=now - timedelta(hours=3)).id
    solved = boss.create_ticket(subject="old", priority="P3", channel="phone", at=now - timedelta(days=20)).id
    boss.assign(solved, "kai", at=now - timedelta(days=19))
    boss.resolve(solved, "fixed", at=now - timedelta(days=10))
    boss.shutdown()
    ann = HelpdeskService.open(floor.cluster.url(floor.database, floor.ann))
    sweep = ann.live.sweeper_round("ann-host:1")
    assert sweep is not None and sweep.warnings >= 1 and sweep.breaches >= 1 and sweep.auto_closed == 1
    assert ann.ticket(solved).status == "closed"
    crossings = [e for e in ann.store.events(late) if e.kind in ("sla_warning", "sla_breach")]
    assert crossings and {e.actor for e in crossings} == {"system"}
    assert min(e.at for e in crossings) < now - timedelta(hours=2)  # when they happened, not when noticed
    assert ann.store.events(solved)[-1].actor == "system"
    assert ann.store.chain_problems() == []
    ann.shutdown()
    witnesses = floor.cluster.admin_sql("SELECT login, event_id FROM helpdesk_system_events", floor.database)
    assert {w[0] for w in witnesses} == {floor.ann} and all(w[1] is not None for w in witnesses)
    assert len(witnesses) == len(crossings) + 1


def test_a_login_given_up_leaves_the_groups(floor: Floor) -> None:
    """An agent moved to another login (`agent login`) or deactivated: the database's groups follow the table."""
    _dana, service = _second_admin(floor)
    new = f"ann2_{secrets.token_hex(3)}"
    service.set_login("ann", new)
    assert _groups(floor, floor.ann) == set() and _groups(floor, new) == {f"{floor.database}_agent"}
    service.shutdown()
    with pytest.raises(psycopg.OperationalError, match="permission denied"):  # CONNECT is the agents' group's
        floor.connect(floor.ann).close()


def test_a_temporary_table_does_not_shadow_the_helpdesks_own(floor: Floor) -> None:
    """Agents may make temporary tables (TEMPORARY on the database), and an unqualified name looks in the session's
    pg_temp first unless the function's search_path lists it: the triggers and functions, running as the owner,
    must not read an agent's own `agents`, `helpdesk_copies` or `helpdesk_system_events` instead of the real ones."""
    with floor.connect(floor.ann) as conn:
        conn.execute("CREATE TEMP TABLE agents AS SELECT * FROM public.agents")
        conn.execute("UPDATE pg_temp.agents SET role = 'admin'")
        conn.execute("GRANT ALL ON pg_temp.agents TO PUBLIC")  # the owner's functions may read it
        with pytest.raises(pg_errors.InsufficientPrivilege, match="only record"):
            _insert_event(conn, "kai", _now_text())  # an admin could enter it for kai
        conn.execute("CREATE TEMP TABLE helpdesk_system_events AS SELECT * FROM public.helpdesk_system_events")
        conn.execute("GRANT ALL ON pg_temp.helpdesk_system_events TO PUBLIC")
        with conn.transaction(), pytest.raises(pg_errors.InsufficientPrivilege, match="only the sweep"):
            conn.execute(
                "INSERT INTO pg_temp.helpdesk_system_events (id, txid, kind, login, recorded_at)"
                " VALUES (1, txid_current(), 'note', 'x', 'y')"
            )
            _insert_event(conn, "system", _now_text())
        conn.execute("CREATE TEMP TABLE helpdesk_copies AS SELECT * FROM public.helpdesk_copies")
        conn.execute("GRANT ALL ON pg_temp.helpdesk_copies TO PUBLIC")
        with conn.transaction(), pytest.raises(pg_errors.InsufficientPrivilege):
            conn.execute("SET LOCAL helpdesk.copy = 'on'")
            conn.execute(
                "INSERT INTO pg_temp.helpdesk_copies (txid, source, by_role, at, events)"
                " VALUES (txid_current(), 'x', session_user, 'y', 0)"
            )
            _insert_event(conn, "kai", "2001-01-01T00:00:00Z")
