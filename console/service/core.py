"""What every service action stands on: the store, who acts (from the login, never from what the caller types), the
time of each change (from the clock, or claimed by an admin and marked), and one write transaction."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

from console.i18n import _
from console.rules.clock import Clock, utcnow
from console.rules.errors import BadInput, PermissionDenied, Refused, Stale, Unavailable
from console.rules.whoami import default_agent_name, invoking_login
from console.service.ticket_view import describe_event
from db.errors import BadLogin, Conflict, DatabaseUnavailable, Duplicate, NotFound, ReadOnly, StoreError
from db.models import Agent, Event, Ticket
from db.store import Store
from db.store_api import StoreAPI

T = TypeVar("T")

# Which fields an event records as changes; replaying them rebuilds the ticket (helpdesk check).
TRACKED = ("status", "assignee", "tier", "priority")
# A claimed time this far past the clock is refused as the future (clocks of two hosts may differ a little).
CLOCK_SKEW = timedelta(minutes=2)


def open_store(path: str | Path, *, create: bool = False, readonly: bool = False) -> StoreAPI:
    """``readonly``: the wallboard's store, which never writes (the board account may only read the file). A
    ``postgresql://`` URL opens the PostgreSQL store (db/pg/store.py), which answers the same interface
    (db/store_api.py) but for what tests/test_pg_store.py lists as not yet done (the knowledge search)."""
    try:
        if isinstance(path, str) and path.startswith(("postgresql://", "postgres://")):
            from db.pg.store import PgStore  # psycopg loads only for a PostgreSQL database

            return cast(StoreAPI, PgStore(path, readonly=readonly, create=create and not readonly))
        return Store(path, readonly=readonly, create=create and not readonly)
    except DatabaseUnavailable as exc:
        raise Unavailable(str(exc)) from exc


def session_login(store: StoreAPI) -> str:
    """Who is connected: the database's word where it has one (PostgreSQL's session role), else the login running
    this process (the operating system's word, sudo's where the file's owner runs it)."""
    return store.session_login() or invoking_login(store.path if isinstance(store.path, Path) else None)


def identify(
    store: StoreAPI, requested: str | None, *, bootstrap: bool = False, wallboard: bool = False
) -> tuple[str, str | None]:
    """``(actor, entered_by)`` for the person running this process: the agent whose login is theirs. ``requested``
    (``--as``) names another agent: admins only, and every event then records the admin as ``entered_by``.
    ``bootstrap``: an empty database (``init``, ``demo``) lets the first user in to register."""
    login = session_login(store)
    agent = store.agent_by_login(login)
    if agent is None or not agent.active:
        if bootstrap and store.count_agents() == 0:
            return requested or login, None
        raise PermissionDenied(
            _(
                "login {login} is not an agent here: an admin can add it with 'helpdesk agent add NAME --login {login}'"
            ).format(login=login)
        )
    if agent.board_only and not wallboard:
        raise PermissionDenied(_("{login} is a wallboard login: it may only open the wallboard").format(login=login))
    if requested is None or requested == agent.name:
        return agent.name, None
    if agent.role != "admin":
        raise PermissionDenied(
            _("only admins may act as another agent (--as {name}); {me} is {role}").format(
                name=requested, me=agent.name, role=_(agent.role)
            )
        )
    return requested, agent.name


class ServiceCore:
    """What the service and each of its parts (console/service/*.py) share: one is made per service and handed
    to every part."""

    write_attempts = 12  # how often a busy database is tried before the write fails (the mail pipe tries less)

    def __init__(
        self,
        store: StoreAPI,
        actor: str | None = None,
        *,
        clock: Clock = utcnow,
        wallboard: bool = False,
        entered_by: str | None = None,
    ) -> None:
        self.store = store
        self.actor_name = actor or default_agent_name()
        self.clock = clock
        self.wallboard = wallboard
        self.entered_by = entered_by  # the admin acting as actor_name (--as), recorded on every event
        self.login = session_login(store)
        self._claims = threading.local()  # whether the change being written claims its time (--at)
        # Run at the end of every write transaction, inside it, with the tickets it changed (read from the change
        # feed its triggers filled): the parts keeping derived data (the report rollups) bring it up to date there.
        self.settlers: list[Callable[[list[int]], None]] = []

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

        def unit() -> T:
            start = self.store.feed_cursor() if self.settlers else 0
            result = work()
            if self.settlers:
                touched = self.store.tickets_changed_after(start)
                for settle in self.settlers:
                    settle(touched)
            return result

        try:
            return self.store.write(unit, self.write_attempts)
        except Conflict as exc:
            raise Stale(self._stale_message(exc.ticket_id)) from exc
        except NotFound as exc:
            raise BadInput(_("{kind} {key} not found").format(kind=_(exc.kind), key=exc.key)) from exc
        except Duplicate as exc:
            raise Refused(str(exc)) from exc
        except ReadOnly as exc:
            raise Refused(str(exc)) from exc
        except BadLogin as exc:
            raise _bad_login(exc) from exc
        except StoreError as exc:
            raise Unavailable(str(exc)) from exc
        finally:
            self._claims.claimed = False

    def at(self, at: datetime | None) -> datetime:
        """``at`` (or the clock's now) in UTC to the second: for reading, what-ifs included (``--now``)."""
        value = at or self.clock()
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(microsecond=0)

    def when(self, at: datetime | None) -> datetime:
        """The time a change is recorded at: the clock's now, or ``at``, a time claimed for history entered later
        (imports, migrations, a call logged after the fact). Claiming is for admins (also when acting as another
        agent with --as), never in the future, and every event of the change is marked as backfilled."""
        now = self.at(None)
        self._claims.claimed = False
        if at is None:
            return now
        value = self.at(at)
        # The future is judged by the wall clock too: a service run on a clock of its own (a what-if, a test) may
        # still enter history that happened before the real present, never after it.
        if value > max(now, utcnow()) + CLOCK_SKEW:
            raise BadInput(
                _(
                    "--at {at} is in the future (the clock says {now}); history can only be recorded after it happened"
                ).format(at=value.isoformat(), now=now.isoformat())
            )
        if self.entered_by is None:
            agent = self.me()
            if agent.role != "admin":
                raise PermissionDenied(
                    _("only admins may record history at another time (--at); {name} is {role}").format(
                        name=agent.name, role=_(agent.role)
                    )
                )
        self._claims.claimed = True
        return value

    def claim(self, claimed: bool) -> None:
        """Mark (or not) the events of the change being written as backfilled: for the sweep's several writes
        under one ``--now`` (each write ends its own claim)."""
        self._claims.claimed = claimed

    def check_order(self, ticket_id: int, at: datetime) -> datetime:
        """The time to record a change of ``ticket_id`` at: a claimed time earlier than the ticket's last event is
        refused; the clock's own time, if the clock stepped back since, is taken as that event's time, so a ticket
        is never frozen by it (``recorded_at`` keeps the clock's word)."""
        last = self.store.last_event_at(ticket_id)
        if last is None or at >= last:
            return at
        if getattr(self._claims, "claimed", False):
            raise BadInput(
                _("--at {at} is earlier than ticket {id}'s last event ({last})").format(
                    at=at.isoformat(), id=ticket_id, last=last.isoformat()
                )
            )
        return last

    def record(
        self,
        ticket_id: int | None,
        when: datetime,
        kind: str,
        from_value: str | None = None,
        to_value: str | None = None,
        detail: Mapping[str, Any] | None = None,
        *,
        actor: str | None = None,
    ) -> Event:
        """Append the change's event: who (the actor, and the admin who entered it for them), when it happened,
        when it was written, and whether its time was claimed."""
        return self.store.add_event(
            ticket_id,
            actor or self.actor_name,
            when,
            kind,
            from_value,
            to_value,
            detail,
            recorded_at=self.at(None),
            backfilled=bool(getattr(self._claims, "claimed", False)),
            entered_by=None if actor is not None else self.entered_by,
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


def _bad_login(exc: BadLogin) -> BadInput | PermissionDenied:
    """The database's refusal of a login as one of its roles (db/pg/schema.py's helpdesk_sync_role), in words."""
    if exc.reason == "foreign":
        return PermissionDenied(
            _(
                "the database role {login} was not made by this helpdesk: its password is set by the database's "
                "owner or a DBA"
            ).format(login=exc.login)
        )
    why = {
        "long": _("PostgreSQL role names are 1-63 bytes"),
        "chars": _("a role name has no spaces or control characters"),
        "reserved": _("names starting with pg_ and a few words (public, none…) are PostgreSQL's own"),
        "group": _("that role is a group (or has members), who would all become agents"),
    }.get(exc.reason, exc.reason)
    return BadInput(_("login {login} cannot be a database role: {why}").format(login=exc.login, why=why))
