"""Modal dialogs: escalation, closure confirmation, a required text, choosing an agent.

Each returns its answer through ``dismiss`` (None on Esc) and writes nothing itself: the ticket screen hands
the answer to the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    OptionList,
    RadioButton,
    RadioSet,
    Select,
    Static,
    TextArea,
)
from textual.widgets.option_list import Option

from console.i18n import N_, _
from console.tui.ui import translate_bindings
from db.models import Agent, Ticket
from db.vocabulary import needs_followup
from widgets.safe_text import clean, plain


class Dialog(ModalScreen[object]):
    """Esc cancels and changes nothing; ctrl+s submits."""

    CSS_PATH = "../styles/dialogs.tcss"

    BINDINGS: ClassVar = [
        Binding("escape", "cancel", N_("Cancel"), id="dialog.cancel"),
        Binding("ctrl+s", "submit", N_("Submit"), id="dialog.submit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def error(self, message: str) -> None:
        self.query_one("#dialog-error", Static).update(plain(message))

    def buttons(self, submit: str) -> ComposeResult:
        yield Static("", id="dialog-error", classes="dialog-error")
        with Horizontal(classes="dialog-buttons"):
            yield Button(_("Cancel") + " [Esc]", id="cancel")
            yield Button(submit + " [Ctrl+S]", id="submit", variant="primary")

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#submit")
    def _submit(self) -> None:
        self.action_submit()


# -- escalation ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalation:
    to: str
    reason: str
    notes: str


def handoff_template(ticket: Ticket, customer: str) -> str:
    return "\n".join(
        [
            _("Symptoms:") + " " + clean(ticket.subject),
            _("Steps already tried:") + " ",
            _("Business impact:") + " ",
            _("Customer contact:") + " " + clean(customer),
        ]
    )


class EscalateDialog(Dialog):
    """Hand the ticket to the next tier (or a named agent, a supervisor too) with complete information."""

    def __init__(self, ticket: Ticket, agents: list[Agent], customer: str) -> None:
        super().__init__()
        self.ticket = ticket
        self.agents = agents
        self.customer = customer

    def compose(self) -> ComposeResult:
        from console.rules.workflow import tier_rank
        from db.vocabulary import TIERS

        targets: list[tuple[Text, str]] = [
            (plain(_("Tier {tier}").format(tier=t)), t) for t in TIERS if tier_rank(t) > tier_rank(self.ticket.tier)
        ]
        targets += [
            (plain(f"{a.name} · {a.tier} · {_(a.role)}"), a.name)
            for a in self.agents
            if a.name != self.ticket.assignee and a.active
        ]
        with Vertical(classes="dialog", id="escalate-dialog"):
            yield Label(_("Escalate ticket #{id}").format(id=self.ticket.id), classes="dialog-title")
            with VerticalScroll():
                yield Label(_("Hand over to"))
                yield (
                    Select(targets, id="to", allow_blank=False, value=targets[0][1])
                    if targets
                    else Label(_("No higher tier or other agent."), id="to-none")
                )
                yield Label(_("Reason (required)"))
                yield Input(id="reason")
                yield Label(_("Handoff notes"))
                yield TextArea(handoff_template(self.ticket, self.customer), id="notes", soft_wrap=True)
                yield Checkbox(_("Customer told who takes over, and when (required)"), id="told")
            yield from self.buttons(_("Escalate"))

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    def action_submit(self) -> None:
        selects = self.query("#to")
        if not selects or not isinstance(selects.first(), Select):
            self.error(_("There is nobody to escalate to."))
            return
        to = selects.first(Select).value
        reason = self.query_one("#reason", Input).value.strip()
        notes = self.query_one("#notes", TextArea).text.strip()
        if not reason:
            self.error(_("Give a reason."))
            self.query_one("#reason", Input).focus()
            return
        if not notes:
            self.error(_("Write handoff notes."))
            return
        if not self.query_one("#told", Checkbox).value:
            self.error(_("Tell the customer who takes over and when, then tick the box."))
            self.query_one("#told", Checkbox).focus()
            return
        self.dismiss(Escalation(to=str(to), reason=reason, notes=notes))


# -- closure -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Closure:
    summary: str
    code: str | None
    confirmed: bool
    unconfirmed_reason: str | None
    asked_anything_else: bool
    kb_id: int | None
    kb_needed: bool
    followup: date | None


class CloseDialog(Dialog):
    """The standards' closed loop: summary, confirmation (or why not), anything else, knowledge, follow-up."""

    def __init__(self, ticket: Ticket, followup_default: date | None = None, kb_id: int | None = None) -> None:
        super().__init__()
        self.ticket = ticket
        self.followup_default = followup_default
        self.kb_id = kb_id

    def compose(self) -> ComposeResult:
        urgent = needs_followup(self.ticket.priority)
        with Vertical(classes="dialog", id="close-dialog"):
            yield Label(_("Close ticket #{id}").format(id=self.ticket.id), classes="dialog-title")
            with VerticalScroll():
                yield Label(_("Resolution summary (required)"))
                yield TextArea(self.ticket.resolution_summary or "", id="summary", soft_wrap=True)
                yield Label(_("Resolution code"))
                yield Input(self.ticket.resolution_code or "", id="code")
                with RadioSet(id="confirm"):
                    yield RadioButton(_("Customer confirmed the fix"), id="confirmed", value=True)
                    yield RadioButton(_("Customer could not confirm"), id="unconfirmed")
                yield Input(placeholder=_("Why not (e.g. unreachable after 3 calls)"), id="why")
                yield Checkbox(_("Asked whether anything else is needed"), id="asked")
                yield Label(_("Knowledge: article number to link, or tick 'article needed'"))
                yield Input(str(self.kb_id) if self.kb_id else "", id="kb", restrict=r"[0-9]*")
                yield Checkbox(_("Article needed (a draft is created from this ticket)"), id="kb-needed")
                yield Label(
                    _("Follow-up call date (required for urgent and high)") if urgent else _("Follow-up call date")
                )
                yield Input(
                    self.followup_default.isoformat() if (urgent and self.followup_default) else "",
                    placeholder="YYYY-MM-DD",
                    id="followup",
                )
            yield from self.buttons(_("Close ticket"))

    def on_mount(self) -> None:
        self.query_one("#summary", TextArea).focus()

    def action_submit(self) -> None:
        summary = self.query_one("#summary", TextArea).text.strip()
        if not summary:
            self.error(_("Write the resolution summary."))
            self.query_one("#summary", TextArea).focus()
            return
        confirmed = self.query_one("#confirmed", RadioButton).value
        why = self.query_one("#why", Input).value.strip()
        if not confirmed and not why:
            self.error(_("Say why the customer could not confirm."))
            self.query_one("#why", Input).focus()
            return
        asked = self.query_one("#asked", Checkbox).value
        if confirmed and not asked:
            self.error(_("Ask the customer whether anything else is needed, then tick the box."))
            self.query_one("#asked", Checkbox).focus()
            return
        kb_text = self.query_one("#kb", Input).value.strip()
        kb_needed = self.query_one("#kb-needed", Checkbox).value
        if kb_text and kb_needed:
            self.error(_("Link an article or ask for one, not both."))
            return
        followup_text = self.query_one("#followup", Input).value.strip()
        followup: date | None = None
        if followup_text:
            try:
                followup = date.fromisoformat(followup_text)
            except ValueError:
                self.error(_("Follow-up date must be YYYY-MM-DD."))
                self.query_one("#followup", Input).focus()
                return
        if needs_followup(self.ticket.priority) and followup is None:
            self.error(_("Urgent and high tickets need a follow-up call date."))
            self.query_one("#followup", Input).focus()
            return
        self.dismiss(
            Closure(
                summary=summary,
                code=self.query_one("#code", Input).value.strip() or None,
                confirmed=confirmed,
                unconfirmed_reason=None if confirmed else why,
                asked_anything_else=asked,
                kb_id=int(kb_text) if kb_text else None,
                kb_needed=kb_needed,
                followup=followup,
            )
        )


