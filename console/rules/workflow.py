"""The ticket state machine: which action is allowed from which status, and where it leads. Pure rules."""

from __future__ import annotations

from collections.abc import Mapping

from console.i18n import N_, _
from db.vocabulary import STATUSES, TIERS

STATUS_LABELS: Mapping[str, str] = {
    "new": N_("new"),
    "open": N_("open"),
    "pending": N_("pending customer"),
    "restored": N_("restored"),
    "resolved": N_("resolved"),
    "closed": N_("closed"),
}
PRIORITY_LABELS: Mapping[str, str] = {
    "P1": N_("urgent"),
    "P2": N_("high"),
    "P3": N_("normal"),
    "P4": N_("low"),
}
ACTION_LABELS: Mapping[str, str] = {
    "assign": N_("assign"),
    "reply": N_("reply"),
    "note": N_("internal note"),
    "customer_reply": N_("customer reply"),
    "pending": N_("set pending"),
    "resume": N_("resume"),
    "escalate": N_("escalate"),
    "restore": N_("restore service"),
    "resolve": N_("resolve"),
    "close": N_("close"),
    "reopen": N_("reopen"),
    "call": N_("log a call"),
    "customer_call": N_("log the customer's call"),
    "visit": N_("record an on-site visit"),
    "priority": N_("change the priority"),
}

# action -> {from status: to status}; None as target keeps the status (except new, which an agent's touch opens).
_KEEP = "="
TRANSITIONS: Mapping[str, Mapping[str, str]] = {
    "assign": {"new": "open", "open": _KEEP, "pending": _KEEP, "restored": _KEEP, "resolved": _KEEP},
    "reply": {"new": "open", "open": _KEEP, "pending": _KEEP, "restored": _KEEP, "resolved": _KEEP},
    "note": {s: _KEEP for s in STATUSES},
    "customer_reply": {"new": _KEEP, "open": _KEEP, "pending": "open", "restored": _KEEP},
    "pending": {"new": "pending", "open": "pending", "restored": "pending"},
    "resume": {"pending": "open"},
    "escalate": {"new": "open", "open": "open", "pending": "open", "restored": "open"},
    "restore": {"new": "restored", "open": "restored", "pending": "restored"},
    "resolve": {"new": "resolved", "open": "resolved", "pending": "resolved", "restored": "resolved"},
    # The closed loop: only a ticket whose service is back (restored) or whose cause is fixed (resolved) closes.
    "close": {"restored": "closed", "resolved": "closed"},
    "reopen": {"resolved": "open", "closed": "open"},
    # A call logged by an agent: an outbound call is a touch like a reply; an inbound one is the customer's
    # contact like their message, except that it never reopens a resolved ticket (the customer may be calling to
    # confirm the fix; the agent reopens if not). A closed ticket's calls are follow-up calls (`followup`).
    "call": {"new": "open", "open": _KEEP, "pending": _KEEP, "restored": _KEEP, "resolved": _KEEP},
    "customer_call": {"new": _KEEP, "open": _KEEP, "pending": "open", "restored": _KEEP, "resolved": _KEEP},
    # Dispatching an engineer is a touch (a new ticket opens); a resolved ticket's visit may still end (left).
    "visit": {"new": "open", "open": _KEEP, "pending": _KEEP, "restored": _KEEP, "resolved": _KEEP},
    # Priority while there is work to do; a finished ticket keeps the priority it was worked at.
    "priority": {"new": _KEEP, "open": _KEEP, "pending": _KEEP, "restored": _KEEP},
}
# Actions a user chooses (customer_reply on resolved/closed is routed to reopen or a follow-up by the service; an
# inbound call is the "call" action routed to customer_call).
USER_ACTIONS = (
    "assign",
    "reply",
    "note",
    "pending",
    "resume",
    "escalate",
    "restore",
    "resolve",
    "close",
    "reopen",
    "call",
    "visit",
    "priority",
)


class TransitionRefused(ValueError):
    """An action that the ticket's status does not allow; says what is allowed instead."""

    def __init__(self, ticket_id: int, status: str, action: str) -> None:
        self.ticket_id = ticket_id
        self.status = status
        self.action = action
        self.allowed = allowed_actions(status)
        allowed = ", ".join(_(ACTION_LABELS[a]) for a in self.allowed if a != "note") or _("nothing")
        super().__init__(
            _("ticket {id} is {status}; cannot {action}; allowed: {allowed}").format(
                id=ticket_id,
                status=_(STATUS_LABELS[status]),
                action=_(ACTION_LABELS[action]),
                allowed=allowed,
            )
        )


def allowed_actions(status: str) -> list[str]:
    return [a for a in USER_ACTIONS if status in TRANSITIONS[a]]


def can(status: str, action: str) -> bool:
    return status in TRANSITIONS.get(action, {})


def transition(ticket_id: int, status: str, action: str) -> str:
    """The status after ``action``, or TransitionRefused."""
    targets = TRANSITIONS.get(action, {})
    if status not in targets:
        raise TransitionRefused(ticket_id, status, action)
    target = targets[status]
    return status if target == _KEEP else target


def next_tier(tier: str) -> str | None:
    index = TIERS.index(tier)
    return TIERS[index + 1] if index + 1 < len(TIERS) else None


def tier_rank(tier: str) -> int:
    return TIERS.index(tier)


def replay(initial: Mapping[str, object], changes: list[Mapping[str, list[object]]]) -> dict[str, object]:
    """Fold recorded changes ({field: [old, new]}) over a ticket's initial fields (used by `helpdesk check`)."""
    state = dict(initial)
    for change in changes:
        for key, pair in change.items():
            state[key] = pair[1]
    return state
