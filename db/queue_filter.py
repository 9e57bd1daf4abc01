"""What the queue and `ticket list` select: a filter and the SQL it becomes.

Kept apart from the store so the console can build a filter before the store (sqlite-utils, pydantic) is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

OPEN_STATUSES = ("new", "open", "pending", "restored")


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

    @property
    def needs_customer(self) -> bool:
        """Whether the selection looks at the customer's columns (the text search does)."""
        return bool(self.text)

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.statuses:
            clauses.append(f"t.status IN ({','.join('?' * len(self.statuses))})")
            params.extend(self.statuses)
        if self.priority:
            clauses.append("t.priority = ?")
            params.append(self.priority)
        if self.assignee:
            clauses.append("t.assignee = ?")
            params.append(self.assignee)
        if self.unassigned:
            clauses.append("t.assignee IS NULL")
        if self.tier:
            clauses.append("t.tier = ?")
            params.append(self.tier)
        if self.customer_id is not None:
            clauses.append("t.customer_id = ?")
            params.append(self.customer_id)
        if self.due_before is not None:
            clauses.append("t.sla_due <= ?")
            params.append(self.due_before)
        if self.warn_before is not None:
            clauses.append("t.sla_warn <= ? AND t.sla_due > ?")
            params.extend([self.warn_before, self.warn_before])
        if self.at_risk_or_breaching is not None:
            clauses.append("(t.sla_warn <= ? OR t.sla_due <= ?)")
            params.extend([self.at_risk_or_breaching, self.at_risk_or_breaching])
        if self.text:
            needle = "%" + self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            clauses.append(
                "(t.subject LIKE ? ESCAPE '\\' OR c.name LIKE ? ESCAPE '\\' OR c.organisation LIKE ? ESCAPE '\\'"
                " OR CAST(t.id AS TEXT) = ?)"
            )
            params.extend([needle, needle, needle, self.text.strip().lstrip("#")])
        if self.exclude_ids:
            clauses.append(f"t.id NOT IN ({','.join('?' * len(self.exclude_ids))})")
            params.extend(self.exclude_ids)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params
