"""Where the queue table's columns go at a given width, and which cells a tick has to repaint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from console.i18n import N_, _
from widgets.countdown import CountdownState
from widgets.safe_text import fit

ColumnKey = Literal["countdown", "clock", "id", "priority", "subject", "customer", "status", "owner"]
# The countdown comes first: Textual repaints a changed cell together with everything from the widget's
# left edge up to it, so at the left edge a tick sends only the countdown's own characters.
TITLES: dict[ColumnKey, str] = {
    "countdown": N_("Due"),
    "clock": N_("Clock"),
    "id": N_("ID"),
    "priority": N_("Pri"),
    "subject": N_("Subject"),
    "customer": N_("Customer"),
    "status": N_("Status"),
    "owner": N_("Owner"),
}
ORDER = tuple(TITLES)
SUBJECT_MIN = 24
PREFERRED: dict[ColumnKey, int] = {"customer": 18, "owner": 16}
# Give these up, in turn, before the subject gets narrower than SUBJECT_MIN.
SHRINK_STEPS: tuple[tuple[ColumnKey, int], ...] = (
    ("owner", 12),
    ("customer", 12),
    ("owner", 0),
    ("clock", 0),
    ("customer", 0),
)


@dataclass(frozen=True, slots=True)
class Column:
    key: ColumnKey
    x: int
    width: int
    title: str


def layout_columns(width: int, fixed: dict[ColumnKey, int]) -> tuple[Column, ...]:
    """Place the columns in ``width`` cells (one-cell gaps); the subject takes the slack.

    ``fixed`` gives the widths of id, priority, status, clock and countdown.
    """
    widths: dict[ColumnKey, int] = {**fixed, **PREFERRED}

    def subject_width() -> int:
        others = [w for key, w in widths.items() if key != "subject" and w > 0]
        return width - sum(others) - len(others)  # a gap before each other column

    for key, narrower in SHRINK_STEPS:
        if subject_width() >= SUBJECT_MIN:
            break
        widths[key] = narrower
    widths["subject"] = max(1, subject_width())
    columns: list[Column] = []
    x = 0
    for key in ORDER:
        if widths.get(key, 0) > 0:
            columns.append(Column(key, x, widths[key], _(TITLES[key])))
            x += widths[key] + 1
    return tuple(columns)


COMPONENTS = (
    "header",
    "cursor",
    "warning",
    "breached",
    "paused",
    "placeholder",
    "p1",
    "p2",
    "p3",
    "p4",
)
STATE_COMPONENT: dict[CountdownState, str] = {
    "warning": "warning",
    "breached": "breached",
    "paused": "paused",
    "none": "placeholder",
}


def changed_cells(old: str, new: str, width: int, restyled: bool) -> tuple[int, int]:
    """First and past-last cell of a column that differ between two texts.

    Single-width texts are compared character by character ("12:04" → "12:03" repaints one cell);
    anything else, or a change of style, repaints the whole column.
    """
    old_fit, new_fit = fit(old, width), fit(new, width)
    if restyled or len(old_fit) != width or len(new_fit) != width:
        return 0, width
    differ = [i for i in range(width) if old_fit[i] != new_fit[i]]
    if not differ:
        return 0, 0
    return differ[0], differ[-1] + 1
