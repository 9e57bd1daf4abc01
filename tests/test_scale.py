"""The floor at scale (issue 20): the stored urgency order equals the computed one, the change feed says exactly what
changed (with the queue columns as they were), one sweeper at a time judges only the tickets whose crossing has
come, and a console applies a change by reading the changed ticket, not its page and five counts."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.service.helpdesk import HelpdeskService
from console.service.live import LEASE_TTL_S, SWEEPER_LEASE
from console.tui.app import HelpdeskApp
from console.tui.screens.queue import QueueScreen, in_view
from db import schema
from db import store as store_module
from db.queries import stored_urgency
from db.records import TicketFilter
from db.store import Store
from tests.conftest import T0, FrozenClock, settle, sqlite_conn
from widgets.queue_table import QueueTable

Team = Callable[[str], HelpdeskService]
NOW = T0.timestamp()
PRIORITIES = ("P1", "P2", "P3", "P4")


def _computed(store: Store, flt: TicketFilter, merge_limit: int) -> list[int]:
    """The page with the stored order made stale for one ticket (judged after ``flt.now``): with ``merge_limit`` 0
    every band is computed and the selection sorted; with a larger one that ticket's band alone is computed and
    merged into the stored order."""
    assert flt.now is not None
    with store.snapshot():
        store.conn.execute("SAVEPOINT computed")
        try:
            store.conn.execute(
                "UPDATE tickets SET q_at = ? WHERE id = (SELECT min(id) FROM tickets WHERE status <> 'closed')",
                [flt.now + 1],
            )
            assert not store.stored_order_holds(flt.now)
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(store_module, "STALE_MERGE_LIMIT", merge_limit)
                return [item.id for item in store.queue(flt, 0, 1000)]
        finally:
            store.conn.execute("ROLLBACK TO computed")
            store.conn.execute("RELEASE computed")


# -- the stored order ---------------------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cases=st.lists(
        st.tuples(
            st.sampled_from(PRIORITIES),
            st.one_of(st.none(), st.integers(-50_000, 50_000)),
            st.integers(0, 7200),
            st.one_of(st.none(), st.integers(0, 20_000)),
        ),
        min_size=1,
        max_size=40,
    ),
    view=st.sampled_from(["open", "mine", "unassigned", "risk"]),
)
def test_the_stored_order_is_the_urgency_order(
    tmp_path_factory: pytest.TempPathFactory, cases: list, view: str
) -> None:
    """Random clocks judged at NOW: a page read from the stored order's index is the page the computed bands sort."""
    store = Store(tmp_path_factory.mktemp("order") / "h.db")
    try:
        conn = store.conn
        conn.execute("INSERT INTO agents (name, role, tier, created_at, login) VALUES ('a', 'agent', 'L1', 'x', 'a')")
        rng = random.Random(len(cases))
        for index, (priority, due, lead, paused) in enumerate(cases, 1):
            due_at = None if due is None else NOW + due
            warn_at = None if due_at is None else due_at - lead
            paused_s = paused if due_at is None else None
            band, key, alert = stored_urgency(priority, due_at, warn_at, paused_s, NOW)
            future = [x for x in (warn_at, due_at) if x is not None and x > NOW]
            conn.execute(
                "INSERT INTO tickets (id, subject, status, priority, channel, tier, assignee, created_at, updated_at,"
                " sla_due, sla_warn, sla_paused_remaining, q_band, q_key, sla_alert, q_at, sla_next)"
                " VALUES (?, 's', ?, ?, 'email', ?, ?, '2026-03-02T01:00:00Z', '2026-03-02T01:00:00Z',"
                " ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    index,
                    rng.choice(["new", "open", "pending", "restored"]),
                    priority,
                    rng.choice(["L1", "L2"]),
                    rng.choice([None, "a"]),
                    due_at,
                    warn_at,
                    paused_s,
                    band,
                    key,
                    alert,
                    NOW,
                    min(future, default=None),
                ],
            )
        flt = {
            "open": TicketFilter(now=NOW),
            "mine": TicketFilter(assignee="a", now=NOW),
            "unassigned": TicketFilter(unassigned=True, tier="L1", now=NOW),
            "risk": TicketFilter(alerting=True, now=NOW),
        }[view]
        assert store.stored_order_holds(NOW)
        stored = [item.id for item in store.queue(flt, 0, 1000)]
        assert stored == _computed(store, flt, 0) == _computed(store, flt, 100)
        assert len(stored) == store.queue_count(flt)
        # paging the stored order gives the same order
        assert [i.id for o in range(0, len(stored), 7) for i in store.queue(flt, o, 7)] == stored
    finally:
        store.close()


