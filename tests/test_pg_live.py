"""Live updates on PostgreSQL by LISTEN/NOTIFY (issue 19): a commit to the change feed is announced, its id alone,
once per transaction; the store waits for it on a connection of its own, which comes back when it is lost; the
console and the wallboard read the feed when told (their ticks poll only now and then), so another host's commit
shows within a second."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from console.service.helpdesk import HelpdeskService
from db.pg import schema
from db.pg.store import PgStore
from tests.pg import Cluster


@dataclass
class Floor:
    cluster: Cluster
    database: str
    ann: str  # the database roles (logins) of agents ann and kai, and of supervisor sue
    kai: str
    sue: str

    def url(self, login: str) -> str:
        return self.cluster.url(self.database, login)

    def open(self, login: str) -> HelpdeskService:
        return HelpdeskService.open(self.url(login))


@pytest.fixture
def floor(pg_cluster: Cluster) -> Iterator[Floor]:
    """A database with admin boss, agents ann (L1) and kai (L1) and supervisor sue, each with a login role of their
    own."""
    database = pg_cluster.new_database()
    suffix = secrets.token_hex(3)
    ann, kai, sue = f"ann_{suffix}", f"kai_{suffix}", f"sue_{suffix}"
    boss = HelpdeskService.open(pg_cluster.url(database), "boss", create=True)
    boss.init("boss")
    boss.add_agent("ann", "agent", "L1", login=ann)
    boss.add_agent("kai", "agent", "L1", login=kai)
    boss.add_agent("sue", "supervisor", "L2", login=sue)
    boss.shutdown()
    for login in (ann, kai, sue):
        pg_cluster.role(login)
    yield Floor(pg_cluster, database, ann, kai, sue)
    pg_cluster.drop_database(database)


def _listener_pids(floor: Floor, login: str) -> list[int]:
    rows = floor.cluster.admin_sql(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND usename = %s AND query LIKE 'LISTEN %%'",
        params=[floor.database, login],
    )
    return [int(r[0]) for r in rows]


def _waited(store: PgStore, timeout: float) -> tuple[bool, float]:
    started = time.monotonic()
    came = store.wait_for_commit(timeout)
    return came, time.monotonic() - started


def test_a_commit_is_announced_once_with_its_change_id_only(floor: Floor) -> None:
    """Any role of the cluster may LISTEN: the payload is the newest change's id, never a subject or a name."""
    raw = psycopg.connect(floor.url(floor.ann), autocommit=True)
    raw.execute(f"LISTEN {schema.FEED_CHANNEL}")
    kai = floor.open(floor.kai)
    before = kai.store.feed_cursor()
    kai.create_ticket("Printer on fire", customer="Secret Customer Ltd", body="call 555-0100")  # several feed rows
    after = kai.store.feed_cursor()
    assert after - before > 1
    notes = list(raw.notifies(timeout=1.0))
    assert [n.payload for n in notes] == [str(after)]  # one per transaction, the commit's last change
    # a rolled-back write announces nothing
    with pytest.raises(RuntimeError), kai.store.transaction():
        kai.store.insert_customer({"name": "never"}, kai.clock())
        raise RuntimeError
    assert list(raw.notifies(timeout=0.3)) == []
    raw.close()
    kai.shutdown()


def test_the_store_wakes_within_a_second_of_another_roles_commit(floor: Floor) -> None:
    ann, kai = floor.open(floor.ann), floor.open(floor.kai)
    assert ann.store.listens()
    store = ann.store
    assert isinstance(store, PgStore)
    assert store.wait_for_commit(0.1)  # the first call opens the listening connection: read the feed once
    assert _waited(store, 0.3)[0] is False  # nothing committed: the time passes
    cursor = ann.live.cursor()
    came: list[tuple[bool, float]] = []
    waiter = threading.Thread(target=lambda: came.append(_waited(store, 10.0)))
    waiter.start()
    time.sleep(0.2)
    committed = time.monotonic()
    ticket = kai.create_ticket("Screen flickers", customer="Acme")
    waiter.join(5)
    assert came and came[0][0] and time.monotonic() - committed < 1.0
    assert ticket.id in ann.live.changes(cursor).tickets  # then the feed is read as a poll would read it
    ann.shutdown()
    kai.shutdown()