# -- a required text -------------------------------------------------------------------------------------------


class TextDialog(Dialog):
    """One required text: restore summary, resolution summary, reopen reason."""

    def __init__(self, title: str, prompt: str, submit: str, initial: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.submit_text = submit
        self.initial = initial

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog small", id="text-dialog"):
            yield Label(plain(self.title_text), classes="dialog-title")
            yield Label(plain(self.prompt))
            yield TextArea(clean(self.initial, multiline=True), id="text", soft_wrap=True)
            yield from self.buttons(self.submit_text)

    def on_mount(self) -> None:
        self.query_one("#text", TextArea).focus()

    def action_submit(self) -> None:
        text = self.query_one("#text", TextArea).text.strip()
        if not text:
            self.error(_("This cannot be empty."))
            return
        self.dismiss(text)


class AgentDialog(Dialog):
    """Choose an agent to assign the ticket to."""

    def __init__(self, agents: list[Agent], current: str | None) -> None:
        super().__init__()
        self.agents = [a for a in agents if a.active]
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog small", id="agent-dialog"):
            yield Label(_("Assign to"), classes="dialog-title")
            yield OptionList(
                *[
                    Option(
                        plain(f"{a.name}  {a.tier}  {_(a.role)}" + ("  ✓" if a.name == self.current else "")),
                        id=a.name,
                    )
                    for a in self.agents
                ],
                id="agents",
            )
            yield from self.buttons(_("Assign"))

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_submit(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self.dismiss(options.get_option_at_index(options.highlighted).id)
