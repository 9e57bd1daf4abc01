"""Modal dialogs: escalation, closure confirmation, a required text, choosing an agent.

A dialog that writes to a ticket is given a `VersionedWrite` (``sender``): its submit writes on the ticket version
the dialog opened on and closes only once written. When the ticket changed meanwhile nothing is written: the
dialog shows what changed, keeps what was typed, and a second Ctrl+S writes on the ticket as it is now (or Esc).
Without a sender a dialog returns its answer through ``dismiss`` (None on Esc) and writes nothing itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, RadioSet, Select, Static, TextArea
from textual.widgets.option_list import Option

from console.i18n import N_, _
from console.tui.screens.versioned import Outcome, VersionedWrite
from console.tui.ui import translate_bindings
from db.models import Agent, Ticket
from db.vocabulary import CONFIRMATION_CHANNELS, needs_followup
from widgets.safe_text import clean, plain
from widgets.ticks import Choice, TickBox

# Rows a dialog always shows besides its form: borders, title, the error line and the buttons; and the notice of a
# change made meanwhile, when shown.
FRAME_ROWS = 7
STALE_ROWS = 7


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
        self.sender: VersionedWrite | None = None
        self.submit_label = ""
        self._busy = False  # a write is under way: a second Ctrl+S waits for its outcome

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_resize(self) -> None:
        self.fit()

    def fit(self) -> None:
        """The form scrolls in what the screen leaves, so the title, a notice and the buttons stay on it. (Set in
        rows: a height in vh is not taken into account when the dialog measures itself, leaving blank rows.)"""
        room = self.size.height - FRAME_ROWS - (STALE_ROWS if self.has_class("-stale") else 0)
        for form in self.query(VerticalScroll):
            form.styles.max_height = max(4, room)

    def action_submit(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def error(self, message: str) -> None:
        self.query_one("#dialog-error", Static).update(plain(message))

    def buttons(self, submit: str) -> ComposeResult:
        self.submit_label = submit
        yield Static("", id="dialog-stale", classes="dialog-stale")
        yield Static("", id="dialog-error", classes="dialog-error")
        with Horizontal(classes="dialog-buttons"):
            # plain: "[Esc]" read as markup would vanish, leaving the key unsaid
            yield Button(plain(_("Cancel") + " [Esc]"), id="cancel")
            yield Button(plain(submit + " [Ctrl+S]"), id="submit", variant="primary")

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#submit")
    def _submit(self) -> None:
        self.action_submit()

    # -- writing on the version the dialog opened on ------------------------------------------------------

    def finish(self, answer: object) -> None:
        """The answer is complete: write it (closing once written) or, with no sender, hand it back."""
        if self.sender is None:
            self.dismiss(answer)
            return
        if self._busy:
            return
        self._busy = True
        self.error("")
        self._send(self.sender, answer)

    @work(thread=True, group="dialog-write")
    def _send(self, sender: VersionedWrite, answer: object) -> None:
        outcome = sender.send(answer)
        self.app.call_from_thread(self._sent, sender, outcome)

    def _sent(self, sender: VersionedWrite, outcome: Outcome) -> None:
        self._busy = False
        if outcome.kind == "done":
            self.dismiss(outcome)
            return
        if outcome.kind == "stale":
            sender.after(outcome)  # the ticket underneath is shown as it is now
            self.show_stale(outcome)
            return
        self.error(outcome.message)

    def show_stale(self, outcome: Outcome) -> None:
        self.query_one("#dialog-stale", Static).update(stale_notice(outcome, self.submit_label))
        self.add_class("-stale")
        self.fit()
        self.error("")


def stale_notice(outcome: Outcome, action: str) -> Text:
    """What the agent reads when a write was refused because the ticket changed: the service's reason, what
    changed since, and what to do."""
    text = Text("⚠ " + clean(outcome.message), style="bold yellow")
    if outcome.changes is not None and outcome.changes.plain:
        text.append("\n")
        text.append_text(outcome.changes)
    text.append("\n")
    text.append(
        _(
            "Nothing was written. Check what changed, then Ctrl+S again ({action}, on the ticket as it is now) or Esc."
        ).format(action=clean(action)),
        style="yellow",
    )
    return text


# -- escalation ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalation:
    """The handover: who takes over and why, the three required parts of the notes (what was tried, the business
    impact, what the customer was told), the rest of the notes, and the notice sent to the customer (None: not
    sent; ``told`` then says how they were told)."""

    to: str
    reason: str
    notes: str
    tried: str
    impact: str
    told: str
    notice: str | None


def handoff_template(ticket: Ticket, customer: str) -> str:
    """The free part of the notes, prefilled: the symptoms and how to reach the customer."""
    return "\n".join(
        [
            _("Symptoms:") + " " + clean(ticket.subject),
            _("Customer contact:") + " " + clean(customer),
        ]
    )


# The handoff's required parts: field id -> its name in a refusal.
HANDOFF_PARTS: dict[str, str] = {
    "tried": N_("steps already tried"),
    "impact": N_("business impact"),
    "told": N_("what the customer was told"),
}


class EscalateDialog(Dialog):
    """Hand the ticket to the next tier (or a named agent, a supervisor too) with complete information: each
    required part of the notes filled, and the customer told who takes over, by the notice sent from here or as
    the agent says."""

    def __init__(
        self,
        ticket: Ticket,
        agents: list[Agent],
        customer: str,
        notice_for: Callable[[str], str] | None = None,
        forbidden: Callable[[str], list[str]] | None = None,
    ) -> None:
        """``notice_for(to)``: the handover notice for the customer when ``to`` takes over (None: no notice can be
        sent, e.g. the ticket has no customer); ``forbidden(text)``: the phrases of the notice the standards forbid
        (the reply guard's; a notice goes out as a public reply)."""
        super().__init__()
        self.ticket = ticket
        self.agents = agents
        self.customer = customer
        self.notice_for = notice_for
        self.forbidden = forbidden
        self._offered_notice = ""  # the notice as last filled in; replaced when the target changes, unless edited

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
        if targets and self.notice_for is not None:
            self._offered_notice = clean(self.notice_for(targets[0][1]), multiline=True)
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
                yield Label(_("Steps already tried (required)"))
                yield TextArea(id="tried", soft_wrap=True, classes="short")
                yield Label(_("Business impact (required)"))
                yield Input(id="impact", placeholder=_("who cannot work, what is at stake"))
                yield TickBox(
                    _("Send this handover notice to the customer (public reply)"),
                    self.notice_for is not None,
                    id="send-notice",
                    disabled=self.notice_for is None,
                    compact=True,
                )
                yield TextArea(self._offered_notice, id="notice", soft_wrap=True)
                yield Label(_("What the customer was told (required unless the notice is sent)"), id="told-label")
                yield Input(id="told", placeholder=_("e.g. by phone 10:05: L2 calls back within the hour"))
                yield Label(_("Other notes"))
                yield TextArea(handoff_template(self.ticket, self.customer), id="notes", soft_wrap=True)
            yield from self.buttons(_("Escalate"))

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()
        self._notice_shown()

    def _sending_notice(self) -> bool:
        return self.notice_for is not None and self.query_one("#send-notice", TickBox).value

    @on(TickBox.Changed, "#send-notice")
    def _notice_shown(self) -> None:
        self.query_one("#notice", TextArea).display = self._sending_notice()

    @on(Select.Changed, "#to")
    def _target_changed(self, event: Select.Changed) -> None:
        area = self.query_one("#notice", TextArea)
        if self.notice_for is None or area.text != self._offered_notice or not isinstance(event.value, str):
            return  # an edited notice is the agent's words: kept as written
        self._offered_notice = clean(self.notice_for(event.value), multiline=True)
        area.text = self._offered_notice

    def _missing(self, values: dict[str, str]) -> list[str]:
        required = [k for k in HANDOFF_PARTS if k != "told" or not self._sending_notice()]
        missing = [k for k in required if not values[k]]
        for key in HANDOFF_PARTS:
            self.query_one(f"#{key}").set_class(key in missing, "-missing")
        return missing

    def action_submit(self) -> None:
        selects = self.query("#to")
        if not selects or not isinstance(selects.first(), Select):
            self.error(_("There is nobody to escalate to."))
            return
        to = selects.first(Select).value
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.error(_("Give a reason."))
            self.query_one("#reason", Input).focus()
            return
        values = {
            "tried": self.query_one("#tried", TextArea).text.strip(),
            "impact": self.query_one("#impact", Input).value.strip(),
            "told": self.query_one("#told", Input).value.strip(),
        }
        missing = self._missing(values)
        if missing:
            self.error(
                _("The handoff notes need: {parts}.").format(parts=", ".join(_(HANDOFF_PARTS[k]) for k in missing))
            )
            self.query_one(f"#{missing[0]}").focus()
            return
        notice = self.query_one("#notice", TextArea).text.strip() if self._sending_notice() else None
        if self._sending_notice() and not notice:
            self.error(_("Write the notice for the customer, or untick it and say how they were told."))
            self.query_one("#notice", TextArea).focus()
            return
        flagged = self.forbidden(notice) if notice and self.forbidden is not None else []
        if flagged:
            self.error(
                _("The notice uses phrases the service standards forbid: {phrases}. Rephrase it.").format(
                    phrases=", ".join(f"“{phrase}”" for phrase in flagged)
                )
            )
            self.query_one("#notice", TextArea).focus()
            return
        self.finish(
            Escalation(
                to=str(to),
                reason=reason,
                notes=self.query_one("#notes", TextArea).text.strip(),
                notice=notice,
                **values,
            )
        )


# -- closure -------------------------------------------------------------------------------------------------

# How the customer confirmed the fix (db.vocabulary.CONFIRMATION_CHANNELS), as the dialog offers it.
CONFIRMATION_LABELS: dict[str, str] = {
    "phone": N_("Confirmed by phone"),
    "email": N_("Confirmed by e-mail"),
    "onsite": N_("Confirmed on site"),
    "chat": N_("Confirmed in chat"),
}
UNCONFIRMED = "none"


@dataclass(frozen=True)
class Closure:
    summary: str
    code: str | None
    confirmed: bool
    confirmed_by: str | None
    unconfirmed_reason: str | None
    asked_anything_else: bool
    kb_id: int | None
    kb_needed: bool
    followup: date | None


class CloseDialog(Dialog):
    """The standards' closed loop: summary, confirmation with its channel (or why not: chosen, never assumed),
    anything else, knowledge, follow-up."""

    def __init__(
        self,
        ticket: Ticket,
        followup_default: date | None = None,
        kb_id: int | None = None,
        today: date | None = None,
    ) -> None:
        super().__init__()
        self.ticket = ticket
        self.followup_default = followup_default
        self.kb_id = kb_id
        self.today = today

    def compose(self) -> ComposeResult:
        urgent = needs_followup(self.ticket.priority)
        with Vertical(classes="dialog", id="close-dialog"):
            yield Label(_("Close ticket #{id}").format(id=self.ticket.id), classes="dialog-title")
            with VerticalScroll():
                yield Label(_("Resolution summary (required)"))
                # what fixed it, or else what restored the service (a workaround closes a ticket too)
                summary = self.ticket.resolution_summary or self.ticket.restore_summary or ""
                yield TextArea(clean(summary, multiline=True), id="summary", soft_wrap=True)
                yield Label(_("Resolution code"))
                yield Input(self.ticket.resolution_code or "", id="code")
                yield Label(_("Did the customer confirm the fix? (choose one)"))
                with RadioSet(id="confirm"):
                    for channel in CONFIRMATION_CHANNELS:
                        yield Choice(_(CONFIRMATION_LABELS[channel]), id=f"confirm-{channel}")
                    yield Choice(_("Customer could not confirm"), id=f"confirm-{UNCONFIRMED}")
                yield Input(placeholder=_("Why not (e.g. unreachable after 3 calls)"), id="why")
                yield TickBox(_("Asked whether anything else is needed"), id="asked", compact=True)
                yield Label(_("Knowledge: article number to link, or tick 'article needed'"))
                yield Input(str(self.kb_id) if self.kb_id else "", id="kb", restrict=r"[0-9]*")
                yield TickBox(_("Article needed (a draft is created from this ticket)"), id="kb-needed", compact=True)
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

    def _confirmation(self) -> str | None:
        """The channel chosen, UNCONFIRMED, or None when nothing is chosen yet."""
        pressed = self.query_one("#confirm", RadioSet).pressed_button
        if pressed is None or pressed.id is None:
            return None
        return pressed.id.removeprefix("confirm-")

    def action_submit(self) -> None:
        summary = self.query_one("#summary", TextArea).text.strip()
        if not summary:
            self.error(_("Write the resolution summary."))
            self.query_one("#summary", TextArea).focus()
            return
        choice = self._confirmation()
        if choice is None:
            self.error(_("Choose how the customer confirmed the fix, or that they could not."))
            self.query_one("#confirm", RadioSet).focus()
            return
        confirmed = choice != UNCONFIRMED
        why = self.query_one("#why", Input).value.strip()
        if not confirmed and not why:
            self.error(_("Say why the customer could not confirm."))
            self.query_one("#why", Input).focus()
            return
        asked = self.query_one("#asked", TickBox).value
        if confirmed and not asked:
            self.error(_("Ask the customer whether anything else is needed, then tick the box."))
            self.query_one("#asked", TickBox).focus()
            return
        kb_text = self.query_one("#kb", Input).value.strip()
        kb_needed = self.query_one("#kb-needed", TickBox).value
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
            if self.today is not None and followup <= self.today:
                self.error(_("The follow-up call date must be after today."))
                self.query_one("#followup", Input).focus()
                return
        if needs_followup(self.ticket.priority) and followup is None:
            self.error(_("Urgent and high tickets need a follow-up call date."))
            self.query_one("#followup", Input).focus()
            return
        self.finish(
            Closure(
                summary=summary,
                code=self.query_one("#code", Input).value.strip() or None,
                confirmed=confirmed,
                confirmed_by=choice if confirmed else None,
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
        self.finish(text)


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
        self.finish(event.option.id)

    def action_submit(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self.finish(options.get_option_at_index(options.highlighted).id)
