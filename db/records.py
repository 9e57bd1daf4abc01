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
    text: str | None = None
    exclude_ids: Sequence[int] = field(default_factory=tuple)
    now: float | None = None  # the instant the urgency order judges breached / at risk at (None: the current time)

    @property
    def needs_customer(self) -> bool:
        """Whether the selection looks at the customer's columns (the text search does)."""
        return bool(self.text)
