"""The PostgreSQL store against a real PostgreSQL 15 (tests/pg.py): schema, migrations, the store's methods, the
change feed and the hash chain, checked against what the SQLite store does."""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from console.service.helpdesk import HelpdeskService
from db.pg import schema
from db.pg.store import PgStore, _q, redacted
from db.records import TicketFilter
from tests.pg import Cluster


@pytest.fixture
def pg_db_url(pg_db: str) -> str:
    return pg_db


@pytest.fixture
def team_pg(pg_db: str) -> Iterator[Callable[[str], HelpdeskService]]:
    """The `team` fixture's floor on PostgreSQL, on the real clock (the database stamps events with its own)."""
    admin = HelpdeskService.open(pg_db, "boss", create=True)
    admin.init("boss")
    for name, role, tier in (("sue", "supervisor", "L2"), ("li.wei", "agent", "L1"), ("kai", "agent", "L2")):
        admin.add_agent(name, role, tier)

    def as_agent(name: str) -> HelpdeskService:
        return admin if name == "boss" else HelpdeskService(admin.store, name, clock=admin.clock, entered_by="boss")

    yield as_agent
    admin.store.close()


def test_placeholders_translate_outside_quotes_only() -> None:
    assert _q("SELECT ? WHERE a = :name AND b::text = 'x?:y%' AND c LIKE ?") == (
        "SELECT %s WHERE a = %(name)s AND b::text = 'x?:y%%' AND c LIKE %s"
    )


def test_redacted_hides_the_password() -> None:
    assert redacted("postgresql://ann:secret@db.example:5432/helpdesk") == "postgresql://ann@db.example:5432/helpdesk"


