"""Choosing a canned reply: its own key, or arrows and Enter."""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from console.i18n import _, language
from console.rules.macros import MacroSet
from console.tui.screens.modals import Dialog
from widgets.safe_text import plain


class MacroDialog(Dialog):
    def __init__(self, macros: MacroSet) -> None:
        super().__init__()
        self.macros = macros

    def compose(self) -> ComposeResult:
        lang = language()
        with Vertical(classes="dialog small", id="macro-dialog"):
            yield Label(_("Insert a canned reply"), classes="dialog-title")
            yield OptionList(
                *[Option(plain(f"[{m.key or ' '}] {m.title(lang)}"), id=m.id) for m in self.macros.macros],
                id="macros",
            )
            yield Label(_("Press a macro's key, or Enter; Esc cancels"), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def on_key(self, event: events.Key) -> None:
        for macro in self.macros.macros:
            if macro.key and event.character == macro.key:
                event.stop()
                self.dismiss(macro.id)
                return

    def action_submit(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self.dismiss(options.get_option_at_index(options.highlighted).id)
