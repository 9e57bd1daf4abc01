"""Urgency first: the queue's order (db/store.py URGENCY_BAND) in SQL, the same in `ticket list` and the console,
the P1 alert in every console of the tier, and the wallboard's urgent list that never hides a breached P1/P2."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from console.service.helpdesk import HelpdeskService
from console.tui.app import HelpdeskApp
from console.tui.screens.queue import QueueScreen
from console.tui.screens.ticket import TicketScreen
from console.tui.screens.wallboard import WallboardScreen, duration
from db.records import TicketFilter
from tests.conftest import T0, FrozenClock, Result, settle
from widgets.queue_table import QueueTable
from widgets.tiles import CountdownList

Team = Callable[[str], HelpdeskService]
Cli = Callable[..., Result]
NOW = T0.timestamp()
H = 3600.0

# label: (priority, sla_due, sla_warn, sla_paused_remaining), relative to NOW; None: no such column value.
CASES: dict[str, tuple[str, float | None, float | None, int | None]] = {
    "P3 breached 8h ago": ("P3", -8 * H, -9 * H, None),
    "P2 breached 59 min ago": ("P2", -59 * 60 - 41, -H, None),
    "P1 breached 1h03m ago": ("P1", -H - 3 * 60, -H - 10 * 60, None),
    "P1 fresh": ("P1", 30 * 60, 22 * 60, None),
    "P4 breached 100h ago": ("P4", -100 * H, -101 * H, None),
    "P2 at risk": ("P2", 600, -60, None),
    "P3 at risk": ("P3", 300, -100, None),
    "P3 running": ("P3", H, 2700, None),
    "P4 running": ("P4", 1000, 900, None),
    "P1 paused": ("P1", None, None, 500),
    "P3 paused": ("P3", None, None, 100),
    "P2 no clock": ("P2", None, None, None),
    "P4 no clock": ("P4", None, None, None),
    "P1 at risk": ("P1", 120, -200, None),
}
EXPECTED = [
    # 1: every P1 with a running clock, by due instant (breached first)
    "P1 breached 1h03m ago",
    "P1 at risk",
    "P1 fresh",
    # 2: P2-P4 breached or at risk, priority first, then due instant
    "P2 breached 59 min ago",
    "P2 at risk",
    "P3 breached 8h ago",
    "P3 at risk",
    "P4 breached 100h ago",
    # 3: running, by due instant
    "P4 running",
    "P3 running",
    # 4: paused, least remaining first
    "P3 paused",
    "P1 paused",
    # 5: no running clock, by priority
    "P2 no clock",
    "P4 no clock",
]


def constructed(li: HelpdeskService) -> dict[int, str]:
    """One ticket per case, its SLA columns set to the case's (as the SLA book stores them); id -> label."""
    labels: dict[int, str] = {}
    for label, (priority, due, warn, paused) in CASES.items():
        ticket = li.create_ticket(label, customer="Acme", priority=priority)
        li.store.set_ticket_sla(
            ticket.id,
            {
                "sla_clock": "first_response" if due is not None or paused is not None else None,
                "sla_due": None if due is None else NOW + due,
                "sla_warn": None if warn is None else NOW + warn,
                "sla_paused_remaining": paused,
            },
        )
        labels[ticket.id] = label
    return labels


def test_the_order_bands_at_a_fixed_instant(team: Team) -> None:
    li = team("li.wei")
    labels = constructed(li)
    items = li.store.queue(TicketFilter(now=NOW), 0, 100)
    assert [labels[i.id] for i in items] == EXPECTED
    # Paging with LIMIT/OFFSET gives the same order, window by window.
    paged = [
        labels[i.id] for offset in range(0, len(CASES), 4) for i in li.store.queue(TicketFilter(now=NOW), offset, 4)
    ]
    assert paged == EXPECTED


def test_no_breached_or_at_risk_p1_below_a_lower_priority(team: Team) -> None:
    li = team("li.wei")
    labels = constructed(li)
    for later in (0.0, 20 * 60, 2 * H):  # the bands move with the instant; the rule holds at each
        order = [labels[i.id] for i in li.store.queue(TicketFilter(now=NOW + later), 0, 100)]
        urgent_p1 = [n for n, label in enumerate(order) if CASES[label][0] == "P1" and CASES[label][1] is not None]
        others = [n for n, label in enumerate(order) if CASES[label][0] != "P1"]
        assert max(urgent_p1) < min(others)
        # Among the breached and at-risk P2-P4, priority never goes back up.
        band2 = [CASES[label][0] for label in order if CASES[label][0] != "P1" and risky(label, later)]
        assert band2 == sorted(band2)


