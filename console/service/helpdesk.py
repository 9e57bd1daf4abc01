"""The service layer: the only place that combines the store, the rules and the audit trail.

Every state change, assignment, reply, escalation and closure is one write transaction that changes the
ticket, writes exactly one event, and refreshes the ticket's derived SLA columns. The CLI and the console call
this; neither touches SQL. HelpdeskService holds the ticket actions and the parts in console/service/.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from console.i18n import _
from console.rules import workflow
from console.rules.clock import Clock, is_zone, utcnow, zone_named
from console.rules.errors import BadInput, PermissionDenied, Refused
from console.rules.validation import (
    MAX_BODY,
    check_agent_name,
    check_display_name,
    check_new_agent_name,
    clean_text,
    require_text,
    validate_new_ticket,
)
from console.service.core import TRACKED, ServiceCore, identify, open_store
from console.service.intake import TicketIntake
from console.service.kb import KnowledgeActions
from console.service.live import Live
from console.service.mail_outbox import MailView
from console.service.rollups import ReportRollups
from console.service.sla_book import SlaBook
from console.service.ticket_view import ClockView, TicketDetail, clock_view, facts_from_events
from console.service.upkeep import PRESENCE_TTL_S, Upkeep
from db.errors import Conflict
from db.models import Agent, Customer, Event, QueueItem, Ticket
from db.records import TicketFilter
from db.store_api import StoreAPI
from db.vocabulary import (
    CALL_DIRECTIONS,
    CONFIRMATION_CHANNELS,
    PRIORITIES,
    ROLES,
    STATUSES,
    TIERS,
    VISIT_STAGES,
    needs_followup,
)

if TYPE_CHECKING:
    from db.reports import PendingFollowup


MIN_PASSWORD = 12  # a database login reachable from other hosts


class HelpdeskService:
    """One agent's (or script's) access to one database: the ticket actions here, the rest in the parts it holds
    (each given the same core: the store, the acting agent, the clock and the one write transaction)."""

    def __init__(
        self,
        store: StoreAPI,
        actor: str | None = None,
        *,
        clock: Clock = utcnow,
        wallboard: bool = False,
        entered_by: str | None = None,
        core: ServiceCore | None = None,
    ) -> None:
        """A service acting as ``actor`` as given: for code that has already decided who acts (the demo, tests);
        `open` decides it from the login. ``core``: one made already (the mail channel's system actor)."""
        self.core = core or ServiceCore(store, actor, clock=clock, wallboard=wallboard, entered_by=entered_by)
        self.sla_book = SlaBook(self.core)
        self.intake = TicketIntake(self.core, self.sla_book)
        self.core.settlers.append(ReportRollups(self.core, self.sla_book).settle)  # reports' rollups
        self.knowledge = KnowledgeActions(self.core)
        self.upkeep = Upkeep(self.core)
        self.mail = MailView(self.core)  # the e-mail channel as the console shows it
        # The parts' public actions, offered here as the service's own.
        self.me = self.core.me
        self.require_role = self.core.require_role
        self.ticket = self.core.ticket
        self.policy = self.sla_book.policy
        self.load_policy = self.sla_book.load_policy
        self.calendar_for = self.sla_book.calendar_for
        self.sweep = self.sla_book.sweep
        self.live = Live(self.core, self.sla_book)
        self.create_ticket = self.intake.create_ticket
        self.import_rows = self.intake.import_rows
        self.add_customers = self.intake.add_customers
        self.export_records = self.intake.export_records
        self.link_article = self.knowledge.link_article
        self.add_article = self.knowledge.add_article
        self.import_articles = self.knowledge.import_articles
        self.article = self.knowledge.article
        self.search_kb = self.knowledge.search_kb
        self.suggest_kb = self.knowledge.suggest_kb
        self.drafts = self.knowledge.drafts
        self.publish_article = self.knowledge.publish_article
        self.heartbeat = self.upkeep.heartbeat
        self.leave = self.upkeep.leave
        self.backup = self.upkeep.backup
        self.check = self.upkeep.check
        self.table_counts = self.upkeep.table_counts

    @classmethod
    def open(
        cls,
        path: str | Path,
        actor: str | None = None,
        *,
        clock: Clock = utcnow,
        create: bool = False,
        wallboard: bool = False,
        show_customers: bool = False,
        require_agent: bool = False,
    ) -> Self:
        """Open the database at ``path``. ``require_agent``: refuse now an actor who is not an active agent (the
        console asks before its first screen). ``show_customers`` (the wallboard unmasked) is for supervisors and
        admins only, checked here so the console and the `wallboard` command ask the same rule."""
        store = open_store(path, create=create, readonly=wallboard)  # the board reads only (ssh-config)
        try:
            name, entered_by = identify(store, actor, bootstrap=create, wallboard=wallboard)
        except BaseException:
            store.close()
            raise
        service = cls(store, name, clock=clock, wallboard=wallboard, entered_by=entered_by)
        if show_customers or require_agent:
            try:
                if show_customers and service.me().role not in ("supervisor", "admin"):
                    raise PermissionDenied(_("only supervisors and admins may show customer data on the wallboard"))
                service.me()
            except BaseException:
                service.shutdown()
                raise
        return service

    def shutdown(self) -> None:
        self.core.store.close()

    @property
    def store(self) -> StoreAPI:
        """The store underneath (for the service's own modules and tests; the CLI and the console never use it)."""
        return self.core.store

    @property
    def actor_name(self) -> str:
        return self.core.actor_name

    @property
    def clock(self) -> Clock:
        return self.core.clock

    @property
    def login(self) -> str:
        """The host login running this service (sudo's invoking user in the shared-host deployment)."""
        return self.core.login

    @property
    def entered_by(self) -> str | None:
        """The admin acting as another agent (--as), else None."""
        return self.core.entered_by

    @property
    def wallboard(self) -> bool:
        return self.core.wallboard

    @property
    def path(self) -> Path | str:
        """The database file, or a PostgreSQL URL with its password left out (a URL is no path: its '//' stays)."""
        return self.core.store.path

    @property
    def database_key(self) -> str:
        """The database, named the same way whatever path led to it: the resolved file, or the URL (drafts are kept
        per database)."""
        path = self.core.store.path
        return str(path.resolve()) if isinstance(path, Path) else path

    def as_agent(self, name: str, clock: Clock | None = None) -> HelpdeskService:
        """The same database, acting as ``name`` (the demo builds its history as each of its staff)."""
        return HelpdeskService(self.core.store, name, clock=clock or self.core.clock, wallboard=self.core.wallboard)

    def relaxed_durability(self) -> AbstractContextManager[None]:
        """Bulk set-up (the demo) commits without waiting for the disk; a crash loses it whole, never half."""
        return self.core.store.relaxed_durability()

    def count_tickets(self) -> int:
        return self.core.store.count_tickets()

    def count_articles(self) -> int:
        return self.core.store.count_articles()

    # -- agents -------------------------------------------------------------------------------------------

    def init(self, admin: str, *, login: str | None = None) -> Agent:
        """Create the first admin of an empty database, bound to the login running this (or ``login``)."""
        bound = login or self.core.login
        check_new_agent_name(admin)
        check_agent_name(bound)

        def work() -> Agent:
            if self.core.store.count_agents() > 0:
                raise Refused(_("this database already has agents; use 'helpdesk agent add'"))
            now = self.core.at(None)
            agent = self.core.store.insert_agent(admin, "admin", "L3", admin, now, login=bound)
            self._agent_event("agent_added", agent, now)
            self.sla_book.save_policy_if_missing(admin)
            return agent

        return self.core.write(work)

    def add_agent(
        self,
        name: str,
        role: str = "agent",
        tier: str = "L1",
        display_name: str = "",
        *,
        login: str | None = None,
        board_only: bool = False,
        password: str | None = None,
    ) -> Agent:
        """Admins add agents; ``login`` (default: the name) is the host login that acts as the agent;
        ``board_only``: a login that may only open the wallboard (the SSH board account). ``password``: on
        PostgreSQL, the login's password for connections from other hosts (SCRAM)."""
        check_new_agent_name(name)
        check_display_name(display_name)
        if login is not None:
            check_agent_name(login)
        if role not in ROLES:
            raise BadInput(_("role must be one of: {values}").format(values=", ".join(ROLES)))
        if tier not in TIERS:
            raise BadInput(_("tier must be one of: {values}").format(values=", ".join(TIERS)))
        if board_only and role != "agent":
            raise BadInput(_("a wallboard login has the role agent: it sees what the board masks, nothing more"))
        if password is not None:
            if self.core.store.session_login() is None:
                raise BadInput(_("--password sets a database login's password; a SQLite database has no logins"))
            if len(password) < MIN_PASSWORD:
                raise BadInput(_("a password needs at least {n} characters").format(n=MIN_PASSWORD))
        self.core.require_role("admin")

        def work() -> Agent:
            now = self.core.at(None)
            agent = self.core.store.insert_agent(
                name, role, tier, display_name or name, now, login=login, board_only=board_only
            )
            if password is not None:
                self.core.store.set_password(agent.login or name, password)
            self._agent_event("agent_added", agent, now)
            return agent

        return self.core.write(work)

    def set_password(self, password: str, name: str | None = None) -> Agent:
        """A database login's password, for connections from other hosts (PostgreSQL, SCRAM): an agent sets their
        own, an admin anyone's. The event records who set whose, never the password."""
        if self.core.store.session_login() is None:
            raise BadInput(_("a SQLite database has no logins of its own: there is no password to set"))
        if len(password) < MIN_PASSWORD:
            raise BadInput(_("a password needs at least {n} characters").format(n=MIN_PASSWORD))
        me = self.core.me()
        if name is not None and name != me.name:
            self.core.require_role("admin")

        def work() -> Agent:
            agent = me if name is None or name == me.name else self.core.store.get_agent(name)
            if agent is None or not agent.active:
                raise BadInput(_("unknown agent {name}").format(name=name))
            self.core.store.set_password(agent.login or agent.name, password)
            self._agent_event("agent_password", agent, self.core.at(None))
            return agent

        return self.core.write(work)

    def set_login(self, name: str, login: str) -> Agent:
        """Admins bind an agent to another host login (one login per agent)."""
        check_agent_name(login)
        self.core.require_role("admin")

        def work() -> Agent:
            agent = self.core.store.get_agent(name)
            if agent is None:
                raise BadInput(_("unknown agent {name}").format(name=name))
            holder = self.core.store.agent_by_login(login)
            if holder is not None and holder.name != name:
                raise Refused(_("login {login} already belongs to {name}").format(login=login, name=holder.name))
            self.core.store.update_agent(name, {"login": login})
            updated = self.core.store.get_agent(name)
            assert updated is not None
            self._agent_event("agent_login", updated, self.core.at(None), previous=agent.login)
            return updated

        return self.core.write(work)

    def _agent_event(self, kind: str, agent: Agent, now: datetime, **extra: object) -> None:
        detail = {"name": agent.name, "role": agent.role, "tier": agent.tier, "login": agent.login, **extra}
        if agent.board_only:
            detail["board_only"] = True
        self.core.record(None, now, kind, None, agent.name, detail)

    def agents(self) -> list[Agent]:
        return self.core.store.list_agents()

    def agent(self, name: str) -> Agent | None:
        return self.core.store.get_agent(name)

    def ensure_agent(self, name: str, role: str, tier: str, *, login: str | None = None) -> Agent:
        """Register ``name`` if missing (demo set-up only, on a database it is building; not reachable from the
        CLI's agent commands)."""
        existing = self.core.store.get_agent(name)
        if existing is not None:
            return existing

        def work() -> Agent:
            now = self.core.at(None)
            agent = self.core.store.insert_agent(name, role, tier, name, now, login=login)
            self._agent_event("agent_added", agent, now)
            return agent

        return self.core.write(work)

    # -- tickets: reading ---------------------------------------------------------------------------------

    def clocks(
        self, ticket: Ticket, events: Sequence[Event] | None = None, now: datetime | None = None
    ) -> dict[str, ClockView]:
        from console.rules import sla

        cal, targets = self.sla_book.policy_for(ticket)
        facts = facts_from_events(events if events is not None else self.core.store.events(ticket.id))
        statuses = sla.compute_clocks(facts, targets, cal, self.core.at(now))
        return {name: clock_view(status) for name, status in statuses.items()}

    def detail(self, ticket_id: int, now: datetime | None = None) -> TicketDetail:
        ticket = self.ticket(ticket_id)
        events = self.core.store.events(ticket_id)
        customer = self.core.store.get_customer(ticket.customer_id) if ticket.customer_id is not None else None
        others: list[QueueItem] = []
        if customer is not None:
            others = self.core.store.queue(
                TicketFilter(statuses=STATUSES, customer_id=customer.id, exclude_ids=(ticket_id,)),
                0,
                50,
            )
        instant = self.core.at(now)
        viewers = self.viewers(ticket_id, instant)
        return TicketDetail(
            ticket=ticket,
            customer=customer,
            messages=self.core.store.messages(ticket_id),
            events=events,
            clocks=self.clocks(ticket, events, instant),
            calendar_name=self.sla_book.policy_for(ticket)[0].name,
            other_tickets=others,
            articles=self.core.store.linked_articles(ticket_id),
            viewers=viewers,
            zone=self.zone(),
            customer_zone=self.customer_zone(customer),
            mail=self.mail.detail(ticket_id),
        )

    def zone(self) -> tzinfo:
        """The zone this agent reads times in: their own, else the policy's business zone."""
        agent = self.core.store.get_agent(self.actor_name)
        return zone_named(agent.zone if agent else None, self.policy().business_zone())

    def customer_zone(self, customer: Customer | None) -> tzinfo:
        """The zone a customer is told times in: theirs, else the policy's business zone."""
        return zone_named(customer.zone if customer else None, self.policy().business_zone())

    def set_zone(self, name: str, zone: str) -> Agent:
        """An agent sets their own zone; admins set anyone's."""
        if not is_zone(zone):
            raise BadInput(_("unknown time zone: {name}").format(name=zone))
        me = self.me()
        if name != me.name and me.role != "admin":
            raise PermissionDenied(
                _("{name} is {role}; this needs {roles}").format(name=me.name, role=_(me.role), roles=_("admin"))
            )

        def work() -> Agent:
            agent = self.core.store.get_agent(name)
            if agent is None:
                raise BadInput(_("unknown agent {name}").format(name=name))
            self.core.store.update_agent(name, {"zone": zone})
            updated = self.core.store.get_agent(name)
            assert updated is not None
            self._agent_event("agent_zone", updated, self.core.at(None), zone=zone)
            return updated

        return self.core.write(work)

    def viewers(self, ticket_id: int, now: datetime | None = None) -> list[str]:
        """The other agents with the ticket open (their console's beat is fresh)."""
        instant = self.core.at(now)
        return [
            p.agent
            for p in self.core.store.viewers(ticket_id, instant.timestamp() - PRESENCE_TTL_S)
            if p.agent != self.actor_name
        ]

    def list_tickets(self, flt: TicketFilter, offset: int = 0, limit: int = 1000) -> list[QueueItem]:
        return self.core.store.queue(flt, offset, limit)

    def count(self, flt: TicketFilter) -> int:
        return self.core.store.queue_count(flt)

    # -- tickets: acting ----------------------------------------------------------------------------------

    def _act(
        self,
        ticket_id: int,
        action: str,
        *,
        at: datetime | None,
        expected_version: int | None,
        kind: str,
        fields: Mapping[str, Any] | Callable[[Ticket, datetime], Mapping[str, Any]] | None = None,
        detail: Mapping[str, Any] | Callable[[Ticket], Mapping[str, Any]] | None = None,
        message: tuple[str, str] | None = None,
        check: Callable[[Ticket, Agent], None] | None = None,
        after: Callable[[Ticket, datetime], None] | None = None,
        open_to_all: bool = False,
    ) -> Ticket:
        """One action as one transaction. Unless ``open_to_all`` (recording what the customer said, internal notes),
        a plain agent may act only on their own tickets and the unassigned ones of their tier (see `_work_check`)."""
        me = self.me()

        def work() -> Ticket:
            ticket = self.core.store.get_ticket(ticket_id)
            if expected_version is not None and ticket.version != expected_version:
                raise Conflict(ticket_id, expected_version, ticket.version)
            when = self.core.check_order(ticket_id, self.core.when(at))
            new_status = workflow.transition(ticket_id, ticket.status, action)
            if not open_to_all:
                self._work_check(ticket, me)
            if check is not None:
                check(ticket, me)
            # Fields computed from the ticket or the time are computed here, under the write lock: values read
            # before it (a counter, the instant) could be overtaken by another agent's commit.
            extra = fields(ticket, when) if callable(fields) else (fields or {})
            update: dict[str, Any] = {"status": new_status, "updated_at": when, **extra}
            changes = {
                key: [getattr(ticket, key), update[key]]
                for key in TRACKED
                if key in update and update[key] != getattr(ticket, key)
            }
            recorded = detail(ticket) if callable(detail) else (detail or {})
            updated = self.core.store.update_ticket(ticket_id, update, ticket.version)
            if message is not None:
                self.core.store.add_message(ticket_id, message[0], self._author(ticket, message[0]), message[1], when)
            headline = next(iter(changes), None)
            from_value = _text(changes[headline][0]) if headline else None
            to_value = _text(changes[headline][1]) if headline else None
            self.core.record(
                ticket_id,
                when,
                kind,
                from_value,
                to_value,
                {"changes": changes, **recorded},
            )
            if after is not None:
                after(updated, when)
            self.sla_book.refresh(updated, when)
            return self.core.store.get_ticket(ticket_id)

        try:
            return self.core.write(work)
        except workflow.TransitionRefused as exc:
            raise Refused(str(exc)) from exc

    def _author(self, ticket: Ticket, kind: str) -> str:
        """Customer messages are the customer's words, whoever recorded them (the recorder is the event's actor)."""
        if kind == "customer" and ticket.customer_id is not None:
            return self.core.store.get_customer(ticket.customer_id).name
        return self.actor_name if kind != "customer" else _("customer")

    def _work_check(self, ticket: Ticket, me: Agent) -> None:
        """Plain agents work their own tickets and the unassigned tickets of their tier (or a lower one): taking an
        unassigned ticket is the way in. Supervisors and admins may act on any ticket. Judged under the write lock,
        on the ticket as it is now."""
        if me.role != "agent" or ticket.assignee == me.name:
            return
        if ticket.assignee is not None:
            raise PermissionDenied(
                _("ticket {id} is assigned to {owner}; only {owner} or a supervisor may act on it").format(
                    id=ticket.id, owner=ticket.assignee
                )
            )
        if workflow.tier_rank(ticket.tier) > workflow.tier_rank(me.tier):
            raise PermissionDenied(
                _(
                    "ticket {id} is at {tier} ({name} works {own}); an {tier} agent or a supervisor may act on it"
                ).format(id=ticket.id, tier=ticket.tier, name=me.name, own=me.tier)
            )

    def _owner_check(self, ticket: Ticket, me: Agent) -> None:
        """Plain agents may not take a ticket from, or change the ownership of, another agent's ticket."""
        if me.role == "agent" and ticket.assignee not in (None, me.name):
            raise PermissionDenied(
                _("ticket {id} is assigned to {owner}; only a supervisor can reassign it").format(
                    id=ticket.id, owner=ticket.assignee
                )
            )

    def reply(
        self,
        ticket_id: int,
        body: str,
        *,
        at: datetime | None = None,
        expected_version: int | None = None,
        guard_override: str | None = None,
        macro: str | None = None,
    ) -> Ticket:
        text = require_text(body, _("reply"))
        detail: dict[str, Any] = {"chars": len(text)}
        if guard_override:
            detail["guard_override"] = guard_override
        if macro:
            detail["macro"] = macro

        return self._act(
            ticket_id,
            "reply",
            at=at,
            expected_version=expected_version,
            kind="reply",
            fields=lambda current, _when: {"public_replies": current.public_replies + 1},
            message=("reply", text),
            detail=detail,
            after=lambda updated, when: self._mail(updated, text, when),
        )

    def _mail(self, ticket: Ticket, text: str, when: datetime) -> None:
        """A public reply to a customer who wrote in by e-mail enters the outbox in the reply's transaction."""
        from console.service.mail_outbox import queue_mail

        queue_mail(self.core, ticket, text, when)

    def note(
        self, ticket_id: int, body: str, *, at: datetime | None = None, expected_version: int | None = None
    ) -> Ticket:
        text = require_text(body, _("note"))
        return self._act(
            ticket_id,
            "note",
            at=at,
            expected_version=expected_version,
            kind="note",
            open_to_all=True,
            message=("note", text),
            detail={"chars": len(text)},
        )

    def customer_reply(self, ticket_id: int, body: str, *, at: datetime | None = None) -> Ticket:
        """A message from the customer: reopens a resolved ticket, reopens a recently closed one, and on a ticket
        closed longer than the reopen window opens a new follow-up ticket linked to it (returned)."""
        text = require_text(body, _("message"))
        ticket = self.ticket(ticket_id)
        when = self.core.at(at)
        if ticket.status == "closed":
            window = timedelta(days=self.policy().settings.reopen_window_days)
            if ticket.closed_at is not None and when - ticket.closed_at > window:
                return self._followup_ticket(ticket, text, at)
        if ticket.status in ("resolved", "closed"):
            return self._act(
                ticket_id,
                "reopen",
                at=at,
                expected_version=None,
                kind="customer_message",
                open_to_all=True,
                message=("customer", text),
                detail={"reopened": True, "chars": len(text)},
                fields=lambda current, _when: {"reopens": current.reopens + 1, "confirmed": None},
            )
        return self._act(
            ticket_id,
            "customer_reply",
            at=at,
            expected_version=None,
            kind="customer_message",
            open_to_all=True,
            message=("customer", text),
            detail={"chars": len(text)},
        )

    def _followup_ticket(self, old: Ticket, text: str, at: datetime | None) -> Ticket:
        self.me()
        customer = self.core.store.get_customer(old.customer_id) if old.customer_id is not None else None

        def work() -> Ticket:
            when = self.core.check_order(old.id, self.core.when(at))
            fields = validate_new_ticket(
                _("Follow-up to #{id}: {subject}").format(id=old.id, subject=old.subject)[:200],
                text,
                old.priority,
                old.channel,
                "L1",
            )
            new = self.intake.insert_ticket(
                fields,
                when,
                customer=customer.name if customer else None,
                email=customer.email if customer else None,
                parent_id=old.id,
            )
            self.core.store.add_message(new.id, "customer", self._author(new, "customer"), text, when)
            self.core.record(new.id, when, "customer_message", None, None, {"chars": len(text)})
            self.sla_book.refresh(self.core.store.get_ticket(new.id), when)
            return self.core.store.get_ticket(new.id)

        return self.core.write(work)

    def assign(
        self,
        ticket_id: int,
        to: str | None = None,
        *,
        at: datetime | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        target = to or self.actor_name
        agent = self.core.store.get_agent(target)
        if agent is None or not agent.active:
            raise BadInput(_("unknown agent {name}").format(name=target))

        def check(ticket: Ticket, me: Agent) -> None:
            if me.role == "agent" and (target != me.name or ticket.assignee not in (None, me.name)):
                if ticket.assignee not in (None, me.name):
                    self._owner_check(ticket, me)
                raise PermissionDenied(_("only a supervisor can assign tickets to others"))
            if me.role == "agent" and workflow.tier_rank(ticket.tier) > workflow.tier_rank(me.tier):
                raise PermissionDenied(
                    _("ticket {id} is at {tier}; {name} works {own}").format(
                        id=ticket.id, tier=ticket.tier, name=me.name, own=me.tier
                    )
                )
            if ticket.assignee == target:
                raise Refused(_("ticket {id} is already assigned to {name}").format(id=ticket.id, name=target))

        return self._act(
            ticket_id,
            "assign",
            at=at,
            expected_version=expected_version,
            kind="assigned",
            open_to_all=True,
            fields={"assignee": target},
            check=check,
        )

    def pending(self, ticket_id: int, *, at: datetime | None = None, expected_version: int | None = None) -> Ticket:
        return self._act(ticket_id, "pending", at=at, expected_version=expected_version, kind="pending")

    def resume(self, ticket_id: int, *, at: datetime | None = None, expected_version: int | None = None) -> Ticket:
        return self._act(ticket_id, "resume", at=at, expected_version=expected_version, kind="resumed")

    def escalate(
        self,
        ticket_id: int,
        to: str,
        reason: str,
        notes: str = "",
        *,
        tried: str | None = None,
        impact: str | None = None,
        told: str | None = None,
        notice: str | None = None,
        at: datetime | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        """Hand the ticket over with complete information (规范移交). The notes' required parts (what was tried, the
        business impact, what the customer was told) come as ``tried``/``impact``/``told`` or under the template's
        headings in ``notes`` (console.rules.handover). The customer must have been told who takes over: a public
        reply or an outbound call logged since the ticket's last escalation or assignment, or ``notice``, the
        handover notice, sent here as a public reply in the same change (it is then also what the customer was
        told, unless ``told`` says more)."""
        from console.rules import handover

        why = require_text(reason, _("reason"))
        free = clean_text(notes or "", field=_("handoff notes"), limit=MAX_BODY).strip()
        notice_text = require_text(notice, _("handover notice")) if notice is not None else None
        try:
            handoff = handover.assemble(free, tried=tried, impact=impact, told=told or notice_text)
        except handover.HandoffIncomplete as exc:
            raise BadInput(str(exc)) from exc
        self.ticket(ticket_id)
        agent = None
        if to not in TIERS:
            agent = self.core.store.get_agent(to)
            if agent is None or not agent.active:
                raise BadInput(_("--to must be L2, L3 or an agent's name; unknown agent {name}").format(name=to))

        def fields(current: Ticket, _when: datetime) -> dict[str, Any]:
            # Judged on the ticket as it is under the write lock: an escalation committed meanwhile by another
            # agent must not be undone (an L3 ticket sent "up" to L2).
            sent = {"public_replies": current.public_replies + 1} if notice_text else {}
            if agent is None:
                if workflow.tier_rank(to) <= workflow.tier_rank(current.tier):
                    raise Refused(
                        _("ticket {id} is already at {tier}; escalate to a higher tier or a named agent").format(
                            id=ticket_id, tier=current.tier
                        )
                    )
                return {"tier": to, "assignee": None, "escalations": current.escalations + 1, **sent}
            if agent.name == current.assignee:
                raise Refused(_("ticket {id} is already with {name}").format(id=ticket_id, name=agent.name))
            return {
                "tier": max(current.tier, agent.tier, key=workflow.tier_rank),
                "assignee": agent.name,
                "escalations": current.escalations + 1,
                **sent,
            }

        def customer_told(current: Ticket, _me: Agent) -> None:
            if notice_text is None and not self._told_since_handover(current.id):
                raise Refused(
                    _(
                        "ticket {id}: tell the customer who takes over first (reply or log a call), or send the "
                        "handover notice with the escalation (--notice)"
                    ).format(id=current.id)
                )

        def handoff_note(updated: Ticket, when: datetime) -> None:
            if notice_text is not None:
                self.core.store.add_message(updated.id, "reply", self.actor_name, notice_text, when)
                self._mail(updated, notice_text, when)
            self.core.store.add_message(
                updated.id,
                "note",
                self.actor_name,
                _("Escalated to {to}. Reason: {reason}\n\n{notes}").format(to=to, reason=why, notes=handoff.text),
                when,
            )

        detail: dict[str, Any] = {
            "to": to,
            "reason": why,
            "notes": handoff.text,
            **handoff.parts,
            "customer_told": True,
        }
        if notice_text is not None:
            detail.update(notice=True, notice_chars=len(notice_text))
        return self._act(
            ticket_id,
            "escalate",
            at=at,
            expected_version=expected_version,
            kind="escalated",
            fields=fields,
            detail=detail,
            check=customer_told,
            after=handoff_note,
        )

    def _told_since_handover(self, ticket_id: int) -> bool:
        """Whether the customer heard from us (a public reply, an outbound call, a handover notice) since the
        ticket last changed hands (its last escalation or assignment; its creation if it never did)."""
        told = False
        for event in self.core.store.events(ticket_id):
            if event.kind in ("escalated", "assigned"):
                told = False  # a notice sent with an earlier escalation told of that handover, not the next
            elif event.kind == "reply" or (event.kind == "call" and event.detail.get("direction") == "out"):
                told = True
        return told

    def restore(
        self, ticket_id: int, summary: str, *, at: datetime | None = None, expected_version: int | None = None
    ) -> Ticket:
        text = require_text(summary, _("summary"))
        return self._act(
            ticket_id,
            "restore",
            at=at,
            expected_version=expected_version,
            kind="restored",
            fields={"restore_summary": text},
            detail={"summary": text},
        )

    def resolve(
        self,
        ticket_id: int,
        summary: str,
        code: str | None = None,
        *,
        at: datetime | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        text = require_text(summary, _("summary"))
        return self._act(
            ticket_id,
            "resolve",
            at=at,
            expected_version=expected_version,
            kind="resolved",
            fields=lambda _current, when: {
                "resolution_summary": text,
                "resolution_code": code,
                "resolved_at": when,
                "confirmed": None,
            },
            detail={"summary": text, "code": code},
        )

    def close(
        self,
        ticket_id: int,
        *,
        summary: str,
        code: str | None = None,
        confirmed: bool = False,
        confirmed_by: str | None = None,
        unconfirmed_reason: str | None = None,
        asked_anything_else: bool = False,
        kb_id: int | None = None,
        kb_needed: bool = False,
        followup: date | None = None,
        at: datetime | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        """The closed loop of the standards: a restored or resolved ticket whose customer was actually reached (a
        public reply or a logged call), a summary, the customer's confirmation and how it was given (or why not),
        anything else needed, knowledge captured, and a follow-up call date for urgent and high-priority tickets,
        after the closing day and within the policy's days."""
        text = require_text(summary, _("summary"))
        reason = (unconfirmed_reason or "").strip()
        if confirmed and reason:
            raise BadInput(_("give either --confirmed or --unconfirmed-reason, not both"))
        if not confirmed and not reason:
            raise BadInput(
                _("closing needs the customer's confirmation (--confirmed) or why not (--unconfirmed-reason)")
            )
        if confirmed_by is not None and confirmed_by not in CONFIRMATION_CHANNELS:
            raise BadInput(_("--confirmed-by must be one of: {values}").format(values=", ".join(CONFIRMATION_CHANNELS)))
        if confirmed and confirmed_by is None:
            raise BadInput(
                _("say how the customer confirmed: --confirmed-by {values}").format(
                    values="|".join(CONFIRMATION_CHANNELS)
                )
            )
        if not confirmed and confirmed_by is not None:
            raise BadInput(_("--confirmed-by goes with --confirmed: the customer did not confirm"))
        if confirmed and not asked_anything_else:
            raise BadInput(_("ask the customer whether anything else is needed before closing (--asked-anything-else)"))
        if kb_id is not None and kb_needed:
            raise BadInput(_("give either --kb ID or --kb-needed, not both"))
        ticket = self.ticket(ticket_id)
        if needs_followup(ticket.priority) and followup is None:
            raise BadInput(
                _("{priority} tickets need a follow-up call date (--followup DATE)").format(priority=ticket.priority)
            )
        if ticket.status not in ("restored", "resolved"):
            # Said before the lock with what is missing; the state machine refuses it again under the lock.
            raise Refused(
                _("ticket {id} is {status}: resolve it (or restore the service) before closing").format(
                    id=ticket_id, status=_(workflow.STATUS_LABELS[ticket.status])
                )
            )
        if kb_id is not None:
            self.article(kb_id)
        max_days = self.policy().settings.followup_max_days

        def reached(current: Ticket, _me: Agent) -> None:
            if current.public_replies == 0 and not any(e.kind == "call" for e in self.core.store.events(current.id)):
                raise Refused(
                    _("ticket {id} never reached the customer: reply or log a call before closing").format(
                        id=current.id
                    )
                )

        def fields(current: Ticket, when: datetime) -> dict[str, Any]:
            if followup is not None:
                self._check_followup(followup, when, max_days)
            values: dict[str, Any] = {
                "resolution_summary": text,
                "resolution_code": code or current.resolution_code,
                "closed_at": when,
                "confirmed": confirmed,
                "confirmed_by": confirmed_by if confirmed else None,
                "unconfirmed_reason": reason or None,
                "asked_anything_else": asked_anything_else,
                "kb_needed": kb_needed,
                "followup_due": followup.isoformat() if followup else None,
                "followup_done_at": None,
            }
            if current.resolved_at is None or current.status != "resolved":
                values["resolved_at"] = when
            return values

        def capture(updated: Ticket, when_: datetime) -> None:
            if kb_id is not None:
                self.core.store.link_article(updated.id, kb_id, self.actor_name, when_)
            if kb_needed:
                self.knowledge.draft_article(updated, text, when_)

        return self._act(
            ticket_id,
            "close",
            at=at,
            expected_version=expected_version,
            kind="closed",
            fields=fields,
            detail={
                "summary": text,
                "code": code,
                "confirmed": confirmed,
                "confirmed_by": confirmed_by if confirmed else None,
                "unconfirmed_reason": reason or None,
                "asked_anything_else": asked_anything_else,
                "kb": kb_id,
                "kb_needed": kb_needed,
                "followup": followup.isoformat() if followup else None,
            },
            check=reached,
            after=capture,
        )

    def _check_followup(self, day: date, when: datetime, max_days: int) -> None:
        """A follow-up call is booked after the closing day (the team's day, as `followups --due` counts it) and
        at most the policy's ``followup_max_days`` after it."""
        closing_day = when.astimezone(self.policy().business_zone()).date()
        if day <= closing_day:
            raise BadInput(
                _("the follow-up call date {date} must be after the closing day ({day})").format(
                    date=day.isoformat(), day=closing_day.isoformat()
                )
            )
        if day > closing_day + timedelta(days=max_days):
            raise BadInput(
                _("the follow-up call date {date} is more than {n} days after the closing day ({day})").format(
                    date=day.isoformat(), n=max_days, day=closing_day.isoformat()
                )
            )

    def reopen(
        self, ticket_id: int, reason: str, *, at: datetime | None = None, expected_version: int | None = None
    ) -> Ticket:
        why = require_text(reason, _("reason"))
        self.ticket(ticket_id)
        return self._act(
            ticket_id,
            "reopen",
            at=at,
            expected_version=expected_version,
            kind="reopened",
            fields=lambda current, _when: {"reopens": current.reopens + 1, "confirmed": None},
            detail={"reason": why},
        )

    # -- calls, on-site visits, priority --------------------------------------------------------------------

    def log_call(
        self,
        ticket_id: int,
        direction: str,
        notes: str,
        *,
        at: datetime | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        """A phone call with the customer: event ``call`` {direction, notes}, and an internal note in the
        conversation (so the call reads in its place among the messages; it is never sent to anyone).

        ``out`` (we called): the agent's touch, like a public reply: it stops the first-response clock and starts
        a new next-update cycle (the standards' 30-minute callback), opens a new ticket, and counts as reaching the
        customer for the closure and the handover. ``in`` (the customer called): their contact, like a message:
        a new next-update cycle starts, a pending ticket opens again; a resolved one stays resolved (the customer
        may be calling to confirm the fix). Any agent may log an inbound call, as anyone may record what the
        customer wrote; an outbound one is the ticket's worker's (own or unassigned tickets of their tier)."""
        if direction not in CALL_DIRECTIONS:
            raise BadInput(_("the direction of a call is in or out, not {value}").format(value=direction))
        text = require_text(notes, _("call notes"))
        outbound = direction == "out"
        heading = _("Call to the customer") if outbound else _("Call from the customer")
        return self._act(
            ticket_id,
            "call" if outbound else "customer_call",
            at=at,
            expected_version=expected_version,
            kind="call",
            open_to_all=not outbound,
            message=("note", f"{heading}\n{text}"),
            detail={"direction": direction, "notes": text},
        )

    def visit_stage(self, ticket_id: int) -> str | None:
        """The stage the ticket's latest on-site visit reached (dispatched, arrived, left), or None: the next stage
        allowed follows from it (none or left: dispatched; dispatched: arrived; arrived: left)."""
        self.ticket(ticket_id)
        return self._visit_stage(ticket_id)

    def _visit_stage(self, ticket_id: int) -> str | None:
        stage = None
        for event in self.core.store.events(ticket_id):
            if event.kind == "visit":
                stage = event.detail.get("stage")
        return stage if isinstance(stage, str) else None

    def visit(
        self,
        ticket_id: int,
        stage: str,
        notes: str = "",
        *,
        at: datetime | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        """One stage of an on-site visit, in order: ``dispatched`` (an engineer is sent: the ``onsite`` clock
        starts, target from the policy, 24x7), ``arrived`` (the clock stops, met or breached), ``left`` (the visit
        ends). Event ``visit`` {stage, notes}; notes, when given, also go in the conversation as an internal note."""
        if stage not in VISIT_STAGES:
            raise BadInput(
                _("a visit stage is one of: {values}; not {value}").format(values=", ".join(VISIT_STAGES), value=stage)
            )
        text = clean_text(notes or "", field=_("notes"), limit=MAX_BODY).strip()

        def in_order(current: Ticket, _me: Agent) -> None:
            last = self._visit_stage(current.id)
            if stage == "dispatched":
                if last == "dispatched":
                    raise Refused(
                        _("ticket {id}: an engineer is already on the way; record 'arrived' first").format(
                            id=current.id
                        )
                    )
                if last == "arrived":
                    raise Refused(
                        _("ticket {id}: an engineer is on site now; record 'left' first").format(id=current.id)
                    )
                if current.status == "resolved":
                    raise Refused(
                        _("ticket {id} is resolved; reopen it before dispatching an engineer").format(id=current.id)
                    )
            elif stage == "arrived" and last != "dispatched":
                raise Refused(
                    _("ticket {id}: no engineer is on the way; record 'dispatched' first").format(id=current.id)
                )
            elif stage == "left" and last != "arrived":
                raise Refused(_("ticket {id}: no engineer is on site; record 'arrived' first").format(id=current.id))

        headings = {
            "dispatched": _("Engineer dispatched on site"),
            "arrived": _("Engineer arrived on site"),
            "left": _("Engineer left the site"),
        }
        return self._act(
            ticket_id,
            "visit",
            at=at,
            expected_version=expected_version,
            kind="visit",
            message=("note", f"{headings[stage]}\n{text}") if text else None,
            detail={"stage": stage, "notes": text},
            check=in_order,
        )

    def change_priority(
        self,
        ticket_id: int,
        priority: str,
        reason: str,
        *,
        at: datetime | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        """A P3 that turns into a site outage becomes a P1: supervisors and admins, or the ticket's owner. Event
        ``priority_changed`` {from, to, reason} (``priority`` is a tracked change, so `check` replays it). The
        clocks are measured again against the new priority's targets and calendar from their start (a ticket
        raised to P1 may be overdue at once: it is late by the standard of its real urgency), and the stored SLA
        columns are refreshed in the same transaction."""
        if priority not in PRIORITIES:
            raise BadInput(_("priority must be one of: {values}").format(values=", ".join(PRIORITIES)))
        why = require_text(reason, _("reason"))

        def allowed(current: Ticket, me: Agent) -> None:
            if me.role == "agent" and current.assignee != me.name:
                raise PermissionDenied(
                    _("only the ticket's owner or a supervisor may change the priority of ticket {id}").format(
                        id=current.id
                    )
                )
            if current.priority == priority:
                raise Refused(_("ticket {id} is already {priority}").format(id=current.id, priority=priority))

        return self._act(
            ticket_id,
            "priority",
            at=at,
            expected_version=expected_version,
            kind="priority_changed",
            open_to_all=True,  # the owner rule above replaces the plain agents' work rule
            fields={"priority": priority},
            detail=lambda current: {"from": current.priority, "to": priority, "reason": why},
            check=allowed,
        )

    # -- follow-up calls --------------------------------------------------------------------------------------

    def followups_due(self, today: date | None = None) -> list[PendingFollowup]:
        """Closed P1/P2 tickets whose follow-up call is due ``today`` (default: the team's today, as `followups --due`
        counts it) or earlier, earliest first."""
        from db.reports import pending_followups

        self.me()
        day = today or self.core.at(None).astimezone(self.policy().business_zone()).date()
        return pending_followups(self.core.store, day.isoformat())


def _text(value: object) -> str | None:
    return None if value is None else str(value)