def test_a_new_database_gets_the_schema_once(pg_cluster: Cluster) -> None:
    name = pg_cluster.new_database(template=None)
    try:
        store = PgStore(pg_cluster.url(name))
        assert schema.version(store.conn) == schema.LATEST
        tables = {r[0] for r in store._tuples("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"tickets", "events", "changes", "ticket_figures", "report_days", "mail_outbox"} <= tables
        store.close()
        again = PgStore(pg_cluster.url(name))  # nothing to do the second time
        assert again._tuples("SELECT count(*) FROM helpdesk_schema")[0][0] == schema.LATEST
        again.close()
    finally:
        pg_cluster.drop_database(name)


def test_a_database_without_schema_is_not_created_unless_asked(pg_cluster: Cluster) -> None:
    from db.errors import DatabaseUnavailable

    name = pg_cluster.new_database(template=None)
    try:
        with pytest.raises(DatabaseUnavailable, match="helpdesk init"):
            PgStore(pg_cluster.url(name), create=False)
    finally:
        pg_cluster.drop_database(name)


def test_an_unreachable_server_is_one_line() -> None:
    from db.errors import DatabaseUnavailable

    with pytest.raises(DatabaseUnavailable) as caught:
        PgStore("postgresql://nobody:pw@127.0.0.1:1/none")
    assert "\n" not in str(caught.value) and "pw" not in str(caught.value)


def test_partial_order_indexes_exist(pg_db: str) -> None:
    store = PgStore(pg_db)
    rows = dict(store._tuples("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tickets'"))
    assert "WHERE (status = ANY" in rows["tickets_order"]
    assert "assignee IS NULL" in rows["tickets_order_tier"]
    store.close()


def test_psycopg_is_3() -> None:
    assert psycopg.__version__.startswith("3.")


# -- the store's interface ---------------------------------------------------------------------------------------

# What PgStore does not answer yet (empty: the knowledge search was the last, tests/test_pg_kb_search.py).
NOT_YET: set[str] = set()


def _members(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls)  # inherited too: db/queries.py's shared methods
        if callable(member) and not name.startswith("_")
    }


def test_both_stores_answer_the_interface_with_the_same_signatures() -> None:
    from db.store import Store
    from db.store_api import StoreAPI

    wanted = {name for name in vars(StoreAPI) if not name.startswith("_") and callable(getattr(StoreAPI, name))}
    sqlite, postgres = _members(Store), _members(PgStore)
    assert wanted <= set(sqlite)
    assert wanted - set(postgres) == NOT_YET  # shrinks as PgStore grows; never lists a method it has
    for name in wanted & set(postgres):  # the parameters (a context manager's return is spelt either way)
        assert list(sqlite[name].parameters.values()) == list(postgres[name].parameters.values()), name


# -- the events' chain, stamped by the database -----------------------------------------------------------------

HOSTILE = "\x01\x1f\"\\\n\t\r\b\f\u2028é中文😀/<>&'%s?:x"


def test_the_triggers_hash_is_pythons_for_any_text(team_pg: Any) -> None:
    boss = team_pg("boss")
    store = boss.store
    tid = boss.create_ticket(HOSTILE, customer=HOSTILE, body=HOSTILE).id
    boss.note(tid, HOSTILE)
    event = store.add_event(tid, "boss", datetime.now(UTC), "note", HOSTILE, None, {"x": HOSTILE, "n": [1, 2.5, None]})
    assert event.from_value == HOSTILE and event.detail["x"] == HOSTILE
    assert store.chain_problems() == []
    assert [e.id for e in store.events(tid)] == list(range(1, store.count_events() + 1))[-len(store.events(tid)) :]


def test_check_finds_an_edit_made_behind_the_triggers_back(team_pg: Any, pg_cluster: Cluster) -> None:
    """The owner can disable a trigger on its own table: the check names the disabled trigger while it is, and the
    chain names the edited event for ever after."""
    boss = team_pg("boss")
    tid = boss.create_ticket("x", customer="c").id
    boss.note(tid, "first")
    boss.note(tid, "second")
    database = boss.store.conn.info.dbname
    pg_cluster.admin_sql("ALTER TABLE events DISABLE TRIGGER events_no_update", database)
    pg_cluster.admin_sql("UPDATE events SET actor = 'kai' WHERE id = 2", database)
    assert boss.store.integrity_problems() == ["trigger events_no_update on events is disabled"]
    pg_cluster.admin_sql("ALTER TABLE events ENABLE TRIGGER events_no_update", database)
    assert boss.store.integrity_problems() == []
    assert boss.store.chain_problems() == ["event 2: its hash does not match its content (edited?)"]
    pg_cluster.admin_sql("DROP INDEX tickets_order_tier", database)
    pg_cluster.admin_sql("CREATE INDEX sneaky ON tickets(subject)", database)
    assert boss.store.schema_problems() == [
        "index tickets_order_tier is missing (dropped?)",
        "index sneaky is not part of the schema (added by hand?)",
    ]


# -- the change feed ---------------------------------------------------------------------------------------------


def test_the_feed_names_changes_with_their_columns_before(team_pg: Any) -> None:
    boss = team_pg("boss")
    store = boss.store
    start = store.feed_cursor()
    tid = boss.create_ticket("x", customer="c", priority="P3").id
    feed = store.changes_since(start)
    assert set(feed.tickets) == {tid} and feed.tickets[tid].created and not feed.reload
    middle = feed.cursor
    assert middle == store.feed_cursor() == store.data_version()
    boss.assign(tid)
    boss.note(tid, "n")
    feed = store.changes_since(middle)
    change = feed.tickets[tid]
    assert not change.created and change.before is not None
    assert (change.before.status, change.before.assignee, change.before.priority) == ("new", None, "P3")
    assert store.changes_since(feed.cursor).tickets == {}
    boss.add_agent("newbie", "agent", "L1")
    assert store.changes_since(feed.cursor).reload  # agents changed: every screen reloads


def test_pruning_keeps_the_newest_row_so_the_cursor_never_goes_back(team_pg: Any) -> None:
    boss = team_pg("boss")
    store = boss.store
    boss.create_ticket("x", customer="c")
    cursor = store.feed_cursor()
    assert store.prune_changes(time.time() + 60) >= 1
    assert store.feed_cursor() == cursor  # the newest row is kept
    assert store.changes_since(cursor).tickets == {}
    older = store.changes_since(0)
    assert older.reload  # rows after 0 were pruned: a reader that far behind reads everything again


def test_a_commit_on_another_connection_is_in_the_feed(team_pg: Any, pg_db_url: str) -> None:
    """Two hosts' stores: what one commits, the other's feed names (what a console on another machine sees)."""
    boss = team_pg("boss")
    other = PgStore(pg_db_url)
    start = other.feed_cursor()
    tid = boss.create_ticket("from the other host", customer="c").id
    assert set(other.changes_since(start).tickets) == {tid}
    assert [i.id for i in other.queue(TicketFilter())] == [tid]
    other.close()


def test_writers_on_many_connections_keep_the_feed_and_chain_in_order(team_pg: Any, pg_db_url: str) -> None:
    """Eight writers at once: every event chained without a gap, every feed row visible in id order to a reader
    that keeps polling (a reader must never see id n+1 before n)."""
    boss = team_pg("boss")
    tid = boss.create_ticket("busy", customer="c").id
    seen: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        store = PgStore(pg_db_url)
        cursor = store.feed_cursor()
        while not stop.is_set():
            feed = store.changes_since(cursor)
            assert not feed.reload or feed.cursor == cursor, "a gap in the feed"
            rows = store._tuples("SELECT id FROM changes WHERE id > ? ORDER BY id", [cursor])
            seen.extend(int(r[0]) for r in rows)
            cursor = seen[-1] if seen else cursor
        store.close()

    def writer(n: int) -> None:
        service = HelpdeskService.open(pg_db_url, "boss", clock=boss.clock)
        for i in range(10):
            service.note(tid, f"writer {n} note {i}")
        service.store.close()

    watcher = threading.Thread(target=reader)
    watcher.start()
    writers = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    watcher.join()
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    assert seen == list(range(seen[0], seen[0] + len(seen)))  # no id skipped by the reader
    assert boss.store.chain_problems() == []
    assert len([e for e in boss.store.events(tid) if e.kind == "note"]) == 80


# -- leases, figures, settings, marks ----------------------------------------------------------------------------


def test_one_lease_holder_at_a_time(pg_db_url: str) -> None:
    a, b = PgStore(pg_db_url), PgStore(pg_db_url)
    now = time.time()
    assert a.take_lease("sweeper", "a", now, 30)
    assert not b.take_lease("sweeper", "b", now, 30)
    assert a.lease_holder("sweeper", now) == "a"
    assert b.take_lease("sweeper", "b", now + 31, 30)  # expired: taken over
    b.release_lease("sweeper", "b")
    assert a.lease_holder("sweeper", now + 32) is None
    a.close()
    b.close()


def test_figures_replace_as_sqlite_replaces(team_pg: Any) -> None:
    boss = team_pg("boss")
    store = boss.store
    tid = boss.create_ticket("x", customer="c").id
    store.write(lambda: store.set_figures(tid, {"fr_s": 5, "fr_met": 1, "stale_at": 9.5}))
    store.write(lambda: store.set_figures(tid, {"rv_s": 7}))
    row = store._one("SELECT fr_s, fr_met, rv_s, stale_at FROM ticket_figures WHERE ticket_id = ?", [tid])
    assert row == {"fr_s": None, "fr_met": None, "rv_s": 7, "stale_at": None}  # INSERT OR REPLACE semantics


def test_marks_links_and_csat_are_written_once(team_pg: Any) -> None:
    from db.errors import Duplicate

    boss = team_pg("boss")
    store = boss.store
    tid = boss.create_ticket("x", customer="c").id
    at = datetime(2026, 3, 2, tzinfo=UTC)
    assert store.add_sla_mark(tid, "resolve", "warning", at)
    assert not store.add_sla_mark(tid, "resolve", "warning", at)
    article = store.insert_article({"title": "t", "body": "b", "ref": "KB-1"}, at)
    with pytest.raises(Duplicate):
        store.insert_article({"title": "t", "body": "b", "ref": "KB-1"}, at)
    assert store.link_article(tid, article.id, "boss", at) and not store.link_article(tid, article.id, "boss", at)
    assert [a.id for a in store.linked_articles(tid)] == [article.id]
    store.add_csat(tid, 1, 5, "great", at)
    with pytest.raises(Duplicate):
        store.add_csat(tid, 1, 4, "again", at)
    store.set_setting("k", "v1", "boss", at)
    store.set_setting("k", "v2", "boss", at)
    assert store.get_setting("k") == "v2" and store.get_setting("missing") is None
    store.heartbeat("boss", tid, 100.0)
    store.heartbeat("boss", tid, 200.0)
    assert [(p.agent, p.seen_at) for p in store.viewers(tid, 150.0)] == [("boss", 200.0)]
    store.leave("boss", tid)
    assert store.viewers(tid, 0) == []


def test_a_stale_version_is_a_conflict(team_pg: Any) -> None:
    from db.errors import Conflict, NotFound

    boss = team_pg("boss")
    store = boss.store
    tid = boss.create_ticket("x", customer="c").id
    store.write(lambda: store.update_ticket(tid, {"subject": "y"}, 1))
    with pytest.raises(Conflict):
        store.write(lambda: store.update_ticket(tid, {"subject": "z"}, 1))
    with pytest.raises(NotFound):
        store.write(lambda: store.update_ticket(9999, {"subject": "z"}, 1))
    assert store.get_ticket(tid).subject == "y" and store.get_ticket(tid).version == 2


def test_a_read_only_store_writes_nothing(team_pg: Any, pg_db_url: str) -> None:
    from db.errors import ReadOnly

    team_pg("boss")
    board = PgStore(pg_db_url, readonly=True)
    with pytest.raises(ReadOnly):
        board.write(lambda: None)
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        board._tuples("INSERT INTO upkeep (key, value) VALUES ('x', 1) RETURNING key")
    assert not board.take_lease("sweeper", "board", time.time(), 30)
    board.close()


def test_a_backup_is_a_pg_dump_that_restores_with_its_chain(team_pg: Any, pg_cluster: Cluster, tmp_path: Any) -> None:
    """A backup (pg_dump as the store's login, its password kept off the command line), restored by a superuser
    into a new database: the same tickets and an intact chain."""
    import subprocess

    from tests.pg import BIN

    boss = team_pg("boss")
    tid = boss.create_ticket("kept", customer="c").id
    boss.note(tid, "还在")
    target = boss.backup(tmp_path)
    assert target.suffix == ".pgdump" and (target.stat().st_mode & 0o777) == 0o600
    assert not list(tmp_path.glob(".*.tmp"))
    copy = pg_cluster.new_database(template=None)
    # as this process, the superuser by peer authentication on the socket (pg_ident.conf maps our login)
    restored = subprocess.run(
        [
            str(BIN / "pg_restore"),
            "--disable-triggers",
            "--no-owner",
            "-h",
            str(pg_cluster.socket_dir),
            "-p",
            str(pg_cluster.port),
            "-U",
            "postgres",
            "-d",
            copy,
            str(target),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert restored.returncode == 0, restored.stderr
    rows = pg_cluster.admin_sql("SELECT count(*) FROM events", copy)
    assert rows[0][0] == boss.store.count_events()
    assert pg_cluster.admin_sql("SELECT subject FROM tickets ORDER BY id", copy) == [("kept",)]
    restored_store = PgStore(pg_cluster.superuser_url(copy))
    assert restored_store.chain_problems() == []
    restored_store.close()
    pg_cluster.drop_database(copy)


def test_no_limit_is_minus_one_as_on_sqlite(team_pg: Any) -> None:
    boss = team_pg("boss")
    ids = [boss.create_ticket(f"t{i}", customer="c").id for i in range(3)]
    store = boss.store
    assert sorted(i.id for i in store.queue(TicketFilter(), 0, -1)) == ids
    assert sorted(i.id for i in store.queue(TicketFilter(now=time.time() + 10**9), 0, -1)) == ids  # bands sorted
    assert store.tickets_to_judge(time.time() + 10**9, -1) != [] or store.next_judgement() is None


# -- the queue's pages -------------------------------------------------------------------------------------------


def _plan(store: PgStore, sql: str, params: list[Any]) -> str:
    return "\n".join(str(r[0]) for r in store._tuples("EXPLAIN " + sql, params))


def test_a_page_is_an_index_range_with_limit_and_no_sort(team_pg: Any) -> None:
    """As on SQLite (test_scale): a page of the stored order is read from an order index, LIMIT rows, nothing
    sorted; the few stale tickets are computed and merged in without sorting the selection."""
    store = team_pg("boss").store
    now = time.time()
    store.write(
        lambda: store._execute(
            "INSERT INTO tickets (subject, status, priority, channel, tier, assignee, created_at, updated_at,"
            " sla_due, sla_warn, q_band, q_key, q_at, sla_alert, sla_next)"
            " SELECT 'ticket ' || i, (ARRAY['new','open','pending','closed'])[1 + i % 4],"
            " (ARRAY['P1','P2','P3','P4'])[1 + i % 4], 'email', (ARRAY['L1','L2'])[1 + i % 2],"
            " (ARRAY[NULL,'li.wei','kai'])[1 + i % 3], '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z',"
            " ? + i, ? + i - 60, 1 + i % 5, ? + i, ? - 100, CASE WHEN i % 9 = 0 THEN 2 ELSE 0 END, ? + i"
            " FROM generate_series(1, 20000) i",
            [now + 3600, now + 3600, now + 3600, now, now + 1800],
        )
    )
    store._execute("ANALYZE tickets")
    assert store.stored_order_holds(now)
    for flt, index in (
        (TicketFilter(now=now), "tickets_order"),
        (TicketFilter(assignee="li.wei", now=now), "tickets_order_assignee"),
        (TicketFilter(unassigned=True, tier="L1", now=now), "tickets_order_tier"),
        (TicketFilter(alerting=True, now=now), "tickets_order_alert"),
        (TicketFilter(running=True, now=now), "tickets_order"),
    ):
        page, params = store.page_sql(flt, now, 0, 50)
        plan = _plan(store, page, params)
        assert plan.startswith("Limit") and f"Index Scan using {index} " in plan and "Sort" not in plan, plan
        assert len(store.queue(flt, 0, 50)) == 50
    # a few tickets whose crossing has come since they were judged (made P1 behind the sweeper's back: band 1 at
    # now, stored as band 2 for #6): merged in, the selection still not sorted
    store.write(
        lambda: store._execute("UPDATE tickets SET priority = 'P1', sla_next = ? WHERE id IN (5, 6, 7)", [now - 1])
    )
    assert store.stale_count(now) == 3
    page, params = store.page_sql(TicketFilter(now=now), now, 0, 50)
    plan = _plan(store, page, params)
    lines = plan.splitlines()
    scan = next(i for i, line in enumerate(lines) if "Index Scan using tickets_order on" in line)
    assert "Limit" in lines[scan - 1], plan  # the stored order: an index range, LIMIT rows
    sorts = [i for i, line in enumerate(lines) if "->  Sort" in line or line.startswith("Sort")]
    # one sort, of the stale tickets alone (found by tickets_next and tickets_judged), merged with the range
    assert len(sorts) == 1 and sorts[0] > scan and "tickets_next" in "\n".join(lines[sorts[0] :]), plan
    assert "Merge Append" in plan, plan
    order = [item.id for item in store.queue(TicketFilter(now=now), 0, 50)]
    assert len(order) == 50 and order[:3] == [5, 6, 10]  # their band and key computed at now (#7 is closed)
