"""Service-quality report for a chosen period: the same figures as `helpdesk report`, a daily chart of volume and
SLA attainment, and `e` to save what is shown as CSV in the current directory.

The report is built in a thread worker (from the rollups, or by replaying the period's clocks when they cannot
give it: console/service/reports.py) and handed to the main thread whole; changing the period or the grouping
starts a new build that supersedes the last one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Select, Sparkline, Static
from textual.worker import get_current_worker

from console.i18n import N_, _
from console.present.report_text import BY_CHOICES, percent, period_text, report_csv, table
from console.rules.errors import HelpdeskError
from console.service.reports import REPORT_ZONE, Period, Report, build_report, make_period, team_zone
from console.tui.ui import Host, translate_bindings
from widgets.safe_text import plain

# (value, label) of the grouping choices; "" is the whole period only.
GROUPINGS: tuple[tuple[str, str], ...] = (
    ("", N_("No grouping")),
    ("agent", N_("By agent")),
    ("tier", N_("By tier")),
    ("priority", N_("By priority")),
    ("channel", N_("By channel")),
    ("customer", N_("By customer")),
)
PRESETS = {"today": 1, "week": 7, "month": 30, "quarter": 90}  # days back, today included


def parse_day(text: str) -> date | None:
    """An empty field leaves that side of the period open; anything else must be YYYY-MM-DD."""
    text = text.strip()
    return date.fromisoformat(text) if text else None


def header_text(report: Report) -> str:
    grouping = dict(GROUPINGS)[report.by or ""]
    return f"{period_text(report)} · {_(grouping)}"


def presets_hint() -> str:
    """``1 Today · 2 7 days · …``: the period keys, which the footer leaves out for room."""
    labels = (N_("Today"), N_("7 days"), N_("30 days"), N_("90 days"))
    return " · ".join(f"{n} {_(label)}" for n, label in enumerate(labels, 1))


def export_name(report: Report, directory: Path) -> Path:
    """``helpdesk-report-2026-03-01-2026-03-07-by-agent.csv``, numbered rather than overwriting."""
    first = report.period.first.isoformat() if report.period.first else "start"
    last = report.period.last.isoformat() if report.period.last else "now"
    stem = f"helpdesk-report-{first}-{last}" + (f"-by-{report.by}" if report.by else "")
    path = directory / f"{stem}.csv"
    n = 1
    while path.exists():
        n += 1
        path = directory / f"{stem}-{n}.csv"
    return path


class ReportScreen(Screen[None]):
    """Figures for tickets created in a period, whole and by group, with a per-day chart."""

    DEFAULT_CSS = """
    ReportScreen {
        layout: vertical;
        #report-header { height: 1; padding: 0 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis; }
        #report-controls { height: 1; padding: 0 1; }
        #report-controls Label { padding: 0 1 0 0; color: $text-muted; }
        #report-controls Input { width: 12; margin: 0 2 0 0; }
        #report-controls Select { width: 19; margin: 0 2 0 0; }
        #report-presets { width: 1fr; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
        #report-table { height: 1fr; }
        #report-chart { height: auto; padding: 0 1; }
        #report-chart Static { height: 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
        #report-chart Sparkline { height: 2; }
    }
    """

    BINDINGS: ClassVar = [
        Binding("escape", "leave", N_("Back"), id="report.leave"),
        # The presets are named in the controls row; the footer keeps room for the other keys at 80 columns.
        Binding("1", "preset('today')", N_("Today"), id="report.today", show=False),
        Binding("2", "preset('week')", N_("7 days"), id="report.week", show=False),
        Binding("3", "preset('month')", N_("30 days"), id="report.month", show=False),
        Binding("4", "preset('quarter')", N_("90 days"), id="report.quarter", show=False),
        Binding("p", "edit_period", N_("Period"), id="report.period"),
        Binding("b", "next_grouping", N_("Group by"), id="report.by"),
        Binding("e", "export", N_("Export CSV"), id="report.export"),
        Binding("ctrl+r", "refresh", N_("Refresh"), id="report.refresh", show=False),
    ]

    def __init__(self, period: Period | None = None, by: str | None = None) -> None:
        super().__init__()
        translate_bindings(self)
        self.period = period
        self.by = by
        self.report: Report | None = None
        self.last_export: Path | None = None
        # The team's zone (reports.team_zone), learnt with the first report: the policy is read in a worker.
        self.zone = period.zone if period is not None else REPORT_ZONE

    @property
    def helpdesk(self) -> Host:
        return cast("Host", self.app)

    def compose(self) -> ComposeResult:
        yield Static(Content(_("Reports")), id="report-header", markup=False)
        with Horizontal(id="report-controls"):
            yield Label(_("From"))
            yield Input(placeholder="YYYY-MM-DD", id="report-from", compact=True, max_length=10)
            yield Label(_("To"))
            yield Input(placeholder="YYYY-MM-DD", id="report-to", compact=True, max_length=10)
            yield Select(
                [(_(label), value) for value, label in GROUPINGS],
                value=self.by or "",
                allow_blank=False,
                compact=True,
                id="report-by",
            )
            yield Static(Content(presets_hint()), id="report-presets", markup=False)
        yield DataTable(id="report-table", zebra_stripes=True, cursor_type="row")
        with Vertical(id="report-chart"):
            yield Static(id="volume-label", markup=False)
            yield Sparkline([0.0], id="volume")
            yield Static(id="sla-label", markup=False)
            yield Sparkline([0.0], id="sla-daily")
        yield Footer()

    def on_mount(self) -> None:
        if self.period is None:
            self.period = self._preset_period(PRESETS["week"])
        self._show_period_inputs()
        self.query_one(DataTable).focus()
        self.reload()

    # -- data ---------------------------------------------------------------------------------------------

    def _today(self) -> date:
        return datetime.fromtimestamp(self.helpdesk.clock(), UTC).astimezone(self.zone).date()

    def _preset_period(self, days: int) -> Period:
        today = self._today()
        return make_period(today - timedelta(days=days - 1), today, self.zone)

    def reload(self) -> None:
        assert self.period is not None
        self.query_one("#report-header", Static).update(Content(_("Building the report…")))
        self._build(self.period, self.by)

    @work(thread=True, exclusive=True, group="report")
    def _build(self, period: Period, by: str | None) -> None:
        service = self.helpdesk.wait_for_service()
        if service is None:
            return
        now = datetime.fromtimestamp(self.helpdesk.clock(), UTC)
        try:
            zone = team_zone(service.policy())
            if period.zone != zone:  # the same days as `helpdesk report` and the wallboard's "today"
                self.zone = zone
                period = make_period(period.first, period.last, zone)
            report = build_report(service, period, by, now)
        except HelpdeskError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", markup=False)
            return
        if get_current_worker().is_cancelled:
            return
        self.app.call_from_thread(self.show_report, report)

    def show_report(self, report: Report) -> None:
        """Main thread: the table, the header and the chart."""
        self.report = report
        self.query_one("#report-header", Static).update(Content(header_text(report)))
        headers, rows = table(report)
        grid = self.query_one(DataTable)
        grid.clear(columns=True)
        for index, header in enumerate(headers):
            grid.add_column(plain(header), key=f"c{index}")
        grid.add_rows([[plain(value) for value in row] for row in rows])
        grid.fixed_columns = 1  # the figure's name stays while groups scroll sideways
        self._show_chart(report)

    def _show_chart(self, report: Report) -> None:
        days = report.days
        volume = [float(d.tickets) for d in days] or [0.0]
        rates = [d.sla.rate for d in days]
        span = f"{days[0].day.isoformat()} – {days[-1].day.isoformat()}" if days else "—"
        self.query_one("#volume", Sparkline).data = volume
        self.query_one("#volume-label", Static).update(
            Content(
                _("Tickets received per day, {span}: {total} in all, busiest day {peak}").format(
                    span=span, total=sum(d.tickets for d in days), peak=int(max(volume))
                )
            )
        )
        known = [r for r in rates if r is not None]
        # A day without a settled clock draws as the lowest bar; the label gives the true range.
        self.query_one("#sla-daily", Sparkline).data = [r if r is not None else 0.0 for r in rates] or [0.0]
        met = sum(d.sla.met for d in days)
        total = sum(d.sla.total for d in days)
        self.query_one("#sla-label", Static).update(
            Content(
                _("SLA met per day (all clocks): {low} to {high}; {overall} over the period").format(
                    low=percent(min(known)) if known else "—",
                    high=percent(max(known)) if known else "—",
                    overall=percent(met / total if total else None),
                )
            )
        )

    def _show_period_inputs(self) -> None:
        assert self.period is not None
        first, last = self.period.first, self.period.last
        self.query_one("#report-from", Input).value = first.isoformat() if first else ""
        self.query_one("#report-to", Input).value = last.isoformat() if last else ""

    # -- actions ------------------------------------------------------------------------------------------

    def action_preset(self, name: str) -> None:
        self.period = self._preset_period(PRESETS[name])
        self._show_period_inputs()
        self.reload()

    def action_edit_period(self) -> None:
        self.query_one("#report-from", Input).focus()

    @on(Input.Submitted, "#report-from, #report-to")
    def _period_entered(self) -> None:
        try:
            first = parse_day(self.query_one("#report-from", Input).value)
            last = parse_day(self.query_one("#report-to", Input).value)
            period = make_period(first, last, self.zone)
        except ValueError:
            self.notify(_("Dates are YYYY-MM-DD, or empty for an open end."), severity="error", markup=False)
            return
        except HelpdeskError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.period = period
        self.query_one(DataTable).focus()
        self.reload()

    @on(Select.Changed, "#report-by")
    def _grouping_chosen(self, event: Select.Changed) -> None:
        by = str(event.value) if event.value else None
        if by != self.by:
            self.by = by
            self.reload()

    def action_next_grouping(self) -> None:
        values = ["", *BY_CHOICES]
        following = values[(values.index(self.by or "") + 1) % len(values)]
        self.query_one("#report-by", Select).value = following  # Select.Changed reloads

    def action_refresh(self) -> None:
        self.reload()

    def action_export(self) -> None:
        if self.report is None:
            self.notify(_("The report is still being built."), markup=False)
            return
        self._export(self.report, Path.cwd())

    @work(thread=True, group="export")
    def _export(self, report: Report, directory: Path) -> None:
        path = export_name(report, directory)
        try:
            path.write_text(report_csv(report), encoding="utf-8")
        except OSError as exc:
            message = _("Could not save the report: {error}").format(error=exc)
            self.app.call_from_thread(self.notify, message, severity="error", markup=False)
            return
        self.last_export = path
        message = _("Report saved to {name}").format(name=path.name)
        self.app.call_from_thread(self.notify, message, markup=False)

    def action_leave(self) -> None:
        if isinstance(self.focused, Input):
            self._show_period_inputs()  # Esc abandons an unfinished date
            self.query_one(DataTable).focus()
            return
        self.app.pop_screen()
