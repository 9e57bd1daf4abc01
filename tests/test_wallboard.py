"""The supervisor wallboard: numbers, masking, layout at two sizes, live updates from another process, read-only."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.widgets import Digits

from console.rules.errors import Refused
from console.service.helpdesk import HelpdeskService
from console.service.wallboard import mask_email, mask_name, mask_phone, snapshot
from console.tui.app import HelpdeskApp
from console.tui.screens.wallboard import WallboardScreen, duration, percent
from tests.conftest import T0, FrozenClock
from widgets.tiles import CountdownList, NumberTile, TableTile

REPO = Path(__file__).resolve().parent.parent
NOW = T0 + timedelta(hours=3)  # Monday 12:00 in Shanghai


def seed(service_for: Callable[[str], HelpdeskService], clock: FrozenClock) -> None:
    """A morning's work: three answered and closed, one escalated, one reopened, several still open."""
    li = service_for("li.wei")
    kai = service_for("kai")
    at = T0 - timedelta(minutes=30)  # 08:30 Shanghai, before opening hours
    t1 = li.create_ticket("Printer jams", customer="张三", phone="13812345678", priority="P3", at=at)
    li.assign(t1.id, at=T0 + timedelta(minutes=5))
    li.reply(t1.id, "Try tray 2", at=T0 + timedelta(minutes=10))
    li.resolve(t1.id, summary="tray swapped", at=T0 + timedelta(minutes=20))
    li.close(
        t1.id,
        summary="tray swapped",
        confirmed=True,
        confirmed_by="phone",
        asked_anything_else=True,
        at=T0 + timedelta(minutes=25),
    )

    t2 = li.create_ticket("VPN drops", customer="John Smith", email="john@example.com", priority="P2", at=T0)
    li.assign(t2.id, at=T0 + timedelta(minutes=1))
    li.reply(t2.id, "Looking", at=T0 + timedelta(minutes=30))
    li.escalate(
        t2.id,
        "L2",
        "needs network team",
        "drops hourly since Friday",
        tried="reinstalled the client",
        impact="one user",
        told="the network team calls back",
        at=T0 + timedelta(minutes=40),
    )

    t3 = li.create_ticket("Mail sync", customer="Globex", email="ops@globex.test", priority="P3", at=T0)
    li.assign(t3.id, at=T0 + timedelta(minutes=2))
    li.reply(t3.id, "Fixed the profile", at=T0 + timedelta(minutes=50))
    li.resolve(t3.id, summary="profile rebuilt", at=T0 + timedelta(minutes=55))
    li.reopen(t3.id, reason="still failing", at=T0 + timedelta(minutes=70))

    t4 = kai.create_ticket("Server down", customer="Initech", phone="+86 21 5555 0101", priority="P1", at=T0)
    kai.assign(t4.id, at=T0 + timedelta(minutes=1))
    for minutes in (10, 40, 70, 100):
        li.create_ticket(
            f"Password reset {minutes}", customer="李伟", priority="P4", at=T0 + timedelta(minutes=minutes)
        )
    li.store.add_csat(t1.id, 1, 5, "quick", T0 + timedelta(minutes=26))
    li.store.add_csat(t3.id, 1, 4, "", T0 + timedelta(minutes=56))
    clock.now = NOW


@pytest.fixture
def board_db(team: Callable[[str], HelpdeskService], clock: FrozenClock, db_path: Path) -> Path:
    seed(team, clock)
    return db_path


def frozen(at: datetime = NOW) -> Callable[[], float]:
    return lambda: at.timestamp()


def board_app(db_path: Path, show: bool = False, at: datetime = NOW) -> HelpdeskApp:
    service = HelpdeskService.open(db_path, "sue", clock=lambda: at, wallboard=True)
    return HelpdeskApp(service, wallboard=True, show_customers=show, clock=frozen(at))


# -- pure helpers ---------------------------------------------------------------------------------------


def test_masks() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("John Smith") == "J*** S***"
    assert mask_name(None) == "—"
    assert mask_email("john@example.com") == "j***@example.com"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 21 5555 0101") == "862****0101"
    assert mask_phone("1234") == "**34"


