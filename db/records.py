"""Records light enough for the console's first frame (no pydantic): what the queue and `ticket list` select.

The store turns a filter into its own SQL; the console builds one before the store is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from db.vocabulary import OPEN_STATUSES


@dataclass(frozen=True)
class TicketFilter:
    """What the queue and `ticket list` ask for; every field narrows the selection."""

    statuses: Sequence[str] = OPEN_STATUSES
    priority: str | None = None
    assignee: str | None = None
    unassigned: bool = False
    tier: str | None = None
    customer_id: int | None = None
    due_before: float | None = None  # breaching: sla_due <= this instant
    warn_before: float | None = None  # at risk: sla_warn <= this instant
    at_risk_or_breaching: float | None = None
    alerting: bool = False  # breached or at risk as last judged (the stored sla_alert the sweeper keeps current)
    running: bool = False  # a clock is running (sla_due set): bands 1-3, the wallboard's urgent list
    text: str | None = None
    exclude_ids: Sequence[int] = field(default_factory=tuple)
    now: float | None = None  # the instant the urgency order judges breached / at risk at (None: the current time)

    @property
    def needs_customer(self) -> bool:
        """Whether the selection looks at the customer's columns (the text search does)."""
        return bool(self.text)


@dataclass(frozen=True)
class QueueFacts:
    """A ticket's columns that decide which queue views hold it and where it sorts in them (the stored order)."""

    id: int
    status: str
    assignee: str | None
    tier: str
    alert: int
    band: int
    key: float
    priority: str


@dataclass(frozen=True)
class Change:
    """A ticket changed since a reader's last look (db/schema.py, v6 ``changes``). ``before`` holds its queue columns
    as they were at that look; None when the ticket's row was not written (a message alone) or it did not exist
    then (``created``)."""

    ticket_id: int
    created: bool
    before: QueueFacts | None


@dataclass(frozen=True)
class Feed:
    """What changed after ``since`` up to ``cursor`` (the id to ask from next time). ``reload``: more changed than a
    reader should apply one by one, or something every screen depends on (agents, customers, settings), or the rows
    after ``since`` were pruned: read everything again."""

    since: int
    cursor: int
    reload: bool
    tickets: dict[int, Change]
