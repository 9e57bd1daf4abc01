"""The queue table: windowed rows, cursor and messages, live countdowns, untrusted and Chinese text."""

from __future__ import annotations

import gettext
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len
from textual import on
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.strip import Strip

import console.i18n as i18n
from widgets.countdown import Countdown, countdown_state, format_remaining, unchanged_until
from widgets.queue_table import COMPONENTS, SUBJECT_MIN, QueueRow, QueueTable, layout_columns
from widgets.safe_text import clean, fit

NOW = 1_750_000_000.0
TOTAL = 100_000
HOSTILE = {
    "markup": "[bold red]x[/]",
    "link markup": "[link=http://evil.example]click[/link]",
    "sgr": "\x1b[31mred\x1b[0m",
    "osc8": "\x1b]8;;http://evil.example\x07link\x1b]8;;\x07",
    "title": "\x1b]0;pwned\x07title",
    "c1 csi": "\x9b2J",
    "controls": "a\tb\nc\rd\x00e\x7f",
    "bidi": "\u202egnp.exe",
    "zero width": "pay\u200bpal",
}


class FrozenClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_row(index: int) -> QueueRow:
    """Row ``index`` of the fake queue: clocks from 40 minutes overdue to a few days ahead."""
    due = NOW + (index * 997) % (3 * 86400) - 2400
    return QueueRow(
        ticket_id=index + 1,
        priority=f"P{index % 4 + 1}",
        subject=f"Subject {index + 1}",
        customer=("ACME Corp", "Globex", "Initech")[index % 3],
        status=("open", "pending")[index % 2],
        owner="L2 · li.wei",
        clock="resolve",
        due_at=due,
        warn_at=due - 1800,
        paused_remaining_s=None,
    )


class FakeSource:
    """A queue of ``total`` rows made on demand, recording every window it is asked for."""

    def __init__(self, total: int = TOTAL, make: Callable[[int], QueueRow] = make_row) -> None:
        self.total = total
        self.make = make
        self.requests: list[tuple[int, int]] = []

    def window(self, offset: int, limit: int) -> list[QueueRow]:
        self.requests.append((offset, limit))
        return [self.make(i) for i in range(offset, min(self.total, offset + limit))]


class QueueApp(App[None]):
    def __init__(self, source: FakeSource, clock: FrozenClock | None = None, answer: bool = True) -> None:
        super().__init__()
        self.source = source
        self.clock = clock or FrozenClock()
        self.answer = answer
        self.pending: list[QueueTable.WindowNeeded] = []
        self.chosen: list[int] = []
        self.moved: list[int | None] = []

    def compose(self) -> ComposeResult:
        yield QueueTable(total=self.source.total, clock=self.clock, id="queue")

    @property
    def table(self) -> QueueTable:
        return self.query_one("#queue", QueueTable)

    @on(QueueTable.WindowNeeded, "#queue")
    def fetch(self, event: QueueTable.WindowNeeded) -> None:
        if self.answer:
            rows = self.source.window(event.offset, event.limit)
            event.control.set_window(event.offset, rows, self.source.total)
        else:
            self.pending.append(event)

    def answer_pending(self) -> None:
        for event in self.pending:
            rows = self.source.window(event.offset, event.limit)
            event.control.set_window(event.offset, rows, self.source.total)
        self.pending.clear()

    @on(QueueTable.TicketChosen, "#queue")
    def record_chosen(self, event: QueueTable.TicketChosen) -> None:
        self.chosen.append(event.ticket_id)

    @on(QueueTable.CursorMoved, "#queue")
    def record_moved(self, event: QueueTable.CursorMoved) -> None:
        self.moved.append(event.ticket_id)


def lines(table: QueueTable) -> list[Strip]:
    return [table.render_line(y) for y in range(table.size.height)]


