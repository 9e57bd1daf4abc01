"""Hostile text (markup, terminal escapes, bidi overrides, a 10,000-character line, emoji and CJK) in every field a
customer or an admin's file controls: the console draws it literally and nothing of it reaches the terminal as a
control sequence; the CLI refuses it in agent names and cleans it out of imported articles."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from textual._compositor import LayoutUpdate
from textual.app import App
from textual.command import CommandPalette
from textual.widgets import OptionList, Select, TabbedContent, TextArea

from console.rules.errors import BadInput
from console.rules.validation import check_agent_name, check_display_name
from console.service.helpdesk import HelpdeskService
from console.service.replies import load_macros
from console.tui.app import HelpdeskApp
from console.tui.screens.macro import MacroDialog
from console.tui.screens.modals import AgentDialog, EscalateDialog
from console.tui.screens.queue import QueueScreen
from console.tui.screens.ticket import TicketScreen
from console.tui.screens.wallboard import WallboardScreen
from tests.conftest import FrozenClock, Result, settle
from widgets.knowledge_pane import KnowledgePane
from widgets.queue_table import QueueTable
from widgets.safe_text import clean, plain

Team = Callable[[str], HelpdeskService]

LONG = "L" * 10_000
HOSTILE = (
    "[/unclosed",
    "[@click=app.quit]x[/]",
    "[b red]big[/]",
    "\x1b[2J",
    "\x1b]0;title\x07",
    "\u202e",
    "\x9b31m",
    LONG,
    "😀 客户 中文",
)
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# What must never be drawn: C0 (line ends are cursor moves, not text, on screen), DEL, C1, bidi controls.
NEVER_DRAWN = re.compile("[\x00-\x1f\x7f-\x9f" + BIDI + "]")
# What the console itself sends around the text: colours and attributes (SGR) and cursor moves.
OWN_SEQUENCES = re.compile(r"\x1b\[[0-9;:?]*[A-Za-z]")


def screen_output(app: App[None]) -> tuple[str, str]:
    """The current screen as the terminal would get it: (its text, one line per row; the raw bytes written).

    The compositor's full update is what Textual writes on a repaint (the same call `export_screenshot` makes)."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    assert isinstance(update, LayoutUpdate)
    rows = ["".join(seg.text for strip in row for seg in strip if not seg.control) for row in update.strips]
    console = Console(file=None, force_terminal=True, color_system="truecolor", legacy_windows=False)
    raw = update.render_segments(console)
    return "\n".join(rows), raw


def assert_safe(app: App[None]) -> str:
    """No control character is drawn and no escape sequence but the console's own is written; the text is returned
    (with every wide character's following cell collapsed, so it can be searched)."""
    text, raw = screen_output(app)
    drawn = NEVER_DRAWN.findall(text.replace("\n", ""))
    assert not drawn, drawn[:5]
    written = NEVER_DRAWN.findall(OWN_SEQUENCES.sub("", raw).replace("\n", ""))
    assert not written, written[:5]
    return text


def macros_toml() -> str:
    """Macros whose titles are the hostile set (TOML escapes the controls; the loader keeps them)."""
    entries = []
    for index, title in enumerate(("Greeting [/unclosed", *HOSTILE)):
        quoted = json.dumps(title, ensure_ascii=False)  # \u001b and friends: valid TOML basic-string escapes
        entries.append(
            f'[[macros]]\nid = "m{index}"\ntitle_en = {quoted}\ntitle_zh = {quoted}\n'
            f"body_en = {quoted}\nbody_zh = {quoted}\n"
        )
    return "\n".join(entries)


@pytest.fixture
def hostile(team: Team) -> HelpdeskService:
    """Sue (supervisor) on a database where every customer-controlled and config field is hostile."""
    boss = team("boss")
    boss.add_agent("[/unclosed", "agent", "L1")
    boss.add_agent("[@click=app.quit]x[/]", "agent", "L2", "[b red]big[/] 😀 客服")
    load_macros(boss, macros_toml())
    sue = team("sue")
    first = sue.create_ticket(
        "[/unclosed [@click=app.quit]x[/] \x1b[2J\u202e end",
        LONG + "\n\x1b]0;title\x07 \x9b31m 😀 中文",
        customer="[b red]big[/] \x1b]0;title\x07",
        organisation="\u202eAcme [/unclosed",
        customer_tier="[/unclosed\x9b31m",
        priority="P1",
    )
    sue.create_ticket(
        "[b red]big[/] 😀 中文主题 \x9b31m", "body", customer="客户 [@click=app.quit]x[/]\u202e", priority="P2"
    )
    sue.customer_reply(first.id, "[b red]big[/] \x1b[2J reply\ttabbed")
    sue.add_article(
        "Unclosed [/unclosed \x1b[2J [b red]big[/] \u202e",  # straight into the store: drawn safely all the same
        "Body [@click=app.quit]x[/] \x1b]0;title\x07 " + LONG,
        tags="[b red]big[/]",
    )
    return sue


