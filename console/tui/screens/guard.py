"""The phrase guard's question before a public reply goes out: rephrase, or send anyway with a reason."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from console.i18n import _
from console.rules.phrases import Hit
from console.tui.screens.modals import Dialog
from widgets.safe_text import clean


def highlighted(text: str, hits: list[Hit]) -> Text:
    out = Text()
    last = 0
    for hit in hits:
        out.append(clean(text[last : hit.start]))
        out.append(clean(text[hit.start : hit.end]), style="bold reverse red")
        last = hit.end
    out.append(clean(text[last:]))
    return out


class GuardDialog(Dialog):
    """Esc (or Cancel) goes back to rephrase; sending anyway needs a reason, which is audited."""

    def __init__(self, text: str, hits: list[Hit]) -> None:
        super().__init__()
        self.text = text
        self.hits = hits

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="guard-dialog"):
            yield Label(_("This reply uses phrases the service standards forbid"), classes="dialog-title")
            yield Static(highlighted(self.text, self.hits), id="guard-text")
            suggestions = Text()
            for hit in self.hits:
                suggestions.append(f"“{clean(hit.phrase)}” → ", style="bold")
                suggestions.append(clean(hit.suggestion) + "\n")
            yield Static(suggestions, id="guard-suggestions")
            yield Label(_("To send anyway, give a reason (it goes into the audit log):"))
            yield Input(id="guard-reason")
            yield from self.buttons(_("Send anyway"))

    def on_mount(self) -> None:
        self.query_one("#cancel").focus()

    def action_submit(self) -> None:
        reason = self.query_one("#guard-reason", Input).value.strip()
        if not reason:
            self.error(_("Rephrase the reply (Esc), or give a reason to send it anyway."))
            self.query_one("#guard-reason", Input).focus()
            return
        self.dismiss(reason)
