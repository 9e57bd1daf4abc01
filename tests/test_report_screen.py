"""The report screen, driven by keys from the queue: presets, a typed period, grouping, the daily chart and the
CSV export to the current directory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Sparkline

from console.present import report_text
from console.service.helpdesk import HelpdeskService
from console.tui.app import HelpdeskApp
from console.tui.screens.queue import QueueScreen
from console.tui.screens.report import ReportScreen, export_name
from tests.conftest import FrozenClock, settle
from tests.test_reports import NOW, seed

Team = Callable[[str], HelpdeskService]


def make_app(svc: HelpdeskService) -> HelpdeskApp:
    return HelpdeskApp(svc, clock=lambda: NOW.timestamp(), live_interval=0.5)


def column(table: DataTable[object], index: int) -> list[str]:
    return [str(table.get_row_at(row)[index]) for row in range(table.row_count)]


async def open_report(pilot, app: HelpdeskApp) -> ReportScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    assert isinstance(app.screen, QueueScreen)
    await pilot.press("R")
    await settle(pilot)
    assert isinstance(app.screen, ReportScreen)
    return app.screen


async def test_report_from_the_queue(team: Team, clock: FrozenClock) -> None:
    seed(team)
    app = make_app(team("sue"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_report(pilot, app)
        # the default period: the last 7 days, today (Wednesday 4 March in Shanghai) included
        assert screen.report is not None
        assert (screen.report.period.first, screen.report.period.last) == (date(2026, 2, 26), date(2026, 3, 4))
        table = screen.query_one(DataTable)
        assert str(table.columns[next(iter(table.columns))].label) == "Figure"
        figures = dict(zip(column(table, 0), column(table, 1), strict=True))
        assert figures["Tickets received"] == "5"
        assert figures["First response, median"] == "0:30:00"
        assert figures["SLA met: proactive updates"] == "83.3% (5/6)"
        # the chart: one bar per day of the period
        volume = screen.query_one("#volume", Sparkline)
        assert list(volume.data or []) == [0, 0, 0, 0, 4, 1, 0]
        rates = list(screen.query_one("#sla-daily", Sparkline).data or [])
        assert len(rates) == 7 and rates[4] == pytest.approx(
            10 / 15
        )  # C told at its handover: one more met, one more cycle

        await pilot.press("1")  # today: nothing was created on Wednesday
        await settle(pilot)
        assert screen.report.period.first == date(2026, 3, 4)
        assert dict(zip(column(table, 0), column(table, 1), strict=True))["Tickets received"] == "0"

        await pilot.press("escape")
        await pilot.pause(0.1)
        assert isinstance(app.screen, QueueScreen)


async def test_typed_period_and_grouping(team: Team, clock: FrozenClock) -> None:
    seed(team)
    app = make_app(team("sue"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_report(pilot, app)
        await pilot.press("p")
        first = screen.query_one("#report-from", Input)
        assert first.has_focus
        first.value = ""
        await pilot.press(*"2026-03-03", "enter")  # digits go into the field, not to the presets
        await settle(pilot)
        assert screen.report is not None
        assert (screen.report.period.first, screen.report.period.last) == (date(2026, 3, 3), date(2026, 3, 4))
        assert screen.report.total.tickets == 1
        assert screen.query_one(DataTable).has_focus

        await pilot.press("b")  # by agent
        await settle(pilot)
        assert screen.report.by == "agent"
        await pilot.press("b", "b")  # by tier, then by priority
        await settle(pilot)
        assert screen.report.by == "priority"
        table = screen.query_one(DataTable)
        assert [str(c.label) for c in table.columns.values()] == ["Figure", "All", "P4"]

        await pilot.press("p")
        screen.query_one("#report-from", Input).value = "March"
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert screen.report.period.first == date(2026, 3, 3)  # refused, period unchanged
        await pilot.press("escape")  # leaves the field, restoring the period in force
        await pilot.pause(0.05)
        assert screen.query_one("#report-from", Input).value == "2026-03-03"
        assert isinstance(app.screen, ReportScreen)


async def test_export_to_csv(team: Team, clock: FrozenClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(team)
    monkeypatch.chdir(tmp_path)
    app = make_app(team("sue"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(pilot, app)
        await pilot.press("b", "e")
        await settle(pilot)
        assert screen.report is not None and screen.report.by == "agent"
        path = tmp_path / "helpdesk-report-2026-02-26-2026-03-04-by-agent.csv"
        assert screen.last_export == path
        rows = report_text.from_csv(path.read_text(encoding="utf-8"))
        assert rows == [row.as_json(grouped=True) for row in screen.report.groups]
        assert any(path.name in n.message for n in app._notifications)
        await pilot.press("e")
        await settle(pilot)
        assert screen.last_export == tmp_path / "helpdesk-report-2026-02-26-2026-03-04-by-agent-2.csv"
        assert export_name(screen.report, tmp_path).name.endswith("-3.csv")  # never overwrites
