"""Plain-text tables for the CLI's human output: aligned by terminal cells, untrusted text made inert."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len

from widgets.safe_text import clean, fit

MAX_COLUMN = 48


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[clean("" if v is None else str(v)).replace("\n", " ") for v in row] for row in rows]
    widths = [cell_len(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = min(MAX_COLUMN, max(widths[i], cell_len(value)))
    lines = ["  ".join(fit(h, widths[i]) for i, h in enumerate(headers)).rstrip()]
    lines.append("  ".join("─" * w for w in widths))
    for row in cells:
        lines.append("  ".join(fit(v, widths[i]) for i, v in enumerate(row)).rstrip())
    return "\n".join(lines)