def test_formats() -> None:
    assert percent(None) == "—"
    assert percent(2 / 3) == "67%"
    assert duration(None) == "—"
    assert duration(605) == "10m 05s"  # the unit said: "10:05" could be hours or minutes
    assert duration(3 * 3600 + 20 * 60) == "3h 20m"


# -- the snapshot ---------------------------------------------------------------------------------------


def test_snapshot_numbers(board_db: Path) -> None:
    service = HelpdeskService.open(board_db, "sue", wallboard=True)
    try:
        board = snapshot(service, NOW, show_customers=False)
    finally:
        service.shutdown()
    # Open: t2 (P2, escalated), t3 (P3, reopened), t4 (P1), four P4 resets.
    assert board.open_by_priority == {"P1": 1, "P2": 1, "P3": 1, "P4": 4}
    assert board.open_total == 7
    # t4 (P1, 30 min first response on 24x7) breached at 09:30; nothing else is due by 12:00.
    assert board.breached == 1
    assert board.received_today == 8  # t1 was created at 08:30 Shanghai, also today
    assert board.closed_today == 1
    # First replies: t1 at 09:10 (10 min of business time: opening is 09:00), t2 30 min, t3 50 min.
    assert board.median_first_response_s == 30 * 60
    # Resolved: t1 in 20 business minutes; t3 was reopened, its resolve clock runs again.
    assert board.median_resolution_s == 20 * 60
    assert board.fcr == 1.0  # t1: one public reply, no escalation, no reopen
    assert board.escalation == pytest.approx(1 / 8)
    assert board.reopen == pytest.approx(1 / 2)  # resolved today: t1 and t3; t3 reopened
    assert board.csat_average == 4.5 and board.csat_count == 2
    # First response met for t1, t2, t3; t4 breached (still unanswered).
    assert (board.first_response_attainment.met, board.first_response_attainment.total) == (3, 4)
    assert board.per_hour[8:11] == [1, 5, 2]  # 08:30; 09:00 x3, 09:10, 09:40; 10:10, 10:40 (Shanghai)
    assert sum(board.per_hour) == 8
    loads = {a.agent: (a.open, a.breached) for a in board.agents}
    assert loads["kai"] == (1, 1)
    assert loads["li.wei"] == (1, 0)  # t2 went to L2 with the escalation
    assert board.urgent[0].ticket_id == 4


def test_customers_masked_unless_asked(board_db: Path) -> None:
    service = HelpdeskService.open(board_db, "sue", wallboard=True)
    try:
        masked = snapshot(service, NOW, show_customers=False)
        shown = snapshot(service, NOW, show_customers=True)
    finally:
        service.shutdown()
    by_id = {row.ticket_id: row for row in masked.urgent}
    assert by_id[2].customer == "J*** S***" and by_id[2].contact == "j***@example.com"
    assert by_id[4].customer == "I***" and by_id[4].contact == "862****0101"
    shown_by_id = {row.ticket_id: row for row in shown.urgent}
    assert shown_by_id[2].customer == "John Smith" and shown_by_id[2].contact == "john@example.com"
    assert all("John" not in row.customer for row in masked.urgent)


def test_wallboard_service_never_writes(board_db: Path) -> None:
    service = HelpdeskService.open(board_db, "sue", wallboard=True)
    try:
        before = service.store.data_version(), service.store.count_events()
        with pytest.raises(Refused):
            service.create_ticket("nope", customer="x")
        with pytest.raises(Refused):
            service.reply(2, "nope")
        assert service.sweep() == {"warnings": 0, "breaches": 0, "auto_closed": 0}
        service.heartbeat(2)
        service.leave(2)
        snapshot(service, NOW, show_customers=True)
        assert service.store.count_events() == before[1]
        assert service.store.viewers(2, 0) == []
    finally:
        service.shutdown()


# -- the screen -----------------------------------------------------------------------------------------


