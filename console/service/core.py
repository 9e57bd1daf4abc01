"""What every service action stands on: the store, the acting agent and their role, and one write transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from console.i18n import _
from console.rules.clock import Clock, utcnow
from console.rules.errors import BadInput, PermissionDenied, Refused, Stale, Unavailable
from console.rules.whoami import default_agent_name
from console.service.ticket_view import describe_event
from db.errors import Conflict, DatabaseUnavailable, Duplicate, NotFound, ReadOnly, StoreError
from db.models import Agent, Ticket
from db.store import Store

T = TypeVar("T")

# Which fields an event records as changes; replaying them rebuilds the ticket (helpdesk check).
TRACKED = ("status", "assignee", "tier", "priority")


def open_store(path: str | Path, *, create: bool = False) -> Store:
    try:
        return Store(path, readonly=False, create=create)
    except DatabaseUnavailable as exc:
        raise Unavailable(str(exc)) from exc


class ServiceCore:
    """What the service and each of its parts (console/service/*.py) share: one is made per service and handed
    to every part."""

    def __init__(
        self,
        store: Store,
        actor: str | None = None,
        *,
        clock: Clock = utcnow,
        wallboard: bool = False,
    ) -> None:
        self.store = store
        self.actor_name = actor or default_agent_name()
        self.clock = clock
        self.wallboard = wallboard

    # -- identity and permissions -----------------------------------------------------------------------

    def me(self) -> Agent:
        agent = self.store.get_agent(self.actor_name)
        if agent is None or not agent.active:
            raise PermissionDenied(
                _("unknown agent {name}: ask an admin to run 'helpdesk agent add {name}'").format(name=self.actor_name)
            )
        return agent

    def require_role(self, *roles: str) -> Agent:
        """The acting agent, if their role is one of ``roles``; PermissionDenied otherwise."""
        agent = self.me()
        if agent.role not in roles:
            raise PermissionDenied(
                _("{name} is {role}; this needs {roles}").format(
                    name=agent.name, role=_(agent.role), roles=" / ".join(_(r) for r in roles)
                )
            )
        return agent

    def writable(self) -> None:
        if self.wallboard:
            raise Refused(_("the wallboard is read-only"))

    def write(self, work: Callable[[], T]) -> T:
        self.writable()
        try:
            return self.store.write(work)
        except Conflict as exc:
            raise Stale(self._stale_message(exc.ticket_id)) from exc
        except NotFound as exc:
            raise BadInput(_("{kind} {key} not found").format(kind=_(exc.kind), key=exc.key)) from exc
        except Duplicate as exc:
            raise Refused(str(exc)) from exc
        except ReadOnly as exc:
            raise Refused(str(exc)) from exc
        except StoreError as exc:
            raise Unavailable(str(exc)) from exc

    def at(self, at: datetime | None) -> datetime:
        value = at or self.clock()
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(microsecond=0)

    def check_order(self, ticket_id: int, at: datetime) -> None:
        last = self.store.last_event_at(ticket_id)
        if last is not None and at < last:
            raise BadInput(
                _("--at {at} is earlier than ticket {id}'s last event ({last})").format(
                    at=at.isoformat(), id=ticket_id, last=last.isoformat()
                )
            )

    def _stale_message(self, ticket_id: int) -> str:
        event = self.store.last_event(ticket_id)
        if event is None:
            return _("ticket {id} changed; refresh and try again").format(id=ticket_id)
        age = max(0, int((self.clock() - event.at).total_seconds()))
        return _("ticket {id} changed: {what} by {actor} {age} s ago").format(
            id=ticket_id, what=describe_event(event), actor=event.actor, age=age
        )

    # -- reading ------------------------------------------------------------------------------------------

    def ticket(self, ticket_id: int) -> Ticket:
        try:
            return self.store.get_ticket(ticket_id)
        except NotFound as exc:
            raise BadInput(_("ticket {id} not found").format(id=ticket_id)) from exc
