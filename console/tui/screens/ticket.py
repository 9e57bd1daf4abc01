"""One ticket: header with four live SLA clocks, conversation, timeline, the customer's archive, and every action."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Footer, Label, Static, TabbedContent, TabPane, TextArea
from textual.worker import get_current_worker

from console.i18n import N_, _
from console.present.render import clock_label, state_label
from console.rules.errors import HelpdeskError, Stale
from console.rules.macros import MacroSet, default_macros
from console.rules.phrases import PhraseRules, default_rules
from console.rules.workflow import PRIORITY_LABELS, can
from console.service.ticket_view import TicketDetail
from console.tui.drafts import DraftKey
from console.tui.screens.live import LiveScreen
from console.tui.screens.modals import AgentDialog, CloseDialog, Closure, EscalateDialog, Escalation, TextDialog
from console.tui.screens.ticket_panes import conversation, customer_archive, short_time, timeline
from console.tui.ui import business_remaining, status_label, translate_bindings
from db.models import Agent
from db.vocabulary import LIVE_CLOCK_STATES
from widgets.countdown import Countdown
from widgets.knowledge_pane import KbArticleView, KbResult, KnowledgePane
from widgets.safe_text import clean

CLOCKS = ("first_response", "next_update", "restore", "resolve")
HEARTBEAT_S = 10.0
NARROW = 100  # below this many columns the knowledge pane takes the whole width
DRAFT_SAVE_S = 2.0  # an open composer's text is written to its draft this often, when it changed


class TicketScreen(LiveScreen):
    CSS_PATH = "../styles/ticket.tcss"
    BINDINGS: ClassVar = [
        Binding("escape", "back", N_("Back"), id="ticket.back", show=False),
        Binding("r", "compose('reply')", N_("Reply"), id="ticket.reply"),
        Binding("m", "compose('note')", N_("Note"), id="ticket.note"),
        Binding("a", "assign_me", N_("Take"), id="ticket.assign", show=False),
        Binding("A", "assign_to", N_("Assign…"), id="ticket.assign_to", show=False),
        Binding("p", "pending", N_("Pending"), id="ticket.pending"),
        Binding("E", "escalate", N_("Escalate"), id="ticket.escalate"),
        Binding("s", "restore", N_("Restored"), id="ticket.restore", show=False),
        Binding("x", "resolve", N_("Resolve"), id="ticket.resolve"),
        Binding("c", "close_ticket", N_("Close"), id="ticket.close"),
        Binding("u", "reopen", N_("Reopen"), id="ticket.reopen", show=False),
        Binding("ctrl+f", "knowledge", N_("KB"), id="ticket.knowledge"),
        Binding("ctrl+t", "macro", N_("Macro"), id="ticket.macro", show=False),
        Binding("ctrl+r", "refresh", N_("Refresh"), id="ticket.refresh", show=False),
    ]

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
        self._macro_used: str | None = None
        self._draft_timer: Timer | None = None
        self._draft_area: TextArea | None = None  # held: when the screen unmounts, its children are gone already
        self._offered: tuple[str, str] | None = None  # (before, after) a notice offered after an action, untouched
        self._draft_dirty = False  # typed since the draft was last written
        self._draft_warned = False  # told that the draft could not be written (a second Esc drops the text)

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

    # -- loading ------------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load")
    def reload(self) -> None:
        self._watch().prime()
        try:
            detail = self.helpdesk.service.detail(self.ticket_id)
        except HelpdeskError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        from console.service.replies import macros, phrase_rules

        service = self.helpdesk.service
        calendar = service.calendar_for(detail.ticket)
        agents, found, rules = service.agents(), macros(service), phrase_rules(service)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._loaded, detail, calendar, agents, found, rules)

    def _loaded(
        self, detail: TicketDetail, calendar: Any, agents: list[Agent], found: MacroSet, rules: PhraseRules
    ) -> None:
        self.agents, self.macros, self.rules = agents, found, rules
        self._show(detail, calendar)

    def on_foreign_commit(self) -> None:
        self.reload()

    @work(thread=True, exclusive=True, group="heartbeat")
    def _heartbeat(self) -> None:
        try:
            self.helpdesk.service.heartbeat(self.ticket_id)
        except HelpdeskError:
            pass  # presence is a courtesy; never bother the agent with it

    def _show(self, detail: TicketDetail, calendar: Any) -> None:
        self.detail = detail
        t = detail.ticket
        header = Text()
        header.append(f"#{t.id} ", style="bold")
        header.append(clean(t.subject), style="bold")
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
            view = detail.clocks[name]
            box = self.query_one(f"#clock-{name}")
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
                _("due {time}").format(time=short_time(view.due_at))
                if view.due_at and live
                else state_label(view.state)
            )
            box.set_class(view.state == "breached", "-breached")
            box.set_class(view.state == "warning", "-warning")
        self.query_one("#conversation", Static).update(conversation(detail, self.helpdesk.clock()))
        self.query_one("#timeline", Static).update(timeline(detail))
        self.query_one("#customer", Static).update(customer_archive(detail))

    # -- running service actions --------------------------------------------------------------------------

    def _run(self, label: str, call: Callable[[int | None], object], then: Callable[[], None] | None = None) -> None:
        """Call the service with the version the agent is looking at; a stale view is refused and refreshed.
        ``then`` runs on the UI thread after a success (e.g. offering the matching customer notice)."""
        version = self.detail.ticket.version if self.detail else None
        self._do(label, call, version, then)

    @work(thread=True, group="action")
    def _do(
        self, label: str, call: Callable[[int | None], object], version: int | None, then: Callable[[], None] | None
    ) -> None:
        try:
            call(version)
        except Stale as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="warning", timeout=8)
            self.app.call_from_thread(self.reload)
            return
        except HelpdeskError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=8)
            return
        self.app.call_from_thread(self.notify, label)
        self.app.call_from_thread(self.reload)
        if then is not None:
            self.app.call_from_thread(then)

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

    def action_assign_to(self) -> None:
        if not self._allowed("assign"):
            return
        svc = self.helpdesk.service
        agents = self.agents

        def done(name: object) -> None:
            if isinstance(name, str):
                self._run(
                    _("Assigned to {name}.").format(name=name),
                    lambda v: svc.assign(self.ticket_id, name, expected_version=v),
                )

        self.app.push_screen(AgentDialog(agents, self.detail.ticket.assignee if self.detail else None), done)

    def action_pending(self) -> None:
        if self.detail is None:
            return
        svc = self.helpdesk.service
        if self.detail.ticket.status == "pending":
            self._run(_("Back to open."), lambda v: svc.resume(self.ticket_id, expected_version=v))
        elif self._allowed("pending"):
            self._run(
                _("Waiting on the customer; clocks paused."),
                lambda v: svc.pending(self.ticket_id, expected_version=v),
                then=lambda: self.offer_macro("pending_notice"),
            )

    def action_escalate(self) -> None:
        if not self._allowed("escalate") or self.detail is None:
            return
        svc = self.helpdesk.service
        customer = self.detail.customer
        contact = ", ".join(
            x for x in ((customer.name, customer.phone or "", customer.email or "") if customer else ()) if x
        )

        def done(result: object) -> None:
            if isinstance(result, Escalation):
                self._run(
                    _("Escalated to {to}.").format(to=result.to),
                    lambda v: svc.escalate(self.ticket_id, result.to, result.reason, result.notes, expected_version=v),
                    then=lambda: self.offer_macro("handover", new_owner=result.to),
                )

        self.app.push_screen(EscalateDialog(self.detail.ticket, self.agents, contact), done)

    def action_restore(self) -> None:
        if not self._allowed("restore"):
            return
        svc = self.helpdesk.service

        def done(text: object) -> None:
            if isinstance(text, str):
                self._run(
                    _("Service restored (workaround)."),
                    lambda v: svc.restore(self.ticket_id, text, expected_version=v),
                )

        self.app.push_screen(
            TextDialog(
                _("Service restored by a workaround"),
                _("What restored the service? (the cause is not yet fixed)"),
                _("Restored"),
            ),
            done,
        )

    def action_resolve(self) -> None:
        if not self._allowed("resolve"):
            return
        svc = self.helpdesk.service

        def done(text: object) -> None:
            if isinstance(text, str):
                self._run(
                    _("Resolved; awaiting the customer's confirmation."),
                    lambda v: svc.resolve(self.ticket_id, text, expected_version=v),
                )

        self.app.push_screen(
            TextDialog(
                _("Cause fixed"),
                _("How was the cause fixed?"),
                _("Resolve"),
                self.detail.ticket.restore_summary or "" if self.detail else "",
            ),
            done,
        )

    def action_close_ticket(self) -> None:
        if not self._allowed("close") or self.detail is None:
            return
        svc = self.helpdesk.service
        default_followup = (self.helpdesk.service.clock() + timedelta(days=3)).astimezone(UTC).date()

        def done(result: object) -> None:
            if isinstance(result, Closure):
                self._run(
                    _("Ticket closed."),
                    lambda v: svc.close(
                        self.ticket_id,
                        summary=result.summary,
                        code=result.code,
                        confirmed=result.confirmed,
                        unconfirmed_reason=result.unconfirmed_reason,
                        asked_anything_else=result.asked_anything_else,
                        kb_id=result.kb_id,
                        kb_needed=result.kb_needed,
                        followup=result.followup,
                        expected_version=v,
                    ),
                )

        linked = self.detail.articles[0].id if self.detail.articles else None
        self.app.push_screen(CloseDialog(self.detail.ticket, default_followup, linked), done)

    def action_reopen(self) -> None:
        if not self._allowed("reopen"):
            return
        svc = self.helpdesk.service

        def done(text: object) -> None:
            if isinstance(text, str):
                self._run(_("Reopened."), lambda v: svc.reopen(self.ticket_id, text, expected_version=v))

        self.app.push_screen(TextDialog(_("Reopen"), _("Why is the ticket reopened?"), _("Reopen")), done)

    # -- knowledge pane -----------------------------------------------------------------------------------

    def action_knowledge(self) -> None:
        pane = self.query_one(KnowledgePane)
        pane.display = not pane.display
        self.set_class(pane.display and self.size.width < NARROW, "-kb-full")
        if pane.display:
            pane.focus_search()
            self._search(pane.query_text)
        else:
            self.focus_next()

    def on_resize(self) -> None:
        pane = self.query_one(KnowledgePane)
        self.set_class(pane.display and self.size.width < NARROW, "-kb-full")

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
        values = placeholder_values(self.detail, self.helpdesk.service.actor_name, new_owner)
        text = clean(fill(macro, values, reply_language(self.detail)), multiline=True)  # macro bodies are config
        if self._compose_kind != "reply":
            self.action_compose("reply", force=True)
        area = self.query_one("#composer-text", TextArea)
        before = area.text
        area.insert(text if not area.text else "\n" + text)
        self._macro_used = macro_id
        if announce:  # offered, not chosen: skipped untouched, it is no draft of the agent's
            self._offered = (before, area.text)
            self.notify(_("Suggested customer notice: edit and send with Ctrl+S, or Esc to skip."))

    def action_compose(self, kind: str, force: bool = False) -> None:
        if self.detail is None or (not force and not self._allowed("reply" if kind == "reply" else "note")):
            return
        area = self.query_one("#composer-text", TextArea)
        previous = self._compose_kind
        if previous is not None and previous != kind:
            self._save_draft()  # a note's text stays the note's draft: it never turns into a public reply
            area.text = ""
            self._macro_used = None
        self._compose_kind = kind
        self.query_one("#composer-title", Label).update(
            _("Public reply to the customer") if kind == "reply" else _("Internal note (not sent to the customer)")
        )
        composer = self.query_one("#composer")
        composer.set_class(kind == "note", "-note")
        composer.display = True
        self._draft_area = area
        if previous != kind:
            self._restore_draft(area)
        if self._draft_timer is None:
            self._draft_timer = self.set_interval(DRAFT_SAVE_S, self._autosave)
        area.focus()

    def _close_composer(self) -> None:
        self._compose_kind = None
        self._macro_used = None
        self._draft_dirty = self._draft_warned = False
        self._offered = None
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        self.query_one("#composer").display = False
        self.query_one("#composer-text", TextArea).text = ""
        self.focus_next()

    # -- drafts: what is typed survives Esc, a refused send, a crash or a dropped session (console/tui/drafts.py)

    def _draft_key(self, kind: str) -> DraftKey:
        service = self.helpdesk.service
        return DraftKey(str(service.path.resolve()), service.actor_name, self.ticket_id, kind)

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
        if self._compose_kind is None:
            return
        text = self.query_one("#composer-text", TextArea).text.strip()
        if not text:
            self.notify(_("Write something first."), severity="warning")
            return
        svc = self.helpdesk.service
        if self._compose_kind == "note":
            sent = self._sending("note", text)
            self._run(_("Note added."), lambda v: svc.note(self.ticket_id, text, expected_version=v), then=sent)
            self._close_composer()
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
        svc = self.helpdesk.service
        macro = self._macro_used
        self._run(
            _("Reply sent."),
            lambda v: svc.reply(self.ticket_id, text, expected_version=v, guard_override=override, macro=macro),
            then=self._sending("reply", text),
        )
        self._close_composer()


def _business_remaining(calendar: Any, due: float) -> Callable[[float], int | None]:
    return lambda now: business_remaining(calendar, due, now)


__all__ = ["TicketScreen"]