async def _settle(app: HelpdeskApp, pilot: object, timeout: float = 5.0) -> WallboardScreen:
    screen = app.screen
    assert isinstance(screen, WallboardScreen)
    deadline = time.monotonic() + timeout
    while screen.snapshot is None and time.monotonic() < deadline:
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    assert screen.snapshot is not None
    await pilot.pause()  # type: ignore[attr-defined]
    return screen


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_tiles_at_both_sizes(board_db: Path, size: tuple[int, int]) -> None:
    app = board_app(board_db)
    async with app.run_test(size=size) as pilot:
        screen = await _settle(app, pilot)
        assert screen.query_one("#backlog", NumberTile).value == "7"
        assert screen.query_one("#breached", NumberTile).has_class("-bad")
        assert screen.query_one("#csat", NumberTile).value == "4.5"
        assert screen.query_one("#fr-sla", NumberTile).value == "75%"
        assert ("kai", "1", "1") in screen.query_one("#agents", TableTile).rows
        assert screen.query_one("#urgent", CountdownList).keys[0] == 4
        digits_shown = screen.query_one("#backlog Digits", Digits).display
        assert digits_shown == (size[1] >= 40)  # large numerals only when there is room
        assert screen.has_class("-wide") == (size[0] >= 132)
        # Every tile lies within the screen.
        for tile in screen.query(NumberTile):
            region = tile.region
            assert region.right <= size[0] and region.bottom <= size[1]
            assert region.width > 0 and region.height > 0


async def test_escape_quits_the_board_only_app(board_db: Path) -> None:
    app = board_app(board_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(app, pilot)
        await pilot.press("escape")
        await pilot.pause()
    assert app.return_code == 0 or app.return_code is None
    assert not app.is_running


async def test_escape_pops_back_to_the_console(board_db: Path) -> None:
    service = HelpdeskService.open(board_db, "sue", clock=lambda: NOW)
    app = HelpdeskApp(service, clock=frozen())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("w")
        await _settle(app, pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, WallboardScreen)
        assert app.is_running
    service.shutdown()


async def test_another_process_commit_appears_within_two_seconds(board_db: Path) -> None:
    app = board_app(board_db, at=datetime.now(UTC))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _settle(app, pilot)
        before = screen.query_one("#backlog", NumberTile).value
        env = {**os.environ, "PYTHONPATH": str(REPO), "HELPDESK_LANG": "en"}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "console",
                "--db",
                str(board_db),
                "--as",
                "ann",
                "ticket",
                "new",
                "--subject",
                "Laptop will not boot",
                "--customer",
                "Hooli",
                "--priority",
                "P2",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        committed = time.monotonic()
        while time.monotonic() - committed < 2.0:
            await pilot.pause(0.1)
            if screen.query_one("#backlog", NumberTile).value != before:
                break
        assert screen.query_one("#backlog", NumberTile).value == str(int(before) + 1)
        assert time.monotonic() - committed < 2.0


def test_snapshot_80x24(board_db: Path, snap_compare: Callable[..., bool]) -> None:
    assert snap_compare(board_app(board_db), terminal_size=(80, 24), run_before=_wait_for_board)


def test_snapshot_200x60(board_db: Path, snap_compare: Callable[..., bool]) -> None:
    assert snap_compare(board_app(board_db), terminal_size=(200, 60), run_before=_wait_for_board)


async def _wait_for_board(pilot: object) -> None:
    app = pilot.app  # type: ignore[attr-defined]
    await _settle(app, pilot)


def test_backlog_caption_keeps_the_urgent_priorities_that_fit() -> None:
    from console.tui.screens.wallboard import backlog_caption

    counts = {"P1": 2, "P2": 29, "P3": 67, "P4": 24}
    assert backlog_caption(counts, 40) == "P1 2 P2 29 P3 67 P4 24"
    assert backlog_caption(counts, 19) == "P1 2 P2 29 P3 67"
    assert backlog_caption(counts, 12) == "P1 2 P2 29"
    assert backlog_caption(counts, 3) == "P1 2"  # never nothing
    assert backlog_caption(counts, 0) == "P1 2 P2 29 P3 67 P4 24"  # width not known yet
