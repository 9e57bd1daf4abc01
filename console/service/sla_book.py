"""The SLA side of the service: the policy in force, each ticket's stored SLA columns, and the sweep that records
warnings and breaches and closes resolved tickets the customer never confirmed."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from console.rules.errors import BadInput
from console.service.core import ServiceCore
from console.service.ticket_view import facts_from_events
from db.models import Ticket
from db.vocabulary import LIVE_CLOCK_STATES, OPEN_STATUSES

if TYPE_CHECKING:
    from console.rules import sla
    from console.rules.policy import Policy

SYSTEM = "system"  # the actor of what the sweep records
POLICY_KEY = "policy"


class SlaBook:
    """The SLA policy and clocks, as HelpdeskService keeps them."""

    def __init__(self, core: ServiceCore) -> None:
        self.core = core
        self._policy_cache: tuple[str | None, Policy] | None = None

    # -- policy ---------------------------------------------------------------------------------------------

    def policy(self) -> Policy:
        from console.rules.policy import Policy, default_policy

        raw = self.core.store.get_setting(POLICY_KEY)
        if self._policy_cache is None or self._policy_cache[0] != raw:
            policy = default_policy() if raw is None else Policy.from_json(raw)
            self._policy_cache = (raw, policy)
        return self._policy_cache[1]

    def save_policy_if_missing(self, by: str) -> None:
        from console.rules.policy import default_policy

        if self.core.store.get_setting(POLICY_KEY) is None:
            self.core.store.set_setting(POLICY_KEY, default_policy().to_json(), by, self.core.at(None))

    def load_policy(self, text: str) -> Policy:
        from console.rules.policy import PolicyError, load_policy_toml

        self.core.require_role("admin")
        try:
            policy = load_policy_toml(text)
        except PolicyError as exc:
            raise BadInput(str(exc)) from exc

        def work() -> Policy:
            now = self.core.at(None)
            self.core.store.set_setting(POLICY_KEY, policy.to_json(), self.core.actor_name, now)
            self.core.record(None, now, "policy_loaded", detail={"policy": json.loads(policy.to_json())})
            self._policy_cache = None
            for ticket_id in self.core.store.ticket_ids((*OPEN_STATUSES, "resolved")):
                self.refresh(self.core.store.get_ticket(ticket_id), now)
            return policy

        return self.core.write(work)

    def calendar_for(self, ticket: Ticket) -> Any:
        return self.policy_for(ticket)[0]

    def policy_for(self, ticket: Ticket) -> tuple[Any, sla.Targets]:
        customer_tier = None
        if ticket.customer_id is not None:
            customer_tier = self.core.store.get_customer(ticket.customer_id).tier
        return self.policy().resolve(ticket.priority, ticket.channel, customer_tier)

    # -- SLA bookkeeping -------------------------------------------------------------------------------

    def refresh(self, ticket: Ticket, now: datetime) -> None:
        """Store the most urgent running clock on the ticket so the queue can sort and filter in SQL."""
        from console.rules import sla

        fields: dict[str, Any] = {
            "sla_clock": None,
            "sla_due": None,
            "sla_warn": None,
            "sla_paused_remaining": None,
        }
        if ticket.status in OPEN_STATUSES:
            cal, targets = self.policy_for(ticket)
            statuses = sla.compute_clocks(facts_from_events(self.core.store.events(ticket.id)), targets, cal, now)
            urgent = sla.most_urgent(statuses.values())
            if urgent is not None:
                fields["sla_clock"] = urgent.clock
                fields["sla_due"] = urgent.due_at.timestamp() if urgent.due_at else None
                # only clocks still running can put the ticket at risk; a stopped late clock stays in the history
                warns = [
                    s.warn_at.timestamp()
                    for s in statuses.values()
                    if s.warn_at and s.due_at and s.stopped_at is None and s.state in LIVE_CLOCK_STATES
                ]
                fields["sla_warn"] = min(warns) if warns else None
            else:
                paused = [s for s in statuses.values() if s.state == "paused" and s.remaining_s is not None]
                if paused:
                    first = min(paused, key=lambda s: s.remaining_s or 0)
                    fields["sla_clock"] = first.clock
                    fields["sla_paused_remaining"] = first.remaining_s
        self.core.store.set_ticket_sla(ticket.id, fields)

    def sweep(self, now: datetime | None = None) -> dict[str, int]:
        """Record each warning and breach crossing once (whichever process notices first), and close resolved
        tickets the customer never confirmed after the policy's number of days."""
        if self.core.wallboard:
            return {"warnings": 0, "breaches": 0, "auto_closed": 0}
        instant = self.core.when(now)  # a --now given is a claimed time: admins only, never the future
        claimed = now is not None
        counts = {"warnings": 0, "breaches": 0, "auto_closed": 0}
        for ticket_id in self.core.store.tickets_due_for_marks(instant.timestamp()):
            counts_for = self.core.write(lambda tid=ticket_id: self._mark_ticket(tid, instant, claimed))  # type: ignore[misc]
            counts["warnings"] += counts_for[0]
            counts["breaches"] += counts_for[1]
        days = self.policy().settings.auto_close_days
        for ticket_id in self.core.store.resolved_before(instant - timedelta(days=days)):
            if self._auto_close(ticket_id, instant, days, claimed):
                counts["auto_closed"] += 1
        return counts

    def _mark_ticket(self, ticket_id: int, now: datetime, claimed: bool) -> tuple[int, int]:
        self.core.claim(claimed)
        from console.rules import sla

        ticket = self.core.store.get_ticket(ticket_id)
        if ticket.status not in OPEN_STATUSES:
            return (0, 0)
        cal, targets = self.policy_for(ticket)
        statuses = sla.compute_clocks(facts_from_events(self.core.store.events(ticket_id)), targets, cal, now)
        warnings = breaches = 0
        for status in statuses.values():
            if status.started_at is None:
                continue
            for kind, crossed_at in (("warning", status.warn_at), ("breach", status.due_at)):
                # the engine counts a clock exactly at its due instant as still in time
                if crossed_at is None or crossed_at > now or (kind == "breach" and crossed_at == now):
                    continue
                if self.core.store.add_sla_mark(ticket_id, status.clock, kind, status.started_at):
                    self.core.record(
                        ticket_id,
                        max(crossed_at, self.core.store.last_event_at(ticket_id) or crossed_at),
                        "sla_warning" if kind == "warning" else "sla_breach",
                        None,
                        status.clock,
                        {
                            "clock": status.clock,
                            "due_at": status.due_at.isoformat() if status.due_at else None,
                        },
                        actor=SYSTEM,
                    )
                    if kind == "warning":
                        warnings += 1
                    else:
                        breaches += 1
        return (warnings, breaches)

    def _auto_close(self, ticket_id: int, now: datetime, days: int, claimed: bool) -> bool:
        def work() -> bool:
            self.core.claim(claimed)
            ticket = self.core.store.get_ticket(ticket_id)
            if ticket.status != "resolved":
                return False
            when = max(now, self.core.store.last_event_at(ticket_id) or now)
            reason = f"no confirmation from the customer within {days} days"
            self.core.store.update_ticket(
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
            self.core.record(
                ticket_id,
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
                actor=SYSTEM,
            )
            self.refresh(self.core.store.get_ticket(ticket_id), when)
            return True

        return self.core.write(work)
