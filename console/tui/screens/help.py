"""`?`: every key of the screen underneath, translated."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from console.i18n import N_, _
from console.tui.ui import translate_bindings


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "../styles/dialogs.tcss"
    BINDINGS: ClassVar = [
        Binding("escape,question_mark,q", "dismiss_help", N_("Close"), id="help.close"),
    ]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        translate_bindings(self)
        self.under = under

    def compose(self) -> ComposeResult:
        table = Table(show_header=True, box=None, padding=(0, 2))
        table.add_column(_("Key"), style="bold")
        table.add_column(_("Action"))
        seen: set[tuple[str, str]] = set()
        for node in (self.under, self.app):
            for bindings in node._bindings.key_to_bindings.values():
                for b in bindings:
                    if b.description and (b.key, b.action) not in seen:
                        seen.add((b.key, b.action))
                        table.add_row(self.app.get_key_display(b), b.description)
        table.add_row("ctrl+p", _("Command palette"))
        with Vertical(classes="dialog", id="help-dialog"):
            yield Label(_("Keys"), classes="dialog-title")
            yield VerticalScroll(Static(table))
            yield Label(_("Esc closes"), classes="dialog-hint")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