def test_a_page_is_an_index_range_with_no_sort(team: Team) -> None:
    """The views' pages read from the v6 order indexes: no temporary B-tree sorting the selection."""
    li = team("li.wei")
    li.create_ticket("one", customer="Acme", priority="P2")
    store = li.store
    conn = sqlite_conn(li)
    plans: list[str] = []
    for flt in (
        TicketFilter(now=NOW + 1),
        TicketFilter(assignee="li.wei", now=NOW + 1),
        TicketFilter(unassigned=True, tier="L1", now=NOW + 1),
        TicketFilter(alerting=True, now=NOW + 1),
        TicketFilter(text="one", now=NOW + 1),
    ):
        assert store.stored_order_holds(NOW + 1)
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        try:
            store.queue(flt, 0, 50)
        finally:
            conn.set_trace_callback(None)
        page = next(s for s in statements if "LIMIT" in s)
        plan = " ".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + page))
        plans.append(plan)
        # the page is read from an order index, LIMIT rows and no sort; only the page's own rows are then put in
        # order again as they are joined to their customers
        selection = plan.split("SCAN page")[0]
        assert "tickets_order" in selection and "TEMP B-TREE" not in selection, plan


def test_each_action_stores_its_place_and_the_next_crossing(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    t = li.create_ticket("printer", customer="Acme", priority="P2")
    row = li.store._one(
        "SELECT q_band, q_key, sla_alert, q_at, sla_next, sla_due, sla_warn FROM tickets WHERE id = ?", [t.id]
    )
    assert row is not None
    assert row["q_band"] == 3 and row["q_key"] == row["sla_due"] and row["sla_alert"] == 0
    assert row["q_at"] == NOW
    assert row["sla_next"] == row["sla_warn"]  # the warning comes first
    figures = li.store._one("SELECT * FROM ticket_figures WHERE ticket_id = ?", [t.id])
    assert figures is not None and figures["fr_due"] == row["sla_due"] and figures["fr_s"] is None
    clock.advance(minutes=10)
    li.reply(t.id, "Hello, we are looking at it.")
    figures = li.store._one("SELECT * FROM ticket_figures WHERE ticket_id = ?", [t.id])
    assert figures is not None
    assert figures["fr_s"] is not None and figures["fr_met"] == 1 and figures["fr_due"] is None
    assert figures["first_response_total"] == 1 and figures["first_response_met"] == 1


# -- the change feed ----------------------------------------------------------------------------------------------


def test_the_feed_names_the_changed_tickets_with_their_columns_before(team: Team) -> None:
    li, sue = team("li.wei"), team("sue")
    a = li.create_ticket("a", customer="Acme")
    b = li.create_ticket("b", customer="Acme")
    cursor = li.live.cursor()
    li.note(b.id, "internal only")
    sue.assign(a.id, "li.wei")
    feed = li.live.changes(cursor)
    assert not feed.reload and set(feed.tickets) == {a.id, b.id}
    before_a = feed.tickets[a.id].before
    assert before_a is not None and (before_a.status, before_a.assignee, before_a.tier) == ("new", None, "L1")
    # a note: the row was written (its version), the columns the queue shows are as they were
    (now_b,) = li.live.facts([b.id])
    assert feed.tickets[b.id].before == now_b
    assert li.live.changes(feed.cursor).tickets == {}
    c = li.create_ticket("c", customer="Acme")
    feed = li.live.changes(feed.cursor)
    assert feed.tickets[c.id].created and feed.tickets[c.id].before is None


def test_the_feed_says_reload_after_a_gap_or_a_team_change(team: Team) -> None:
    boss = team("boss")
    t = boss.create_ticket("a", customer="Acme")
    cursor = boss.live.cursor()
    boss.add_agent("newbie", "agent", "L1")
    assert boss.live.changes(cursor).reload  # agents changed: every view may have
    cursor = boss.live.cursor()
    boss.note(t.id, "x")
    boss.store.prune_changes(before=1e12)  # everything pruned: the rows after the cursor are gone
    boss.note(t.id, "y")
    feed = boss.live.changes(cursor)
    assert feed.reload and feed.cursor > cursor


# -- one sweeper ------------------------------------------------------------------------------------------------


def test_one_sweeper_holds_the_lease_and_another_takes_over_when_it_expires(
    db_path: Path, team: Team, clock: FrozenClock
) -> None:
    team("boss")
    one = HelpdeskService.open(db_path, "boss", clock=clock)
    two = HelpdeskService.open(db_path, "boss", clock=clock)
    try:
        assert one.live.sweeper_round("host:1") is not None
        assert two.live.sweeper_round("host:2") is None  # held
        assert one.live.sweeper_round("host:1") is not None  # renewed by its holder
        clock.advance(seconds=LEASE_TTL_S + 1)  # the holder died: its lease runs out
        assert two.live.sweeper_round("host:2") is not None
        assert one.live.sweeper_round("host:1") is None
        two.live.release("host:2")
        assert one.live.sweeper_round("host:1") is not None  # released: taken at once
        holder = one.store._tuples("SELECT holder FROM leases WHERE name = ?", [SWEEPER_LEASE])
        assert holder == [("host:1",)]
    finally:
        one.shutdown()
        two.shutdown()


def test_the_sweep_reads_only_tickets_whose_crossing_has_come(team: Team, clock: FrozenClock) -> None:
    boss = team("boss")
    urgent = boss.create_ticket("urgent", customer="Acme", priority="P1")  # 30 min to the first response
    calm = [boss.create_ticket(f"calm {i}", customer="Acme", priority="P4") for i in range(5)]
    clock.advance(minutes=25)  # the P1's warning has passed, nothing else has crossed
    statements: list[str] = []
    sqlite_conn(boss).set_trace_callback(statements.append)
    try:
        counts = boss.sweep()
    finally:
        sqlite_conn(boss).set_trace_callback(None)
    assert counts["warnings"] == 1 and counts["breaches"] == 0
    # the P1 alone is read, its history once, to mark the crossing and judge it again (the trace shows the
    # statements with their values)
    histories = [s for s in statements if s.startswith("SELECT * FROM events WHERE ticket_id")]
    assert histories == [f"SELECT * FROM events WHERE ticket_id = {urgent.id} ORDER BY id"]
    row = boss.store._one("SELECT sla_alert, q_band, sla_next, sla_due FROM tickets WHERE id = ?", [urgent.id])
    assert row is not None and row["sla_alert"] == 1 and row["sla_next"] == row["sla_due"]
    assert boss.sweep() == {"warnings": 0, "breaches": 0, "auto_closed": 0}  # judged: nothing to do until due
    judged = boss.store._tuples(
        f"SELECT count(*) FROM tickets WHERE q_at > ? AND id IN ({','.join(str(t.id) for t in calm)})", [NOW]
    )
    assert judged == [(0,)]  # the calm tickets were not read again
    assert boss.store.stored_order_holds(clock().timestamp())


def test_a_migrated_database_is_judged_and_given_figures_by_the_sweeper(tmp_path: Path, clock: FrozenClock) -> None:
    """A schema-5 file: its open tickets are marked to be judged, and the figures are filled a batch at a time."""
    path = tmp_path / "old.db"
    service = HelpdeskService.open(path, "boss", clock=clock, create=True)
    service.init("boss")
    ids = [service.create_ticket(f"t{i}", customer="Acme", priority="P2").id for i in range(3)]
    service.shutdown()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(
        "DELETE FROM ticket_figures; UPDATE tickets SET q_at = NULL, sla_next = NULL;"
        " INSERT OR REPLACE INTO upkeep VALUES ('figures_before', 1000);"
    )
    conn.execute(f"UPDATE tickets SET sla_next = {NOW} WHERE id <> {ids[-1]}")  # as the migration marks them
    conn.close()
    service = HelpdeskService.open(path, "boss", clock=clock)
    try:
        assert not service.store.stored_order_holds(NOW + 1)
        done = service.live.sweeper_round("me:1")
        # two judged again by the sweep (their figures with them), the last one's figures filled in
        assert done is not None and done.filled == 1
        assert service.store.stored_order_holds(NOW + 1)
        assert service.store._tuples("SELECT count(*) FROM ticket_figures") == [(len(ids),)]
        assert service.store.tickets_without_figures(10) == []
        assert service.store._tuples("SELECT value FROM upkeep WHERE key = 'figures_before'") == [(0.0,)]
    finally:
        service.shutdown()
    assert schema.LATEST >= 6


# -- the console applies changes ---------------------------------------------------------------------------------


def test_in_view_matches_the_views_filters() -> None:
    assert in_view("mine", "open", "me", "L1", 0, "me", "L1")
    assert not in_view("mine", "closed", "me", "L1", 0, "me", "L1")
    assert in_view("unassigned", "new", None, "L1", 0, "me", "L1")
    assert not in_view("unassigned", "new", None, "L2", 0, "me", "L1")
    assert in_view("risk", "open", None, "L2", 2, "me", "L1")
    assert not in_view("risk", "open", None, "L2", 0, "me", "L1")
    assert in_view("pending", "pending", "x", "L3", 0, "me", "L1")
    assert in_view("open", "restored", None, "L1", 0, "me", "L1") and not in_view(
        "open", "resolved", None, "L1", 0, "me", "L1"
    )


async def test_a_change_elsewhere_costs_the_console_a_read_of_that_ticket(
    db_path: Path, team: Team, clock: FrozenClock
) -> None:
    """Another agent's note is one feed read and nothing more; their assignment is the feed, that ticket's columns
    and the page on screen: no view is counted again."""
    ann = team("ann")
    tickets = [ann.create_ticket(f"ticket {i}", customer="Acme") for i in range(6)]
    li = HelpdeskService.open(db_path, "li.wei", clock=clock)  # the console's own connection, as in a terminal
    app = HelpdeskApp(li, clock=lambda: clock().timestamp(), live_interval=0.1, sweeps=False)
    statements: list[str] = []
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, 8)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        assert screen._counts == {"mine": 0, "unassigned": 6, "risk": 0, "pending": 0, "open": 6}
        sqlite_conn(li).set_trace_callback(statements.append)
        ann.note(tickets[2].id, "looked at it")
        await pilot.pause(0.5)
        await settle(pilot, 4)
        reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        # the feed, the ticket's queue columns, and its row (it is on screen): no page, no count
        assert any("FROM changes" in s for s in reads), reads
        assert not any("LIMIT" in s and "FROM changes" not in s for s in reads), reads
        assert not any("count(" in s for s in reads), reads
        assert any(f"WHERE t.id IN ({tickets[2].id})" in s for s in reads), [s[-80:] for s in reads]
        statements.clear()
        ann.assign(tickets[3].id, "ann")
        await pilot.pause(0.5)
        await settle(pilot, 4)
        reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert not any("count(*)" in s for s in reads), reads
        assert any("sla_alert, q_band, q_key, priority FROM tickets WHERE id IN" in s for s in reads), reads
        assert screen._counts == {"mine": 0, "unassigned": 5, "risk": 0, "pending": 0, "open": 6}
        sqlite_conn(li).set_trace_callback(None)
        table = screen.query_one(QueueTable)
        assert table.total == 6
        # the same numbers a fresh count gives
        screen.action_refresh()
        await pilot.pause(0.3)
        await settle(pilot, 4)
        assert screen._counts == {"mine": 0, "unassigned": 5, "risk": 0, "pending": 0, "open": 6}
    li.shutdown()


