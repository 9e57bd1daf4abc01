"""One row of the ticket queue, as the queue table is handed it, and what the table derives from it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from console.i18n import N_, _
from widgets.countdown import remaining_seconds


@dataclass(frozen=True, slots=True)
class QueueRow:
    ticket_id: int
    priority: str  # "P1".."P4"
    subject: str  # untrusted customer text
    customer: str  # untrusted
    status: str  # status code; the label comes from the table's status_label
    owner: str  # e.g. "L2 · li.wei"
    clock: str | None  # code of the most urgent running clock
    due_at: float | None  # epoch seconds; None when paused or no running clock
    warn_at: float | None
    paused_remaining_s: int | None


RemainingFor = Callable[[QueueRow, float], int | None]

CLOCK_LABELS = {
    "first_response": N_("response"),
    "next_update": N_("update"),
    "restore": N_("restore"),
    "resolve": N_("resolve"),
    "onsite": N_("on site"),
}


def default_remaining(row: QueueRow, now: float) -> int | None:
    return remaining_seconds(row.due_at, row.paused_remaining_s, now)


def default_clock_label(code: str | None) -> str:
    return "" if code is None else _(CLOCK_LABELS.get(code, code))


def same_code(code: str) -> str:
    """The default status label: the code itself."""
    return code


def is_paused(row: QueueRow) -> bool:
    return row.due_at is None and row.paused_remaining_s is not None
