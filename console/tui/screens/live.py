"""A screen that follows the database through its change feed (db/schema.py v6): every second a worker asks for
the changes after the last one it applied — one indexed read, nothing when nothing changed — and the screen applies
only the tickets that changed (`on_changes`), or reads everything again when the feed says so (`on_foreign_commit`).
Where the database announces its commits (PostgreSQL's LISTEN/NOTIFY), the app has the screens look when one is
announced (`look_now`), and the ticks look only every FALLBACK_POLL_S, in case an announcement was missed.

At most one look and one refresh run at a time per screen: a look that finds the previous refresh still running
leaves its changes to be folded into the next one, so work never piles up behind a slow read.
"""

from __future__ import annotations

import time
from typing import cast

from textual.screen import Screen

from console.tui.ui import FALLBACK_POLL_S, Host
from db.records import Change, Feed


class LiveScreen(Screen[None]):
    def __init__(self) -> None:
        super().__init__()
        self._cursor: int | None = None
        self._pending: dict[int, Change] = {}  # changes seen while a refresh was running
        self._pending_reload = False
        self._busy = False  # a refresh (full or incremental) is running
        self._looked = float("-inf")  # the last look at the feed (time.monotonic)

    @property
    def helpdesk(self) -> Host:
        return cast("Host", self.app)

    # -- what a screen implements ---------------------------------------------------------------------------

    def on_foreign_commit(self) -> None:
        """Read everything again (called on the UI thread)."""

    def on_changes(self, changes: dict[int, Change]) -> None:
        """Apply the tickets that changed (UI thread); by default, read everything again."""
        self.on_foreign_commit()

    # -- the feed -------------------------------------------------------------------------------------------

    def prime_feed(self) -> None:
        """Take the feed's position now, from a worker reading the data it shows in the same snapshot: the
        changes after it are exactly those the data does not hold yet."""
        self._cursor = self.helpdesk.service.live.cursor()

    def refresh_started(self) -> None:
        self._busy = True

    def refresh_done(self) -> None:
        """A refresh finished (UI thread): fold in what came meanwhile."""
        self._busy = False
        if self._pending_reload:
            self._pending_reload, self._pending = False, {}
            self.on_foreign_commit()
        elif self._pending:
            pending, self._pending = self._pending, {}
            self.on_changes(pending)

    def _poll(self) -> None:
        """The tick: a look at the feed, or, where commits are announced, only now and then."""
        if self.helpdesk.live_pushed and time.monotonic() - self._looked < FALLBACK_POLL_S:
            return
        self.look_now()

    def look_now(self) -> None:
        """Read the feed now (a commit was announced, or this console has just written)."""
        self._looked = time.monotonic()
        self.helpdesk.looks.run(self._look, key=("look", id(self)))

    def _look(self) -> None:
        if self.helpdesk.wait_for_service() is None or self._cursor is None:
            return
        feed = self.helpdesk.service.live.changes(self._cursor)
        self._cursor = feed.cursor
        if feed.reload or feed.tickets:
            self.app.call_from_thread(self._deliver, feed)

    def deferred(self, changes: dict[int, Change] | None) -> bool:
        """While a refresh runs, keep what came for after it (``None``: read everything again) and say so; False when
        the caller may refresh now."""
        if not self._busy:
            return False
        if changes is None:
            self._pending_reload = True
        else:
            for ticket_id, change in changes.items():
                self._pending[ticket_id] = merge(self._pending.get(ticket_id), change)
        return True

    def _deliver(self, feed: Feed) -> None:
        if not self.is_attached:
            return  # the screen has been dismissed (or the console is ending) since the look began
        if self.deferred(None if feed.reload else feed.tickets):
            return
        if feed.reload:
            self.on_foreign_commit()
        else:
            self.on_changes(feed.tickets)


def merge(earlier: Change | None, later: Change) -> Change:
    """One ticket's changes over two looks: its state before the first, and whether it is new since then."""
    if earlier is None:
        return later
    if earlier.created or earlier.before is not None:
        return earlier
    return Change(later.ticket_id, later.created, later.before)
