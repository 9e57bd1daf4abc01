"""The queue: every open ticket, most urgent first, with live countdowns. Rows are fetched a window at a time."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from console.i18n import N_, _
from console.rules.errors import HelpdeskError
from console.tui.screens.live import LiveScreen
from console.tui.ui import RemainingTime, queue_row, status_label, translate_bindings
from db.records import TicketFilter
from widgets.bindings import show_bindings
from widgets.queue_table import QueueRow, QueueTable
from widgets.safe_text import clean

if TYPE_CHECKING:
    from console.tui.screens.action_dialogs import FollowupDue

VIEWS: tuple[tuple[str, str], ...] = (
    ("mine", N_("Mine")),
    ("unassigned", N_("Unassigned")),
    ("risk", N_("Breaching / at risk")),
    ("pending", N_("Pending")),
    ("open", N_("All open")),
)


PAGE_SIZE = 100  # rows per request: a 50-line screen and its margin in one query


@dataclass(frozen=True)
class QueueState:
    view: str
    text: str


MAIL_FAILED = "✉✗ "  # before the subject of a ticket whose e-mail to the customer failed for good


class QueueScreen(LiveScreen):
    """Agents live here: pick a view, filter, open a ticket."""

    # The view keys 1-5 are shown in the header line with their counts, so the footer leaves them out.
    BINDINGS: ClassVar = [
        Binding("enter", "open_ticket", N_("Open"), id="queue.open", show=False),
        Binding("1", "view('mine')", N_("Mine"), id="queue.view.mine", show=False),
        Binding("2", "view('unassigned')", N_("Unassigned"), id="queue.view.unassigned", show=False),
        Binding("3", "view('risk')", N_("At risk"), id="queue.view.risk", show=False),
        Binding("4", "view('pending')", N_("Pending"), id="queue.view.pending", show=False),
        Binding("5", "view('open')", N_("All open"), id="queue.view.open", show=False),
        Binding("slash", "filter", N_("Filter"), id="queue.filter"),
        Binding("a", "assign_me", N_("Take"), id="queue.assign"),
        Binding("ctrl+r", "refresh", N_("Refresh"), id="queue.refresh", show=False),
        Binding("space", "pause", N_("Pause"), id="queue.pause", show=False),
        Binding("R", "report", N_("Reports"), id="queue.report"),
        Binding("F", "followups", N_("Follow-ups"), id="queue.followups"),
        Binding("w", "app.wallboard", N_("Wallboard"), id="queue.wallboard"),
        Binding("q", "app.quit", N_("Quit"), id="queue.quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self.state = QueueState(view="open", text="")
        self.remaining = RemainingTime()
        self._counts: dict[str, int] = {}
        self._mail_problems: list[str] = []  # mail fetch/send errors (supervisors and admins)
        self._reset_wanted = False
        self._resumed = False

    def compose(self) -> ComposeResult:
        yield Static(id="queue-header")
        # The filter bar is mounted on first use of `/`: the first frame does without an Input.
        yield QueueTable(
            id="queue",
            remaining_for=self.remaining,
            clock=self.helpdesk.clock,
            status_label=status_label,
            page_size=PAGE_SIZE,
        )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(QueueTable).focus()
        self.reload()
        self.set_interval(self.helpdesk.live_interval, self._poll)
        self.set_interval(30.0, self._sweep)

    # -- data ---------------------------------------------------------------------------------------------

    def _filter(self, state: QueueState) -> TicketFilter:
        """Runs in workers only (it reads the agent's tier)."""
        service = self.helpdesk.service
        now = self.helpdesk.clock()
        me = service.agent(service.actor_name)
        text = state.text or None
        view = state.view
        # Every view in the urgency order judged at the console's clock (db/store.py URGENCY_BAND), as
        # `helpdesk ticket list` does at its own.
        if view == "mine":
            return TicketFilter(assignee=service.actor_name, text=text, now=now)
        if view == "unassigned":
            return TicketFilter(unassigned=True, tier=me.tier if me else None, text=text, now=now)
        if view == "risk":
            return TicketFilter(at_risk_or_breaching=now, text=text, now=now)
        if view == "pending":
            return TicketFilter(statuses=("pending",), text=text, now=now)
        return TicketFilter(text=text, now=now)

    def reload(self) -> None:
        """The view or filter changed: start from the top (even if a later refresh overtakes this load)."""
        self._reset_wanted = True
        self._load_counts(reset=True)

    @work(thread=True, exclusive=True, group="counts")
    def _load_counts(self, reset: bool = False) -> None:
        service = self.helpdesk.wait_for_service()
        if service is None:
            return
        self._watch().prime()
        state = self.state
        if reset:
            # The first page of the active view goes up before the other views are counted: it is what the
            # agent is waiting for.
            flt = self._filter(state)
            rows, total = self._fetch(flt, 0, PAGE_SIZE)
            if get_current_worker().is_cancelled:
                return
            self.app.call_from_thread(self._apply_first, state, total, rows)
        counts = {view: service.count(self._filter(QueueState(view, state.text))) for view, _label in VIEWS}
        if get_current_worker().is_cancelled:
            return
        me = service.agent(service.actor_name)
        if me is not None and me.role in ("supervisor", "admin"):  # mail errors are theirs to see and act on
            self._mail_problems = service.mail.headline()
        self.app.call_from_thread(self._apply_counts, counts, reset)

    def _apply_first(self, state: QueueState, total: int, rows: list[QueueRow]) -> None:
        if state != self.state:
            return  # the agent moved on; that load brings its own rows
        self._reset_wanted = False
        self._counts[state.view] = total
        self.query_one(QueueTable).reset(total, rows)
        self._render_header()

    def _apply_counts(self, counts: dict[str, int], reset: bool) -> None:
        self._counts = counts
        table = self.query_one(QueueTable)
        total = counts.get(self.state.view, 0)
        if self._reset_wanted:
            self._reset_wanted = False
            table.reset(total)
        elif not reset:
            table.set_window(0, [], total)
            table.invalidate()
        self._render_header()

    @on(QueueTable.WindowNeeded, "#queue")
    def _window_needed(self, message: QueueTable.WindowNeeded) -> None:
        self._load_window(message.offset, message.limit)

    @work(thread=True, exclusive=True, group="window")
    def _load_window(self, offset: int, limit: int) -> None:
        if self.helpdesk.wait_for_service() is None:
            return
        rows, total = self._fetch(self._filter(self.state), offset, limit)
        if get_current_worker().is_cancelled:
            return
        self.app.call_from_thread(self._apply_window, offset, rows, total)

    def _fetch(self, flt: TicketFilter, offset: int, limit: int) -> tuple[list[QueueRow], int]:
        """Rows ``offset …`` of a view and its size (worker threads only)."""
        service = self.helpdesk.service
        items = service.list_tickets(flt, offset, limit)
        total = service.count(flt)
        policy = service.policy()
        now = self.helpdesk.clock()
        rows = []
        for item in items:
            self.remaining.calendars[item.id] = policy.resolve(item.priority, item.channel, item.customer_tier)[0]
            row = queue_row(item)
            self.remaining(row, now)  # loads the calendar's days here rather than during the paint
            rows.append(row)
        # a ticket whose e-mail to the customer failed for good says so in its row
        failed = service.mail.failed_tickets([r.ticket_id for r in rows])
        rows = [replace(r, subject=MAIL_FAILED + r.subject) if r.ticket_id in failed else r for r in rows]
        return rows, total

    def _apply_window(self, offset: int, rows: list[QueueRow], total: int) -> None:
        self.query_one(QueueTable).set_window(offset, rows, total)

    def _render_header(self) -> None:
        # Narrow terminals name only the active view; the others show their key and count.
        compact = self.size.width < 110 or bool(self._mail_problems)  # room for the mail line
        header = Text()
        header.append(f" {clean(self.helpdesk.actor_name)} ", style="reverse")
        header.append(" ")
        for index, (view, label) in enumerate(VIEWS, 1):
            active = view == self.state.view
            known = self._counts.get(view)
            count = "…" if known is None else str(known)  # not counted yet
            if active or not compact:
                header.append(f" {index} {_(label)} ", style="bold reverse" if active else "")
                header.append(count, style="bold" if active else "dim")
            else:
                header.append(f" {index}:", style="dim")
                header.append(count)
            header.append("  " if compact else "   ")
        if self.state.text:
            header.append(_("filter: "), style="dim")
            header.append(clean(self.state.text), style="italic")
        if self.query_one(QueueTable).paused:
            header.append("  ⏸ " + _("paused"), style="bold yellow")
        if self._mail_problems:
            header.append("✉ " + _("mail:") + " " + " · ".join(self._mail_problems), style="bold red")
        self.query_one("#queue-header", Static).update(header)

    def on_resize(self) -> None:
        self._render_header()
        # At 80 columns the follow-ups key would push `?` off the footer; it stays in the key list and the palette.
        show_bindings(self, ("queue.followups",), self.size.width >= 100)

    def on_foreign_commit(self) -> None:
        self._load_counts(False)

    @work(thread=True, exclusive=True, group="sweep")
    def _sweep(self) -> None:
        service = self.helpdesk.wait_for_service()
        if service is None:
            return
        try:
            crossed = service.sweep()
        except HelpdeskError:
            return  # another process will record the crossing; nothing for the agent to do
        if crossed["warnings"] or crossed["breaches"]:
            # A ticket crossed a warning or a due time: it changes band in the urgency order (a commit of our own
            # does not move data_version, so the live refresh would not see it).
            self.app.call_from_thread(self._load_counts, False)

    # -- actions ------------------------------------------------------------------------------------------

    def action_view(self, view: str) -> None:
        self.state = QueueState(view=view, text=self.state.text)
        self.reload()

    def _filter_bar(self) -> Horizontal | None:
        bars = self.query("#filter-bar").results(Horizontal)
        return next(bars, None)

    async def action_filter(self) -> None:
        bar = self._filter_bar()
        if bar is None:
            placeholder = _("Filter by subject, customer or #id — Enter to keep, Esc to clear")
            bar = Horizontal(Input(placeholder=placeholder, id="filter"), id="filter-bar")
            await self.mount(bar, after="#queue-header")
        bar.display = True
        self.query_one("#filter", Input).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.state = QueueState(view=self.state.view, text=event.value.strip())
        self.reload()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(QueueTable).focus()
        bar = self._filter_bar()
        if bar is not None and not self.state.text:
            bar.display = False

    def key_escape(self) -> None:
        bar = self._filter_bar()
        if bar is None:
            return
        filter_input = bar.query_one("#filter", Input)
        if filter_input.has_focus or self.state.text:
            filter_input.value = ""
            bar.display = False
            self.query_one(QueueTable).focus()

    def action_refresh(self) -> None:
        self._load_counts(False)

    def action_pause(self) -> None:
        table = self.query_one(QueueTable)
        table.paused = not table.paused
        self._render_header()

    @on(QueueTable.TicketChosen, "#queue")
    def _chosen(self, message: QueueTable.TicketChosen) -> None:
        self._open(message.ticket_id)

    def action_open_ticket(self) -> None:
        ticket_id = self.query_one(QueueTable).cursor_ticket_id
        if ticket_id is not None:
            self._open(ticket_id)

    def _open(self, ticket_id: int) -> None:
        from console.tui.screens.ticket import TicketScreen

        self.app.push_screen(TicketScreen(ticket_id))

    def action_assign_me(self) -> None:
        ticket_id = self.query_one(QueueTable).cursor_ticket_id
        if ticket_id is not None:
            self._assign(ticket_id)

    @work(thread=True, group="action")
    def _assign(self, ticket_id: int) -> None:
        try:
            self.helpdesk.service.assign(ticket_id)
        except HelpdeskError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self.notify, _("Ticket {id} is yours.").format(id=ticket_id))
        self.app.call_from_thread(self._load_counts, False)

    def action_followups(self) -> None:
        self._load_followups()

    @work(thread=True, exclusive=True, group="followups")
    def _load_followups(self) -> None:
        # the dialogs load with their first use: the queue is the console's first frame (tests/test_architecture.py)
        from console.tui.screens.action_dialogs import FollowupDue

        try:
            due = [
                FollowupDue(f.id, f.subject, f.priority, f.customer, f.phone or f.email, f.followup_due)
                for f in self.helpdesk.service.followups_due()
            ]
        except HelpdeskError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self._show_followups, due)

    def _show_followups(self, due: list[FollowupDue]) -> None:
        from console.tui.screens.action_dialogs import FollowupsDialog

        def chosen(ticket_id: int | None) -> None:
            if ticket_id is not None:
                self._open(ticket_id)

        self.app.push_screen(FollowupsDialog(due), chosen)

    def action_report(self) -> None:
        from console.tui.screens.report import ReportScreen

        self.app.push_screen(ReportScreen())

    def on_screen_resume(self) -> None:
        if not self._resumed:
            self._resumed = True  # the first show: on_mount has started the load already
            return
        self._load_counts(False)
