"""The service layer: the only place that combines the store, the rules and the audit trail.

Every state change, assignment, reply, escalation and closure is one write transaction that changes the
ticket, writes exactly one event, and refreshes the ticket's derived SLA columns. The CLI and the console call
this; neither touches SQL. HelpdeskService adds the ticket actions to the parts in console/service_*.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from console import workflow
from console.errors import BadInput, PermissionDenied, Refused
from console.i18n import _
from console.service_core import TRACKED
from console.service_intake import TicketIntake
from console.service_kb import KnowledgeActions
from console.service_sla import SlaBookkeeping
from console.service_upkeep import PRESENCE_TTL_S, Upkeep
from console.ticket_view import ClockView, TicketDetail, clock_view, facts_from_events
from console.validation import check_agent_name, require_text, validate_new_ticket
from db.errors import Conflict
from db.models import Agent, Event, QueueItem, Ticket
from db.queue_filter import TicketFilter


class HelpdeskService(TicketIntake, KnowledgeActions, SlaBookkeeping, Upkeep):
    """One agent's (or script's) access to one database."""

    # -- agents -------------------------------------------------------------------------------------------

    def init(self, admin: str) -> Agent:
        """Create the first admin of an empty database."""

        def work() -> Agent:
            if self.store.count_agents() > 0:
                raise Refused(_("this database already has agents; use 'helpdesk agent add'"))
            agent = self.store.insert_agent(admin, "admin", "L3", admin, self._at(None))
            self._save_policy_if_missing(admin)
            return agent

        check_agent_name(admin)
        return self._write(work)

    def add_agent(self, name: str, role: str = "agent", tier: str = "L1", display_name: str = "") -> Agent:
        check_agent_name(name)
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

    # -- tickets: reading ---------------------------------------------------------------------------------

    def clocks(
        self, ticket: Ticket, events: Sequence[Event] | None = None, now: datetime | None = None
    ) -> dict[str, ClockView]:
        from console import sla

        cal, targets = self._policy_for(ticket)
        facts = facts_from_events(events if events is not None else self.store.events(ticket.id))
        statuses = sla.compute_clocks(facts, targets, cal, self._at(now))
        return {name: clock_view(status) for name, status in statuses.items()}

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
        text = require_text(body, _("reply"))
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
        text = require_text(body, _("note"))
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
        text = require_text(body, _("message"))
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
        why = require_text(reason, _("reason"))
        handoff = require_text(notes, _("handoff notes"))
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
        text = require_text(summary, _("summary"))
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
            self.article(kb_id)

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
                self._draft_article(updated, text, when_)

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


def _text(value: object) -> str | None:
    return None if value is None else str(value)