def risky(label: str, later: float) -> bool:
    """Whether a case is breached or at risk ``later`` seconds after NOW."""
    _priority, due, warn, _paused = CASES[label]
    return (due is not None and due <= later) or (warn is not None and warn <= later)


def test_the_filters_keep_the_order(team: Team) -> None:
    li = team("li.wei")
    labels = constructed(li)
    risky = [labels[i.id] for i in li.store.queue(TicketFilter(at_risk_or_breaching=NOW, now=NOW), 0, 100)]
    assert risky == [label for label in EXPECTED[:8] if label != "P1 fresh"]  # it is neither breached nor at risk
    p3 = [labels[i.id] for i in li.store.queue(TicketFilter(priority="P3", text="P3", now=NOW), 0, 100)]
    assert p3 == [label for label in EXPECTED if label.startswith("P3")]


def test_a_fresh_p1_at_night_is_above_business_hours_overdue_tickets(team: Team, clock: FrozenClock) -> None:
    """The issue's scene through the SLA engine: P2-P4 tickets from Monday morning are overdue on business hours
    (their overdue time stands still at night); a P1 opened at 22:50 is due at 23:20 on its 24x7 clock."""
    li = team("li.wei")
    old = [
        li.create_ticket("VPN drops", customer="A", priority="P2", at=T0).id,
        li.create_ticket("Printer jams", customer="B", priority="P3", at=T0).id,
        li.create_ticket("Toner low", customer="C", priority="P4", at=T0 + timedelta(hours=1)).id,
    ]
    clock.now = T0 + timedelta(hours=13, minutes=50)  # Monday 22:50 in Shanghai
    p1 = li.create_ticket("Core switch down", customer="D", priority="P1").id
    clock.now = T0 + timedelta(hours=14)
    flt = TicketFilter(unassigned=True, tier="L1", now=clock.now.timestamp())
    order = [i.id for i in li.list_tickets(flt)]
    assert order[0] == p1
    assert order[1:] == old  # breached P2, then P3, then P4


# -- the CLI and the console agree ----------------------------------------------------------------------------


async def test_ticket_list_and_the_console_show_the_same_order(team: Team, cli: Cli, db_path: Path) -> None:
    li = team("li.wei")
    labels = constructed(li)
    r = cli("ticket", "list", "--json", "--now", T0.isoformat())
    assert r.code == 0, r.err
    listed = [row["id"] for row in r.json()]
    assert [labels[i] for i in listed] == EXPECTED

    service = HelpdeskService.open(db_path, "li.wei", clock=lambda: T0)
    app = HelpdeskApp(service, clock=lambda: NOW, live_interval=3600)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, QueueScreen) and screen.state.view == "open"
            table = screen.query_one(QueueTable)
            shown = [row.ticket_id for n in range(table.total) if (row := table.row_at(n)) is not None]
            assert shown == listed
    finally:
        service.shutdown()


# -- the P1 alert -----------------------------------------------------------------------------------------------


class Bells:
    """How often App.bell was rung (the terminal bell itself goes nowhere in a headless test)."""

    def __init__(self) -> None:
        self.rung = 0


@pytest.fixture
def bells(monkeypatch: pytest.MonkeyPatch) -> Bells:
    counter = Bells()

    def bell(_app: HelpdeskApp) -> None:
        counter.rung += 1

    monkeypatch.setattr(HelpdeskApp, "bell", bell)
    return counter


def console_for(db_path: Path, name: str, clock: FrozenClock) -> tuple[HelpdeskService, HelpdeskApp]:
    """A console on a connection of its own, as in another terminal: other services' commits are foreign to it."""
    service = HelpdeskService.open(db_path, name, clock=clock)
    return service, HelpdeskApp(service, clock=lambda: clock().timestamp(), live_interval=0.1)


def alerts_about(app: HelpdeskApp, ticket_id: int) -> list[str]:
    return [n.message for n in app._notifications if n.message.startswith(f"#{ticket_id} ")]