def make_app(
    svc: HelpdeskService, clock: FrozenClock, *, wallboard: bool = False, show_customers: bool = False
) -> HelpdeskApp:
    return HelpdeskApp(
        svc,
        clock=lambda: clock().timestamp(),
        live_interval=3600,
        wallboard=wallboard,
        show_customers=show_customers,
    )


async def open_ticket(pilot, app: HelpdeskApp) -> TicketScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    assert isinstance(app.screen, QueueScreen)
    assert app.screen.query_one(QueueTable).total == 2
    await pilot.press("enter")  # the P1, most urgent
    await settle(pilot)
    assert isinstance(app.screen, TicketScreen)
    return app.screen


# -- the one helper ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_is_literal_and_visible(text: str) -> None:
    shown = plain(text)
    assert shown.plain == clean(text)
    assert not shown.spans  # no markup was read
    assert not NEVER_DRAWN.search(shown.plain)
    assert len(shown.plain) == len(text)  # one visible stand-in per character: offsets still hold


def test_clean_multiline_keeps_line_breaks_and_tabs_only() -> None:
    assert clean("a\tb\nc\x1b\r", multiline=True) == "a\tb\nc␛␍"
    assert clean("a\tb\nc") == "a␉b␊c"


# -- the console -------------------------------------------------------------------------------------------------


async def test_queue_and_ticket_screen_draw_hostile_text_literally(
    hostile: HelpdeskService, clock: FrozenClock
) -> None:
    app = make_app(hostile, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        text = assert_safe(app)
        assert "[/unclosed [@click=app.quit]x[/] [2J\ufffd end" in text  # stored without ESC; the override shown
        assert "[b red]big[/] 😀 中文主题" in text
        screen = await open_ticket(pilot, app)
        text = assert_safe(app)
        assert "[/unclosed [@click=app.quit]x[/] [2J\ufffd end" in text
        assert "[b red]big[/] ]0;title" in text
        assert "\ufffdAcme [/unclosed" in text
        assert "LLLL" in text  # the 10,000-character line wraps
        screen.query_one("#conversation-scroll").scroll_end(animate=False)
        await settle(pilot)
        text = assert_safe(app)
        assert "[b red]big[/] [2J reply" in text  # the tab of "reply\ttabbed" drawn as spaces
        assert re.search(r"reply +tabbed", text), text
        screen.query_one(TabbedContent).active = "tab-customer"
        await settle(pilot)
        text = assert_safe(app)
        assert "[/unclosed31m" in text  # the customer tier, C1 removed on the way in
        assert isinstance(app.screen, TicketScreen)


async def test_command_palette_on_a_ticket_shows_macro_titles_as_typed(
    hostile: HelpdeskService, clock: FrozenClock
) -> None:
    app = make_app(hostile, clock)
    async with app.run_test(size=(160, 60)) as pilot:
        await open_ticket(pilot, app)
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Macro")  # only the macros (and the macro key), so they all fit
        await settle(pilot)
        text = assert_safe(app)
        for shown in (
            "Macro: Greeting [/unclosed",
            "Macro: [@click=app.quit]x[/]",
            "Macro: [b red]big[/]",
            "Macro: ␛[2J",
            "Macro: ␛]0;title␇",
            "Macro: \ufffd",
            "Macro: \ufffd31m",
            "Macro: LLLLLLLL",
            "put this canned reply into the composer",
        ):
            assert shown in text, shown
        assert "Macro: " + "L" * 72 + "…" in text  # cut to one line
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)  # nothing quit, nothing crashed


