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
from db.records import Change, TicketFilter
from db.vocabulary import OPEN_STATUSES
from widgets.bindings import show_bindings
from widgets.queue_table import QueueRow, QueueTable
from widgets.safe_text import clean

if TYPE_CHECKING:
    from console.service.helpdesk import HelpdeskService
    from console.tui.screens.action_dialogs import FollowupDue
    from db.models import QueueItem

VIEWS: tuple[tuple[str, str], ...] = (
    ("mine", N_("Mine")),
    ("unassigned", N_("Unassigned")),
    ("risk", N_("Breaching / at risk")),
    ("pending", N_("Pending")),
    ("open", N_("All open")),
)


PAGE_SIZE = 100  # rows per request: a 50-line screen and its margin in one query


def in_view(view: str, status: str, assignee: str | None, tier: str, alert: int, me: str, my_tier: str | None) -> bool:
    """Whether a ticket with these columns is in ``view`` of agent ``me`` (as QueueScreen._filter selects)."""
    if view == "pending":
        return status == "pending"
    if status not in OPEN_STATUSES:
        return False
    if view == "mine":
        return assignee == me
    if view == "unassigned":
        return assignee is None and (my_tier is None or tier == my_tier)
    if view == "risk":
        return alert > 0
    return True


@dataclass(frozen=True)
class QueueState:
    view: str
    text: str


