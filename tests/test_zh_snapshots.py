"""The console and the wallboard in Simplified Chinese at 80×24: snapshots, and nothing cut off at the edges.

Double-width characters are where terminal layouts break: a column two cells too wide pushes the row over the
edge, a cut through the middle of a character leaves half of it behind. The snapshots are for a person to look at;
the footer and dialog checks fail on their own when a translation grows past the screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.widgets import Footer

from console.i18n import set_language
from console.service.helpdesk import HelpdeskService
from console.tui.screens.modals import CloseDialog, EscalateDialog
from tests import test_console as console_tests
from tests import test_wallboard as wallboard_tests
from tests.conftest import FrozenClock, settle

SIZE = (80, 24)
Team = Callable[[str], HelpdeskService]


@pytest.fixture
def chinese() -> Iterator[None]:
    """Chinese from before the app is built (bindings are translated when screens are made) until after."""
    set_language("zh")
    yield
    set_language("en")


@pytest.fixture
def zh_service(chinese: None, team: Team) -> HelpdeskService:
    li = team("li.wei")
    ids = console_tests.seed(li)
    li.reply(ids[0], "您好，我是技术支持李伟，工程师正在赶往现场。")
    li.customer_reply(ids[0], "谢谢，这边还是断网。")
    li.note(ids[0], "已向厂商报修，单号 4471")
    return li


_app = console_tests._app  # the English snapshots' app: frozen clock, no live polling


async def _open_ticket(pilot) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


# -- snapshots ----------------------------------------------------------------------------------------------


def test_snapshot_queue_zh(snap_compare, zh_service: HelpdeskService, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(_app(zh_service, clock), terminal_size=SIZE, run_before=settle)


def test_snapshot_ticket_zh(snap_compare, zh_service: HelpdeskService, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(_app(zh_service, clock), terminal_size=SIZE, run_before=_open_ticket)


@pytest.mark.parametrize("key", ["E", "c"])
def test_snapshot_modals_zh(snap_compare, zh_service: HelpdeskService, clock: FrozenClock, key: str) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _open_ticket(pilot)
        if key == "c":
            await console_tests.restore_by_keys(pilot)
        await pilot.press(key)
        await settle(pilot)

    assert snap_compare(_app(zh_service, clock), terminal_size=SIZE, run_before=run_before)


def test_snapshot_wallboard_zh(
    snap_compare: Callable[..., bool], chinese: None, team: Team, clock: FrozenClock, db_path: Path
) -> None:
    wallboard_tests.seed(team, clock)
    app = wallboard_tests.board_app(db_path)
    assert snap_compare(app, terminal_size=SIZE, run_before=wallboard_tests._wait_for_board)


# -- nothing falls off the screen -------------------------------------------------------------------------


async def _footer_lost(svc: HelpdeskService, clock: FrozenClock, lang: str) -> dict[str, list[str]]:
    """Per screen, the keys whose footer entry is not wholly on screen (the footer scrolls rather than wraps)."""
    set_language(lang)
    app = _app(svc, clock)
    lost: dict[str, list[str]] = {}
    async with app.run_test(size=SIZE) as pilot:
        for name in ("queue", "ticket"):
            await settle(pilot)
            footer = app.screen.query_one(Footer)
            docked = footer.query(".-command-palette")  # drawn over the right end of the footer
            edge = min([SIZE[0], *(key.region.x for key in docked)])
            lost[name] = [
                str(getattr(key, "key", key))
                for key in footer.query("FooterKey")
                if not key.has_class("-command-palette") and (key.region.width == 0 or key.region.right > edge)
            ]
            await pilot.press("enter")
    return lost


async def test_chinese_footers_fit_where_english_ones_do(
    chinese: None, zh_service: HelpdeskService, clock: FrozenClock
) -> None:
    """Every footer key the English footer shows at 80 columns is shown in Chinese too (the words are shorter)."""
    english = await _footer_lost(zh_service, clock, "en")
    chinese_lost = await _footer_lost(zh_service, clock, "zh")
    for screen, lost in chinese_lost.items():
        assert set(lost) <= set(english[screen]), screen


async def test_shown_binding_descriptions_are_short(chinese: None, zh_service: HelpdeskService) -> None:
    """Footer words of at most four Chinese characters (回复/备注/认领/待回复/升级/解决/关闭)."""
    app = _app(zh_service, FrozenClock())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        long = [
            b.description
            for node in (app, app.screen)
            for bindings in node._bindings.key_to_bindings.values()
            for b in bindings
            if b.show and cell_len(b.description) > 8
        ]
        assert long == []


@pytest.mark.parametrize("key, dialog", [("E", EscalateDialog), ("c", CloseDialog)])
async def test_modals_fit_at_80x24(
    chinese: None, zh_service: HelpdeskService, clock: FrozenClock, key: str, dialog: type
) -> None:
    app = _app(zh_service, clock)
    async with app.run_test(size=SIZE) as pilot:
        await _open_ticket(pilot)
        if key == "c":
            await console_tests.restore_by_keys(pilot)
        await pilot.press(key)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, dialog)
        box = screen.query_one(".dialog").region
        assert box.x >= 0 and box.y >= 0 and box.right <= SIZE[0] and box.bottom <= SIZE[1]
        for button in screen.query("Button"):
            region = button.region
            assert region.width > 0 and region.right <= box.right and region.bottom <= box.bottom, button.id
