"""The agent console driven by keys alone (Pilot), with the database checked afterwards; and snapshots."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from console.service.helpdesk import HelpdeskService
from console.tui.app import HelpdeskApp
from console.tui.screens.modals import CloseDialog, EscalateDialog
from console.tui.screens.queue import QueueScreen
from console.tui.screens.ticket import TicketScreen
from tests.conftest import FrozenClock, settle
from widgets.queue_table import QueueTable

Team = Callable[[str], HelpdeskService]


def seed(svc: HelpdeskService) -> list[int]:
    ids = [
        svc.create_ticket(
            "Urgent outage: core switch down",
            "Whole floor offline",
            customer="Acme Ops",
            email="ops@acme.test",
            phone="+1 555 0100",
            organisation="Acme",
            priority="P1",
        ).id,
        svc.create_ticket(
            "打印机无法打印，三楼",
            "三楼的惠普打印机显示脱机",
            customer="张伟",
            email="zw@example.cn",
            organisation="华东电力",
            priority="P2",
            channel="phone",
        ).id,
        svc.create_ticket(
            "[bold red]hostile[/] \x1b]0;pwned\x07 subject", "body", customer="Mallory", priority="P3"
        ).id,
    ]
    return ids


def make_app(svc: HelpdeskService, clock: FrozenClock) -> HelpdeskApp:
    return HelpdeskApp(svc, clock=lambda: clock().timestamp(), live_interval=0.2)


async def open_first(pilot, app: HelpdeskApp) -> TicketScreen:  # type: ignore[no-untyped-def]
    await pilot.pause(0.3)
    assert isinstance(app.screen, QueueScreen)
    assert app.screen.query_one(QueueTable).total == 3
    await pilot.press("enter")
    await pilot.pause(0.3)
    assert isinstance(app.screen, TicketScreen)
    return app.screen


async def test_queue_sorted_and_open_by_enter(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    ids = seed(li)
    app = make_app(li, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_first(pilot, app)
        assert screen.ticket_id == ids[0]  # the P1 is most urgent
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert isinstance(app.screen, QueueScreen)


async def test_reply_note_assign_pending_by_keys(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    ids = seed(li)
    app = make_app(li, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_first(pilot, app)
        await pilot.press("a")
        await settle(pilot)
        assert li.ticket(ids[0]).assignee == "li.wei"
        await pilot.press("r")
        await pilot.press(*"Hello, this is Li Wei. The switch is being replaced now.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert [m.kind for m in li.store.messages(ids[0])] == ["reply"]
        await pilot.press("m")
        await pilot.press(*"called vendor")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert [m.kind for m in li.store.messages(ids[0])] == ["reply", "note"]
        await pilot.press("p")
        await settle(pilot)
        assert li.ticket(ids[0]).status == "pending"
        await pilot.press("escape")  # skip the customer notice the composer offers
        await pilot.press("p")
        await settle(pilot)
        assert li.ticket(ids[0]).status == "open"


async def test_single_keys_do_not_fire_while_typing(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    ids = seed(li)
    app = make_app(li, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_first(pilot, app)
        await pilot.press("m")
        await pilot.press(*"pax")  # p = pending, a = assign, x = resolve outside the editor
        await settle(pilot)
        t = li.ticket(ids[0])
        assert t.status == "new" and t.assignee is None


async def test_forbidden_phrase_rephrase_and_send_anyway(team: Team, clock: FrozenClock) -> None:
    from console.tui.screens.guard import GuardDialog

    li = team("li.wei")
    ids = seed(li)
    app = make_app(li, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_first(pilot, app)
        await pilot.press("r")
        await pilot.press(*"Sorry, I am not sure about that.")
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        assert isinstance(app.screen, GuardDialog)
        await pilot.press("escape")  # rephrase
        await pilot.pause(0.1)
        assert li.store.messages(ids[0]) == []
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        assert isinstance(app.screen, GuardDialog)
        app.screen.query_one("#guard-reason").focus()
        await pilot.press(*"quoting the customer")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert [m.kind for m in li.store.messages(ids[0])] == ["reply"]
        event = li.store.events(ids[0])[-1]
        assert event.kind == "reply" and event.detail["guard_override"] == "quoting the customer"


async def test_escalate_modal_submits_and_esc_changes_nothing(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    ids = seed(li)
    app = make_app(li, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_first(pilot, app)
        before = li.store.count_events()
        await pilot.press("E")
        await pilot.pause(0.2)
        assert isinstance(app.screen, EscalateDialog)
        await pilot.press("escape")
        await settle(pilot)
        assert li.store.count_events() == before and li.ticket(ids[0]).tier == "L1"
        await pilot.press("E")
        await pilot.pause(0.2)
        await pilot.press("ctrl+s")  # no reason yet: refused in the dialog
        await pilot.pause(0.1)
        assert isinstance(app.screen, EscalateDialog)
        await pilot.press(*"needs network team")
        app.screen.query_one("#tried").focus()
        await pilot.press(*"power-cycled the switch")
        app.screen.query_one("#impact").focus()
        await pilot.press(*"whole floor offline")
        await pilot.press("ctrl+s")  # the handover notice (ticked) tells the customer
        await settle(pilot)
        t = li.ticket(ids[0])
        assert (t.tier, t.status, t.assignee) == ("L2", "open", None)
        ev = li.store.events(ids[0])[-1]
        assert ev.kind == "escalated" and ev.detail["reason"] == "needs network team"
        assert ev.detail["tried"] == "power-cycled the switch" and ev.detail["impact"] == "whole floor offline"
        assert "Symptoms:" in ev.detail["notes"]
        assert li.store.count_events() == before + 1
        assert [m.kind for m in li.store.messages(ids[0])] == ["reply", "note"]  # the notice, the handoff note


async def test_close_modal_closed_loop_and_esc(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    ids = seed(li)
    li.assign(ids[0])
    li.reply(ids[0], "An engineer is on the way.")
    li.restore(ids[0], "Traffic rerouted over the backup link")
    app = make_app(li, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        await app.push_screen(TicketScreen(ids[0]))
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause(0.2)
        assert isinstance(app.screen, CloseDialog)
        await pilot.press("escape")
        await settle(pilot)
        assert li.ticket(ids[0]).status == "restored"
        await pilot.press("c")
        await pilot.pause(0.2)
        await pilot.press(*"Replaced the core switch")
        app.screen.query_one("#confirm").focus()
        await pilot.press("enter")  # confirmed by phone (the first choice): chosen, never the default
        await pilot.press("ctrl+s")  # not asked whether anything else: refused
        await pilot.pause(0.1)
        assert isinstance(app.screen, CloseDialog)
        app.screen.query_one("#asked").focus()
        await pilot.press("space")
        app.screen.query_one("#kb-needed").focus()
        await pilot.press("space")
        await pilot.press("ctrl+s")  # follow-up date is prefilled for P1
        await settle(pilot)
        t = li.ticket(ids[0])
        assert t.status == "closed" and t.confirmed and t.asked_anything_else and t.kb_needed
        assert t.confirmed_by == "phone"
        assert t.followup_due == (clock() + timedelta(days=3)).date().isoformat()  # the prefilled default
        assert len(li.drafts()) == 1


async def test_restore_resolve_reopen_by_keys(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    ids = seed(li)
    app = make_app(li, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_first(pilot, app)
        await pilot.press("s")
        await pilot.pause(0.2)
        await pilot.press(*"rerouted via backup link")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert li.ticket(ids[0]).status == "restored"
        await pilot.press("x")
        await pilot.pause(0.2)
        await pilot.press("ctrl+s")  # prefilled with the workaround text
        await settle(pilot)
        assert li.ticket(ids[0]).status == "resolved"
        await pilot.press("u")
        await pilot.pause(0.2)
        await pilot.press(*"customer says it failed again")
        await pilot.press("ctrl+s")
        await settle(pilot)
        t = li.ticket(ids[0])
        assert t.status == "open" and t.reopens == 1


async def test_assign_to_other_needs_supervisor(team: Team, clock: FrozenClock) -> None:
    sue = team("sue")
    ids = seed(sue)
    app = make_app(sue, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_first(pilot, app)
        await pilot.press("A")
        await pilot.pause(0.2)
        await pilot.press("down", "enter")
        await settle(pilot)
        agents = [a.name for a in sue.agents() if a.active]
        assert sue.ticket(ids[0]).assignee == agents[1]  # the list opens on the first agent; "down" picks the next


async def test_stale_view_is_refused_and_refreshed(team: Team, clock: FrozenClock) -> None:
    li, ann = team("li.wei"), team("ann")
    ids = seed(li)
    # no look at the change feed during the test: the view must still be the stale one when the key is pressed
    app = HelpdeskApp(li, clock=lambda: clock().timestamp(), live_interval=3600)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_first(pilot, app)
        await settle(pilot)
        ann.assign(ids[0])  # another agent acts meanwhile
        assert screen.detail is not None and screen.detail.ticket.version == 1
        await pilot.press("p")
        await settle(pilot)
        assert li.ticket(ids[0]).status == "open"  # ann's assignment stands; pending was refused
        assert any("changed" in str(n.message) for n in app._notifications)


async def test_queue_views_and_filter(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    ids = seed(li)
    li.assign(ids[1])
    app = make_app(li, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.3)
        table = app.screen.query_one(QueueTable)
        await pilot.press("1")
        await settle(pilot)
        assert table.total == 1
        await pilot.press("5")
        await settle(pilot)
        assert table.total == 3
        await pilot.press("slash")
        await pilot.press(*"打印")
        await settle(pilot)
        assert table.total == 1
        await pilot.press("escape")
        await settle(pilot)
        assert table.total == 3


async def test_help_lists_keys(team: Team, clock: FrozenClock) -> None:
    from console.tui.screens.help import HelpScreen

    li = team("li.wei")
    seed(li)
    app = make_app(li, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")


# -- snapshots --------------------------------------------------------------------------------------------------

SIZES = [(80, 24), (160, 48)]


@pytest.fixture
def snap_service(team: Team) -> HelpdeskService:
    li = team("li.wei")
    ids = seed(li)
    li.reply(ids[0], "Hello, this is Li Wei from support; an engineer is on the way.")
    li.customer_reply(ids[0], "Thanks — still down here.")
    li.note(ids[0], "Vendor ticket 4471 opened")
    return li


def _app(svc: HelpdeskService, clock: FrozenClock) -> HelpdeskApp:
    return HelpdeskApp(svc, clock=lambda: clock().timestamp(), live_interval=3600)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_queue(snap_compare, snap_service: HelpdeskService, clock: FrozenClock, size) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)

    assert snap_compare(_app(snap_service, clock), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_ticket(snap_compare, snap_service: HelpdeskService, clock: FrozenClock, size) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(_app(snap_service, clock), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("key", ["E", "c"])
def test_snapshot_modals(snap_compare, snap_service: HelpdeskService, clock: FrozenClock, size, key: str) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        if key == "c":
            await restore_by_keys(pilot)
        await pilot.press(key)
        await settle(pilot)

    assert snap_compare(_app(snap_service, clock), terminal_size=size, run_before=run_before)


async def restore_by_keys(pilot) -> None:  # type: ignore[no-untyped-def]
    """Restore the open ticket's service (a ticket closes only once restored or resolved)."""
    await pilot.press("s")
    await settle(pilot)
    await pilot.press(*"Rerouted over the backup link", "ctrl+s")
    await settle(pilot)


