"""The floor's live side: what changed since a screen last looked (the change feed, db/schema.py v6), and the one
sweeper that makes the changes time alone brings (warnings, breaches, auto-closing) for the whole database.

Every console offers to sweep; one holds the lease at a time and renews it while it lives, and when it dies (or
quits) another takes over once the lease has expired. So N consoles cost one sweep, not N, and the sweep reads only
the tickets whose next crossing has come (``tickets.sla_next``), a batch per short transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass

from console.service.core import ServiceCore
from console.service.rollups import fill_rollups
from console.service.sla_book import SlaBook
from db.models import QueueItem
from db.records import Change, Feed, QueueFacts

SWEEPER_LEASE = "sweeper"
LEASE_TTL_S = 30.0  # a dead holder's lease is free after this
FEED_KEEP_S = 600.0  # feed rows older than this are pruned: a reader asleep longer reloads


@dataclass(frozen=True)
class SweepRound:
    """What one round of the sweeper did: crossings recorded, auto-closures, figures filled in, feed rows pruned,
    and the next instant a crossing is due (None: none is scheduled)."""

    warnings: int
    breaches: int
    auto_closed: int
    filled: int
    pruned: int
    next_at: float | None


class Live:
    """The change feed and the sweeper, as HelpdeskService offers them."""

    def __init__(self, core: ServiceCore, sla_book: SlaBook) -> None:
        self.core = core
        self.sla_book = sla_book

    def snapshot(self) -> AbstractContextManager[None]:
        """Reads inside see one committed state: the feed's position and the data read with it."""
        return self.core.store.snapshot()

    def cursor(self) -> int:
        return self.core.store.feed_cursor()

    def changes(self, since: int) -> Feed:
        return self.core.store.changes_since(since)

    def pushes(self) -> bool:
        """Whether the database announces its commits (PostgreSQL's LISTEN/NOTIFY, not on a standby): readers then
        look at the feed when told, and poll it only now and then in case an announcement was missed. SQLite
        announces nothing: its readers poll every second."""
        return self.core.store.listens()

    def wait_for_commit(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for a commit to be announced: True when the feed may have moved (read it then),
        False when the time passed. One waiter per service (the console's listener)."""
        return self.core.store.wait_for_commit(timeout)

    def facts(self, ids: list[int]) -> list[QueueFacts]:
        return self.core.store.queue_facts(ids)

    def rows(self, ids: list[int]) -> list[QueueItem]:
        """The queue rows of ``ids``, as a page shows them."""
        return self.core.store.queue_items(ids)

    def touches_p1(self, changes: Mapping[int, Change]) -> bool:
        """Whether any of the changed tickets is or was a P1 (or is new): what the P1 alert must look at again."""
        if not changes:
            return False
        if any(c.created or (c.before is not None and c.before.priority == "P1") for c in changes.values()):
            return True
        return any(f.priority == "P1" for f in self.facts(list(changes)))

    def sweeper_round(self, holder: str) -> SweepRound | None:
        """The time-driven work, if this process holds the sweeper's lease (taking it when it is free); None when
        another process holds it (or this one only reads)."""
        if self.core.wallboard or self.core.store.readonly:
            return None
        now = self.core.at(None).timestamp()
        if not self.core.store.take_lease(SWEEPER_LEASE, holder, now, LEASE_TTL_S):
            return None
        crossed = self.sla_book.sweep()
        filled = self.sla_book.fill_figures() + fill_rollups(self.core, self.sla_book)
        pruned = self._prune(now - FEED_KEEP_S)
        return SweepRound(
            crossed["warnings"],
            crossed["breaches"],
            crossed["auto_closed"],
            filled,
            pruned,
            self.core.store.next_judgement(),
        )

    def _prune(self, before: float) -> int:
        """Feed rows older than ``before``, a batch per transaction (writers slip in between), while there are any;
        nothing written when there are none (one index probe)."""
        pruned = 0
        while (oldest := self.core.store.oldest_change()) is not None and oldest < before:
            deleted = self.core.store.prune_changes(before)
            pruned += deleted
            if not deleted:
                break
        return pruned

    def fill_backlog(self, progress: Callable[[int, int | None], None] | None = None) -> int:
        """Everything a migration left to compute (figures of older tickets, the report rollups), to the end, a batch
        per transaction: for `helpdesk sweep` (the console's sweeper does a batch per round)."""
        if self.core.wallboard or self.core.store.readonly:
            return 0
        done = 0
        while filled := self.sla_book.fill_figures() or fill_rollups(self.core, self.sla_book):
            done += filled
            if progress is not None:
                progress(done, None)
        return done

    def release(self, holder: str) -> None:
        """Give the lease up at once (a console quitting), so another takes over without waiting for it to expire."""
        if not (self.core.wallboard or self.core.store.readonly):
            self.core.store.release_lease(SWEEPER_LEASE, holder)