# -- countdown text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "paused", "expected"),
    [
        (None, False, "—"),
        (0, False, "0:00"),
        (59, False, "0:59"),
        (12 * 60 + 4, False, "12:04"),
        (3599, False, "59:59"),
        (3600, False, "1h 00m"),
        (3659, False, "1h 00m"),
        (2 * 3600 + 10 * 60 + 59, False, "2h 10m"),
        (86399, False, "23h 59m"),
        (86400, False, "1d 0h"),
        (3 * 86400 + 4 * 3600 + 3599, False, "3d 4h"),
        (-1, False, "-0:01 overdue"),
        (-35, False, "-0:35 overdue"),
        (-3599, False, "-59:59 overdue"),
        (-3600, False, "-1h 00m overdue"),
        (-(2 * 3600 + 10 * 60), False, "-2h 10m overdue"),
        (3900, True, "⏸ 1h 05m"),
        (125, True, "⏸ 2:05"),
    ],
)
def test_format_remaining(seconds: int | None, paused: bool, expected: str) -> None:
    assert format_remaining(seconds, paused) == expected


def test_countdown_state() -> None:
    assert countdown_state(None, NOW, None) == "none"
    assert countdown_state(600, NOW, NOW + 1) == "ok"
    assert countdown_state(600, NOW, NOW) == "warning"
    assert countdown_state(-1, NOW, NOW) == "breached"
    assert countdown_state(600, NOW, NOW - 5, paused=True) == "paused"
    assert countdown_state(-60, NOW, None, paused=True) == "breached"


