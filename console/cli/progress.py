"""A progress bar on the terminal for the CLI's long jobs (import, kb import, demo; sweep and report likewise).

The service only reports progress, through a plain callback ``progress(done, total)`` (``total`` None while it is
not known); the CLI hands it the callback ``progress_bar`` yields, which draws one line on the error stream::

    with progress_bar(_("Sweeping"), enabled=show_progress(args)) as step:
        counts = service.sweep(progress=step)

Drawn only for a person watching (``show_progress``): never with ``--json``, and only when standard output and the
error stream are both a terminal, so a piped or redirected run writes exactly what it wrote before. Disabled, the
callback is None and costs the job nothing. Enabled, a call costs a clock read: the line is redrawn at most ten
times a second, first after a short delay (a job done by then shows nothing), fits the terminal's width, and is
erased when the job ends, by error or Ctrl-C too, so the command's own output starts on a clean line.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

Progress = Callable[[int, int | None], None]

FIRST_DRAW = 0.3  # seconds before the first line: a quick job shows no bar at all
REDRAW = 0.1  # seconds between lines at most
MAX_BAR = 30  # cells of the bar itself
ERASE = "\r\x1b[K"  # back to the start of the line, which is cleared


def show_progress(args: argparse.Namespace) -> bool:
    """A bar is for a person watching: not with --json, and only when standard output and the error stream are
    both a terminal (not a dumb one); a run whose output is piped or redirected writes nothing extra."""
    if getattr(args, "json", False) or os.environ.get("TERM") == "dumb":
        return False
    try:
        return sys.stdout.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


@contextmanager
def progress_bar(label: str, *, enabled: bool) -> Iterator[Progress | None]:
    """The callback to hand to the service (None when ``enabled`` is false); the line is erased on the way out."""
    if not enabled:
        yield None
        return
    bar = _Bar(label, sys.stderr)
    try:
        yield bar
    finally:
        bar.close()


class _Bar:
    """One line on ``stream``: label, bar, percentage, counts, rate and time left (the rate and time left measured
    since the total last changed: a job may count what it reads first, then what it writes)."""

    def __init__(self, label: str, stream: TextIO) -> None:
        from widgets.safe_text import clean

        self.label = clean(label)  # may hold a file's name
        self.stream = stream
        utf8 = (getattr(stream, "encoding", None) or "").lower().replace("-", "") == "utf8"
        self.full, self.empty = ("█", "░") if utf8 else ("#", "-")
        now = time.monotonic()
        self.next_draw = now + FIRST_DRAW
        self.done = 0
        self.total: int | None = None
        self.phase_start = now
        self.phase_done = 0
        self.drawn = False

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if total != self.total or done < self.done:  # another stage, or a retried transaction starting over
            self.phase_start, self.phase_done, self.total = now, done, total
        self.done = done
        if now >= self.next_draw:
            self.next_draw = now + REDRAW
            self._draw(now)

    def _draw(self, now: float) -> None:
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError):
            columns = 0
        width = (columns or 80) - 1  # a terminal may not know its size; the last column would wrap the line
        line = self.line(now, width)
        self.drawn = True  # before writing: a Ctrl-C during the write must still find the line to erase
        try:
            self.stream.write(ERASE + line)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: the job goes on without its bar
            self.next_draw = math.inf

    def line(self, now: float, width: int) -> str:
        """The line for ``width`` cells: what matters least (rate, then counts) goes first when it is narrow."""
        from rich.cells import cell_len

        from console.i18n import _
        from widgets.safe_text import fit

        done, total = self.done, self.total
        elapsed = now - self.phase_start
        rate = (done - self.phase_done) / elapsed if elapsed >= 0.5 else 0.0
        rate_text = _("{n}/s").format(n=f"{rate:,.0f}") if rate > 0 else ""
        share = 0.0
        drop_order: tuple[int, ...]  # indexes of parts, the first dropped first
        if total is None:  # a count that grows: count, rate, time so far
            parts = [f"{done:,}", rate_text, _clock(elapsed)]
            drop_order = (2, 1, 0)
        else:  # percentage, counts, rate, time left
            share = min(max(done / total, 0.0), 1.0) if total > 0 else 1.0
            eta = _("{time} left").format(time=_clock(max(total - done, 0) / rate)) if rate > 0 else ""
            parts = [f"{math.floor(share * 100):3d}%", f"{done:,}/{total:,}", rate_text, eta]
            drop_order = (2, 1, 3, 0)
        kept = {i: p for i, p in enumerate(parts) if p}
        label_cells = cell_len(self.label)
        least_bar = 10 + 2 if total is not None else 0

        def tail() -> int:
            return sum(cell_len(p) + 2 for p in kept.values())

        for index in drop_order:
            if min(label_cells, 12) + least_bar + tail() <= width:
                break
            kept.pop(index, None)
        room = width - tail()  # for the label and the bar
        bar = ""
        if total is not None:
            # the whole label if it leaves the bar ten cells, else the label cut down to twelve
            cells = min(MAX_BAR, max(room - 2 - label_cells, 10), room - 2 - min(label_cells, 12))
            if cells >= 10:
                filled = int(cells * share)
                bar = self.full * filled + self.empty * (cells - filled)
                room -= cells + 2
        label = fit(self.label, min(label_cells, room)) if room > 0 else ""
        text = "  ".join(p for p in (label, bar, *kept.values()) if p)
        return fit(text, width).rstrip() if cell_len(text) > width else text

    def close(self) -> None:
        self.next_draw = math.inf  # a late call from the job draws nothing more
        if not self.drawn:
            return
        try:
            self.stream.write(ERASE)
            self.stream.flush()
        except (OSError, ValueError):
            pass


def _clock(seconds: float) -> str:
    """0:07, 12:05, 1:02:03."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