def test_a_killed_listening_connection_comes_back(floor: Floor) -> None:
    ann, kai = floor.open(floor.ann), floor.open(floor.kai)
    store = ann.store
    assert isinstance(store, PgStore)
    assert store.wait_for_commit(0.1)
    (pid,) = _listener_pids(floor, floor.ann)
    came: list[tuple[bool, float]] = []
    waiter = threading.Thread(target=lambda: came.append(_waited(store, 10.0)))
    waiter.start()
    time.sleep(0.2)
    floor.cluster.admin_sql("SELECT pg_terminate_backend(%s)", params=[pid])
    waiter.join(5)
    assert came == [(True, came[0][1])] and came[0][1] < 2.0  # lost: look at the feed (something may be missed)
    assert store.wait_for_commit(1.0)  # opened again: look once more
    assert _listener_pids(floor, floor.ann) not in ([], [pid])
    came.clear()
    waiter = threading.Thread(target=lambda: came.append(_waited(store, 10.0)))
    waiter.start()
    time.sleep(0.2)
    committed = time.monotonic()
    kai.create_ticket("After the restart", customer="Acme")
    waiter.join(5)
    assert came and came[0][0] and time.monotonic() - committed < 1.0
    # the store's own connection was not the one killed: it goes on
    assert ann.store.count_tickets() == 1
    ann.shutdown()
    kai.shutdown()


def test_closing_the_store_ends_a_wait_at_once(floor: Floor) -> None:
    ann = floor.open(floor.ann)
    store = ann.store
    assert isinstance(store, PgStore) and store.wait_for_commit(0.1)
    came: list[tuple[bool, float]] = []
    waiter = threading.Thread(target=lambda: came.append(_waited(store, 30.0)))
    waiter.start()
    time.sleep(0.2)
    ann.shutdown()
    waiter.join(5)
    assert came and came[0][0] is False and came[0][1] < 1.5
    assert _listener_pids(floor, floor.ann) == []