async def test_palette_discovery_and_choosing_a_hostile_macro(hostile: HelpdeskService, clock: FrozenClock) -> None:
    app = make_app(hostile, clock)
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await open_ticket(pilot, app)
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert_safe(app)  # the unfiltered list (discovery) too
        await pilot.press(*"Greeting [/")
        await settle(pilot)
        assert_safe(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        composer = screen.query_one("#composer-text").text  # type: ignore[attr-defined]
        assert composer == "Greeting [/unclosed"
        assert_safe(app)


async def test_macro_picker_and_composer(hostile: HelpdeskService, clock: FrozenClock) -> None:
    app = make_app(hostile, clock)
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await open_ticket(pilot, app)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert isinstance(app.screen, MacroDialog)
        text = assert_safe(app)
        assert "[ ] [@click=app.quit]x[/]" in text
        assert "[ ] ␛]0;title␇" in text
        options = app.screen.query_one(OptionList)
        options.highlighted = 4  # "\x1b[2J": its body goes into the composer
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        assert screen.query_one("#composer-text").text == "␛[2J"  # type: ignore[attr-defined]
        assert_safe(app)


async def test_knowledge_pane(hostile: HelpdeskService, clock: FrozenClock) -> None:
    app = make_app(hostile, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_ticket(pilot, app)
        await pilot.press("ctrl+f")
        await settle(pilot)
        await pilot.press(*"unclosed")
        await pilot.pause(0.3)
        await settle(pilot)
        pane = screen.query_one(KnowledgePane)
        assert pane.display
        text = assert_safe(app)
        assert "Unclosed [/unclosed ␛[2J [b red]big[/] \ufffd" in text
        assert "articles for “unclosed”" in text
        await pilot.press("enter")  # the results
        await pilot.press("enter")  # open the article
        await settle(pilot)
        text = assert_safe(app)
        assert "Body [@click=app.quit]x[/] ␛]0;title␇" in text
        await pilot.press("I")  # its text into the reply
        await settle(pilot)
        composer = screen.query_one("#composer-text").text  # type: ignore[attr-defined]
        assert "␛[2J" in composer and "\x1b" not in composer
        assert_safe(app)


async def test_knowledge_search_text_with_markup(hostile: HelpdeskService, clock: FrozenClock) -> None:
    """The heading quotes what was typed: markup in it is shown, not parsed (a `[/` once crashed the console)."""
    app = make_app(hostile, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_ticket(pilot, app)
        await pilot.press("ctrl+f")
        await settle(pilot)
        await pilot.press(*"[/x")
        await pilot.pause(0.3)
        await settle(pilot)
        text = assert_safe(app)
        assert "“[/x”" in text


async def test_assign_dialog_and_its_notification(hostile: HelpdeskService, clock: FrozenClock) -> None:
    app = make_app(hostile, clock)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        screen = await open_ticket(pilot, app)
        await pilot.press("A")
        await settle(pilot)
        assert isinstance(app.screen, AgentDialog)
        text = assert_safe(app)
        assert "[/unclosed  L1  agent" in text
        assert "[@click=app.quit]x[/]  L2  agent" in text
        options = app.screen.query_one(OptionList)
        index = next(
            i for i in range(options.option_count) if options.get_option_at_index(i).id == "[@click=app.quit]x[/]"
        )
        options.highlighted = index
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        assert screen.detail is not None and screen.detail.ticket.assignee == "[@click=app.quit]x[/]"
        text = assert_safe(app)
        assert "Assigned to [@click=app.quit]x[/]." in text  # the toast, literal


async def test_escalate_dialog(hostile: HelpdeskService, clock: FrozenClock) -> None:
    app = make_app(hostile, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_ticket(pilot, app)
        await pilot.press("E")
        await settle(pilot)
        assert isinstance(app.screen, EscalateDialog)
        text = assert_safe(app)
        assert "Symptoms: [/unclosed [@click=app.quit]x[/] [2J\ufffd end" in text
        notes = app.screen.query_one("#notes", TextArea).text
        assert "Customer contact: [b red]big[/] ]0;title" in notes and not NEVER_DRAWN.search(notes.replace("\n", ""))
        app.screen.query_one("#to", Select).expanded = True
        await settle(pilot)
        text = assert_safe(app)
        assert "[@click=app.quit]x[/] · L2 · agent" in text
        assert "[/unclosed · L1 · agent" in text
        await pilot.press("escape")


async def test_notifications_are_plain(hostile: HelpdeskService, clock: FrozenClock) -> None:
    app = make_app(hostile, clock)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await settle(pilot)
        app.notify("[/unclosed \x1b[2J \u202e [b red]big[/]", title="[b]t\x07")
        await settle(pilot)
        text = assert_safe(app)
        assert "[/unclosed ␛[2J \ufffd [b red]big[/]" in text
        assert "[b]t␇" in text


async def test_wallboard(hostile: HelpdeskService, clock: FrozenClock) -> None:
    hostile.assign(1, "[/unclosed")
    app = make_app(hostile, clock, wallboard=True, show_customers=True)
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WallboardScreen)
        text = assert_safe(app)
        assert "[/unclosed [@click=app.quit]x[/] [2J\ufffd end" in text
        assert re.search(r"\[/unclosed +1 +0", text)  # the agents table
        assert "[@click=app.quit]x[/]" in text.split("Agents", 1)[1]


async def test_report_grouped_by_customer(hostile: HelpdeskService, clock: FrozenClock) -> None:
    from console.tui.screens.report import ReportScreen

    app = make_app(hostile, clock)
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, ReportScreen)
        for _ in range(5):  # none, agent, tier, priority, channel, customer
            await pilot.press("b")
            await settle(pilot)
        text = assert_safe(app)
        assert "[b red]big[/] ]0;title" in text


# -- names and imports (CLI) -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", ["ev\u202eil", "a\u2066b", "x\u200fy", "x\u061cy", "del\x7f", "c1\x9b31m", "esc\x1b[2J", "nul\x00"]
)
def test_agent_names_with_controls_or_bidi_are_refused(seeded: Callable[..., Result], bad: str) -> None:
    result = seeded("agent", "add", bad, "--tier", "L1")
    assert result.code == 2
    assert result.err.startswith("helpdesk: ") and result.err.count("\n") == 1
    assert not NEVER_DRAWN.search(result.err.rstrip("\n"))  # the name is quoted with escapes, never raw
    assert bad not in seeded("agent", "list", "--json").out


@pytest.mark.parametrize("bad", ["Li \u202eWei", "Li\x7f", "Li \x9b31m", "Li\x1b[2J", "Li\nWei", "x" * 201])
def test_display_names_with_controls_or_bidi_are_refused(seeded: Callable[..., Result], bad: str) -> None:
    result = seeded("agent", "add", "newbie", "--tier", "L1", "--display-name", bad)
    assert result.code == 2
    assert result.err.startswith("helpdesk: ") and result.err.count("\n") == 1
    assert not NEVER_DRAWN.search(result.err.rstrip("\n"))
    assert "newbie" not in seeded("agent", "list", "--json").out


def test_markup_and_wide_names_are_accepted_as_typed(seeded: Callable[..., Result]) -> None:
    assert seeded("agent", "add", "[/unclosed", "--tier", "L1", "--display-name", "[b red]big[/] 😀 客服").code == 0
    agents = {a["name"]: a for a in seeded("agent", "list", "--json").json()}
    assert agents["[/unclosed"]["display_name"] == "[b red]big[/] 😀 客服"


def test_name_rules() -> None:
    for bad in ("a\u202ab", "a\u2069", "a\x85", "a\ud800", "a\u2028b"):
        with pytest.raises(BadInput):
            check_agent_name(bad)
        with pytest.raises(BadInput):
            check_display_name(bad)
    check_agent_name("李伟😀")
    check_display_name("Li Wei 李伟 [b]")


def test_kb_import_cleans_control_characters(seeded: Callable[..., Result], tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "esc.md").write_text(
        "# Reset \x1b[2Jthe\x07 router\x00\n\nStep\x1b]0;t\x07 one\tthen\x9b31m two\r\nend\x7f\n"
    )
    (folder / "lines.jsonl").write_text(
        json.dumps(
            {"title": "VPN\x1b[31m drops\x00", "body": "a\x07b\nc", "tags": ["x\x1by", "z"], "product": "p\x9bq"}
        )
        + "\n"
    )
    result = seeded("kb", "import", str(folder), "--json")
    assert result.code == 0, result.err
    first, second = result.json()["ids"]
    md = seeded("kb", "show", str(first), "--json").json()
    assert md["title"] == "Reset [2Jthe router"
    assert md["body"] == "Step]0;t one\tthen31m two\nend"
    jl = seeded("kb", "show", str(second), "--json").json()
    assert (jl["title"], jl["body"], jl["tags"], jl["product"]) == ("VPN[31m drops", "ab\nc", "xy, z", "pq")


def test_kb_import_still_refuses_an_empty_title_once_cleaned(seeded: Callable[..., Result], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"title": "\x1b\x07", "body": "text"}) + "\n")
    result = seeded("kb", "import", str(bad))
    assert result.code == 2
    assert "title" in result.err


@pytest.mark.parametrize("name", ["system", "mail", "System", "MAIL"])
def test_the_helpdesks_own_actors_names_are_no_agents(seeded: Callable[..., Result], name: str) -> None:
    """The sweep records as `system` and the mail channel as `mail`: an agent of that name would be indistinguishable
    from them in the record."""
    result = seeded("agent", "add", name, "--tier", "L1")
    assert result.code == 2 and "the helpdesk's own name" in result.err and result.err.count("\n") == 1
    assert f'"name": "{name}"' not in seeded("agent", "list", "--json").out
