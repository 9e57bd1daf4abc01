"""Glue shared by the screens: translated bindings, queue rows from records, live remaining time."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from console.i18n import _
from console.rules.workflow import STATUS_LABELS
from widgets.bindings import translate_bindings
from widgets.queue_table import QueueRow

if TYPE_CHECKING:
    from console.service.helpdesk import HelpdeskService
    from console.tui.drafts import DraftStore
    from console.tui.looks import Looks
    from db.models import QueueItem

__all__ = [
    "Host",
    "RemainingTime",
    "business_remaining",
    "queue_row",
    "status_label",
    "translate_bindings",
]


# Where the database announces its commits (PostgreSQL), the screens read the change feed when told, and poll it
# only this often in case an announcement was missed (a listener reconnecting, say); elsewhere every live_interval.
FALLBACK_POLL_S = 15.0


class Host(Protocol):
    """What the screens ask of the app that hosts them (HelpdeskApp), typed here so no screen imports the app."""

    actor_name: str
    clock: Callable[[], float]
    wallboard_only: bool
    show_customers: bool
    live_interval: float
    live_pushed: bool  # the database announces its commits: the screens' ticks poll only every FALLBACK_POLL_S
    drafts: DraftStore
    looks: Looks

    @property
    def service(self) -> HelpdeskService: ...

    def wait_for_service(self) -> HelpdeskService | None: ...


def status_label(code: str) -> str:
    return _(STATUS_LABELS.get(code, code))


def queue_row(item: QueueItem) -> QueueRow:
    return QueueRow(
        ticket_id=item.id,
        priority=item.priority,
        subject=item.subject,
        customer=item.customer or "—",
        status=item.status,
        owner=f"{item.tier} · {item.assignee or '—'}",
        clock=item.sla_clock,
        due_at=item.sla_due,
        warn_at=item.sla_warn,
        paused_remaining_s=item.sla_paused_remaining,
    )


class RemainingTime:
    """Business seconds left on a row's clock at an instant: business-hours clocks only count open time, so the
    countdown uses each ticket's calendar (kept per ticket id when its row is loaded)."""

    def __init__(self) -> None:
        self.calendars: dict[int, Any] = {}

    def __call__(self, row: QueueRow, now: float) -> int | None:
        if row.due_at is None:
            return row.paused_remaining_s
        cal = self.calendars.get(row.ticket_id)
        if cal is None:
            return int(row.due_at - now)
        return business_remaining(cal, row.due_at, now)


def business_remaining(calendar: Any, due: float, now: float) -> int:
    """Open seconds from now to due; negative (open seconds since due) when overdue."""
    if now <= due:
        return int(calendar.elapsed_ts(now, due) + 0.999)
    return -int(calendar.elapsed_ts(due, now))