async def test_changes_that_come_during_a_refresh_are_folded_into_one(
    db_path: Path, team: Team, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow refresh under a burst of commits: never two refreshes at once, and the burst is applied in one more,
    with every ticket's earliest state (the counts come out as a fresh count gives them)."""
    import time as _time

    ann = team("ann")
    tickets = [ann.create_ticket(f"ticket {i}", customer="Acme") for i in range(8)]
    li = HelpdeskService.open(db_path, "li.wei", clock=clock)
    facts = li.live.facts

    def slow_facts(ids: list[int]) -> list:
        _time.sleep(0.4)  # a refresh that takes long (a busy machine, a big backlog)
        return facts(ids)

    monkeypatch.setattr(li.live, "facts", slow_facts)
    app = HelpdeskApp(li, clock=lambda: clock().timestamp(), live_interval=0.05, sweeps=False)
    applied: list[int] = []
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, 8)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        on_changes = screen.on_changes

        def watched(changes: dict) -> None:
            assert not screen._busy, "a refresh started while another was running"
            applied.append(len(changes))
            on_changes(changes)

        monkeypatch.setattr(screen, "on_changes", watched)
        ann.assign(tickets[0].id, "ann")
        await pilot.pause(0.15)  # the first refresh is under way: the next changes wait for it
        for ticket in tickets[1:5]:
            ann.assign(ticket.id, "ann")
            await pilot.pause(0.06)
        await pilot.pause(2.0)
        await settle(pilot, 4)
        assert len(applied) <= 3 and sum(applied) == 5, applied  # the first change, then the rest folded together
        assert screen._counts["unassigned"] == 3 and screen._counts["open"] == 8
    li.shutdown()