def test_sqlite_announces_nothing(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    boss = HelpdeskService.open(tmp_path / "h.db", "boss", create=True)
    assert boss.live.pushes() is False
    boss.shutdown()


# -- the console -------------------------------------------------------------------------------------------------


async def test_a_ticket_taken_on_one_console_shows_taken_on_the_other_within_a_second(floor: Floor) -> None:
    """Issue 19's first Done-when line: two consoles, two database roles; neither polls (live_interval of an
    hour): ann's sees kai's take because the database announced it."""
    from console.tui.app import HelpdeskApp
    from console.tui.screens.queue import QueueScreen
    from widgets.queue_table import QueueTable

    ann, kai = floor.open(floor.ann), floor.open(floor.kai)
    ticket = ann.create_ticket("VPN drops every hour", customer="Acme", priority="P2")
    ann_app = HelpdeskApp(ann, live_interval=3600, sweeps=False)
    kai_app = HelpdeskApp(kai, live_interval=3600, sweeps=False)
    async with ann_app.run_test(size=(120, 30)) as ann_pilot, kai_app.run_test(size=(120, 30)) as kai_pilot:
        await ann_pilot.pause(0.5)
        await kai_pilot.pause(0.5)
        assert isinstance(ann_app.screen, QueueScreen) and isinstance(kai_app.screen, QueueScreen)
        assert ann_app.live_pushed and kai_app.live_pushed
        ann_table = ann_app.screen.query_one(QueueTable)
        row = ann_table.row_at(0)
        assert row is not None and row.ticket_id == ticket.id and "kai" not in row.owner
        await kai_pilot.press("a")  # kai takes it on his console
        taken = time.monotonic()
        while time.monotonic() - taken < 1.0:
            if kai.ticket(ticket.id).assignee == "kai":
                break
            await kai_pilot.pause(0.02)
        committed = time.monotonic()
        assert kai.ticket(ticket.id).assignee == "kai"
        while time.monotonic() - committed < 3.0:
            row = ann_table.row_at(0)
            if row is not None and "kai" in row.owner:
                break
            await ann_pilot.pause(0.02)
        shown = time.monotonic() - committed
        row = ann_table.row_at(0)
        assert row is not None and "kai" in row.owner
        assert shown < 1.0, shown
    ann.shutdown()
    kai.shutdown()


async def test_the_console_sees_commits_again_after_its_listener_is_killed(floor: Floor) -> None:
    from console.tui.app import HelpdeskApp
    from widgets.queue_table import QueueTable

    ann, kai = floor.open(floor.ann), floor.open(floor.kai)
    app = HelpdeskApp(ann, live_interval=3600, sweeps=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.5)
        table = app.screen.query_one(QueueTable)
        assert app.live_pushed and table.total == 0
        (pid,) = _listener_pids(floor, floor.ann)
        floor.cluster.admin_sql("SELECT pg_terminate_backend(%s)", params=[pid])
        await pilot.pause(1.5)  # the listener notices, waits no faster than LISTEN_RETRY_S, and listens again
        assert _listener_pids(floor, floor.ann) not in ([], [pid])
        kai.create_ticket("Seen after the reconnect", customer="Acme")
        committed = time.monotonic()
        while table.total != 1 and time.monotonic() - committed < 3.0:
            await pilot.pause(0.02)
        assert table.total == 1 and time.monotonic() - committed < 1.0
    ann.shutdown()
    kai.shutdown()


async def test_the_wallboard_shows_another_hosts_commit_within_a_second(floor: Floor) -> None:
    from console.tui.app import HelpdeskApp
    from console.tui.screens.wallboard import WallboardScreen
    from widgets.tiles import NumberTile

    kai = floor.open(floor.kai)
    kai.create_ticket("Printer jammed", customer="Acme", priority="P3")
    board = HelpdeskService.open(floor.url(floor.sue), wallboard=True)
    app = HelpdeskApp(board, wallboard=True, live_interval=3600)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.8)
        screen = app.screen
        assert isinstance(screen, WallboardScreen) and app.live_pushed
        assert screen.query_one("#backlog", NumberTile).value == "1"
        kai.create_ticket("Laptop will not boot", customer="Hooli", priority="P2")
        committed = time.monotonic()
        while screen.query_one("#backlog", NumberTile).value != "2" and time.monotonic() - committed < 3.0:
            await pilot.pause(0.02)
        assert screen.query_one("#backlog", NumberTile).value == "2"
        assert time.monotonic() - committed < 1.0
    board.shutdown()
    kai.shutdown()


def test_a_v1_database_gets_the_announcements_when_opened(pg_cluster: Cluster) -> None:
    """A database made before live updates (schema 1) is migrated by its owner's first open: the trigger is there,
    `check` finds nothing missing, and a commit is announced."""
    name = pg_cluster.new_database(template=None)
    try:
        with psycopg.connect(pg_cluster.url(name), autocommit=True) as conn, conn.transaction():
            conn.execute(schema.VERSION_TABLE)
            schema.MIGRATIONS[0](conn)
            conn.execute("INSERT INTO helpdesk_schema VALUES (1, 'then')")
        boss = HelpdeskService.open(pg_cluster.url(name), "boss", create=True)
        store = boss.store
        assert isinstance(store, PgStore) and schema.version(store.conn) == schema.LATEST >= 2
        boss.init("boss")
        assert boss.store.schema_problems() == [] and boss.store.integrity_problems() == []
        assert boss.store.wait_for_commit(0.1)  # listening
        boss.create_ticket("After the upgrade", customer="Acme")
        assert boss.store.wait_for_commit(1.0)  # its own commit, announced too
        boss.shutdown()
    finally:
        pg_cluster.drop_database(name)