def test_every_snapshot_on_file_belongs_to_a_test() -> None:
    """Snapshots live beside the tests, one file per parametrised case, and none is left over from a removed one."""
    here = Path(__file__).parent / "__snapshots__" / "test_console"
    sizes = [f"size{i}" for i in range(len(SIZES))]
    expected = {f"test_snapshot_{name}[{s}].svg" for name in ("queue", "ticket") for s in sizes}
    expected |= {f"test_snapshot_modals[{key}-{s}].svg" for key in ("E", "c") for s in sizes}
    assert {p.name for p in here.glob("*.svg")} == expected


async def test_another_process_commit_shows_within_two_seconds(team: Team, clock: FrozenClock, db_path: Path) -> None:
    import os
    import subprocess
    import sys
    import time

    li = team("li.wei")
    seed(li)
    app = HelpdeskApp(li, clock=lambda: clock().timestamp(), live_interval=1.0)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.5)
        table = app.screen.query_one(QueueTable)
        assert table.total == 3
        env = {**os.environ, "HELPDESK_DB": str(db_path), "HELPDESK_AGENT": "ann"}
        proc = subprocess.run(
            [sys.executable, "-m", "console", "ticket", "new", "--subject", "from another terminal"],
            env=env,
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        committed = time.monotonic()
        while table.total != 4 and time.monotonic() - committed < 5:
            await pilot.pause(0.05)
        assert table.total == 4
        assert time.monotonic() - committed <= 2.0
