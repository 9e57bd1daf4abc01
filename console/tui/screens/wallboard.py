"""The supervisor wallboard: today's service level at a glance, live, read-only, cheap over SSH.

Like the queue (a `LiveScreen`), it reads the change feed every second in a worker and builds a new snapshot only
when a ticket changed, and every 30 s for the numbers that move with time alone; one snapshot at a time (changes
that come while one is built are folded into the next), built from indexes and stored figures, never from replayed
histories; the tiles then repaint only what changed, so an idle board sends little more than its ticking
countdowns.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.widgets import Sparkline, Static

from console.i18n import N_, _
from console.rules.errors import HelpdeskError
from console.service.wallboard import Backlog, BoardSnapshot, UrgentRow, moved_backlog, snapshot
from console.tui.screens.live import LiveScreen
from console.tui.ui import business_remaining, translate_bindings
from db.records import Change
from widgets.tiles import CountdownItem, CountdownList, NumberTile, TableTile, Tone

if TYPE_CHECKING:
    from collections.abc import Callable


TIME_REFRESH_S = 30.0
BACKLOG_RECOUNT_S = 600.0  # the backlog's counts read whole this often (else moved by each change)
"""Rebuild this often even without commits: breached / at-risk counts move with time alone."""

# (tile id, label) in reading order; labels are translated where they are shown.
TILES: tuple[tuple[str, str], ...] = (
    ("backlog", N_("Open backlog")),
    ("breached", N_("Breached now")),
    ("at-risk", N_("At risk")),
    ("fr-sla", N_("First response SLA")),
    ("resolve-sla", N_("Resolve SLA")),
    ("median-fr", N_("Median first reply")),
    ("median-resolve", N_("Median resolution")),
    ("fcr", N_("First-contact res.")),
    ("escalation", N_("Escalation rate")),
    ("reopen", N_("Reopen rate")),
    ("csat", N_("Satisfaction")),
)
ATTAINMENT_GOAL = 0.9


def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


def duration(seconds: float | None) -> str:
    """``45s``, ``12m 05s`` under an hour, ``3h 20m`` from an hour (business time runs past 24 h: ``31h 05m``).

    Unit letters in every language: the tiles draw the value in big numerals, which have only ASCII glyphs (a
    letter they lack sits small on the baseline, a Chinese one would break the rows)."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("{h}h {mm}m").format(h=hours, mm=f"{minutes:02d}")
    if minutes:
        return _("{m}m {ss}s").format(m=minutes, ss=f"{secs:02d}")
    return _("{s}s").format(s=secs)


def _urgent_item(row: UrgentRow) -> CountdownItem:
    remaining: Callable[[float], int | None] | None = None
    if row.calendar is not None:
        cal, due = row.calendar, row.due_at

        def remaining(now: float) -> int | None:
            return business_remaining(cal, due, now)

    who = " ".join(part for part in (row.customer, row.contact) if part)
    text = f"{row.priority} #{row.ticket_id} {who} · {row.subject} · {row.assignee}"
    return CountdownItem(row.ticket_id, text, row.due_at, row.warn_at, remaining)


def backlog_caption(counts: dict[str, int], width: int) -> str:
    """Open tickets per priority, most urgent first, as many as fit in ``width`` cells (all when unknown)."""
    parts = [f"{priority} {n}" for priority, n in counts.items()]
    while width > 0 and len(parts) > 1 and cell_len(" ".join(parts)) > width:
        parts.pop()
    return " ".join(parts)


