"""Presence (who else has a ticket open) and maintenance of the database file: backup and the integrity check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from console.i18n import _
from console.rules import workflow
from console.rules.errors import BadInput, Unavailable
from console.service.core import TRACKED, ServiceCore
from db.errors import SameFile, StoreError

PRESENCE_TTL_S = 30.0


class Upkeep:
    """Presence and maintenance, as HelpdeskService offers them."""

    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    # -- presence -----------------------------------------------------------------------------------------

    def heartbeat(self, ticket_id: int) -> None:
        """Presence is best effort: skipped when another process holds the write lock, so the console's reads never
        queue behind it (the next heartbeat, a few seconds later, tries again)."""
        if self.core.wallboard:
            return
        now = self.core.at(None).timestamp()
        self._best_effort(lambda: self.core.store.heartbeat(self.core.actor_name, ticket_id, now))

    def leave(self, ticket_id: int) -> None:
        if self.core.wallboard:
            return
        self._best_effort(lambda: self.core.store.leave(self.core.actor_name, ticket_id))

    def _best_effort(self, work: Callable[[], None]) -> None:
        try:
            self.core.store.try_write(work)
        except StoreError as exc:
            raise Unavailable(str(exc)) from exc

    # -- maintenance --------------------------------------------------------------------------------------

    def backup(self, dest: str | Path) -> Path:
        """A copy of the whole database, customers included: supervisors and admins only. The file's mode is the
        database's limited to 0660 (db/connection.py's `file_mode`)."""
        self.core.require_role("supervisor", "admin")
        try:
            return self.core.store.backup(dest)
        except SameFile as exc:
            raise BadInput(
                _("{path} is the database itself; back up to another file (nothing was changed)").format(path=exc.path)
            ) from exc
        except StoreError as exc:
            raise Unavailable(str(exc)) from exc

    def check(self) -> list[str]:
        """Integrity, foreign keys, the schema's indexes and triggers, the events' hash chain, and every ticket
        equal to the replay of its events."""
        store = self.core.store
        problems = store.integrity_problems() + store.schema_problems() + store.chain_problems()
        try:
            self._check_histories(problems)
        except StoreError as exc:  # a damaged file: what could be read is reported, then why the rest could not
            problems.append(str(exc))
        return problems

    def table_counts(self) -> dict[str, int]:
        """The rows of every table (`check --json`: a migrated copy has as many as its source); none from a file
        too damaged to count, whose problems `check` reports."""
        try:
            return self.core.store.table_counts()
        except StoreError:
            return {}

    def _check_histories(self, problems: list[str]) -> None:
        for ticket in self.core.store.all_tickets():
            try:
                events = self.core.store.events(ticket.id)
            except ValueError:  # an event edited by hand into something that is not one (bad JSON, bad time)
                problems.append(f"ticket {ticket.id}: its history cannot be read (an event was edited?)")
                continue
            if not events or events[0].kind != "created":
                problems.append(f"ticket {ticket.id}: history does not start with its creation")
                continue
            state = workflow.replay(
                events[0].detail.get("initial", {}), [e.detail.get("changes", {}) for e in events[1:]]
            )
            for key in TRACKED:
                if state.get(key) != getattr(ticket, key):
                    problems.append(
                        f"ticket {ticket.id}: {key} is {getattr(ticket, key)!r} but its events say {state.get(key)!r}"
                    )
