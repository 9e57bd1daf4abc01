"""What the service returns to read: a ticket with its clocks and neighbours, and a phrase for each event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from console.i18n import _
from console.rules import workflow

if TYPE_CHECKING:
    from console.rules import sla
    from console.service.mail_detail import MailDetail
    from db.models import Customer, Event, KbArticle, Message, QueueItem, Ticket


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
    zone: tzinfo = UTC  # the agent's: every time on the ticket is shown in it, named once
    customer_zone: tzinfo = UTC  # the customer's: times promised to them are stated in it
    mail: MailDetail | None = None  # the e-mail channel: each outgoing message's state, the attachments


def facts_from_events(events: Sequence[Event]) -> list[sla.Fact]:
    """The SLA clocks' view of a ticket's history."""
    from console.rules import sla  # the rules load only when a clock is computed: listing stays fast

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
        kind = sla.event_fact(event.kind, event_sub(event))
        if kind is not None:
            facts.append(sla.Fact(at=event.at, kind=kind))
    return facts


def event_sub(event: Event) -> object:
    """What tells apart the clock events of one kind (the same values db/reports.py reads in SQL)."""
    if event.kind == "call":
        return event.detail.get("direction")
    if event.kind == "visit":
        return event.detail.get("stage")
    if event.kind == "escalated":
        return event.detail.get("notice")
    return None


def clock_view(status: sla.ClockStatus) -> ClockView:
    return ClockView(
        clock=status.clock,
        state=status.state,
        due_at=status.due_at,
        remaining_s=status.remaining_s,
        target_min=status.target_min,
        warn_at=status.warn_at,
        started_at=status.started_at,
    )


def provenance(event: Event) -> str:
    """How an event came to be recorded, when it is not simply "by its actor, as it happened": entered by an admin
    acting for the actor (--as), or its time claimed afterwards (--at, imports: backfilled)."""
    parts: list[str] = []
    if event.entered_by:
        parts.append(_("entered by {admin}").format(admin=event.entered_by))
    if event.backfilled:
        if event.recorded_at is not None:
            parts.append(_("backfilled, recorded {when}").format(when=event.recorded_at.strftime("%Y-%m-%d %H:%M UTC")))
        else:
            parts.append(_("backfilled"))
    return "; ".join(parts)


def describe_event(event: Event) -> str:
    """A short human phrase for an event (stale-view messages, the timeline)."""
    changes = event.detail.get("changes", {})
    if event.kind == "assigned" and "assignee" in changes:
        return _("assigned to {name}").format(name=changes["assignee"][1])
    if event.kind == "escalated":
        text = _("escalated to {to}").format(to=event.detail.get("to"))
        return text + (" · " + _("handover notice sent") if event.detail.get("notice") else "")
    if event.kind == "call":
        return _("called the customer") if event.detail.get("direction") == "out" else _("the customer called")
    if event.kind == "visit":
        stage = event.detail.get("stage")
        return {
            "dispatched": _("engineer dispatched on site"),
            "arrived": _("engineer arrived on site"),
            "left": _("engineer left the site"),
        }.get(str(stage), _("on-site visit"))
    if event.kind == "priority_changed" and "priority" in changes:
        return _("priority {old} → {new}").format(old=changes["priority"][0], new=changes["priority"][1])
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
        "mail_sent": _("e-mail sent"),
        "mail_failed": _("e-mail delivery failed"),
        "mail_auto": _("automatic e-mail received"),
    }
    return labels.get(event.kind, event.kind)
