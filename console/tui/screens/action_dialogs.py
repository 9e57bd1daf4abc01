"""Dialogs of the ticket's promise clocks (issue 16): a logged call, an on-site visit's next stage, a priority change;
and the queue's list of follow-up calls due.

The ticket dialogs are `Dialog`s: given a `VersionedWrite` by the ticket screen, they write on the ticket version
they opened on and show what changed when it moved (console/tui/screens/versioned.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, RadioSet, TextArea
from textual.widgets.option_list import Option

from console.i18n import N_, _
from console.rules.workflow import PRIORITY_LABELS
from console.tui.screens.modals import Dialog
from console.tui.ui import translate_bindings
from db.vocabulary import PRIORITIES
from widgets.safe_text import clean, plain
from widgets.ticks import Choice

if TYPE_CHECKING:
    from console.tui.screens.versioned import Outcome, VersionedWrite
    from db.models import Ticket

# -- a logged call ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    direction: str  # "in" (the customer called) or "out" (we called)
    notes: str


class CallDialog(Dialog):
    """Log a phone call with the customer: its direction, chosen (never assumed), and what was said."""

    def __init__(self, ticket: Ticket) -> None:
        super().__init__()
        self.ticket = ticket

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog small", id="call-dialog"):
            yield Label(_("Log a call on ticket #{id}").format(id=self.ticket.id), classes="dialog-title")
            yield Label(_("Who called? (choose one)"))
            with RadioSet(id="direction"):
                yield Choice(_("The customer called us (inbound)"), id="direction-in")
                yield Choice(_("We called the customer (outbound)"), id="direction-out")
            yield Label(_("What was said (required)"))
            yield TextArea(id="notes", soft_wrap=True)
            yield from self.buttons(_("Log call"))

    def on_mount(self) -> None:
        self.query_one("#direction", RadioSet).focus()

    def action_submit(self) -> None:
        pressed = self.query_one("#direction", RadioSet).pressed_button
        if pressed is None or pressed.id is None:
            self.error(_("Choose who called: the customer (inbound) or we (outbound)."))
            self.query_one("#direction", RadioSet).focus()
            return
        notes = self.query_one("#notes", TextArea).text.strip()
        if not notes:
            self.error(_("Write what was said on the call."))
            self.query_one("#notes", TextArea).focus()
            return
        self.finish(Call(pressed.id.removeprefix("direction-"), notes))


# -- an on-site visit ------------------------------------------------------------------------------------------

# The stage that follows the latest one recorded (None: no visit yet; after "left" a new visit may start).
NEXT_STAGE: dict[str | None, str] = {
    None: "dispatched",
    "left": "dispatched",
    "dispatched": "arrived",
    "arrived": "left",
}
STAGE_LABELS: dict[str, str] = {
    "dispatched": N_("Engineer dispatched (the on-site clock starts)"),
    "arrived": N_("Engineer arrived on site (the on-site clock stops)"),
    "left": N_("Engineer left the site (the visit ends)"),
}

STAGE_DONE: dict[str, str] = {
    "dispatched": N_("Engineer dispatched: the on-site clock runs."),
    "arrived": N_("Engineer arrived on site."),
    "left": N_("Engineer left the site."),
}


class VisitDialog(Dialog):
    """Record the next stage of the on-site visit (dispatched → arrived → left), with optional notes."""

    def __init__(self, ticket: Ticket, last_stage: str | None) -> None:
        super().__init__()
        self.ticket = ticket
        self.stage = NEXT_STAGE.get(last_stage, "dispatched")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog small", id="visit-dialog"):
            yield Label(_("On-site visit for ticket #{id}").format(id=self.ticket.id), classes="dialog-title")
            yield Label(_("Next stage:") + " " + _(STAGE_LABELS[self.stage]), id="visit-stage")
            yield Label(_("Notes (optional)"))
            yield TextArea(id="notes", soft_wrap=True)
            yield from self.buttons(_("Record"))

    def on_mount(self) -> None:
        self.query_one("#notes", TextArea).focus()

    def action_submit(self) -> None:
        self.finish((self.stage, self.query_one("#notes", TextArea).text.strip()))


# -- a priority change -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriorityChange:
    priority: str
    reason: str


class PriorityDialog(Dialog):
    """Change the priority with a reason. Who may is the service's decision (the owner, supervisors, admins): its
    refusal is shown in the dialog and as a notification."""

    def __init__(self, ticket: Ticket) -> None:
        super().__init__()
        self.ticket = ticket

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog small", id="priority-dialog"):
            yield Label(
                _("Priority of ticket #{id} (now {priority})").format(id=self.ticket.id, priority=self.ticket.priority),
                classes="dialog-title",
            )
            with RadioSet(id="priority"):
                for priority in PRIORITIES:
                    yield Choice(
                        f"{priority} {_(PRIORITY_LABELS[priority])}",
                        id=f"priority-{priority}",
                        value=priority == self.ticket.priority,
                    )
            yield Label(_("Reason (required)"))
            yield TextArea(id="reason", soft_wrap=True, classes="short")
            yield from self.buttons(_("Change priority"))

    def on_mount(self) -> None:
        self.query_one("#priority", RadioSet).focus()

    def action_submit(self) -> None:
        pressed = self.query_one("#priority", RadioSet).pressed_button
        chosen = pressed.id.removeprefix("priority-") if pressed is not None and pressed.id else None
        if chosen is None or chosen == self.ticket.priority:
            self.error(_("Choose the new priority."))
            self.query_one("#priority", RadioSet).focus()
            return
        reason = self.query_one("#reason", TextArea).text.strip()
        if not reason:
            self.error(_("Say why the priority changes."))
            self.query_one("#reason", TextArea).focus()
            return
        self.finish(PriorityChange(chosen, reason))

    def _sent(self, sender: VersionedWrite, outcome: Outcome) -> None:
        super()._sent(sender, outcome)
        if outcome.kind == "refused":  # e.g. a plain agent on someone else's ticket
            self.notify(outcome.message, severity="error", timeout=8)


# -- follow-up calls due (queue) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowupDue:
    """One follow-up call due, as the list shows it (the service's `followups_due` rows)."""

    id: int
    subject: str
    priority: str
    customer: str | None
    phone: str | None
    due: str


class FollowupsDialog(ModalScreen[int | None]):
    """Closed urgent and high tickets whose follow-up call is due: Enter opens the ticket, Esc closes the list."""

    CSS_PATH = "../styles/dialogs.tcss"
    BINDINGS: ClassVar = [Binding("escape", "cancel", N_("Close"), id="followups.close")]

    def __init__(self, due: list[FollowupDue]) -> None:
        super().__init__()
        translate_bindings(self)
        self.due = due

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="followups-dialog"):
            yield Label(_("Follow-up calls due ({n})").format(n=len(self.due)), classes="dialog-title")
            if not self.due:
                yield Label(_("No follow-up call is due."), id="followups-none")
            yield OptionList(
                *[
                    Option(
                        plain(
                            f"#{f.id}  {f.due}  {f.priority}  {clean(f.subject)}\n"
                            f"    {clean(f.customer or _('no customer'))}  {clean(f.phone or '')}"
                        ),
                        id=str(f.id),
                    )
                    for f in self.due
                ],
                id="followups",
            )
            yield Label(_("Enter open the ticket · Esc close"), classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(OptionList.OptionSelected, "#followups")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.dismiss(int(event.option.id))
