"""The Textual application: built from a service (or a way to open one) and a clock handed in, so tests inject
both."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen

from console.i18n import N_, _, language
from console.rules.errors import HelpdeskError
from console.rules.whoami import process_name
from console.tui.alerts import P1Alerts, waiting_p1
from console.tui.commands import PlainSystemCommands
from console.tui.drafts import DraftStore
from console.tui.looks import Looks
from console.tui.ui import FALLBACK_POLL_S, translate_bindings
from db.errors import StoreError
from widgets.safe_text import clean

if TYPE_CHECKING:
    from textual.driver import Driver

    from console.service.helpdesk import HelpdeskService


# The sweeper (one console at a time sweeps for the whole floor): its first round a few seconds after start, then
# at each crossing (to the tick) or every SWEEPER_IDLE_S; a console without the lease asks again every
# SWEEPER_STANDBY_S (a read), so one that quits or dies is replaced within the lease's 30 s.
SWEEPER_TICK_S = 1.0
# Where the database announces its commits (PostgreSQL), a listener waits for them, a chunk at a time so that it
# notices the console ending.
LISTEN_WAIT_S = 0.5
SWEEPER_FIRST_S = 5.0
SWEEPER_IDLE_S = 15.0
SWEEPER_STANDBY_S = 10.0


class CommitAnnounced(Message):
    """The database announced a commit (the listener's thread to the UI thread)."""


class HelpdeskApp(App[None]):
    CSS_PATH = "styles/app.tcss"
    TITLE = "helpdesk"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = {PlainSystemCommands}  # the system commands, drawn as plain text (macro titles are config)
    BINDINGS = [
        Binding("ctrl+q", "quit", N_("Quit"), id="app.quit", show=False, priority=True),
        Binding("question_mark", "help", N_("Keys"), id="app.help"),
        Binding("w", "wallboard", N_("Wallboard"), id="app.wallboard", show=False),
        # Ctrl+G: no text field of the console uses it, so it acknowledges even while typing a reply.
        Binding("ctrl+g", "acknowledge_p1", N_("Got it (P1 alert)"), id="app.p1_ack", show=False),
    ]

    def __init__(
        self,
        service: HelpdeskService | Callable[[], HelpdeskService],
        *,
        actor_name: str | None = None,
        clock: Callable[[], float] = time.time,
        wallboard: bool = False,
        show_customers: bool = False,
        live_interval: float = 1.0,
        drafts: DraftStore | None = None,
        sweeps: bool = True,
    ) -> None:
        """``service`` may be a function that opens one: it then runs in a thread after the first frame, because
        importing the service's libraries (pydantic, sqlite-utils) costs about as much again as Textual itself."""
        super().__init__()
        translate_bindings(self)
        self._service: HelpdeskService | None = None
        self._opener: Callable[[], HelpdeskService] | None = None
        self._opened = threading.Event()
        self.open_error: HelpdeskError | StoreError | None = None
        if callable(service):  # an opener (a service is not callable)
            self._opener = service
        else:
            self._service = service
            self._opened.set()
        name = actor_name if self._service is None else self._service.actor_name
        if name is None:
            from console.rules.whoami import default_agent_name

            name = default_agent_name()
        self.actor_name = name
        self.clock = clock
        self.wallboard_only = wallboard
        self.show_customers = show_customers
        self.live_interval = live_interval
        self.drafts = drafts or DraftStore()  # the composer's drafts (console/tui/drafts.py)
        self.title = _("Helpdesk") if not wallboard else _("Wallboard")
        self.p1_alerts = P1Alerts(self)
        self.looks = Looks(self._look_failed)
        self._p1_cursor: int | None = None
        self._p1_looked = float("-inf")  # when the P1 alert last read the feed (time.monotonic)
        self.live_pushed = False  # the database announces its commits (the listener runs): the ticks poll slowly
        self._stop_listening = threading.Event()
        self.sweeps = sweeps
        self._holder = process_name()
        self._sweeping = False
        self._sweep_due = clock() + SWEEPER_FIRST_S

    def get_driver_class(self) -> type[Driver]:
        """On Linux and macOS our driver, whose input survives any byte and ends with the terminal (see
        console/tui/driver.py); Textual's own elsewhere, or when TEXTUAL_DRIVER names one."""
        from textual import constants

        if sys.platform == "win32" or constants.DRIVER is not None:
            return super().get_driver_class()
        from console.tui.driver import HelpdeskDriver

        return HelpdeskDriver

    @property
    def service(self) -> HelpdeskService:
        """The service. Until it has opened, this waits for it: call it from workers (every screen does)."""
        if self._service is None:
            self._opened.wait()
            if self._service is None:
                raise self.open_error or HelpdeskError(_("the database could not be opened"))
        return self._service

    def wait_for_service(self) -> HelpdeskService | None:
        """The service once open (waiting for it), or None when opening failed and the console is ending: workers
        that may start before the service is ready return quietly on None."""
        self._opened.wait()
        return self._service

    def open_service(self) -> bool:
        """Run the opener given in place of a service, in the calling thread. False when it was refused (no such
        agent, a damaged file…): `open_error` then holds why."""
        if self._opener is None:
            return True
        try:
            self._service = self._opener()
            # Who acts is the database's word (the agent bound to this login), not the login shown meanwhile.
            self.actor_name = self._service.actor_name
            return True
        except (HelpdeskError, StoreError) as exc:
            self.open_error = exc
            return False
        finally:
            self._opened.set()

    def close_service(self) -> None:
        """Shut the service down if it was opened (the console has ended), giving the sweeper's lease up first so
        another console takes the sweeps over at once."""
        if self._service is not None:
            if self._sweeping:
                try:
                    self._service.live.release(self._holder)
                except (HelpdeskError, StoreError):
                    pass  # the lease expires by itself
            self._service.shutdown()

    @work(thread=True, group="open")
    def _open_in_worker(self) -> None:
        if not self.open_service():
            code = getattr(self.open_error, "exit_code", 5)
            self.call_from_thread(self.exit, return_code=code)

    def get_default_screen(self) -> Screen[None]:
        """The queue (or the wallboard) is the first screen itself: no blank screen is laid out and painted first."""
        if self.wallboard_only:
            return self._wallboard_screen()
        from console.tui.screens.queue import QueueScreen

        return QueueScreen()

    def on_mount(self) -> None:
        if self._opener is not None:
            self.call_after_refresh(self._open_in_worker)
        threading.Thread(target=self._listen, name="helpdesk-listen", daemon=True).start()
        if not self.wallboard_only:
            self.set_interval(self.live_interval, self._p1_tick)
            if self.sweeps:
                self.set_interval(SWEEPER_TICK_S, self._sweeper_tick)

    # -- the one sweeper (console/service/live.py) ------------------------------------------------------------

    def _sweeper_tick(self) -> None:
        now = self.clock()
        if now >= self._sweep_due:
            self._sweep_round(now)

    @work(thread=True, exclusive=True, group="sweeper")
    def _sweep_round(self, now: float) -> None:
        service = self.wait_for_service()
        if service is None:
            return
        try:
            done = service.live.sweeper_round(self._holder)
        except (HelpdeskError, StoreError):
            done = None  # a busy or damaged file: the screens say so; try again later
        self._sweeping = done is not None
        if done is None:
            self._sweep_due = now + SWEEPER_STANDBY_S  # another console sweeps: look again in a while
            return
        # Again at the next crossing (to the tick), or soon when a batch left work, else in a while for the
        # auto-closing and pruning.
        busy = done.warnings + done.breaches + done.filled + done.auto_closed > 0
        later = now + (SWEEPER_TICK_S if busy else SWEEPER_IDLE_S)
        self._sweep_due = min(later, done.next_at) if done.next_at is not None else later

    # -- live updates announced by the database (PostgreSQL's LISTEN/NOTIFY) -------------------------------------

    def _listen(self) -> None:
        """Where the database announces its commits, wait for them (on the store's own listening connection) and
        have every live screen and the P1 alert read the feed at once; their per-second ticks then read it only
        every FALLBACK_POLL_S, in case an announcement went missing. Elsewhere (SQLite, a hot standby) this ends
        at once and the ticks poll. A thread of its own, not a worker: it lasts as long as the console, and nothing
        that waits for the workers to finish (a quitting app, a test settling) should wait for it."""
        service = self.wait_for_service()
        if service is None:
            return
        try:
            if not service.live.pushes():
                return
        except (HelpdeskError, StoreError):
            return  # the screens report an unusable database; their ticks poll
        self.live_pushed = True
        while not self._stop_listening.is_set():
            if service.live.wait_for_commit(LISTEN_WAIT_S) and not self._stop_listening.is_set():
                self.post_message(CommitAnnounced())

    def on_unmount(self) -> None:
        self._stop_listening.set()

    @on(CommitAnnounced)
    def _commit_announced(self) -> None:
        from console.tui.screens.live import LiveScreen

        for screen in self.screen_stack:
            if isinstance(screen, LiveScreen):
                screen.look_now()
        if not self.wallboard_only:
            self._p1_looked = time.monotonic()
            self._p1_look()

    # -- the P1 alert (console/tui/alerts.py) ---------------------------------------------------------------

    def _p1_tick(self) -> None:
        ticket_id = getattr(self.screen, "ticket_id", None)  # the ticket screen on top: its alert has been seen
        if isinstance(ticket_id, int):
            self.p1_alerts.seen(ticket_id)
        if self.live_pushed and time.monotonic() - self._p1_looked < FALLBACK_POLL_S:
            return  # the listener has it look when a commit is announced
        self._p1_looked = time.monotonic()
        self._p1_look()

    def _look_failed(self, error: BaseException) -> None:
        """What a look raised that no screen expected ends the console, as a worker's error does (Textual reports it
        from inside an ``except`` block, where its traceback is)."""
        if not isinstance(error, Exception):
            return

        def fail() -> None:
            try:
                raise error
            except Exception as exc:
                self._handle_exception(exc)

        with contextlib.suppress(RuntimeError):  # the console has ended already
            self.call_from_thread(fail)

    def _p1_look(self) -> None:
        self.looks.run(self._p1_read, key="p1-alert")

    def _p1_read(self) -> None:
        service = self.wait_for_service()
        if service is None:
            return
        # A fresh look only when a ticket changed (the change feed): the first look takes the feed's position first,
        # so a change right after it is not missed.
        if self._p1_cursor is None:
            self._p1_cursor = service.live.cursor()
        else:
            feed = service.live.changes(self._p1_cursor)
            self._p1_cursor = feed.cursor
            if not feed.reload and not service.live.touches_p1(feed.tickets):
                return
        try:
            waiting = waiting_p1(service, self.clock())
        except (HelpdeskError, StoreError):
            return  # the screens report an unusable database; the next commit brings another look
        self.call_from_thread(self.p1_alerts.update, waiting)

    def action_acknowledge_p1(self) -> None:
        self.p1_alerts.acknowledge()

    def _wallboard_screen(self) -> Screen[None]:
        from console.tui.screens.wallboard import WallboardScreen

        return WallboardScreen(show_customers=self.show_customers)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification is plain text: messages carry names, subjects and errors quoting what was typed.
        (Textual's notifications take a ``str`` only, so this is ``plain``'s rule with markup off.)"""
        super().notify(
            clean(message, multiline=True), title=clean(title), severity=severity, timeout=timeout, markup=False
        )

    def action_command_palette(self) -> None:
        from textual.command import CommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):  # type: ignore[arg-type]
            self.push_screen(CommandPalette(id="--command-palette", placeholder=_("Search for commands…")))

    def action_wallboard(self) -> None:
        if self.wallboard_only:
            return
        self.push_screen(self._wallboard_screen())

    def action_help(self) -> None:
        from console.tui.screens.help import HelpScreen

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
        from console.tui.screens.ticket import TicketScreen

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


def run_app(path: str, actor: str | None, *, wallboard: bool = False, show_customers: bool = False) -> int:
    """Open the console (or the wallboard) on the database at ``path`` (already checked by the caller, before the
    screen is taken over) for ``actor``."""
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")  # no tweening over SSH
    app = HelpdeskApp(
        partial(_open_for_console, path, actor, wallboard, show_customers),
        actor_name=actor,
        wallboard=wallboard,
        show_customers=show_customers,
    )
    try:
        app.run()
    finally:
        app.close_service()
    if app.open_error is not None:
        raise app.open_error
    return 0


def _open_for_console(path: str, actor: str | None, wallboard: bool, show: bool) -> HelpdeskService:
    from console.service.helpdesk import HelpdeskService

    return HelpdeskService.open(path, actor, wallboard=wallboard, show_customers=show, require_agent=True)
