"""The SLA side of the service: the policy in force, each ticket's stored SLA columns, and the sweep that records
warnings and breaches and closes resolved tickets the customer never confirmed."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from console.rules.errors import BadInput
from console.service.core import ServiceCore
from console.service.ticket_view import facts_from_events
from db.models import Ticket
from db.queries import stored_urgency
from db.vocabulary import LIVE_CLOCK_STATES, OPEN_STATUSES, SYSTEM_ACTOR

if TYPE_CHECKING:
    from console.rules import sla
    from console.rules.policy import Policy

SWEEP_BATCH = 200  # tickets judged per transaction: a writer waits at most one batch (~40 ms)
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

    def refresh(self, ticket: Ticket, now: datetime, facts: list[sla.Fact] | None = None) -> None:
        """Store what the screens read of the ticket's clocks, judged at ``now``, in the caller's transaction: the
        most urgent running clock (so the queue sorts and filters in SQL), its place in the urgency order and the
        next instant that place changes by time alone (db/schema.py v6), and the clocks' figures for the wallboard
        and the reports (``ticket_figures``)."""
        from console.rules import sla

        now_ts = now.timestamp()
        fields: dict[str, Any] = {
            "sla_clock": None,
            "sla_due": None,
            "sla_warn": None,
            "sla_paused_remaining": None,
            "sla_next": None,
        }
        cal, targets = self.policy_for(ticket)
        if facts is None:
            facts = facts_from_events(self.core.store.events(ticket.id))
        statuses, runs = sla.clocks_and_cycles(facts, targets, cal, now) if facts else ({}, {})
        if ticket.status in OPEN_STATUSES:
            running = [
                s for s in statuses.values() if s.due_at and s.stopped_at is None and s.state in LIVE_CLOCK_STATES
            ]
            urgent = sla.most_urgent(statuses.values())
            if urgent is not None:
                fields["sla_clock"] = urgent.clock
                fields["sla_due"] = urgent.due_at.timestamp() if urgent.due_at else None
                # only clocks still running can put the ticket at risk; a stopped late clock stays in the history
                warns = [s.warn_at.timestamp() for s in running if s.warn_at]
                fields["sla_warn"] = min(warns) if warns else None
            else:
                paused = [s for s in statuses.values() if s.state == "paused" and s.remaining_s is not None]
                if paused:
                    first = min(paused, key=lambda s: s.remaining_s or 0)
                    fields["sla_clock"] = first.clock
                    fields["sla_paused_remaining"] = first.remaining_s
            # every instant at which a running clock crosses its warning or due time: the sweeper judges again then.
            # The queue's bands change at the warning and due instants themselves (URGENCY_BAND: due <= now); the
            # engine counts a clock exactly at its due instant as in time, so its breach is judged at the first
            # whole second past it.
            crossings = [
                instant.timestamp()
                for s in running
                for instant in (s.warn_at, s.due_at)
                if instant is not None and instant.timestamp() > now_ts
            ]
            crossings += [
                math.floor(s.due_at.timestamp()) + 1.0 for s in running if s.due_at and s.due_at.timestamp() >= now_ts
            ]
            fields["sla_next"] = min(crossings) if crossings else None
        band, key, alert = stored_urgency(
            ticket.priority, fields["sla_due"], fields["sla_warn"], fields["sla_paused_remaining"], now_ts
        )
        fields.update(q_band=band, q_key=key, sla_alert=alert, q_at=now_ts)
        self.core.store.set_ticket_sla(ticket.id, fields)
        self.core.store.set_figures(ticket.id, self._figures(facts, statuses, runs, now))

    @staticmethod
    def _figures(
        facts: list[sla.Fact], statuses: dict[str, sla.ClockStatus], runs: dict[str, list[sla.Cycle]], now: datetime
    ) -> dict[str, Any]:
        """The ``ticket_figures`` row of a history at ``now`` (the same cycles the reports count)."""
        from console.rules import metrics, sla

        out: dict[str, Any] = {"stale_at": None, "resolved_once": 0}
        if not facts or facts[0].kind != "created":
            return out  # a history the clocks cannot read counts for volume only
        now_ts = now.timestamp()
        stale: list[float] = []
        for clock in sla.CLOCKS:
            settled = metrics.attainment(runs[clock])
            out[f"{clock}_met"], out[f"{clock}_total"] = settled.met, settled.total
            status = statuses.get(clock)
            if (
                status is not None
                and status.stopped_at is None
                and status.due_at is not None
                and status.due_at.timestamp() >= now_ts  # due now: breached a moment later, when a report may ask
                and status.state in LIVE_CLOCK_STATES
            ):
                stale.append(status.due_at.timestamp())
        for prefix, clock in (("fr", "first_response"), ("rv", "resolve")):
            last = runs[clock][-1] if runs[clock] else None
            status = statuses.get(clock)
            stopped = last is not None and last.stopped_at is not None
            out[f"{prefix}_s"] = last.elapsed_s if last is not None and stopped else None
            out[f"{prefix}_at"] = last.stopped_at.timestamp() if last is not None and last.stopped_at else None
            out[f"{prefix}_met"] = None if last is None or last.met is None else int(last.met)
            running = status is not None and status.stopped_at is None and status.state in LIVE_CLOCK_STATES
            out[f"{prefix}_due"] = status.due_at.timestamp() if running and status and status.due_at else None
        out["resolved_once"] = int(sla.ever_resolved(facts, now))
        out["stale_at"] = min(stale) if stale else None
        return out

    def sweep(
        self, now: datetime | None = None, progress: Callable[[int, int | None], None] | None = None
    ) -> dict[str, int]:
        """Record each warning and breach crossing once (whichever process notices first) and store the crossed
        tickets' new place in the urgency order, then close resolved tickets the customer never confirmed after the
        policy's number of days. Only the tickets whose next crossing has come are read, a batch per transaction
        (the sweeper, or `helpdesk sweep` from cron)."""
        if self.core.wallboard:
            return {"warnings": 0, "breaches": 0, "auto_closed": 0}
        instant = self.core.when(now)  # a --now given is a claimed time: admins only, never the future
        claimed = now is not None
        counts = {"warnings": 0, "breaches": 0, "auto_closed": 0}
        done = 0
        total = self.core.store.count_to_judge(instant.timestamp()) if progress is not None else None
        while True:
            batch = self.core.store.tickets_to_judge(instant.timestamp(), SWEEP_BATCH)
            if not batch:
                break
            crossed = self.core.write(lambda ids=batch: [self._judge(tid, instant, claimed) for tid in ids])  # type: ignore[misc]
            counts["warnings"] += sum(c[0] for c in crossed)
            counts["breaches"] += sum(c[1] for c in crossed)
            done += len(batch)
            if progress is not None:
                progress(done, total)
        days = self.policy().settings.auto_close_days
        while True:
            batch = self.core.store.resolved_before(instant - timedelta(days=days), SWEEP_BATCH)
            closed = sum(self._auto_close(ticket_id, instant, days, claimed) for ticket_id in batch)
            counts["auto_closed"] += closed
            if len(batch) < SWEEP_BATCH or not closed:
                break
        return counts

    def fill_figures(self, limit: int = SWEEP_BATCH) -> int:
        """Figures for tickets that have none yet (a database from before schema 6): a batch per call, judged now."""
        ids = self.core.store.tickets_without_figures(limit)
        if ids:
            now = self.core.at(None)

            def work() -> None:
                for tid in ids:
                    self.refresh(self.core.store.get_ticket(tid), now)

            self.core.write(work)
        return len(ids)

    def _judge(self, ticket_id: int, now: datetime, claimed: bool) -> tuple[int, int]:
        """Mark the ticket's crossings and judge its stored state again at ``now``, from one read of its history
        (the marks it adds are no clock facts)."""
        ticket = self.core.store.get_ticket(ticket_id)
        facts = facts_from_events(self.core.store.events(ticket_id))
        crossed = self._mark_ticket(ticket, now, claimed, facts)
        self.refresh(ticket, now, facts)
        return crossed

    def _mark_ticket(self, ticket: Ticket, now: datetime, claimed: bool, facts: list[sla.Fact]) -> tuple[int, int]:
        self.core.claim(claimed)
        from console.rules import sla

        ticket_id = ticket.id
        if ticket.status not in OPEN_STATUSES:
            return (0, 0)
        cal, targets = self.policy_for(ticket)
        statuses = sla.compute_clocks(facts, targets, cal, now)
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
                        actor=SYSTEM_ACTOR,
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
                actor=SYSTEM_ACTOR,
            )
            self.refresh(self.core.store.get_ticket(ticket_id), when)
            return True

        return self.core.write(work)
