"""Drafts of the composer: kept on Esc, brought back when the composer opens again, gone once sent, and on disk
while the agent types, so that a crash loses (almost) nothing."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import TextArea

from console.service.helpdesk import HelpdeskService
from console.tui.app import HelpdeskApp
from console.tui.drafts import DraftKey, DraftStore, state_dir
from console.tui.screens import ticket as ticket_screen
from console.tui.screens.queue import QueueScreen
from console.tui.screens.ticket import TicketScreen
from tests.conftest import FrozenClock, settle
from widgets.queue_table import QueueTable

Team = Callable[[str], HelpdeskService]
TEXT = "On it."


def make_app(svc: HelpdeskService, clock: FrozenClock, drafts: DraftStore | None = None) -> HelpdeskApp:
    return HelpdeskApp(svc, clock=lambda: clock().timestamp(), live_interval=3600, drafts=drafts)


async def open_ticket(pilot, app: HelpdeskApp) -> TicketScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    assert isinstance(app.screen, QueueScreen) and app.screen.query_one(QueueTable).total == 1
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, TicketScreen) and app.screen.detail is not None
    return app.screen


def composer(screen: TicketScreen) -> TextArea:
    return screen.query_one("#composer-text", TextArea)


def notices(app: HelpdeskApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def key(li: HelpdeskService, ticket_id: int, kind: str = "reply") -> DraftKey:
    return DraftKey(li.database_key, li.actor_name, ticket_id, kind)


@pytest.fixture
def li(team: Team) -> HelpdeskService:
    li = team("li.wei")
    li.create_ticket("Core switch down", "Whole floor offline", customer="Acme", priority="P1")
    return li


async def test_escape_keeps_the_draft_and_sending_removes_it(li: HelpdeskService, clock: FrozenClock) -> None:
    app = make_app(li, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_ticket(pilot, app)
        await pilot.press("r", *TEXT)
        await pilot.press("escape")
        await pilot.pause(0.05)
        assert not screen.query_one("#composer").display
        assert any("Draft kept" in n for n in notices(app))
        draft = app.drafts.load(key(li, screen.ticket_id))
        assert draft is not None and draft.text == TEXT

        await pilot.press("r")
        await pilot.pause(0.05)
        assert composer(screen).text == TEXT
        assert "Draft restored." in notices(app)
        await pilot.press(*" ok")  # typing goes on where the draft ended
        assert composer(screen).text == TEXT + " ok"

        await pilot.press("ctrl+s")
        await settle(pilot)
        assert [m.body for m in li.store.messages(screen.ticket_id)] == [TEXT + " ok"]
        assert app.drafts.load(key(li, screen.ticket_id)) is None
        await pilot.press("r")
        await pilot.pause(0.05)
        assert composer(screen).text == ""


async def test_a_note_and_a_reply_keep_their_own_drafts(li: HelpdeskService, clock: FrozenClock) -> None:
    app = make_app(li, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_ticket(pilot, app)
        await pilot.press("m", *"vendor", "escape")
        await pilot.press("r")
        await pilot.pause(0.05)
        assert composer(screen).text == ""  # the internal note does not become a public reply
        await pilot.press("escape", "m")
        await pilot.pause(0.05)
        assert composer(screen).text == "vendor"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.drafts.load(key(li, screen.ticket_id, "note")) is None
        assert [m.kind for m in li.store.messages(screen.ticket_id)] == ["note"]


async def test_a_notice_offered_after_an_action_and_skipped_is_no_draft(
    li: HelpdeskService, clock: FrozenClock
) -> None:
    app = make_app(li, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_ticket(pilot, app)
        await pilot.press("p")  # pending: the composer opens with the notice for the customer
        await settle(pilot)
        offered = composer(screen).text
        assert offered and screen.query_one("#composer").display
        await pilot.press("escape")
        await pilot.pause(0.05)
        assert app.drafts.load(key(li, screen.ticket_id)) is None
        assert not any("Draft kept" in n for n in notices(app))
        await pilot.press("p")  # back to open
        await settle(pilot)
        await pilot.press("p")  # pending again, offered again: this time the agent edits it
        await settle(pilot)
        await pilot.press("!", "escape")
        await pilot.pause(0.05)
        draft = app.drafts.load(key(li, screen.ticket_id))
        assert draft is not None and draft.text == offered.replace("—", "!", 1)  # typed over the selected blank


async def test_a_refused_send_keeps_the_text(team: Team, li: HelpdeskService, clock: FrozenClock) -> None:
    app = make_app(li, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_ticket(pilot, app)
        team("ann").assign(screen.ticket_id)  # meanwhile: the view li.wei replies from is stale
        await pilot.press("r", *TEXT, "ctrl+s")
        await settle(pilot)
        assert li.store.messages(screen.ticket_id) == []
        assert screen.query_one("#composer").display and composer(screen).text == TEXT  # still there to re-check
        draft = app.drafts.load(key(li, screen.ticket_id))
        assert draft is not None and draft.text == TEXT  # and on disk


async def test_what_is_typed_is_on_disk_before_a_crash(
    li: HelpdeskService, clock: FrozenClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ticket_screen, "DRAFT_SAVE_S", 0.1)
    drafts = DraftStore(tmp_path / "drafts")
    app = make_app(li, clock, drafts)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_ticket(pilot, app)
        ticket_id = screen.ticket_id
        await pilot.press("r", *TEXT)
        await pilot.pause(0.4)  # the composer is still open, nothing sent, nothing closed
        saved = drafts.load(key(li, ticket_id))
        assert saved is not None and saved.text == TEXT
        # The crash: from here on nothing this console does reaches the drafts the next one reads.
        app.drafts = DraftStore(tmp_path / "lost")

    again = make_app(li, clock, DraftStore(tmp_path / "drafts"))
    async with again.run_test(size=(120, 30)) as pilot:
        screen = await open_ticket(pilot, again)
        await pilot.press("r")
        await pilot.pause(0.05)
        assert composer(screen).text == TEXT and "Draft restored." in notices(again)


def test_draft_files_are_private_and_per_database_agent_ticket_and_kind(tmp_path: Path) -> None:
    os.umask(0o022)
    store = DraftStore(tmp_path / "drafts")
    mine = DraftKey("/srv/a.db", "li.wei", 7, "reply")
    assert store.save(mine, "你好，打印机已经修好了。", "greeting")
    for other in (
        DraftKey("/srv/b.db", "li.wei", 7, "reply"),
        DraftKey("/srv/a.db", "ann", 7, "reply"),
        DraftKey("/srv/a.db", "li.wei", 8, "reply"),
        DraftKey("/srv/a.db", "li.wei", 7, "note"),
    ):
        assert store.load(other) is None
    draft = store.load(mine)
    assert draft is not None and (draft.text, draft.macro) == ("你好，打印机已经修好了。", "greeting")
    files = list((tmp_path / "drafts").iterdir())
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "drafts").stat().st_mode) == 0o700
    assert store.discard(mine, only_if="something newer") and store.load(mine) is not None
    assert store.save(mine, "   ") and store.load(mine) is None  # an emptied composer leaves no draft


def test_a_damaged_or_unwritable_draft_never_raises(tmp_path: Path) -> None:
    store = DraftStore(tmp_path / "drafts")
    k = DraftKey("/srv/a.db", "li.wei", 7, "reply")
    assert store.save(k, "text")
    (tmp_path / "drafts" / k.file_name()).write_bytes(b"\xff{not json")
    assert store.load(k) is None
    blocked = DraftStore(tmp_path / "file-not-dir" / "drafts")
    (tmp_path / "file-not-dir").write_text("x")
    assert not blocked.save(k, "text") and blocked.load(k) is None


def test_the_state_directory_can_be_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HELPDESK_STATE_DIR", str(tmp_path))
    assert state_dir() == tmp_path and DraftStore().directory == tmp_path / "drafts"
    monkeypatch.delenv("HELPDESK_STATE_DIR")
    assert state_dir().name == "helpdesk"