MAIL_LOOK_S = 30.0  # how often supervisors' consoles look at the mail channel's errors
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
        self._me: tuple[str, str | None] | None = None  # the agent's name and tier, read once
        self._supervises: bool | None = None  # whether the agent is a supervisor or admin, read once
        self._header_shown: Text | None = None

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
        self.set_interval(MAIL_LOOK_S, self._look_at_mail)

    # -- data ---------------------------------------------------------------------------------------------

    def _filter(self, state: QueueState) -> TicketFilter:
        """Runs in workers only (it reads the agent's tier)."""
        service = self.helpdesk.service
        now = self.helpdesk.clock()
        if self._me is None:
            me = service.agent(service.actor_name)
            self._me = (service.actor_name, me.tier if me else None)
        name, tier = self._me
        text = state.text or None
        view = state.view
        # Every view in the urgency order judged at the console's clock (db/store.py URGENCY_BAND), as
        # `helpdesk ticket list` does at its own. "Breaching / at risk" holds the tickets the sweeper has judged so
        # (the stored sla_alert), as its count does.
        if view == "mine":
            return TicketFilter(assignee=name, text=text, now=now)
        if view == "unassigned":
            return TicketFilter(unassigned=True, tier=tier, text=text, now=now)
        if view == "risk":
            return TicketFilter(alerting=True, text=text, now=now)
        if view == "pending":
            return TicketFilter(statuses=("pending",), text=text, now=now)
        return TicketFilter(text=text, now=now)

    def reload(self) -> None:
        """The view or filter changed: start from the top (even if a later refresh overtakes this load)."""
        self._reset_wanted = True
        self._full_load(reset=True)

    def on_foreign_commit(self) -> None:
        self._full_load(reset=False)

    def _full_load(self, reset: bool) -> None:
        self.refresh_started()
        self._load_counts(reset)

    @work(thread=True, exclusive=True, group="counts")
    def _load_counts(self, reset: bool = False) -> None:
        service = self.helpdesk.wait_for_service()
        if service is None:
            return
        state = self.state
        try:
            # One snapshot: the feed's position, the first page and the counts are the same committed state, so the
            # changes read after it are exactly those the screen does not show yet.
            with service.live.snapshot():
                self.prime_feed()
                if reset:
                    # The first page of the active view goes up before the other views are counted: it is what
                    # the agent is waiting for.
                    flt = self._filter(state)
                    total = service.count(flt)
                    rows = self._rows(service.list_tickets(flt, 0, PAGE_SIZE))
                    if get_current_worker().is_cancelled:
                        return
                    self.app.call_from_thread(self._apply_first, state, total, rows)
                counts = {view: service.count(self._filter(QueueState(view, state.text))) for view, _label in VIEWS}
            self._mail_problems = self._read_mail_problems(service)
        except HelpdeskError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            counts = None
        if get_current_worker().is_cancelled:
            return
        self.app.call_from_thread(self._apply_counts, state, counts, reset)

    def _read_mail_problems(self, service: HelpdeskService) -> list[str]:
        """The mail channel's errors, for supervisors and admins (theirs to see and act on); [] for agents."""
        if self._supervises is None:
            me = service.agent(service.actor_name)
            self._supervises = me is not None and me.role in ("supervisor", "admin")
        return service.mail.headline() if self._supervises else []

    def _look_at_mail(self) -> None:
        self._mail_look()

    @work(thread=True, exclusive=True, group="mail")
    def _mail_look(self) -> None:
        """Mail errors change without any ticket changing (a server down): looked at on their own clock."""
        service = self.helpdesk.wait_for_service()
        if service is None:
            return
        try:
            problems = self._read_mail_problems(service)
        except HelpdeskError:
            return
        if problems != self._mail_problems:
            self._mail_problems = problems
            self.app.call_from_thread(self._render_header)

    def _apply_first(self, state: QueueState, total: int, rows: list[QueueRow]) -> None:
        if state != self.state:
            return  # the agent moved on; that load brings its own rows
        self._reset_wanted = False
        self._counts[state.view] = total
        self.query_one(QueueTable).reset(total, rows)
        self._render_header()

    def _apply_counts(self, state: QueueState, counts: dict[str, int] | None, reset: bool) -> None:
        self.refresh_done()
        if counts is None or state != self.state:
            return
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

    # -- changes: only the tickets that changed are read ---------------------------------------------------

    def on_changes(self, changes: dict[int, Change]) -> None:
        if self.state.text or self._me is None:
            self.on_foreign_commit()  # a typed filter: counted again (the text decides membership too)
            return
        self.refresh_started()
        table = self.query_one(QueueTable)
        held, window, state = table.held_ticket_ids(), table.screen_window(), self.state
        self.helpdesk.looks.run(lambda: self._apply_changes(changes, held, window, state))

    def _apply_changes(
        self, changes: dict[int, Change], held: set[int], window: tuple[int, int], state: QueueState
    ) -> None:
        """Per changed ticket: the views it left or joined (their counts move by one), and what the table needs —
        the screen's rows again (``window``, read here: one hand-off and one paint) when the ticket joined or left
        this view or moved in its order, else just its row when the table holds it, else nothing (a note on a ticket
        far down the queue costs the feed and its columns)."""
        moved: dict[str, int] = {}
        refetch = False
        rows: list[QueueRow] = []
        try:
            service = self.helpdesk.service
            after = {f.id: f for f in service.live.facts(list(changes))}
            assert self._me is not None
            me, tier = self._me
            fresh: list[int] = []
            for ticket_id, change in changes.items():
                if change.before is None and not change.created:
                    continue  # a message alone: nothing the queue shows changed
                was, now = change.before, after.get(ticket_id)
                for view, _label in VIEWS:
                    held_before = was is not None and in_view(
                        view, was.status, was.assignee, was.tier, was.alert, me, tier
                    )
                    held_now = now is not None and in_view(
                        view, now.status, now.assignee, now.tier, now.alert, me, tier
                    )
                    if held_before != held_now:
                        moved[view] = moved.get(view, 0) + (1 if held_now else -1)
                member = now is not None and in_view(
                    state.view, now.status, now.assignee, now.tier, now.alert, me, tier
                )
                was_member = was is not None and in_view(
                    state.view, was.status, was.assignee, was.tier, was.alert, me, tier
                )
                reordered = was is None or now is None or (was.band, was.key) != (now.band, now.key)
                if member != was_member or (member and reordered):
                    refetch = True
                elif member and ticket_id in held:
                    fresh.append(ticket_id)
            if refetch:
                rows = self._rows(service.list_tickets(self._filter(state), *window))
            elif fresh:
                rows = self._rows(service.live.rows(fresh))
        except HelpdeskError:
            self.app.call_from_thread(self._changes_failed)
            return
        self.app.call_from_thread(self._changes_applied, state, moved, window[0] if refetch else None, rows)

    def _changes_failed(self) -> None:
        self.refresh_done()
        self.on_foreign_commit()

    def _changes_applied(
        self, state: QueueState, moved: dict[str, int], refetched: int | None, rows: list[QueueRow]
    ) -> None:
        """``refetched``: the offset of ``rows`` when they are the screen's rows read again, else None (``rows`` are
        fresh copies of rows held in place)."""
        self.refresh_done()
        if state != self.state or not self.is_attached:
            return  # a reload for the new view is under way, or the console is ending
        for view, delta in moved.items():
            if view in self._counts:
                self._counts[view] = max(0, self._counts[view] + delta)
        table = self.query_one(QueueTable)
        total = self._counts.get(state.view, table.total)
        if refetched is not None:
            table.refreshed(refetched, rows, total)
        else:
            table.set_total(total)
            if rows:
                table.update_rows(rows)
        self._render_header()

    @on(QueueTable.WindowNeeded, "#queue")
    def _window_needed(self, message: QueueTable.WindowNeeded) -> None:
        self._load_window(message.offset, message.limit)

    @work(thread=True, exclusive=True, group="window")
    def _load_window(self, offset: int, limit: int) -> None:
        service = self.helpdesk.wait_for_service()
        if service is None:
            return
        state = self.state
        try:
            rows = self._rows(service.list_tickets(self._filter(state), offset, limit))
        except HelpdeskError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        if get_current_worker().is_cancelled:
            return
        self.app.call_from_thread(self._apply_window, state, offset, rows)

    def _rows(self, items: list[QueueItem]) -> list[QueueRow]:
        """Queue rows with their calendars (worker threads only)."""
        policy = self.helpdesk.service.policy()
        now = self.helpdesk.clock()
        rows = []
        for item in items:
            self.remaining.calendars[item.id] = policy.resolve(item.priority, item.channel, item.customer_tier)[0]
            row = queue_row(item)
            self.remaining(row, now)  # loads the calendar's days here rather than during the paint
            rows.append(row)
        # a ticket whose e-mail to the customer failed for good says so in its row
        failed = self.helpdesk.service.mail.failed_tickets([r.ticket_id for r in rows])
        return [replace(r, subject=MAIL_FAILED + r.subject) if r.ticket_id in failed else r for r in rows]

    def _apply_window(self, state: QueueState, offset: int, rows: list[QueueRow]) -> None:
        if state != self.state:
            return
        table = self.query_one(QueueTable)
        table.set_window(offset, rows, self._counts.get(state.view, table.total))

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
        if header != self._header_shown:
            self._header_shown = header
            # one row high whatever it says (app.tcss): no layout pass for new counts
            self.query_one("#queue-header", Static).update(header, layout=False)

    def on_resize(self) -> None:
        self._render_header()
        # At 80 columns the follow-ups key would push `?` off the footer; it stays in the key list and the palette.
        show_bindings(self, ("queue.followups",), self.size.width >= 100)

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
        self._full_load(reset=False)

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
        self.app.call_from_thread(self.look_now)  # the change is in the feed: apply it now, not at the next tick

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
        self.look_now()  # changes made meanwhile (by this console too) come from the feed
