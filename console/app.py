"""The Textual application: built from a service and a clock handed in, so tests inject both."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterable
from functools import partial

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from console.i18n import N_, _, language
from console.service import HelpdeskService
from console.ui import translate_bindings


class HelpdeskApp(App[None]):
    CSS_PATH = "styles/app.tcss"
    TITLE = "helpdesk"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("ctrl+q", "quit", N_("Quit"), id="app.quit", show=False, priority=True),
        Binding("question_mark", "help", N_("Keys"), id="app.help"),
        Binding("w", "wallboard", N_("Wallboard"), id="app.wallboard", show=False),
    ]

    def __init__(
        self,
        service: HelpdeskService,
        *,
        clock: Callable[[], float] = time.time,
        wallboard: bool = False,
        show_customers: bool = False,
        live_interval: float = 1.0,
    ) -> None:
        super().__init__()
        translate_bindings(self)
        self.service = service
        self.clock = clock
        self.wallboard_only = wallboard
        self.show_customers = show_customers
        self.live_interval = live_interval
        self.title = _("Helpdesk") if not wallboard else _("Wallboard")

    def on_mount(self) -> None:
        if self.wallboard_only:
            self.push_screen(self._wallboard_screen())
        else:
            from console.screens.queue import QueueScreen

            self.push_screen(QueueScreen())

    def _wallboard_screen(self) -> Screen[None]:
        from console.screens.wallboard import WallboardScreen

        return WallboardScreen(show_customers=self.show_customers)

    def action_command_palette(self) -> None:
        from textual.command import CommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):  # type: ignore[arg-type]
            self.push_screen(CommandPalette(id="--command-palette", placeholder=_("Search for commands…")))

    def action_wallboard(self) -> None:
        if self.wallboard_only:
            return
        self.push_screen(self._wallboard_screen())

    def action_help(self) -> None:
        from console.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Every key action of the current screen is also a palette entry, under its translated name."""
        seen: set[str] = set()
        for node in (screen.focused, screen):
            if node is None:
                continue
            for bindings in node._bindings.key_to_bindings.values():
                for b in bindings:
                    if b.description and b.action not in seen:
                        seen.add(b.action)
                        key = self.get_key_display(b)
                        yield SystemCommand(
                            b.description, _("key: {key}").format(key=key), partial(node.run_action, b.action)
                        )
        from console.screens.ticket import TicketScreen

        if isinstance(screen, TicketScreen):
            lang = language()
            for macro in screen.macros.macros:  # as loaded with the ticket: no query on the UI thread
                yield SystemCommand(
                    _("Macro: {title}").format(title=macro.title(lang)),
                    _("put this canned reply into the composer"),
                    partial(screen.offer_macro, macro.id, announce=False),
                )
        yield SystemCommand(_("Keys"), _("Show every key of this screen"), self.action_help)
        yield SystemCommand(_("Quit"), _("Leave the console"), self.exit)


def run_app(args: argparse.Namespace) -> int:
    """Open the console (or the wallboard) for the agent named on the command line."""
    from console.cli import open_service

    wallboard = bool(getattr(args, "wallboard", False))
    service = open_service(args, create=False, wallboard=wallboard)
    try:
        me = service.me()
        show = bool(getattr(args, "show_customers", False))
        if show and me.role not in ("supervisor", "admin"):
            from console.errors import PermissionDenied

            raise PermissionDenied(_("only supervisors and admins may show customer data on the wallboard"))
        os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")  # no tweening over SSH
        HelpdeskApp(service, wallboard=wallboard, show_customers=show).run()
    finally:
        service.shutdown()
    return 0
