"""The service layer: the only place that combines the store, the rules and the audit trail.

Every state change, assignment, reply, escalation and closure is one write transaction that changes the
ticket, writes exactly one event, and refreshes the ticket's derived SLA columns. The CLI and the console call
this; neither touches SQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from console import workflow
from console.clock import Clock, utcnow
from console.errors import BadInput, PermissionDenied, Refused, Stale, Unavailable
from console.i18n import _
from console.whoami import default_agent_name
from db.errors import Conflict, DatabaseUnavailable, Duplicate, NotFound, ReadOnly, StoreError
from db.models import Agent, Customer, Event, KbArticle, Message, QueueItem, Ticket
from db.queue_filter import OPEN_STATUSES, TicketFilter
from db.store import Store

if TYPE_CHECKING:
    from console import sla
    from console.policy import Policy

T = TypeVar("T")

SYSTEM = "system"
PRESENCE_TTL_S = 30.0
POLICY_KEY = "policy"

# Which fields an event records as changes; replaying them rebuilds the ticket (helpdesk check).
TRACKED = ("status", "assignee", "tier", "priority")


@dataclass(frozen=True)
class ClockView:
    clock: str
    state: str
    due_at: datetime | None
    remaining_s: int | None
    target_min: int | None
    warn_at: datetime | None = None
    started_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "remaining_s": self.remaining_s,
            "target_min": self.target_min,
        }


@dataclass
class TicketDetail:
    ticket: Ticket
    customer: Customer | None
    messages: list[Message]
    events: list[Event]
    clocks: dict[str, ClockView]
    calendar_name: str
    other_tickets: list[QueueItem] = field(default_factory=list)
    articles: list[KbArticle] = field(default_factory=list)
    viewers: list[str] = field(default_factory=list)


def facts_from_events(events: Sequence[Event]) -> list[sla.Fact]:
    """The SLA clocks' view of a ticket's history."""
    from console import sla  # the rules load only when a clock is computed: listing stays fast

    facts: list[sla.Fact] = []
    for event in events:
        if event.kind == "created":
            facts.append(sla.Fact(at=event.at, kind="created"))
            initial = event.detail.get("initial", {})
            if initial.get("status") and initial["status"] != "new":
                facts.append(sla.Fact(at=event.at, kind="status", status=initial["status"]))
            continue
        changes = event.detail.get("changes", {})
        if "status" in changes:
            facts.append(sla.Fact(at=event.at, kind="status", status=changes["status"][1]))
        if event.kind == "reply":
            facts.append(sla.Fact(at=event.at, kind="reply"))
        elif event.kind == "customer_message":
            facts.append(sla.Fact(at=event.at, kind="customer"))
    return facts


class HelpdeskService:
    """One agent's (or script's) access to one database."""

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
        self._policy_cache: tuple[str | None, Policy] | None = None

    # -- opening ------------------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | Path,
        actor: str | None = None,
        *,
        clock: Clock = utcnow,
        create: bool = False,
        wallboard: bool = False,
    ) -> HelpdeskService:
        try:
            store = Store(path, readonly=False, create=create)
        except DatabaseUnavailable as exc:
            raise Unavailable(str(exc)) from exc
        return cls(store, actor, clock=clock, wallboard=wallboard)

    def shutdown(self) -> None:
        self.store.close()

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
        return self._require_role(*roles)

    def _require_role(self, *roles: str) -> Agent:
        agent = self.me()
        if agent.role not in roles:
            raise PermissionDenied(
                _("{name} is {role}; this needs {roles}").format(
                    name=agent.name, role=_(agent.role), roles=" / ".join(_(r) for r in roles)
                )
            )
        return agent

    def _writable(self) -> None:
        if self.wallboard:
            raise Refused(_("the wallboard is read-only"))

    def _write(self, work: Callable[[], T]) -> T:
        self._writable()
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

    def _at(self, at: datetime | None) -> datetime:
        value = at or self.clock()
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(microsecond=0)

    def _check_order(self, ticket_id: int, at: datetime) -> None:
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

    # -- agents -------------------------------------------------------------------------------------------

    def init(self, admin: str) -> Agent:
        """Create the first admin of an empty database."""

        def work() -> Agent:
            if self.store.count_agents() > 0:
                raise Refused(_("this database already has agents; use 'helpdesk agent add'"))
            agent = self.store.insert_agent(admin, "admin", "L3", admin, self._at(None))
            self._save_policy_if_missing(admin)
            return agent

        _check_name(admin)
        return self._write(work)

    def add_agent(self, name: str, role: str = "agent", tier: str = "L1", display_name: str = "") -> Agent:
        _check_name(name)
        if role not in workflow.ROLES:
            raise BadInput(_("role must be one of: {values}").format(values=", ".join(workflow.ROLES)))
        if tier not in workflow.TIERS:
            raise BadInput(_("tier must be one of: {values}").format(values=", ".join(workflow.TIERS)))
        self._require_role("admin")
        return self._write(lambda: self.store.insert_agent(name, role, tier, display_name or name, self._at(None)))

    def agents(self) -> list[Agent]:
        return self.store.list_agents()

    def ensure_agent(self, name: str, role: str, tier: str) -> Agent:
        """Register ``name`` if missing (demo set-up only; not reachable from the CLI's agent commands)."""
        existing = self.store.get_agent(name)
        if existing is not None:
            return existing
        return self._write(lambda: self.store.insert_agent(name, role, tier, name, self._at(None)))

    # -- policy ---------------------------------------------------------------------------------------------

    def policy(self) -> Policy:
        from console.policy import Policy, default_policy

        raw = self.store.get_setting(POLICY_KEY)
        if self._policy_cache is None or self._policy_cache[0] != raw:
            policy = default_policy() if raw is None else Policy.from_json(raw)
            self._policy_cache = (raw, policy)
        return self._policy_cache[1]

    def _save_policy_if_missing(self, by: str) -> None:
        from console.policy import default_policy

        if self.store.get_setting(POLICY_KEY) is None:
            self.store.set_setting(POLICY_KEY, default_policy().to_json(), by, self._at(None))

    def load_policy(self, text: str) -> Policy:
        from console.policy import PolicyError, load_policy_toml

        self._require_role("admin")
        try:
            policy = load_policy_toml(text)
        except PolicyError as exc:
            raise BadInput(str(exc)) from exc

        def work() -> Policy:
            now = self._at(None)
            self.store.set_setting(POLICY_KEY, policy.to_json(), self.actor_name, now)
            self.store.add_event(
                None, self.actor_name, now, "policy_loaded", detail={"policy": json.loads(policy.to_json())}
            )
            self._policy_cache = None
            for ticket_id in self.store.ticket_ids((*OPEN_STATUSES, "resolved")):
                self._refresh_sla(self.store.get_ticket(ticket_id), now)
            return policy

        return self._write(work)

    # -- tickets: reading ---------------------------------------------------------------------------------

    def ticket(self, ticket_id: int) -> Ticket:
        try:
            return self.store.get_ticket(ticket_id)
        except NotFound as exc:
            raise BadInput(_("ticket {id} not found").format(id=ticket_id)) from exc

    def clocks(
        self, ticket: Ticket, events: Sequence[Event] | None = None, now: datetime | None = None
    ) -> dict[str, ClockView]:
        from console import sla

        cal, targets = self._policy_for(ticket)
        facts = facts_from_events(events if events is not None else self.store.events(ticket.id))
        statuses = sla.compute_clocks(facts, targets, cal, self._at(now))
        return {name: _clock_view(status) for name, status in statuses.items()}

    def calendar_for(self, ticket: Ticket) -> Any:
        return self._policy_for(ticket)[0]

    def _policy_for(self, ticket: Ticket) -> tuple[Any, sla.Targets]:
        customer_tier = None
        if ticket.customer_id is not None:
            customer_tier = self.store.get_customer(ticket.customer_id).tier
        return self.policy().resolve(ticket.priority, ticket.channel, customer_tier)

    def detail(self, ticket_id: int, now: datetime | None = None) -> TicketDetail:
        ticket = self.ticket(ticket_id)
        events = self.store.events(ticket_id)
        customer = self.store.get_customer(ticket.customer_id) if ticket.customer_id is not None else None
        others: list[QueueItem] = []
        if customer is not None:
            others = self.store.queue(
                TicketFilter(statuses=workflow.STATUSES, customer_id=customer.id, exclude_ids=(ticket_id,)),
                0,
                50,
            )
        instant = self._at(now)
        viewers = [
            p.agent
            for p in self.store.viewers(ticket_id, instant.timestamp() - PRESENCE_TTL_S)
            if p.agent != self.actor_name
        ]
        return TicketDetail(
            ticket=ticket,
            customer=customer,
            messages=self.store.messages(ticket_id),
            events=events,
            clocks=self.clocks(ticket, events, instant),
            calendar_name=self._policy_for(ticket)[0].name,
            other_tickets=others,
            articles=self.store.linked_articles(ticket_id),
            viewers=viewers,
        )

    def list_tickets(self, flt: TicketFilter, offset: int = 0, limit: int = 1000) -> list[QueueItem]:
        return self.store.queue(flt, offset, limit)

    def count(self, flt: TicketFilter) -> int:
        return self.store.queue_count(flt)

    # -- tickets: creating ----------------------------------------------------------------------------------

    def create_ticket(
        self,
        subject: str,
        body: str = "",
        *,
        customer: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        organisation: str | None = None,
        customer_tier: str | None = None,
        priority: str = "P3",
        channel: str = "email",
        tier: str = "L1",
        at: datetime | None = None,
        parent_id: int | None = None,
    ) -> Ticket:
        self.me()
        fields = validate_new_ticket(subject, body, priority, channel, tier)
        when = self._at(at)

        def work() -> Ticket:
            return self._insert_ticket(
                fields,
                when,
                customer=customer,
                email=email,
                phone=phone,
                organisation=organisation,
                customer_tier=customer_tier,
                parent_id=parent_id,
            )

        return self._write(work)

    def _customer_for(
        self,
        name: str | None,
        email: str | None,
        phone: str | None,
        organisation: str | None,
        tier: str | None,
        at: datetime,
    ) -> Customer | None:
        name, email, phone, organisation, tier = validate_customer(name, email, phone, organisation, tier)
        if not (name or email or phone):
            return None
        found = self.store.find_customer(email=email, name=None if email else name)
        if found is not None:
            return found
        record: dict[str, Any] = {
            "name": name or email or phone or "",
            "email": email or None,
            "phone": phone or None,
        }
        if organisation:
            record["organisation"] = organisation
        if tier:
            record["tier"] = tier
        return self.store.insert_customer(record, at)

    def _insert_ticket(
        self,
        fields: Mapping[str, Any],
        at: datetime,
        *,
        customer: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        organisation: str | None = None,
        customer_tier: str | None = None,
        parent_id: int | None = None,
        status: str = "new",
        assignee: str | None = None,
    ) -> Ticket:
        cust = self._customer_for(customer, email, phone, organisation, customer_tier, at)
        record = {
            **fields,
            "status": status,
            "assignee": assignee,
            "customer_id": cust.id if cust else None,
            "parent_id": parent_id,
            "created_at": at,
            "updated_at": at,
            "version": 1,
        }
        # an imported ticket that arrives resolved or closed was resolved (and closed) when it was recorded
        if status in ("resolved", "closed"):
            record["resolved_at"] = at
        if status == "closed":
            record["closed_at"] = at
        ticket_id = self.store.insert_ticket(record)
        initial = {k: record.get(k) for k in TRACKED}
        detail: dict[str, Any] = {"initial": initial, "subject": fields["subject"]}
        if parent_id is not None:
            detail["parent_id"] = parent_id
        self.store.add_event(ticket_id, self.actor_name, at, "created", None, status, detail)
        ticket = self.store.get_ticket(ticket_id)
        self._refresh_sla(ticket, at)
        return self.store.get_ticket(ticket_id)

    def import_rows(self, rows: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> list[int]:
        """Insert validated rows in one transaction: all of them or none."""
        self.me()
        now = self._at(None)

        def work() -> list[int]:
            ids: list[int] = []
            for fields, extra in rows:
                when = self._at(extra.get("at") or now)
                ticket = self._insert_ticket(
                    fields,
                    when,
                    customer=extra.get("customer"),
                    email=extra.get("email"),
                    phone=extra.get("phone"),
                    organisation=extra.get("organisation"),
                    customer_tier=extra.get("customer_tier"),
                    status=extra.get("status") or "new",
                    assignee=extra.get("assignee"),
                )
                ids.append(ticket.id)
            return ids

        return self._write(work)

    def export_records(self) -> list[dict[str, Any]]:
        customers = {c.id: c for c in self.store.list_customers()}
        records: list[dict[str, Any]] = []
        for t in self.store.all_tickets():
            c = customers.get(t.customer_id) if t.customer_id is not None else None
            records.append(
                {
                    "id": t.id,
                    "subject": t.subject,
                    "body": t.body,
                    "priority": t.priority,
                    "channel": t.channel,
                    "tier": t.tier,
                    "status": t.status,
                    "assignee": t.assignee,
                    "customer": c.name if c else None,
                    "email": c.email if c else None,
                    "phone": c.phone if c else None,
                    "organisation": c.organisation if c else None,
                    "customer_tier": c.tier if c else None,
                    "created_at": t.created_at.isoformat(),
                    "updated_at": t.updated_at.isoformat(),
                    "version": t.version,
                }
            )
        return records

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
        detail: Mapping[str, Any] | None = None,
        message: tuple[str, str] | None = None,
        check: Callable[[Ticket, Agent], None] | None = None,
        after: Callable[[Ticket, datetime], None] | None = None,
    ) -> Ticket:
        me = self.me()

        def work() -> Ticket:
            ticket = self.store.get_ticket(ticket_id)
            if expected_version is not None and ticket.version != expected_version:
                raise Conflict(ticket_id, expected_version, ticket.version)
            when = self._at(at)
            self._check_order(ticket_id, when)
            new_status = workflow.transition(ticket_id, ticket.status, action)
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
            updated = self.store.update_ticket(ticket_id, update, ticket.version)
            if message is not None:
                self.store.add_message(ticket_id, message[0], self._author(ticket, message[0]), message[1], when)
            headline = next(iter(changes), None)
            from_value = _text(changes[headline][0]) if headline else None
            to_value = _text(changes[headline][1]) if headline else None
            self.store.add_event(
                ticket_id,
                self.actor_name,
                when,
                kind,
                from_value,
                to_value,
                {"changes": changes, **(detail or {})},
            )
            if after is not None:
                after(updated, when)
            self._refresh_sla(updated, when)
            return self.store.get_ticket(ticket_id)

        try:
            return self._write(work)
        except workflow.TransitionRefused as exc:
            raise Refused(str(exc)) from exc

    def _author(self, ticket: Ticket, kind: str) -> str:
        """Customer messages are the customer's words, whoever recorded them (the recorder is the event's actor)."""
        if kind == "customer" and ticket.customer_id is not None:
            return self.store.get_customer(ticket.customer_id).name
        return self.actor_name if kind != "customer" else _("customer")

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
        text = _require_text(body, _("reply"))
        detail: dict[str, Any] = {"chars": len(text)}
        if guard_override:
            detail["guard_override"] = guard_override
        if macro:
            detail["macro"] = macro

        def count(ticket: Ticket, when: datetime) -> None:
            self.store.set_ticket_sla(ticket.id, {"public_replies": ticket.public_replies + 1})

        return self._act(
            ticket_id,
            "reply",
            at=at,
            expected_version=expected_version,
            kind="reply",
            message=("reply", text),
            detail=detail,
            after=count,
        )

    def note(
        self, ticket_id: int, body: str, *, at: datetime | None = None, expected_version: int | None = None
    ) -> Ticket:
        text = _require_text(body, _("note"))
        return self._act(
            ticket_id,
            "note",
            at=at,
            expected_version=expected_version,
            kind="note",
            message=("note", text),
            detail={"chars": len(text)},
        )

    def customer_reply(self, ticket_id: int, body: str, *, at: datetime | None = None) -> Ticket:
        """A message from the customer: reopens a resolved ticket, reopens a recently closed one, and on a ticket
        closed longer than the reopen window opens a new follow-up ticket linked to it (returned)."""
        text = _require_text(body, _("message"))
        ticket = self.ticket(ticket_id)
        when = self._at(at)
        if ticket.status == "closed":
            window = timedelta(days=self.policy().settings.reopen_window_days)
            if ticket.closed_at is not None and when - ticket.closed_at > window:
                return self._followup_ticket(ticket, text, when)
        if ticket.status in ("resolved", "closed"):
            return self._act(
                ticket_id,
                "reopen",
                at=at,
                expected_version=None,
                kind="customer_message",
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
            message=("customer", text),
            detail={"chars": len(text)},
        )

    def _followup_ticket(self, old: Ticket, text: str, when: datetime) -> Ticket:
        self.me()
        customer = self.store.get_customer(old.customer_id) if old.customer_id is not None else None

        def work() -> Ticket:
            self._check_order(old.id, when)
            fields = validate_new_ticket(
                _("Follow-up to #{id}: {subject}").format(id=old.id, subject=old.subject)[:200],
                text,
                old.priority,
                old.channel,
                "L1",
            )
            new = self._insert_ticket(
                fields,
                when,
                customer=customer.name if customer else None,
                email=customer.email if customer else None,
                parent_id=old.id,
            )
            self.store.add_message(new.id, "customer", self._author(new, "customer"), text, when)
            self.store.add_event(new.id, self.actor_name, when, "customer_message", None, None, {"chars": len(text)})
            self._refresh_sla(self.store.get_ticket(new.id), when)
            return self.store.get_ticket(new.id)

        return self._write(work)

    def assign(
        self,
        ticket_id: int,
        to: str | None = None,
        *,
        at: datetime | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        target = to or self.actor_name
        agent = self.store.get_agent(target)
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
        notes: str,
        *,
        customer_told: bool = True,
        at: datetime | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        why = _require_text(reason, _("reason"))
        handoff = _require_text(notes, _("handoff notes"))
        if not customer_told:
            raise BadInput(_("tell the customer who takes over and when before escalating"))
        self.ticket(ticket_id)
        agent = None
        if to not in workflow.TIERS:
            agent = self.store.get_agent(to)
            if agent is None or not agent.active:
                raise BadInput(_("--to must be L2, L3 or an agent's name; unknown agent {name}").format(name=to))

        def fields(current: Ticket, _when: datetime) -> dict[str, Any]:
            # Judged on the ticket as it is under the write lock: an escalation committed meanwhile by another
            # agent must not be undone (an L3 ticket sent "up" to L2).
            if agent is None:
                if workflow.tier_rank(to) <= workflow.tier_rank(current.tier):
                    raise Refused(
                        _("ticket {id} is already at {tier}; escalate to a higher tier or a named agent").format(
                            id=ticket_id, tier=current.tier
                        )
                    )
                return {"tier": to, "assignee": None}
            if agent.name == current.assignee:
                raise Refused(_("ticket {id} is already with {name}").format(id=ticket_id, name=agent.name))
            return {"tier": max(current.tier, agent.tier, key=workflow.tier_rank), "assignee": agent.name}

        def count(updated: Ticket, when: datetime) -> None:
            self.store.set_ticket_sla(updated.id, {"escalations": updated.escalations + 1})
            self.store.add_message(
                updated.id,
                "note",
                self.actor_name,
                _("Escalated to {to}. Reason: {reason}\n\n{notes}").format(to=to, reason=why, notes=handoff),
                when,
            )

        return self._act(
            ticket_id,
            "escalate",
            at=at,
            expected_version=expected_version,
            kind="escalated",
            fields=fields,
            detail={"to": to, "reason": why, "notes": handoff, "customer_told": True},
            check=self._owner_check,
            after=count,
        )

    def restore(
        self, ticket_id: int, summary: str, *, at: datetime | None = None, expected_version: int | None = None
    ) -> Ticket:
        text = _require_text(summary, _("summary"))
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
        text = _require_text(summary, _("summary"))
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
        unconfirmed_reason: str | None = None,
        asked_anything_else: bool = False,
        kb_id: int | None = None,
        kb_needed: bool = False,
        followup: date | None = None,
        at: datetime | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        """The closed loop of the standards: summary, customer confirmation (or why not), anything else needed,
        knowledge captured, and a follow-up call date for urgent and high-priority tickets."""
        text = _require_text(summary, _("summary"))
        reason = (unconfirmed_reason or "").strip()
        if confirmed and reason:
            raise BadInput(_("give either --confirmed or --unconfirmed-reason, not both"))
        if not confirmed and not reason:
            raise BadInput(
                _("closing needs the customer's confirmation (--confirmed) or why not (--unconfirmed-reason)")
            )
        if confirmed and not asked_anything_else:
            raise BadInput(_("ask the customer whether anything else is needed before closing (--asked-anything-else)"))
        if kb_id is not None and kb_needed:
            raise BadInput(_("give either --kb ID or --kb-needed, not both"))
        ticket = self.ticket(ticket_id)
        if ticket.priority in ("P1", "P2") and followup is None:
            raise BadInput(
                _("{priority} tickets need a follow-up call date (--followup DATE)").format(priority=ticket.priority)
            )
        if kb_id is not None:
            try:
                self.store.get_article(kb_id)
            except NotFound as exc:
                raise BadInput(_("article {id} not found").format(id=kb_id)) from exc

        def fields(current: Ticket, when: datetime) -> dict[str, Any]:
            values: dict[str, Any] = {
                "resolution_summary": text,
                "resolution_code": code or current.resolution_code,
                "closed_at": when,
                "confirmed": confirmed,
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
                self.store.link_article(updated.id, kb_id, self.actor_name, when_)
            if kb_needed:
                self.store.insert_article(
                    {
                        "title": updated.subject,
                        "body": _draft_body(updated, text),
                        "status": "draft",
                        "source_ticket_id": updated.id,
                        "created_by": self.actor_name,
                    },
                    when_,
                )

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
                "unconfirmed_reason": reason or None,
                "asked_anything_else": asked_anything_else,
                "kb": kb_id,
                "kb_needed": kb_needed,
                "followup": followup.isoformat() if followup else None,
            },
            after=capture,
        )

    def reopen(
        self, ticket_id: int, reason: str, *, at: datetime | None = None, expected_version: int | None = None
    ) -> Ticket:
        why = _require_text(reason, _("reason"))
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

    def link_article(self, ticket_id: int, article_id: int, *, at: datetime | None = None) -> bool:
        self.me()
        self.ticket(ticket_id)

        def work() -> bool:
            self.store.get_article(article_id)
            when = self._at(at)
            linked = self.store.link_article(ticket_id, article_id, self.actor_name, when)
            if linked:
                self.store.add_event(
                    ticket_id,
                    self.actor_name,
                    when,
                    "kb_linked",
                    None,
                    str(article_id),
                    {"article": article_id},
                )
            return linked

        return self._write(work)

    # -- knowledge base -----------------------------------------------------------------------------------

    def add_article(
        self,
        title: str,
        body: str,
        *,
        tags: str = "",
        ref: str | None = None,
        product: str = "",
        lang: str = "",
        status: str = "published",
        at: datetime | None = None,
    ) -> KbArticle:
        me = self.me()
        if status == "published" and me.role == "agent":
            status = "draft"  # agents propose; supervisors publish
        record = {
            "title": title,
            "body": body,
            "tags": tags,
            "ref": ref,
            "product": product,
            "lang": lang,
            "status": status,
            "created_by": me.name,
        }
        return self._write(lambda: self.store.insert_article(record, self._at(at)))

    def import_articles(self, path: Path) -> list[int]:
        from console.knowledge import read_articles

        articles = read_articles(path)
        me = self.me()
        status = "draft" if me.role == "agent" else "published"
        now = self._at(None)

        def work() -> list[int]:
            ids = []
            for a in articles:
                record = {**a.model_dump(), "status": status, "created_by": me.name}
                ids.append(self.store.insert_article(record, now).id)
            return ids

        return self._write(work)

    def article(self, article_id: int) -> KbArticle:
        try:
            return self.store.get_article(article_id)
        except NotFound as exc:
            raise BadInput(_("article {id} not found").format(id=article_id)) from exc

    def search_kb(self, query: str, limit: int = 10, include_drafts: bool = False) -> list[Any]:
        return self.store.search_articles(query, limit=limit, include_drafts=include_drafts)

    def suggest_kb(self, ticket: Ticket, limit: int = 5) -> list[Any]:
        return self.store.suggest_articles(f"{ticket.subject}\n{ticket.body}", limit=limit)

    def drafts(self) -> list[KbArticle]:
        return self.store.list_articles("draft")

    def publish_article(self, article_id: int) -> KbArticle:
        self._require_role("supervisor", "admin")
        article = self.article(article_id)
        if article.status == "published":
            raise Refused(_("article {id} is already published").format(id=article_id))

        def work() -> KbArticle:
            now = self._at(None)
            updated = self.store.update_article(article_id, {"status": "published"}, now)
            self.store.add_event(
                article.source_ticket_id,
                self.actor_name,
                max(now, self.store.last_event_at(article.source_ticket_id) or now)
                if article.source_ticket_id
                else now,
                "kb_published",
                "draft",
                "published",
                {"article": article_id},
            )
            return updated

        return self._write(work)

    # -- SLA bookkeeping -------------------------------------------------------------------------------

    def _refresh_sla(self, ticket: Ticket, now: datetime) -> None:
        """Store the most urgent running clock on the ticket so the queue can sort and filter in SQL."""
        from console import sla

        fields: dict[str, Any] = {
            "sla_clock": None,
            "sla_due": None,
            "sla_warn": None,
            "sla_paused_remaining": None,
        }
        if ticket.status in OPEN_STATUSES:
            cal, targets = self._policy_for(ticket)
            statuses = sla.compute_clocks(facts_from_events(self.store.events(ticket.id)), targets, cal, now)
            urgent = sla.most_urgent(statuses.values())
            if urgent is not None:
                fields["sla_clock"] = urgent.clock
                fields["sla_due"] = urgent.due_at.timestamp() if urgent.due_at else None
                # only clocks still running can put the ticket at risk; a stopped late clock stays in the history
                warns = [
                    s.warn_at.timestamp()
                    for s in statuses.values()
                    if s.warn_at and s.due_at and s.stopped_at is None and s.state in ("running", "warning", "breached")
                ]
                fields["sla_warn"] = min(warns) if warns else None
            else:
                paused = [s for s in statuses.values() if s.state == "paused" and s.remaining_s is not None]
                if paused:
                    first = min(paused, key=lambda s: s.remaining_s or 0)
                    fields["sla_clock"] = first.clock
                    fields["sla_paused_remaining"] = first.remaining_s
        self.store.set_ticket_sla(ticket.id, fields)

    def sweep(self, now: datetime | None = None) -> dict[str, int]:
        """Record each warning and breach crossing once (whichever process notices first), and close resolved
        tickets the customer never confirmed after the policy's number of days."""
        if self.wallboard:
            return {"warnings": 0, "breaches": 0, "auto_closed": 0}
        instant = self._at(now)
        counts = {"warnings": 0, "breaches": 0, "auto_closed": 0}
        for ticket_id in self.store.tickets_due_for_marks(instant.timestamp()):
            counts_for = self._write(lambda tid=ticket_id: self._mark_ticket(tid, instant))  # type: ignore[misc]
            counts["warnings"] += counts_for[0]
            counts["breaches"] += counts_for[1]
        days = self.policy().settings.auto_close_days
        for ticket_id in self.store.resolved_before(instant - timedelta(days=days)):
            if self._auto_close(ticket_id, instant, days):
                counts["auto_closed"] += 1
        return counts

    def _mark_ticket(self, ticket_id: int, now: datetime) -> tuple[int, int]:
        from console import sla

        ticket = self.store.get_ticket(ticket_id)
        if ticket.status not in OPEN_STATUSES:
            return (0, 0)
        cal, targets = self._policy_for(ticket)
        statuses = sla.compute_clocks(facts_from_events(self.store.events(ticket_id)), targets, cal, now)
        warnings = breaches = 0
        for status in statuses.values():
            if status.started_at is None:
                continue
            for kind, crossed_at in (("warning", status.warn_at), ("breach", status.due_at)):
                # the engine counts a clock exactly at its due instant as still in time
                if crossed_at is None or crossed_at > now or (kind == "breach" and crossed_at == now):
                    continue
                if self.store.add_sla_mark(ticket_id, status.clock, kind, status.started_at):
                    self.store.add_event(
                        ticket_id,
                        SYSTEM,
                        max(crossed_at, self.store.last_event_at(ticket_id) or crossed_at),
                        "sla_warning" if kind == "warning" else "sla_breach",
                        None,
                        status.clock,
                        {
                            "clock": status.clock,
                            "due_at": status.due_at.isoformat() if status.due_at else None,
                        },
                    )
                    if kind == "warning":
                        warnings += 1
                    else:
                        breaches += 1
        return (warnings, breaches)

    def _auto_close(self, ticket_id: int, now: datetime, days: int) -> bool:
        def work() -> bool:
            ticket = self.store.get_ticket(ticket_id)
            if ticket.status != "resolved":
                return False
            when = max(now, self.store.last_event_at(ticket_id) or now)
            reason = f"no confirmation from the customer within {days} days"
            self.store.update_ticket(
                ticket_id,
                {
                    "status": "closed",
                    "closed_at": when,
                    "updated_at": when,
                    "confirmed": False,
                    "unconfirmed_reason": reason,
                },
                ticket.version,
            )
            self.store.add_event(
                ticket_id,
                SYSTEM,
                when,
                "closed",
                "resolved",
                "closed",
                {
                    "changes": {"status": ["resolved", "closed"]},
                    "auto": True,
                    "confirmed": False,
                    "unconfirmed_reason": reason,
                },
            )
            self._refresh_sla(self.store.get_ticket(ticket_id), when)
            return True

        return self._write(work)

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


# -- helpers -----------------------------------------------------------------------------------------------


def _clock_view(status: sla.ClockStatus) -> ClockView:

    return ClockView(
        clock=status.clock,
        state=status.state,
        due_at=status.due_at,
        remaining_s=status.remaining_s,
        target_min=status.target_min,
        warn_at=status.warn_at,
        started_at=status.started_at,
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


MAX_SUBJECT = 500
MAX_BODY = 100_000


def clean_text(value: str, *, field: str, limit: int, multiline: bool = True) -> str:
    """Stated rule for untrusted text: control characters other than newline and tab are removed, newlines are
    normalised, and text over the limit is refused (never silently cut)."""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    if not multiline:  # a line break in a one-line field separates words: keep them apart
        text = text.replace("\n", " ").replace("\t", " ")
    allowed = "\n\t" if multiline else ""
    text = "".join(ch for ch in text if ch in allowed or not (ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0))
    if len(text) > limit:
        raise BadInput(
            _("{field} is too long ({n} characters; at most {limit})").format(field=field, n=len(text), limit=limit)
        )
    return text


MAX_NAME = 200
MAX_CONTACT = 254


def validate_customer(
    name: str | None, email: str | None, phone: str | None, organisation: str | None, tier: str | None
) -> tuple[str | None, str | None, str | None, str | None, str | None]:
    """The same rule for the customer's fields: one line each, control characters removed, refused over the limit."""

    def one(value: str | None, what: str, limit: int) -> str | None:
        if value is None:
            return None
        return clean_text(value, field=what, limit=limit, multiline=False).strip() or None

    return (
        one(name, "customer", MAX_NAME),
        one(email, "email", MAX_CONTACT),
        one(phone, "phone", 64),
        one(organisation, "organisation", MAX_NAME),
        one(tier, "customer_tier", 32),
    )


def validate_new_ticket(subject: str, body: str, priority: str, channel: str, tier: str) -> dict[str, Any]:
    subject_text = clean_text(subject, field="subject", limit=MAX_SUBJECT, multiline=False).strip()
    if not subject_text:
        raise BadInput(_("subject must not be empty"))
    if priority not in workflow.PRIORITIES:
        raise BadInput(_("priority must be one of: {values}").format(values=", ".join(workflow.PRIORITIES)))
    if channel not in workflow.CHANNELS:
        raise BadInput(_("channel must be one of: {values}").format(values=", ".join(workflow.CHANNELS)))
    if tier not in workflow.TIERS:
        raise BadInput(_("tier must be one of: {values}").format(values=", ".join(workflow.TIERS)))
    return {
        "subject": subject_text,
        "body": clean_text(body or "", field="body", limit=MAX_BODY),
        "priority": priority,
        "channel": channel,
        "tier": tier,
    }


def _require_text(value: str | None, what: str) -> str:
    text = clean_text(value or "", field=what, limit=MAX_BODY).strip()
    if not text:
        raise BadInput(_("{what} must not be empty").format(what=what))
    return text


def _check_name(name: str) -> None:
    if not name or len(name) > 64 or any(ch.isspace() or ord(ch) < 32 for ch in name):
        raise BadInput(_("agent names are 1-64 characters without spaces: {name!r}").format(name=name))


def _draft_body(ticket: Ticket, summary: str) -> str:
    return "\n".join(
        [
            f"## {_('Problem')}",
            ticket.body.strip() or ticket.subject,
            "",
            f"## {_('Solution')}",
            summary,
            "",
            _("Drafted from ticket #{id}.").format(id=ticket.id),
        ]
    )


def describe_event(event: Event) -> str:
    """A short human phrase for an event (stale-view messages, the timeline)."""
    changes = event.detail.get("changes", {})
    if event.kind == "assigned" and "assignee" in changes:
        return _("assigned to {name}").format(name=changes["assignee"][1])
    if event.kind == "escalated":
        return _("escalated to {to}").format(to=event.detail.get("to"))
    if event.kind == "reply":
        return _("replied")
    if event.kind == "customer_message":
        return _("customer wrote") + (" · " + _("reopened") if event.detail.get("reopened") else "")
    if "status" in changes:
        return _("status {old} → {new}").format(
            old=_(workflow.STATUS_LABELS.get(changes["status"][0], changes["status"][0])),
            new=_(workflow.STATUS_LABELS.get(changes["status"][1], changes["status"][1])),
        )
    labels = {
        "reply": _("replied"),
        "note": _("added a note"),
        "customer_message": _("customer wrote"),
        "created": _("created"),
        "kb_linked": _("linked an article"),
        "sla_warning": _("SLA warning"),
        "sla_breach": _("SLA breached"),
        "csat": _("satisfaction recorded"),
        "followup": _("follow-up call made"),
        "kb_published": _("article published"),
        "escalated": _("escalated"),
        "assigned": _("assigned"),
    }
    return labels.get(event.kind, event.kind)