async def wait_for(pilot: object, condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    return condition()


async def test_a_new_p1_rings_and_stays_until_opened(
    team: Team, db_path: Path, clock: FrozenClock, bells: Bells
) -> None:
    ann = team("ann")  # another agent of L1, on the fixture's connection
    waiting = ann.create_ticket("Already waiting", customer="Old", priority="P1").id
    service, app = console_for(db_path, "li.wei", clock)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.pause(0.3)
            assert bells.rung == 0 and not alerts_about(app, waiting)  # there when the console opened: on top, quiet

            p1 = ann.create_ticket("Core switch down", customer="Acme Ops", priority="P1").id
            assert await wait_for(pilot, lambda: bells.rung == 1)
            assert len(alerts_about(app, p1)) == 1
            alert = next(n for n in app._notifications if n.message.startswith(f"#{p1} "))
            assert alert.severity == "error" and alert.timeout >= 3600 and "L1" in alert.title

            # Not raised again on later refreshes, nor for P2-P4.
            ann.create_ticket("Printer jams", customer="B", priority="P3")
            ann.create_ticket("VPN drops", customer="C", priority="P2")
            ann.note(p1, "looking")
            await pilot.pause(0.6)
            assert bells.rung == 1 and len(alerts_about(app, p1)) == 1
            assert len(app._notifications) == 1

            # Opening the ticket is seeing it: the alert goes, and does not come back.
            app.push_screen(TicketScreen(p1))
            assert await wait_for(pilot, lambda: not alerts_about(app, p1))
            await pilot.press("escape")
            ann.note(p1, "still looking")
            await pilot.pause(0.5)
            assert bells.rung == 1 and not alerts_about(app, p1)
    finally:
        service.shutdown()


async def test_ctrl_g_acknowledges_and_a_taken_ticket_withdraws_its_alert(
    team: Team, db_path: Path, clock: FrozenClock, bells: Bells
) -> None:
    ann = team("ann")
    service, app = console_for(db_path, "li.wei", clock)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.pause(0.3)
            first = ann.create_ticket("Site down", customer="A", priority="P1").id
            assert await wait_for(pilot, lambda: bool(alerts_about(app, first)))
            await pilot.press("ctrl+g")
            await pilot.pause(0.1)
            assert not alerts_about(app, first)

            second = ann.create_ticket("Payments down", customer="B", priority="P1").id
            assert await wait_for(pilot, lambda: bool(alerts_about(app, second)))
            assert bells.rung == 2
            ann.assign(second)  # ann takes it: nobody needs the alert any more
            assert await wait_for(pilot, lambda: not alerts_about(app, second))
            assert bells.rung == 2
    finally:
        service.shutdown()


async def test_an_escalated_p1_alerts_the_new_tier_and_supervisors(
    team: Team, db_path: Path, clock: FrozenClock, bells: Bells
) -> None:
    li = team("li.wei")
    p1 = li.create_ticket("Database down", customer="Acme", priority="P1").id
    li.assign(p1)
    li.reply(p1, "We are on it; the database team will call you.")
    kai_service, kai_app = console_for(db_path, "kai", clock)  # L2
    try:
        async with kai_app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.pause(0.3)
            assert bells.rung == 0
            li.escalate(
                p1,
                "L2",
                "needs the database team",
                "replica lag",
                tried="restarted the replica",
                impact="all orders stopped",
                told="the database team calls back",
            )
            assert await wait_for(pilot, lambda: bool(alerts_about(kai_app, p1)))
            assert bells.rung == 1
    finally:
        kai_service.shutdown()


async def test_a_supervisor_is_alerted_for_every_tier(
    team: Team, db_path: Path, clock: FrozenClock, bells: Bells
) -> None:
    ann = team("ann")
    sue_service, sue_app = console_for(db_path, "sue", clock)  # supervisor, L2
    try:
        async with sue_app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.pause(0.3)
            p1 = ann.create_ticket("Branch offline", customer="Acme", priority="P1", tier="L1").id
            assert await wait_for(pilot, lambda: bool(alerts_about(sue_app, p1)))
            assert bells.rung == 1
    finally:
        sue_service.shutdown()


async def test_an_agent_of_another_tier_is_not_alerted(
    team: Team, db_path: Path, clock: FrozenClock, bells: Bells
) -> None:
    ann = team("ann")
    zoe_service, zoe_app = console_for(db_path, "zoe", clock)  # L3
    try:
        async with zoe_app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.pause(0.3)
            ann.create_ticket("Branch offline", customer="Acme", priority="P1", tier="L1")
            await pilot.pause(0.6)
            assert bells.rung == 0 and not zoe_app._notifications
    finally:
        zoe_service.shutdown()


# -- the wallboard's urgent list --------------------------------------------------------------------------------


def crowded_board(li: HelpdeskService) -> dict[str, int]:
    """Sixty breached P3/P4 tickets, long overdue, and one breached P1 and P2 that breached only just now: more
    than a 200x60 board has lines for."""
    ids: dict[str, int] = {}
    for n in range(60):
        priority = "P3" if n % 2 else "P4"
        t = li.create_ticket(f"Old {priority} {n}", customer="Old", priority=priority)
        li.store.set_ticket_sla(t.id, {"sla_clock": "resolve", "sla_due": NOW - (100 - n) * H, "sla_warn": None})
        ids[f"old{n}"] = t.id
    for priority in ("P2", "P1"):
        t = li.create_ticket(f"Fresh {priority}", customer="New", priority=priority)
        li.store.set_ticket_sla(t.id, {"sla_clock": "first_response", "sla_due": NOW - 60, "sla_warn": NOW - 600})
        ids[priority] = t.id
    return ids


def board(db_path: Path) -> tuple[HelpdeskService, HelpdeskApp]:
    service = HelpdeskService.open(db_path, "sue", clock=lambda: T0, wallboard=True)
    return service, HelpdeskApp(service, wallboard=True, clock=lambda: NOW)


async def loaded_board(app: HelpdeskApp, pilot: object) -> WallboardScreen:
    screen = app.screen
    assert isinstance(screen, WallboardScreen)
    assert await wait_for(pilot, lambda: screen.snapshot is not None)
    await pilot.pause(0.1)  # type: ignore[attr-defined]
    return screen


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_the_board_shows_what_fits_and_says_how_many_more(
    team: Team, db_path: Path, size: tuple[int, int]
) -> None:
    ids = crowded_board(team("li.wei"))
    service, app = board(db_path)
    try:
        async with app.run_test(size=size) as pilot:
            screen = await loaded_board(app, pilot)
            urgent = screen.query_one("#urgent", CountdownList)
            keys = urgent.keys
            assert keys[:2] == [ids["P1"], ids["P2"]]  # never cut in favour of the older P3/P4
            lines = urgent.lines  # the title, a line a ticket, the line that says how many more
            assert len(lines) == len(keys) + 2 and urgent.content_region.y + len(lines) <= size[1]
            assert len(lines) == urgent.content_size.height  # it uses the height it has, and no more
            hidden = 62 - len(keys)
            assert hidden > 0
            assert urgent.more_text == f"+{hidden} more ({hidden} breached)" == lines[-1]
            assert f"#{keys[-1]} " in lines[-2]
    finally:
        service.shutdown()


async def test_the_board_without_more_says_nothing_more(team: Team, db_path: Path) -> None:
    li = team("li.wei")
    t = li.create_ticket("Only one", customer="A", priority="P3")
    service, app = board(db_path)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await loaded_board(app, pilot)
            urgent = screen.query_one("#urgent", CountdownList)
            assert urgent.keys == [t.id] and urgent.more_text == ""
            assert len(urgent.lines) == 2 and "Only one" in urgent.lines[1]
    finally:
        service.shutdown()


def test_board_durations_say_their_unit() -> None:
    assert duration(None) == "—"
    assert duration(45) == "45s"
    assert duration(605) == "10m 05s"
    assert duration(2 * H + 17 * 60) == "2h 17m"
    assert duration(31 * H + 5 * 60 + 20) == "31h 05m"


def test_board_today_is_the_report_day(team: Team, clock: FrozenClock, cli: Cli) -> None:
    from console.service import reports
    from console.service.wallboard import snapshot

    sue = team("sue")
    clock.now = T0 + timedelta(hours=15, minutes=30)  # Monday 16:30 UTC: Tuesday 00:30 in Shanghai
    board_now = snapshot(sue, clock.now, False)
    zone = reports.team_zone(sue.policy())
    assert str(zone) == "Asia/Shanghai"
    assert board_now.day_start.tzinfo == zone
    assert board_now.day_start.date() == reports.local_today(sue) == clock.now.astimezone(zone).date()
    period = reports.make_period(board_now.day_start.date(), board_now.day_start.date(), zone)
    assert period.start == board_now.day_start
    # `helpdesk report` counts the same days unless --tz says otherwise.
    day = board_now.day_start.date().isoformat()
    r = cli("report", "--json", "--from", day, "--to", day)
    assert r.code == 0, r.err
    assert r.json()["period"]["zone"] == "Asia/Shanghai"
    r = cli("report", "--json", "--from", day, "--to", day, "--tz", "UTC")
    assert r.json()["period"]["zone"] == "UTC"
