"""One ticket: header with four live SLA clocks, conversation, timeline, the customer's archive, and every action."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.notifications import SeverityLevel
from textual.timer import Timer
from textual.widgets import Footer, Label, Static, TabbedContent, TabPane, TextArea
from textual.widgets.text_area import Selection
from textual.worker import get_current_worker

from console.i18n import N_, _
from console.present.render import clock_label, state_label
from console.rules.errors import HelpdeskError
from console.rules.macros import MISSING, MacroSet, default_macros
from console.rules.phrases import PhraseRules, default_rules
from console.rules.workflow import PRIORITY_LABELS, can, tier_rank
from console.service.ticket_view import TicketDetail
from console.tui.drafts import DraftKey
from console.tui.screens.action_dialogs import (
    STAGE_DONE,
    Call,
    CallDialog,
    PriorityChange,
    PriorityDialog,
    VisitDialog,
)
from console.tui.screens.live import LiveScreen
from console.tui.screens.modals import (
    AgentDialog,
    CloseDialog,
    Closure,
    Dialog,
    EscalateDialog,
    Escalation,
    TextDialog,
    stale_notice,
)
from console.tui.screens.ticket_panes import changes_since, conversation, customer_archive, short_time, timeline
from console.tui.screens.versioned import Loaded, Outcome, Seen, VersionedWrite, seen_in
from console.tui.ui import business_remaining, status_label, translate_bindings
from db.models import Agent
from db.records import Change
from db.vocabulary import LIVE_CLOCK_STATES
from widgets.bindings import show_bindings
from widgets.countdown import Countdown
from widgets.knowledge_pane import KbArticleView, KbResult, KnowledgePane
from widgets.safe_text import clean

if TYPE_CHECKING:
    from console.service.helpdesk import HelpdeskService

CLOCKS = ("first_response", "next_update", "restore", "resolve", "onsite")  # on site: only once dispatched
HEARTBEAT_S = 10.0
NARROW = 100  # below this many columns the knowledge pane takes the whole width
# The promise-clock keys (call, visit, priority, customer's words) fit in the footer from this width; narrower, they
# stay in the key list (?) and the palette rather than push `?` off the footer.
WIDE_FOOTER = 140
CLOCK_KEYS = ("ticket.call", "ticket.visit", "ticket.priority", "ticket.customer_message")
DRAFT_SAVE_S = 2.0  # an open composer's text is written to its draft this often, when it changed


class TicketScreen(LiveScreen):
    CSS_PATH = "../styles/ticket.tcss"
    # The footer offers what the ticket's status allows (`check_action`): reopen on a closed ticket, resume on a
    # pending one, take where taking is possible; the rest stay in the key list (?) and the palette.
    BINDINGS: ClassVar = [
        Binding("escape", "back", N_("Back"), id="ticket.back", show=False),
        Binding("r", "compose('reply')", N_("Reply"), id="ticket.reply"),
        Binding("m", "compose('note')", N_("Note"), id="ticket.note"),
        Binding("a", "assign_me", N_("Take"), id="ticket.assign"),
        Binding("a", "take_over", N_("Take over"), id="ticket.take_over", show=False),
        Binding("A", "assign_to", N_("Assign…"), id="ticket.assign_to", show=False),
        Binding("p", "pending", N_("Pending"), id="ticket.pending"),
        Binding("p", "resume", N_("Resume"), id="ticket.resume"),
        Binding("E", "escalate", N_("Escalate"), id="ticket.escalate"),
        Binding("s", "restore", N_("Restored"), id="ticket.restore"),
        Binding("x", "resolve", N_("Resolve"), id="ticket.resolve"),
        Binding("c", "close_ticket", N_("Close"), id="ticket.close"),
        Binding("u", "reopen", N_("Reopen"), id="ticket.reopen"),
        # The promise clocks (issue 16): a call, the on-site visit's next stage, the priority, the customer's words.
        Binding("L", "log_call", N_("Call"), id="ticket.call"),
        Binding("V", "visit", N_("Visit"), id="ticket.visit"),
        Binding("P", "priority", N_("Priority"), id="ticket.priority"),
        Binding("M", "customer_message", N_("Customer said"), id="ticket.customer_message"),
        Binding("ctrl+f", "knowledge", N_("KB"), id="ticket.knowledge"),
        Binding("ctrl+t", "macro", N_("Macro"), id="ticket.macro", show=False),
        Binding("ctrl+r", "refresh", N_("Refresh"), id="ticket.refresh", show=False),
    ]
    # screen action -> the workflow action it performs (console/rules/workflow.py decides per status)
    WORKFLOW: ClassVar[dict[str, str]] = {
        "assign_me": "assign",
        "take_over": "assign",
        "assign_to": "assign",
        "pending": "pending",
        "resume": "resume",
        "escalate": "escalate",
        "restore": "restore",
        "resolve": "resolve",
        "close_ticket": "close",
        "reopen": "reopen",
        "log_call": "call",
        "visit": "visit",
        "priority": "priority",
        "customer_message": "customer_message",  # every status: the service routes it (reopen, follow-up ticket)
    }

    def __init__(self, ticket_id: int) -> None:
        super().__init__()
        translate_bindings(self)
        self.ticket_id = ticket_id
        self.detail: TicketDetail | None = None
        # Read with the ticket in the load worker, so dialogs and the composer never query on the UI thread.
        self.agents: list[Agent] = []
        self.macros: MacroSet = default_macros()
        self.rules: PhraseRules = default_rules()
        self._compose_kind: str | None = None
        self._composer_seen: Seen | None = None  # the ticket as the composer opened on it (or last re-checked)
        self._composer_busy = False  # a send is under way
        self._override: tuple[str, str] | None = None  # (text, reason): a reply already sent past the guard once
        self._macro_used: str | None = None
        self._draft_timer: Timer | None = None
        self._draft_area: TextArea | None = None  # held: when the screen unmounts, its children are gone already
        self._offered: tuple[str, str] | None = None  # (before, after) a notice offered after an action, untouched
        self._draft_dirty = False  # typed since the draft was last written
        self._draft_warned = False  # told that the draft could not be written (a second Esc drops the text)
        self._told: set[str] = set()  # this screen's information toasts (the newest replaces the others)

    def compose(self) -> ComposeResult:
        yield Static(_("Loading ticket {id}…").format(id=self.ticket_id), id="ticket-header")
        with Horizontal(id="clocks"):
            for name in CLOCKS:
                with Vertical(classes="clock", id=f"clock-{name}"):
                    yield Label(clock_label(name), classes="clock-name")
                    yield Countdown(clock=self.helpdesk.clock, classes="clock-time")
                    yield Label("", classes="clock-state")
        with Horizontal(id="ticket-body"):
            with TabbedContent(id="ticket-tabs"):
                with TabPane(_("Conversation"), id="tab-conversation"):
                    yield VerticalScroll(Static(id="conversation"), id="conversation-scroll")
                with TabPane(_("Timeline"), id="tab-timeline"):
                    yield VerticalScroll(Static(id="timeline"))
                with TabPane(_("Customer"), id="tab-customer"):
                    yield VerticalScroll(Static(id="customer"))
            yield KnowledgePane(id="kb-pane")
        with Vertical(id="composer"):
            yield Label("", id="composer-title")
            yield Static("", id="composer-stale")
            yield TextArea(id="composer-text", soft_wrap=True)
            yield Label(_("Ctrl+S send · Esc close (the draft is kept)"), id="composer-help")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#composer").display = False
        self.query_one(KnowledgePane).display = False
        self.reload()
        self.set_interval(self.helpdesk.live_interval, self._poll)
        self.set_interval(HEARTBEAT_S, self._heartbeat)
        self._heartbeat()

    def on_unmount(self) -> None:
        if self._compose_kind is not None:
            self._save_draft()  # the composer goes with the screen (quitting, a hang-up): its text stays a draft
        # A write: off the UI thread, in an app worker so it outlives this screen.
        service, ticket_id = self.helpdesk.service, self.ticket_id

        def leave() -> None:
            try:
                service.leave(ticket_id)
            except HelpdeskError:
                pass  # presence expires by itself

        self.app.run_worker(leave, thread=True, group="presence")

    # -- notifications: the newest word of the ticket screen, not a pile of them ---------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """An information toast of this screen replaces the ones it showed before (at 80×24 they stacked over the
        composer); warnings and errors stay until they time out, and other screens' toasts are left alone."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)
        if severity == "information":
            self._told.add(clean(message, multiline=True))
            self.app.call_later(self._trim_toasts)  # queued after the notification itself is added

    def _trim_toasts(self) -> None:
        own = [n for n in self.app._notifications if n.severity == "information" and n.message in self._told]
        for index, earlier in enumerate(own[:-1]):
            self.app._unnotify(earlier, refresh=index == len(own) - 2)

    # -- the footer: what this ticket's status allows --------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "compose":
            flow: str | None = "reply" if parameters[:1] == ("reply",) else "note"
        else:
            flow = self.WORKFLOW.get(action)
        if flow is None:
            return True
        if self.detail is None:
            return False
        if flow == "customer_message":
            return True
        ticket = self.detail.ticket
        if not can(ticket.status, flow):
            return False
        me = self.helpdesk.service.actor_name
        agent = next((a for a in self.agents if a.name == me), None)
        if action == "assign_me":  # taking an unassigned ticket (of a plain agent's tier or below)
            return ticket.assignee is None and (
                agent is None or agent.role != "agent" or tier_rank(ticket.tier) <= tier_rank(agent.tier)
            )
        if action == "take_over":  # a supervisor taking another agent's ticket: the same key, not offered
            return ticket.assignee not in (None, me) and agent is not None and agent.role != "agent"
        if action == "restore":  # while the restore deadline runs (none for P3/P4, met once restored)
            return self.detail.clocks["restore"].state in (*LIVE_CLOCK_STATES, "paused")
        return True

    # -- loading ------------------------------------------------------------------------------------------

    def _load(self) -> Loaded:
        """The ticket and what its dialogs need (worker threads only)."""
        from console.service.replies import macros, phrase_rules

        service = self.helpdesk.service
        detail = service.detail(self.ticket_id)
        calendar = service.calendar_for(detail.ticket)
        return Loaded(detail, calendar, service.agents(), macros(service), phrase_rules(service))

    @work(thread=True, exclusive=True, group="load")
    def reload(self) -> None:
        if self._cursor is None:
            self.prime_feed()  # before the first read: a change right after it is not missed
        try:
            loaded = self._load()
        except HelpdeskError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._apply, loaded)

    def _apply(self, loaded: Loaded) -> None:
        self.agents, self.macros, self.rules = loaded.agents, loaded.macros, loaded.rules
        self._show(loaded.detail, loaded.calendar)

    def on_foreign_commit(self) -> None:
        self.reload()

    def on_changes(self, changes: dict[int, Change]) -> None:
        if self.ticket_id in changes:
            self.reload()

    @work(thread=True, exclusive=True, group="heartbeat")
    def _heartbeat(self) -> None:
        try:
            self.helpdesk.service.heartbeat(self.ticket_id)
            viewers = self.helpdesk.service.viewers(self.ticket_id)
        except HelpdeskError:
            return  # presence is a courtesy; never bother the agent with it
        # Presence writes no change to the feed: who else is here is looked at with each beat.
        if self.detail is not None and viewers != self.detail.viewers:
            self.app.call_from_thread(self.reload)

    def _show(self, detail: TicketDetail, calendar: Any) -> None:
        self.detail = detail
        t = detail.ticket
        header = Text()
        header.append(f"#{t.id} ", style="bold")
        header.append(clean(t.subject), style="bold")  # one line, cut with an ellipsis (ticket.tcss)
        header.append("\n")
        header.append(f" {status_label(t.status)} ", style="reverse")
        header.append(
            f"  {t.priority} {_(PRIORITY_LABELS[t.priority])}", style="bold red" if t.priority == "P1" else ""
        )
        header.append(f"  {_(t.channel)}  ")
        header.append(f"{t.tier} · {clean(t.assignee or _('unassigned'))}")
        if detail.customer is not None:
            header.append("  ·  " + clean(detail.customer.name))
            if detail.customer.organisation:
                header.append(f" ({clean(detail.customer.organisation)})", style="dim")
        if detail.viewers:
            header.append(
                "\n" + _("Also viewing: {names}").format(names=", ".join(clean(v) for v in detail.viewers)),
                style="yellow",
            )
        if t.parent_id:
            header.append("\n" + _("Follow-up to #{id}").format(id=t.parent_id), style="dim")
        self.query_one("#ticket-header", Static).update(header)
        for name in CLOCKS:
            box = self.query_one(f"#clock-{name}")
            view = detail.clocks.get(name)
            if view is None or (name == "onsite" and view.state == "none"):
                box.display = False
                continue
            box.display = True
            countdown = box.query_one(Countdown)
            live = view.state in LIVE_CLOCK_STATES and view.due_at is not None
            due = view.due_at.timestamp() if live and view.due_at else None
            warn = view.warn_at.timestamp() if view.warn_at else None
            paused = view.remaining_s if view.state == "paused" else None
            remaining = _business_remaining(calendar, due) if due is not None else None
            countdown.set_deadline(due, warn_at=warn, paused_remaining_s=paused, remaining=remaining)
            countdown.display = live or view.state == "paused"
            box.query_one(".clock-state", Label).update(
                # a live clock's countdown and colour say its state; the room is for when it is due
                _("due {time}").format(time=short_time(view.due_at, detail.zone))
                if view.due_at and live
                else state_label(view.state)
            )
            box.set_class(view.state == "breached", "-breached")
            box.set_class(view.state == "warning", "-warning")
        self.query_one("#conversation", Static).update(conversation(detail, self.helpdesk.clock()))
        self.query_one("#timeline", Static).update(timeline(detail))
        self.query_one("#customer", Static).update(customer_archive(detail))
        self.refresh_bindings()  # the footer follows the status

    # -- running service actions on the version the agent saw --------------------------------------------------

    def _versioned(
        self,
        call: Callable[[Any, int], object],
        label: Callable[[Any], str],
        then: Callable[[Any], None] | None = None,
        seen: Seen | None = None,
    ) -> VersionedWrite:
        assert self.detail is not None
        return VersionedWrite(
            seen=seen or seen_in(self.detail),
            call=call,
            load=self._load,
            describe=changes_since,
            label=label,
            then=then,
            after=self._underneath,
        )

    def _underneath(self, outcome: Outcome) -> None:
        """A dialog's write was refused as stale: the ticket behind the dialog is shown as it is now."""
        if outcome.loaded is not None:
            self._apply(outcome.loaded)

    def _done(self, write: VersionedWrite, outcome: Outcome) -> None:
        """A write went through (UI thread): show the ticket after it, say so, then what follows it."""
        if outcome.loaded is not None:
            self._apply(outcome.loaded)
        else:
            self.reload()
        if self._compose_kind is not None and self._composer_seen == outcome.before and outcome.after is not None:
            self._composer_seen = outcome.after  # the agent's own change: no reason to re-check the reply
        label = write.label(outcome.answer)
        if label:
            self.notify(label)
        if write.then is not None:
            write.then(outcome.answer)

    def _run(self, label: str, call: Callable[[int], object], then: Callable[[], None] | None = None) -> None:
        """A single-key action on the version on screen: a stale view is refused, said and refreshed."""
        if self.detail is None:
            return
        self._send_now(
            self._versioned(
                lambda _answer, v: call(v),
                lambda _answer: label,
                (lambda _answer: then()) if then is not None else None,
            )
        )

    @work(thread=True, group="action")
    def _send_now(self, write: VersionedWrite) -> None:
        outcome = write.send(None)
        self.app.call_from_thread(self._sent_now, write, outcome)

    def _sent_now(self, write: VersionedWrite, outcome: Outcome) -> None:
        if outcome.kind == "done":
            self._done(write, outcome)
        elif outcome.kind == "stale":
            self._underneath(outcome)
            self.notify(outcome.message, severity="warning", timeout=8)
        else:
            self.notify(outcome.message, severity="error", timeout=8)

    def _dialog(
        self,
        dialog: Dialog,
        call: Callable[[Any, int], object],
        label: Callable[[Any], str],
        then: Callable[[Any], None] | None = None,
    ) -> None:
        """Open ``dialog`` on the ticket as it is on screen; it writes on that version (see versioned.py)."""
        write = self._versioned(call, label, then)
        dialog.sender = write

        def done(result: object) -> None:
            if isinstance(result, Outcome):
                self._done(write, result)

        self.app.push_screen(dialog, done)

    def _allowed(self, action: str) -> bool:
        if self.detail is None:
            return False
        if not can(self.detail.ticket.status, action):
            self.notify(
                _("Not possible while the ticket is {status}.").format(status=status_label(self.detail.ticket.status)),
                severity="warning",
            )
            return False
        return True

    def action_back(self) -> None:
        """Esc closes the innermost thing: the knowledge pane when in it, the composer, the pane, the ticket."""
        pane = self.query_one(KnowledgePane)
        if pane.display and (pane.has_focus_within or self._compose_kind is None):
            self._close_knowledge()
            return
        if self._compose_kind is not None:
            self._leave_composer()
            return
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self.reload()

    def action_assign_me(self) -> None:
        if self._allowed("assign"):
            svc = self.helpdesk.service
            self._run(_("Assigned to you."), lambda v: svc.assign(self.ticket_id, expected_version=v))

    def action_take_over(self) -> None:
        self.action_assign_me()

    def action_assign_to(self) -> None:
        if not self._allowed("assign") or self.detail is None:
            return
        svc = self.helpdesk.service
        self._dialog(
            AgentDialog(self.agents, self.detail.ticket.assignee),
            lambda name, v: svc.assign(self.ticket_id, str(name), expected_version=v),
            lambda name: _("Assigned to {name}.").format(name=name),
        )

    def action_pending(self) -> None:
        if self.detail is None:
            return
        if self.detail.ticket.status == "pending":
            self.action_resume()
        elif self._allowed("pending"):
            svc = self.helpdesk.service
            self._run(
                _("Waiting on the customer; clocks paused."),
                lambda v: svc.pending(self.ticket_id, expected_version=v),
                then=lambda: self.offer_macro("pending_notice"),
            )

    def action_resume(self) -> None:
        if self._allowed("resume"):
            svc = self.helpdesk.service
            self._run(_("Back to open."), lambda v: svc.resume(self.ticket_id, expected_version=v))

    def action_escalate(self) -> None:
        if not self._allowed("escalate") or self.detail is None:
            return
        svc = self.helpdesk.service
        customer = self.detail.customer
        contact = ", ".join(
            x for x in ((customer.name, customer.phone or "", customer.email or "") if customer else ()) if x
        )
        notice_for = self._handover_notice if customer is not None and self.macros.get("handover") else None

        def escalate(result: Escalation, version: int) -> object:
            return _escalate(svc, self.ticket_id, result, version)

        def forbidden(text: str) -> list[str]:
            from console.rules.phrases import check

            return [hit.phrase for hit in check(text, self.rules)]

        self._dialog(
            EscalateDialog(self.detail.ticket, self.agents, contact, notice_for, forbidden),
            escalate,
            lambda result: (
                _("Escalated to {to}.").format(to=result.to)
                + (" " + _("The customer was sent the handover notice.") if result.notice else "")
            ),
        )

    def _handover_notice(self, to: str) -> str:
        from console.service.replies import fill, placeholder_values, reply_language

        macro = self.macros.get("handover")
        if macro is None or self.detail is None:
            return ""
        lang = reply_language(self.detail)
        values = placeholder_values(self.detail, self.helpdesk.service.actor_name, to, agents=self.agents, lang=lang)
        return fill(macro, values, lang)

    def action_restore(self) -> None:
        if not self._allowed("restore"):
            return
        svc = self.helpdesk.service
        self._dialog(
            TextDialog(
                _("Service restored by a workaround"),
                _("What restored the service? (the cause is not yet fixed)"),
                _("Restored"),
            ),
            lambda text, v: svc.restore(self.ticket_id, str(text), expected_version=v),
            lambda _text: _("Service restored (workaround)."),
        )

    def action_resolve(self) -> None:
        if not self._allowed("resolve") or self.detail is None:
            return
        svc = self.helpdesk.service
        self._dialog(
            TextDialog(
                _("Cause fixed"),
                _("How was the cause fixed?"),
                _("Resolve"),
                self.detail.ticket.restore_summary or "",
            ),
            lambda text, v: svc.resolve(self.ticket_id, str(text), expected_version=v),
            lambda _text: _("Resolved; awaiting the customer's confirmation."),
        )

    def action_close_ticket(self) -> None:
        if not self._allowed("close") or self.detail is None:
            return
        svc = self.helpdesk.service
        today = self.helpdesk.service.clock().astimezone(UTC).date()
        default_followup = today + timedelta(days=3)

        def close(result: Closure, version: int) -> object:
            return _close(svc, self.ticket_id, result, version)

        linked = self.detail.articles[0].id if self.detail.articles else None
        self._dialog(
            CloseDialog(self.detail.ticket, default_followup, linked, today=today),
            close,
            lambda _result: _("Ticket closed."),
        )

    def action_reopen(self) -> None:
        if not self._allowed("reopen"):
            return
        svc = self.helpdesk.service
        self._dialog(
            TextDialog(_("Reopen"), _("Why is the ticket reopened?"), _("Reopen")),
            lambda text, v: svc.reopen(self.ticket_id, str(text), expected_version=v),
            lambda _text: _("Reopened."),
        )

    # -- the promise clocks: calls, on-site visits, priority, the customer's words (issue 16) ------------------------

    def action_log_call(self) -> None:
        if not self._allowed("call") or self.detail is None:
            return
        svc = self.helpdesk.service

        def call(result: Call, version: int) -> object:
            return svc.log_call(self.ticket_id, result.direction, result.notes, expected_version=version)

        self._dialog(
            CallDialog(self.detail.ticket),
            call,
            lambda result: _("Call from the customer logged.") if result.direction == "in" else _("Call logged."),
        )

    def action_visit(self) -> None:
        if self._allowed("visit"):
            self._visit_stage()

    @work(thread=True, exclusive=True, group="visit-stage")
    def _visit_stage(self) -> None:
        """The stage the visit reached is read off the UI thread; the dialog then opens on the ticket on screen."""
        try:
            last = self.helpdesk.service.visit_stage(self.ticket_id)
        except HelpdeskError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self._open_visit, last)

    def _open_visit(self, last: str | None) -> None:
        if self.detail is None:
            return
        svc = self.helpdesk.service

        def visit(result: tuple[str, str], version: int) -> object:
            return svc.visit(self.ticket_id, result[0], result[1], expected_version=version)

        self._dialog(
            VisitDialog(self.detail.ticket, last),
            visit,
            lambda result: _(STAGE_DONE[result[0]]),
        )

    def action_priority(self) -> None:
        if not self._allowed("priority") or self.detail is None:
            return
        svc = self.helpdesk.service

        def change(result: PriorityChange, version: int) -> object:
            return svc.change_priority(self.ticket_id, result.priority, result.reason, expected_version=version)

        self._dialog(
            PriorityDialog(self.detail.ticket),
            change,
            lambda result: _("Priority changed to {priority}; the clocks follow it.").format(priority=result.priority),
        )

    def action_customer_message(self) -> None:
        if self.detail is None:
            return
        svc = self.helpdesk.service
        written: list[int] = []  # the ticket it went on: a new follow-up ticket when this one closed long ago

        def record(text: object, _version: int) -> object:
            # The customer's words are a fact, recorded whatever changed meanwhile (the service takes no version).
            ticket = svc.customer_reply(self.ticket_id, str(text))
            written.append(ticket.id)
            return ticket

        def label(_text: object) -> str:
            if written and written[-1] != self.ticket_id:
                return _("Recorded on the new follow-up ticket #{id}.").format(id=written[-1])
            return _("Customer's message recorded.")

        self._dialog(
            TextDialog(
                _("The customer's message"),
                _("What did the customer say (by phone or chat)?"),
                _("Record"),
            ),
            record,
            label,
        )

    # -- knowledge pane -----------------------------------------------------------------------------------

    def action_knowledge(self) -> None:
        pane = self.query_one(KnowledgePane)
        if pane.display:
            self._close_knowledge()
            return
        pane.display = True
        self.set_class(self.size.width < NARROW, "-kb-full")
        pane.focus_search()
        self._search(pane.query_text)

    def _close_knowledge(self) -> None:
        self.query_one(KnowledgePane).display = False
        self.set_class(False, "-kb-full")
        if self._compose_kind is not None:
            self.query_one("#composer-text", TextArea).focus()
        else:
            self.focus_next()

    def on_resize(self) -> None:
        pane = self.query_one(KnowledgePane)
        self.set_class(pane.display and self.size.width < NARROW, "-kb-full")
        # narrow: the footer's room goes to the ticket's own keys (the palette stays on ctrl+p, and in ?)
        self.query_one(Footer).show_command_palette = self.size.width >= NARROW
        show_bindings(self, CLOCK_KEYS, self.size.width >= WIDE_FOOTER)

    @on(KnowledgePane.SearchChanged)
    def _kb_search_changed(self, message: KnowledgePane.SearchChanged) -> None:
        self._search(message.query)

    @work(thread=True, exclusive=True, group="kb")
    def _search(self, query: str) -> None:
        svc = self.helpdesk.service
        if query.strip():
            hits = svc.search_kb(query, limit=20, include_drafts=True)
            heading = _("{n} articles for “{query}”").format(n=len(hits), query=clean(query.strip()))
        elif self.detail is not None:
            hits = svc.suggest_kb(self.detail.ticket, limit=8)
            heading = _("Suggested for this ticket")
        else:
            return
        results = [KbResult(h.id, h.title, h.status, tuple(h.spans())) for h in hits]
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.query_one(KnowledgePane).show_results, heading, results)

    @on(KnowledgePane.ArticleRequested)
    def _kb_article(self, message: KnowledgePane.ArticleRequested) -> None:
        self._kb_act(message.article_id, message.action)

    @work(thread=True, group="kb-action")
    def _kb_act(self, article_id: int, action: str) -> None:
        svc = self.helpdesk.service
        try:
            article = svc.article(article_id)
            if action == "open":
                view = KbArticleView(article.id, article.title, article.body, article.status, article.tags)
                self.app.call_from_thread(self.query_one(KnowledgePane).show_article, view)
            elif action in ("reference", "text"):
                self.app.call_from_thread(self._insert_article, article.id, article.title, article.body, action)
            elif action == "link":
                linked = svc.link_article(self.ticket_id, article_id)
                message = (
                    _("Article #{id} linked to this ticket.") if linked else _("Article #{id} was linked already.")
                )
                self.app.call_from_thread(self.notify, message.format(id=article_id))
                self.app.call_from_thread(self.reload)
            elif action == "publish":
                svc.publish_article(article_id)
                self.app.call_from_thread(self.notify, _("Article #{id} published.").format(id=article_id))
                self.app.call_from_thread(self._search, self.query_one(KnowledgePane).query_text)
        except HelpdeskError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")

    def _insert_article(self, article_id: int, title: str, body: str, mode: str) -> None:
        if self._compose_kind is None:
            self.action_compose("reply", force=True)
        area = self.query_one("#composer-text", TextArea)
        if mode == "reference":
            snippet = _("See knowledge article #{id}: {title}").format(id=article_id, title=title)
        else:
            snippet = f"{title}\n\n{body.strip()}"
        snippet = clean(snippet, multiline=True)  # a TextArea draws what it holds, escapes included
        area.insert(snippet if not area.text else "\n" + snippet)
        area.focus()

    # -- composer -----------------------------------------------------------------------------------------

    def action_macro(self) -> None:
        """Pick a canned reply (by its key or from the list); it goes into the composer, never straight out."""
        from console.tui.screens.macro import MacroDialog

        found = self.macros

        def done(macro_id: object) -> None:
            if isinstance(macro_id, str):
                self.offer_macro(macro_id, announce=False)

        self.app.push_screen(MacroDialog(found), done)

    def offer_macro(self, macro_id: str, *, new_owner: str | None = None, announce: bool = True) -> None:
        """Open the reply composer with a macro filled in for this ticket (the agent edits, sends or cancels)."""
        from console.service.replies import fill, placeholder_values, reply_language

        if self.detail is None:
            return
        macro = self.macros.get(macro_id)
        if macro is None:
            return
        lang = reply_language(self.detail)
        values = placeholder_values(
            self.detail, self.helpdesk.service.actor_name, new_owner, agents=self.agents, lang=lang
        )
        text = clean(fill(macro, values, lang), multiline=True)  # macro bodies are config
        if self._compose_kind != "reply":
            self.action_compose("reply", force=True)
        area = self.query_one("#composer-text", TextArea)
        before = area.text
        area.insert(text if not area.text else "\n" + text)
        self._macro_used = macro_id
        self._select_blank(area, len(before))
        if announce:  # offered, not chosen: skipped untouched, it is no draft of the agent's
            self._offered = (before, area.text)
            self.notify(_("Suggested customer notice: edit and send with Ctrl+S, or Esc to skip."))

    @staticmethod
    def _select_blank(area: TextArea, start: int) -> None:
        """Select the first blank (—) a macro left after ``start``, so typing fills it in."""
        at = area.text.find(MISSING, start)
        if at < 0:
            return
        before = area.text[:at]
        row = before.count("\n")
        column = at - (before.rfind("\n") + 1)
        area.selection = Selection((row, column), (row, column + len(MISSING)))

    def action_compose(self, kind: str, force: bool = False) -> None:
        if self.detail is None or (not force and not self._allowed("reply" if kind == "reply" else "note")):
            return
        area = self.query_one("#composer-text", TextArea)
        previous = self._compose_kind
        if previous is not None and previous != kind:
            self._save_draft()  # a note's text stays the note's draft: it never turns into a public reply
            area.text = ""
            self._macro_used = None
        if previous is None:
            self._composer_seen = seen_in(self.detail)  # the reply is written on the ticket as it is now
        self._compose_kind = kind
        self.query_one("#composer-title", Label).update(
            _("Public reply to the customer") if kind == "reply" else _("Internal note (not sent to the customer)")
        )
        composer = self.query_one("#composer")
        composer.set_class(kind == "note", "-note")
        composer.display = True
        self.add_class("-composing")
        self._draft_area = area
        if previous != kind:
            self._restore_draft(area)
        if self._draft_timer is None:
            self._draft_timer = self.set_interval(DRAFT_SAVE_S, self._autosave)
        area.focus()

    def _close_composer(self) -> None:
        self._compose_kind = None
        self._composer_seen = None
        self._override = None
        self._show_composer_stale(None)
        self._macro_used = None
        self._draft_dirty = self._draft_warned = False
        self._offered = None
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        self.query_one("#composer").display = False
        self.remove_class("-composing")
        self.query_one("#composer-text", TextArea).text = ""
        self.focus_next()

    # -- drafts: what is typed survives Esc, a refused send, a crash or a dropped session (console/tui/drafts.py)

    def _draft_key(self, kind: str) -> DraftKey:
        service = self.helpdesk.service
        return DraftKey(service.database_key, service.actor_name, self.ticket_id, kind)

    def _restore_draft(self, area: TextArea) -> None:
        assert self._compose_kind is not None
        draft = self.helpdesk.drafts.load(self._draft_key(self._compose_kind))
        if draft is None:
            return
        area.text = draft.text
        area.move_cursor(area.document.end)
        self._macro_used = draft.macro
        self.notify(_("Draft restored."))

    def _save_draft(self) -> bool:
        """Write the open composer's text to its draft (an empty text removes it); False if that failed."""
        if self._compose_kind is None or self._draft_area is None:
            return True
        self._draft_dirty = False
        text, macro = self._kept()
        return self.helpdesk.drafts.save(self._draft_key(self._compose_kind), text, macro)

    def _kept(self) -> tuple[str, str | None]:
        """What the draft holds: the composer's text and macro, or what it held before an untouched offered notice."""
        text = self._draft_area.text if self._draft_area is not None else ""
        if self._offered is not None and text == self._offered[1]:
            return self._offered[0], None
        return text, self._macro_used

    def _autosave(self) -> None:
        if self._draft_dirty:
            self._save_draft()

    def _leave_composer(self) -> None:
        """Esc: the composer closes and what it held stays a draft, as mature helpdesks do (no question asked)."""
        has_text = bool(self._kept()[0].strip())
        saved = self._save_draft()
        if not saved and has_text and not self._draft_warned:
            self._draft_warned = True
            self.notify(
                _("The draft could not be saved in {dir}: send it, or press Esc again to drop it.").format(
                    dir=self.helpdesk.drafts.directory
                ),
                severity="error",
                timeout=10,
            )
            return
        self._close_composer()
        if saved and has_text:
            self.notify(_("Draft kept: it comes back when you open the composer on this ticket again."))

    def _sending(self, kind: str, text: str) -> Callable[[], None]:
        """Before a send: the text is written to its draft, so a refused send (the ticket changed meanwhile) loses
        nothing. Returns what removes the draft once the send went through (unless a newer draft replaced it)."""
        drafts, key = self.helpdesk.drafts, self._draft_key(kind)
        drafts.save(key, text, self._macro_used)

        def sent() -> None:
            drafts.discard(key, only_if=text)

        return sent

    @on(TextArea.Changed, "#composer-text")
    def _typing(self) -> None:
        # (single-letter screen keys do not fire while the text area has focus); written at the next autosave
        if self._compose_kind is not None:
            self._draft_dirty = True

    def key_ctrl_s(self) -> None:
        if self._compose_kind is None or self._composer_busy:
            return
        text = self.query_one("#composer-text", TextArea).text.strip()
        if not text:
            self.notify(_("Write something first."), severity="warning")
            return
        if self._compose_kind == "note":
            self._send_composed("note", text)
            return
        if any(line.strip() == MISSING for line in text.splitlines()):
            # a macro's blank left as it was: a pending notice asking for nothing, a summary never written
            self.notify(
                _("Fill in the blank (—) first: for a pending notice, list what you need from the customer."),
                severity="warning",
            )
            area = self.query_one("#composer-text", TextArea)
            self._select_blank(area, 0)
            return
        if self._override is not None and self._override[0] == text:
            self._send_composed("reply", text, self._override[1])  # the guard was answered for this very text
            return
        self._send_reply(text)

    def _send_reply(self, text: str, override: str | None = None) -> None:
        from console.rules.phrases import check

        hits = [] if override else check(text, self.rules)
        if hits:
            from console.tui.screens.guard import GuardDialog

            def done(result: object) -> None:
                if isinstance(result, str):
                    self._send_reply(text, override=result)

            self.app.push_screen(GuardDialog(text, hits), done)
            return
        self._send_composed("reply", text, override)

    def _send_composed(self, kind: str, text: str, override: str | None = None) -> None:
        """Send the composer's text on the ticket version it opened on; the composer closes once it is written."""
        if self.detail is None or self._composer_seen is None:
            return
        svc = self.helpdesk.service
        macro = self._macro_used
        sent = self._sending(kind, text)
        if kind == "note":
            label = _("Note added.")

            def call(_answer: object, version: int) -> object:
                return svc.note(self.ticket_id, text, expected_version=version)
        else:
            label = _("Reply sent.")

            def call(_answer: object, version: int) -> object:
                return svc.reply(self.ticket_id, text, expected_version=version, guard_override=override, macro=macro)

        write = self._versioned(call, lambda _answer: label, lambda _answer: sent(), seen=self._composer_seen)
        self._composer_busy = True
        self._send_composer(write, text, override)

    @work(thread=True, group="compose")
    def _send_composer(self, write: VersionedWrite, text: str, override: str | None) -> None:
        outcome = write.send(None)
        self.app.call_from_thread(self._composer_sent, write, outcome, text, override)

    def _composer_sent(self, write: VersionedWrite, outcome: Outcome, text: str, override: str | None) -> None:
        self._composer_busy = False
        if outcome.kind == "done":
            self._close_composer()
            self._done(write, outcome)
            return
        if outcome.kind == "stale":
            # Nothing was sent: the text stays, the ticket is shown as it is now, and the next Ctrl+S sends on it.
            self._composer_seen = write.seen
            if override is not None:
                self._override = (text, override)
            self._underneath(outcome)
            self._show_composer_stale(outcome)
            return
        self.notify(outcome.message, severity="error", timeout=8)  # the text stays, and in its draft

    def _show_composer_stale(self, outcome: Outcome | None) -> None:
        panel = self.query_one("#composer-stale", Static)
        composer = self.query_one("#composer")
        if outcome is None:
            panel.update("")
            composer.remove_class("-stale")
            return
        panel.update(stale_notice(outcome, _("send")))
        composer.add_class("-stale")


def _escalate(service: HelpdeskService, ticket_id: int, handover: Escalation, version: int) -> object:
    """The escalation dialog's answer to the service: the notes' parts, and the notice sent in the same change."""
    return service.escalate(
        ticket_id,
        handover.to,
        handover.reason,
        handover.notes,
        tried=handover.tried,
        impact=handover.impact,
        told=handover.told or None,
        notice=handover.notice,
        expected_version=version,
    )


def _close(service: HelpdeskService, ticket_id: int, closure: Closure, version: int) -> object:
    return service.close(
        ticket_id,
        summary=closure.summary,
        code=closure.code,
        confirmed=closure.confirmed,
        confirmed_by=closure.confirmed_by,
        unconfirmed_reason=closure.unconfirmed_reason,
        asked_anything_else=closure.asked_anything_else,
        kb_id=closure.kb_id,
        kb_needed=closure.kb_needed,
        followup=closure.followup,
        expected_version=version,
    )


def _business_remaining(calendar: Any, due: float) -> Callable[[float], int | None]:
    return lambda now: business_remaining(calendar, due, now)


__all__ = ["TicketScreen"]
