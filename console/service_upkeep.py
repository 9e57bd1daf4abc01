"""Presence (who else has a ticket open) and maintenance of the database file: backup and the integrity check."""

from __future__ import annotations

from pathlib import Path

from console import workflow
from console.errors import Unavailable
from console.service_core import TRACKED, ServiceCore
from db.errors import StoreError

PRESENCE_TTL_S = 30.0


class Upkeep(ServiceCore):
    """Presence and maintenance, as HelpdeskService offers them."""

    # -- presence -----------------------------------------------------------------------------------------

    def heartbeat(self, ticket_id: int) -> None:
        if self.wallboard:
            return
        self._write(lambda: self.store.heartbeat(self.actor_name, ticket_id, self._at(None).timestamp()))

    def leave(self, ticket_id: int) -> None:
        if self.wallboard:
            return
        self._write(lambda: self.store.leave(self.actor_name, ticket_id))

    # -- maintenance --------------------------------------------------------------------------------------

    def backup(self, dest: str | Path) -> Path:
        try:
            return self.store.backup(dest)
        except StoreError as exc:
            raise Unavailable(str(exc)) from exc

    def check(self) -> list[str]:
        """Integrity, foreign keys, and every ticket equal to the replay of its events."""
        problems = self.store.integrity_problems()
        try:
            self._check_histories(problems)
        except StoreError as exc:  # a damaged file: what could be read is reported, then why the rest could not
            problems.append(str(exc))
        return problems

    def _check_histories(self, problems: list[str]) -> None:
        for ticket in self.store.all_tickets():
            events = self.store.events(ticket.id)
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