def test_the_boards_backlog_moved_by_the_changes_is_the_backlog_read_whole(team: Team, clock: FrozenClock) -> None:
    """The wallboard keeps its backlog counts and moves them by the changed tickets: the same sums as reading the
    whole backlog again, after creations, assignments, a priority change, a resolution and the sweeper's crossings."""
    from console.service.wallboard import moved_backlog
    from db import stats

    boss, sue = team("boss"), team("sue")
    tickets = [boss.create_ticket(f"t{i}", customer="Acme", priority=("P2", "P3", "P4")[i % 3]) for i in range(9)]
    backlog = stats.backlog(boss.store)
    cursor = boss.live.cursor()
    sue.assign(tickets[0].id, "li.wei")
    sue.assign(tickets[1].id, "kai")
    boss.change_priority(tickets[2].id, "P1", reason="the whole floor is down")
    fresh = boss.create_ticket("new one", customer="Acme", priority="P1")
    team("kai").resolve(tickets[1].id, summary="fixed", code="fixed")
    clock.advance(hours=30)  # warnings and breaches come: the sweeper judges the tickets again
    boss.sweep()
    feed = boss.live.changes(cursor)
    assert not feed.reload and fresh.id in feed.tickets
    moved = moved_backlog(boss, backlog, feed.tickets)
    assert moved == stats.backlog(boss.store)
    assert moved.breached > 0 and moved.agents["li.wei"][0] == 1