class WallboardScreen(LiveScreen):
    """Read-only tiles for a supervisor's screen or a TV in the office."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (132, "-wide")]  # six 22-cell tiles
    VERTICAL_BREAKPOINTS = [(0, "-short"), (40, "-tall")]

    DEFAULT_CSS = """
    WallboardScreen {
        layout: vertical;
        #board-header {
            height: 1; padding: 0 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis;
        }
        #tiles { grid-size: 4; grid-rows: 3; grid-gutter: 0; height: auto; }
        #lower { height: 1fr; }
        #agents { width: 32; border-right: vkey $panel-lighten-2; }
        #urgent { width: 1fr; }
        #hourly { height: 3; padding: 0 1; }
        #hourly-label { color: $text-muted; height: 1; text-wrap: nowrap; }
        #hourly Sparkline { height: 1fr; }
        &.-wide #tiles { grid-size: 6; }
        &.-wide #agents { width: 44; }
        &.-tall #tiles { grid-rows: 5; }
        &.-tall #hourly { height: 6; }
        &.-narrow NumberTile { border-left: none; padding: 0 0 0 1; }
        &.-short NumberTile > Digits { display: none; }
        &.-short NumberTile > .tile-value { display: block; }
    }
    """

    BINDINGS: ClassVar = [
        Binding("escape", "leave", N_("Back"), id="wallboard.leave"),
        Binding("q", "leave", N_("Quit"), id="wallboard.quit", show=False),
        Binding("ctrl+r", "refresh", N_("Refresh"), id="wallboard.refresh", show=False),
    ]

    def __init__(self, show_customers: bool = False) -> None:
        super().__init__()
        translate_bindings(self)
        self.show_customers = show_customers
        self.snapshot: BoardSnapshot | None = None
        self._ticks = 0  # time refreshes since the backlog was last read whole

    def compose(self) -> ComposeResult:
        yield Static(Content(_("Wallboard")), id="board-header", markup=False)
        with Grid(id="tiles"):
            for tile_id, label in TILES:
                yield NumberTile(_(label), id=tile_id)
        with Horizontal(id="lower"):
            headers = [_("agent"), _("open"), _("breached")]
            # each number column as wide as its heading in the active language (Chinese needs two cells a character)
            widths = [0, *(max(5, cell_len(h)) for h in headers[1:])]
            yield TableTile(_("Agents"), headers, widths, id="agents")
            yield CountdownList(
                _("Breaching and due next"),
                _("Nothing is due."),
                clock=self.helpdesk.clock,
                more=self._more_line,
                id="urgent",
            )
        with Vertical(id="hourly"):
            yield Static(Content(_("Tickets received per hour today")), id="hourly-label", markup=False)
            yield Sparkline([0], id="per-hour")

    def on_mount(self) -> None:
        self.on_foreign_commit()
        self.set_interval(self.helpdesk.live_interval, self._poll)
        self.set_interval(TIME_REFRESH_S, self._time_passed)

    def on_foreign_commit(self) -> None:
        """Read the whole backlog again (start, a gap in the feed, agents changed, now and then to be sure)."""
        self._build(None)

    def on_changes(self, changes: dict[int, Change]) -> None:
        """Move the backlog's counts by the changed tickets and read today's figures again: no backlog scan."""
        self._build(changes)

    def _time_passed(self) -> None:
        """Today's figures and the urgent list move with time alone; the backlog's counts are read whole again every
        BACKLOG_RECOUNT_S, and moved by the changes in between."""
        self._ticks += 1
        if self._ticks * TIME_REFRESH_S >= BACKLOG_RECOUNT_S:
            self._ticks = 0
            self.on_foreign_commit()
        else:
            self._build({})

    def _build(self, changes: dict[int, Change] | None) -> None:
        """A new snapshot, unless one is being built: then it follows that one (never two at once, so a slow
        snapshot under a burst of commits never piles up work; the changes are folded together)."""
        backlog = self.snapshot.backlog if self.snapshot is not None else None
        if changes is not None and backlog is None:
            changes = None  # nothing to move yet: read it whole
        if self.deferred(changes):
            return
        self.refresh_started()
        self._load(changes, backlog)

    # -- data ---------------------------------------------------------------------------------------------

    @work(thread=True, group="wallboard")
    def _load(self, changes: dict[int, Change] | None, backlog: Backlog | None) -> None:
        service = self.helpdesk.wait_for_service()
        if service is None:
            return
        try:
            with service.live.snapshot():
                if changes is None:
                    self.prime_feed()
                    backlog = None
                elif changes and backlog is not None:
                    backlog = moved_backlog(service, backlog, changes)
                now = datetime.fromtimestamp(self.helpdesk.clock(), UTC)
                board = snapshot(service, now, self.show_customers, backlog)
        except HelpdeskError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            self.app.call_from_thread(self.refresh_done)
            return
        self.app.call_from_thread(self._shown, board)

    def _shown(self, board: BoardSnapshot) -> None:
        self.show_snapshot(board)
        self.refresh_done()

    def show_snapshot(self, board: BoardSnapshot) -> None:
        """Hand the numbers to the tiles (main thread); each repaints only if its text changed."""
        self.snapshot = board
        # The way out first: a narrow board cuts the end of the line, and the counts are in the tiles too.
        text = _("Wallboard · Esc to leave · today {day} ({zone}) · received {received} · closed {closed}")
        header = text.format(
            day=board.day_start.strftime("%m-%d"),
            zone=board.day_start.tzinfo,
            received=board.received_today,
            closed=board.closed_today,
        )
        header_widget = self.query_one("#board-header", Static)
        if str(header_widget.content) != header:
            header_widget.update(Content(header))

        backlog = self.query_one("#backlog", NumberTile)
        self._tile("backlog", str(board.open_total), backlog_caption(board.open_by_priority, backlog.size.width))
        self._tile("breached", str(board.breached), "", "bad" if board.breached else "plain")
        self._tile("at-risk", str(board.at_risk), "", "warning" if board.at_risk else "plain")
        for tile_id, att in (
            ("fr-sla", board.first_response_attainment),
            ("resolve-sla", board.resolve_attainment),
        ):
            tone: Tone = "plain" if att.rate is None or att.rate >= ATTAINMENT_GOAL else "warning"
            caption = _("{met}/{total} met").format(met=att.met, total=att.total)
            self._tile(tile_id, percent(att.rate), caption, tone)
        self._tile("median-fr", duration(board.median_first_response_s), _("business time"))
        self._tile("median-resolve", duration(board.median_resolution_s), _("business time"))
        self._tile("fcr", percent(board.fcr), _("of {n} closed").format(n=board.closed_today))
        received = _("of {n} received").format(n=board.received_today)
        self._tile("escalation", percent(board.escalation), received)
        self._tile("reopen", percent(board.reopen), _("of resolved today"))
        csat = "—" if board.csat_average is None else f"{board.csat_average:.1f}"
        self._tile("csat", csat, _("{n} answers").format(n=board.csat_count))

        self.query_one("#agents", TableTile).set_rows([(a.agent, str(a.open), str(a.breached)) for a in board.agents])
        urgent = self.query_one("#urgent", CountdownList)
        urgent.set_items([_urgent_item(row) for row in board.urgent], board.urgent_total)
        data = [float(n) for n in board.per_hour]  # the whole day, so bars keep their place as hours pass
        sparkline = self.query_one("#per-hour", Sparkline)
        if list(sparkline.data or []) != data:
            sparkline.data = data
        peak = max(board.per_hour)
        label = _("Tickets received per hour today: {total}, busiest hour {peak}").format(
            total=sum(board.per_hour), peak=peak
        )
        label_widget = self.query_one("#hourly-label", Static)
        if str(label_widget.content) != label:
            label_widget.update(Content(label))

    def _more_line(self, hidden: int, shown: int) -> str:
        """The urgent list's last line when it is full: how many more, and how many of those are breached."""
        board = self.snapshot
        breached = board.breached - board.breached_shown(shown) if board is not None else 0
        if breached > 0:
            return _("+{n} more ({breached} breached)").format(n=hidden, breached=breached)
        return _("+{n} more").format(n=hidden)

    def on_resize(self) -> None:
        self.call_after_refresh(self._refit)  # once the tiles have their new width

    def _refit(self) -> None:
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot)  # captions are fitted to the tiles' width

    def _tile(self, tile_id: str, value: str, caption: str = "", tone: Tone = "plain") -> None:
        self.query_one(f"#{tile_id}", NumberTile).show(value, caption, tone)

    # -- actions ------------------------------------------------------------------------------------------

    def action_leave(self) -> None:
        if self.helpdesk.wallboard_only:
            self.app.exit()
        else:
            self.app.pop_screen()

    def action_refresh(self) -> None:
        self.on_foreign_commit()