def test_countdown_words_are_translated(monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = {
        "{hours}h {minutes:02d}m": "{hours}小时{minutes:02d}分",
        "{days}d {hours}h": "{days}天{hours}小时",
        "-{elapsed} overdue": "超时{elapsed}",
    }

    class Chinese(gettext.NullTranslations):
        def gettext(self, message: str) -> str:
            return catalog.get(message, message)

    monkeypatch.setattr(i18n, "_translation", Chinese())
    assert format_remaining(2 * 3600 + 600) == "2小时10分"
    assert format_remaining(3 * 86400 + 4 * 3600) == "3天4小时"
    assert format_remaining(-7800) == "超时2小时10分"
    assert format_remaining(-35) == "超时0:35"


# -- safe text ---------------------------------------------------------------------------------------


def test_clean_makes_controls_visible() -> None:
    assert clean("[bold]x[/]") == "[bold]x[/]"
    assert clean("\x1b[31mred") == "␛[31mred"
    assert clean("a\tb\nc\x00\x7f") == "a␉b␊c␀␡"
    assert clean("\x9b2J\u202eab\u200bc\ud800") == "\ufffd2J\ufffdab\ufffdc\ufffd"
    for text in HOSTILE.values():
        assert all(ch.isprintable() for ch in clean(text))


def test_fit_never_splits_wide_characters() -> None:
    for width in range(1, 12):
        fitted = fit("打印机坏了ab", width)
        assert cell_len(fitted) == width
    assert fit("打印机坏了", 6) == "打印… "
    assert fit("ab", 4, "right") == "  ab"


# -- layout ------------------------------------------------------------------------------------------

FIXED = {"countdown": 16, "clock": 8, "id": 6, "priority": 3, "status": 9}


def test_wide_layout_shows_every_column() -> None:
    columns = layout_columns(159, dict(FIXED))  # type: ignore[arg-type]
    assert [c.key for c in columns] == [
        "countdown",
        "clock",
        "id",
        "priority",
        "subject",
        "customer",
        "status",
        "owner",
    ]
    assert columns[-1].x + columns[-1].width == 159


def test_narrow_layout_gives_up_owner_before_subject() -> None:
    columns = {c.key: c for c in layout_columns(79, dict(FIXED))}  # type: ignore[arg-type]
    assert "owner" not in columns and "clock" not in columns
    assert columns["customer"].width == 12
    assert columns["subject"].width >= SUBJECT_MIN
    last = max(columns.values(), key=lambda c: c.x)
    assert last.x + last.width <= 79


# -- windowed data -----------------------------------------------------------------------------------


async def test_only_windows_are_requested() -> None:
    source = FakeSource()
    app = QueueApp(source)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert source.requests, "the first paint asks for rows"
        await pilot.press("G")
        await pilot.pause()
        await pilot.press("pageup", "pageup", "k", "g")
        await pilot.pause()
        assert app.table.cursor_ticket_id == 1
    assert all(limit <= 300 for _, limit in source.requests)
    assert sum(limit for _, limit in source.requests) < 2_000
    assert any(offset > TOTAL - 300 for offset, _ in source.requests)


async def test_placeholders_until_rows_arrive() -> None:
    app = QueueApp(FakeSource(), answer=False)
    async with app.run_test(size=(100, 20)) as pilot:
        await pilot.pause()
        assert app.pending
        assert "…" in lines(app.table)[1].text
        app.answer_pending()
        await pilot.pause()
        assert "Subject 1 " in lines(app.table)[1].text


def test_window_requests_coalesce() -> None:
    table, other = QueueTable(), QueueTable()
    first = QueueTable.WindowNeeded(table, 0, 100)
    assert first.can_replace(QueueTable.WindowNeeded(table, 100, 100))
    assert not first.can_replace(QueueTable.WindowNeeded(other, 100, 100))
    assert first.control is table


# -- cursor and messages -----------------------------------------------------------------------------


async def test_cursor_keys_and_enter() -> None:
    app = QueueApp(FakeSource())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.moved == [1]
        await pilot.press("j", "j", "down", "k")
        await pilot.pause()
        assert app.table.cursor_index == 2
        assert app.moved[-1] == 3
        await pilot.press("enter")
        await pilot.pause()
        assert app.chosen == [3]
        await pilot.press("G")
        await pilot.pause()
        assert app.table.cursor_ticket_id == TOTAL
        assert app.moved[-1] == TOTAL
        await pilot.press("enter", "home")
        await pilot.pause()
        assert app.chosen == [3, TOTAL]
        assert app.table.cursor_ticket_id == 1
        await pilot.press("pagedown")
        assert app.table.cursor_index == app.table.size.height - 1


async def test_click_moves_cursor() -> None:
    app = QueueApp(FakeSource())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.click("#queue", offset=(30, 4))
        await pilot.pause()
        assert app.table.cursor_ticket_id == 4


async def test_cursor_stays_on_its_ticket_across_a_refresh() -> None:
    source = FakeSource()
    app = QueueApp(source)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("j", "j", "j")
        await pilot.pause()
        assert app.table.cursor_ticket_id == 4
        moved_before = list(app.moved)
        # A new ticket arrives at the top: every row moves down by one.
        source.make = lambda i: make_row(i - 1) if i else make_row(TOTAL + 5)
        source.total += 1
        app.table.invalidate()
        assert app.table.cursor_ticket_id == 4, "stale rows stay shown until the refetch lands"
        await pilot.pause()
        assert app.table.cursor_ticket_id == 4
        assert app.table.cursor_index == 4
        assert app.table.total == TOTAL + 1
        assert app.moved == moved_before


async def test_reset_starts_over() -> None:
    source = FakeSource()
    app = QueueApp(source)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("pagedown", "pagedown")
        await pilot.pause()
        source.total = 3
        app.table.reset(3)
        await pilot.pause()
        assert app.table.cursor_index == 0
        assert app.table.scroll_offset.y == 0
        assert source.requests[-1] == (0, 3)
        assert "Subject 3" in lines(app.table)[3].text
        assert lines(app.table)[4].text.strip() == ""


# -- ticking -----------------------------------------------------------------------------------------


def clock_row(index: int, due_in: float | None, paused: int | None = None) -> QueueRow:
    due = None if due_in is None else NOW + due_in
    return replace(make_row(index), due_at=due, warn_at=None, paused_remaining_s=paused)


TICK_ROWS = [
    clock_row(0, 600),  # 10:00 → ticks
    clock_row(1, 5 * 3600 + 30),  # 5h 00m: minute granularity, 30 s from flipping
    clock_row(2, -20),  # overdue under an hour → ticks
    clock_row(3, None, paused=900),  # paused: frozen
    clock_row(4, None),  # no clock
    clock_row(5, 3 * 86400 + 1800),  # days
    clock_row(6, 125),  # 2:05 → ticks
]


async def test_tick_repaints_only_changed_countdown_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FrozenClock()
    app = QueueApp(FakeSource(len(TICK_ROWS), lambda i: TICK_ROWS[i]), clock)
    async with app.run_test(size=(100, 20)) as pilot:
        await pilot.pause()
        table = app.table
        regions: list[Region] = []
        rendered: list[int] = []
        refresh, render_line = table.refresh, table.render_line

        def spy_refresh(*args: Region, **kwargs: bool) -> QueueTable:
            regions.extend(args)
            return refresh(*args, **kwargs)

        def spy_render_line(y: int) -> Strip:
            rendered.append(y)
            return render_line(y)

        monkeypatch.setattr(table, "refresh", spy_refresh)
        monkeypatch.setattr(table, "render_line", spy_render_line)

        clock.now += 1
        table.tick()
        await pilot.pause()
        # Lines 1, 3 and 7 hold rows 0, 2 and 6 (line 0 is the header).
        assert sorted(region.y for region in regions) == [1, 3, 7]
        assert all(region.height == 1 for region in regions)
        # "10:00" → "9:59" changes all five cells, "-0:20" → "-0:21" and "2:05" → "2:04" only the last.
        assert sorted((r.y, r.x, r.width) for r in regions) == [(1, 0, 5), (3, 4, 1), (7, 3, 1)]
        content_width = table.scrollable_content_region.width
        assert all(region.right <= content_width for region in regions), "never the scrollbar"
        assert sorted(set(rendered)) == [1, 3, 7]
        assert lines(table)[1].text.startswith("9:59 ")

        regions.clear()
        table.paused = True
        clock.now += 1
        table.tick()
        assert regions == []
        table.paused = False  # resuming ticks at once
        assert sorted(region.y for region in regions) == [1, 3, 7]


async def test_far_deadlines_stay_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [clock_row(i, 2 * 3600 + 59 + (3 * 86400 + 1800) * (i % 2)) for i in range(20)]
    clock = FrozenClock()
    app = QueueApp(FakeSource(len(rows), lambda i: rows[i]), clock)
    async with app.run_test(size=(100, 20)) as pilot:
        await pilot.pause()
        regions: list[Region] = []
        monkeypatch.setattr(app.table, "refresh", lambda *r, **k: regions.extend(r))
        for _ in range(30):
            clock.now += 1
            app.table.tick()
        assert regions == []
        clock.now += 30  # the hour-and-minutes clocks flip a minute
        app.table.tick()
        assert len(regions) == 10


async def test_colour_states_use_component_classes() -> None:
    rows = [replace(clock_row(0, 600), warn_at=NOW - 1), clock_row(1, -5)]
    app = QueueApp(FakeSource(2, lambda i: rows[i]))
    async with app.run_test(size=(100, 10)) as pilot:
        await pilot.pause()
        table = app.table
        warning = table.get_component_rich_style("queue-table--warning", partial=True)
        breached = table.get_component_rich_style("queue-table--breached", partial=True)
        first = table.render_line(1)
        second = table.render_line(2)
        assert first.text.startswith("10:00")
        first_style, second_style = next(iter(first)).style, next(iter(second)).style
        assert first_style is not None and first_style.color == (table.rich_style + warning).color
        assert second_style is not None and second_style.bold
        assert {f"queue-table--{name}" for name in COMPONENTS} == QueueTable.COMPONENT_CLASSES
        assert warning.color != breached.color


# -- untrusted and wide text -------------------------------------------------------------------------


async def test_hostile_text_is_shown_literally() -> None:
    hostile = list(HOSTILE.values())

    def make(index: int) -> QueueRow:
        row = make_row(index)
        text = hostile[index % len(hostile)]
        return QueueRow(row.ticket_id, "P1", text, text, text, text, text, row.due_at, None, None)

    app = QueueApp(FakeSource(len(hostile), make))
    async with app.run_test(size=(160, 20)) as pilot:
        await pilot.pause()
        rendered = lines(app.table)
        texts = [strip.text for strip in rendered]
        assert any("[bold red]x[/]" in text for text in texts)
        assert any("[link=http://evil.example]click[/link]" in text for text in texts)
        assert any("␛[31mred" in text for text in texts)
        for strip in rendered:
            for segment in strip:
                assert segment.style is None or segment.style.link is None
                assert all(ch.isprintable() for ch in segment.text), repr(segment.text)
        # The whole screen as Textual composes it for the terminal.
        for strip in app.screen._compositor.render_strips():
            for segment in strip:
                assert not {"\x1b", "\x07", "\x9b"} & set(segment.text)


async def test_chinese_text_keeps_columns_aligned() -> None:
    subjects = ["打印机坏了无法连接网络打印服务器", "VPN 断线", "邮件a无法同步到手机和电脑上面去了", "x"]
    customers = ["李伟", "上海某某科技有限公司客户服务部", "ACME", "王"]

    def make(index: int) -> QueueRow:
        return replace(make_row(index), subject=subjects[index % 4], customer=customers[index % 4])

    for width in (80, 120):
        app = QueueApp(FakeSource(8, make))
        async with app.run_test(size=(width, 12)) as pilot:
            await pilot.pause()
            table = app.table
            content_width = table.scrollable_content_region.width
            starts = set()
            for strip in lines(table)[1:9]:
                assert cell_len(strip.text) == content_width
                text = strip.text
                position = max(text.rfind(" open "), text.rfind(" pending "))
                starts.add(cell_len(text[:position]))
            assert len(starts) == 1, starts


# -- the header clock --------------------------------------------------------------------------------


class CountdownApp(App[None]):
    def __init__(self, clock: FrozenClock, due_at: float) -> None:
        super().__init__()
        self.countdown = Countdown(due_at, warn_at=due_at - 300, label="Resolve", clock=clock)

    def compose(self) -> ComposeResult:
        yield self.countdown


async def test_countdown_widget(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FrozenClock()
    app = CountdownApp(clock, NOW + 301)
    async with app.run_test(size=(40, 3)) as pilot:
        await pilot.pause()
        countdown = app.countdown
        assert countdown.text == "5:01"
        assert countdown.has_class("-ok")
        clock.now += 2
        countdown.tick()
        assert countdown.text == "4:59"
        assert countdown.has_class("-warning") and not countdown.has_class("-ok")
        clock.now += 400
        countdown.tick()
        assert countdown.text == "-1:41 overdue" and countdown.has_class("-breached")
        countdown.set_deadline(clock.now + 3 * 3600 + 30)
        refreshes: list[bool] = []
        monkeypatch.setattr(countdown, "refresh", lambda *a, **k: refreshes.append(True))
        clock.now += 1
        countdown.tick()
        assert countdown.text == "3h 00m" and refreshes == []


# -- the look ----------------------------------------------------------------------------------------


def snapshot_row(index: int) -> QueueRow:
    rows = [
        ("P1", "Printer on floor 3 jams on every job", "ACME Corp", "open", "L2 · li.wei", "resolve", -35),
        ("P2", "邮件无法同步到手机和电脑", "上海科技有限公司", "pending", "L1 · —", "first_response", 724),
        (
            "P3",
            "[bold red]x[/] \x1b[31mred\x1b]0;t\x07",
            "[link=http://x]y[/link]",
            "open",
            "—",
            "next_update",
            7_830,
        ),
        ("P4", "VPN drops\tevery\nhour", "Globex", "open", "L2 · ana", "restore", 3 * 86400 + 4 * 3600),
        ("P2", "Paused while we wait for the customer", "Initech", "pending", "L2 · li.wei", "resolve", None),
        ("P3", "No SLA on this one", "王", "open", "L1 · —", None, None),
    ]
    priority, subject, customer, status, owner, clock, due_in = rows[index]
    due = None if due_in is None else NOW + due_in
    paused = 3900 if clock == "resolve" and due_in is None else None
    warn = None if due is None else due - 1800
    return QueueRow(index + 101, priority, subject, customer, status, owner, clock, due, warn, paused)


def test_snapshot(snap_compare: Callable[..., bool]) -> None:
    app = QueueApp(FakeSource(6, snapshot_row))
    assert snap_compare(app, terminal_size=(80, 24))


@given(
    seconds=st.integers(min_value=-3 * 86400, max_value=3 * 86400),
    warn_in=st.one_of(st.none(), st.integers(min_value=-100, max_value=100_000)),
    paused=st.booleans(),
)
def test_a_countdown_reads_the_same_until_the_instant_it_names(seconds: int, warn_in: int | None, paused: bool) -> None:
    """Whatever a clock does meanwhile — a wall clock loses a second a second, a business-hours one that or less —
    it shows the same text and colour before `unchanged_until`, so the table may skip it until then."""
    now = 1_000_000.0
    warn_at = None if warn_in is None else now + warn_in
    until = unchanged_until(seconds, now, warn_at, paused)
    assert until > now
    shown = (format_remaining(seconds, paused), countdown_state(seconds, now, warn_at, paused))
    if paused:
        return  # fixed until the row itself changes
    for elapsed in range(min(int(until - now), 4000)):
        for moved in {0, elapsed // 2, elapsed}:  # the clock ran for none, some or all of the time
            later = seconds - moved
            assert (format_remaining(later), countdown_state(later, now + elapsed, warn_at)) == shown, (elapsed, moved)
