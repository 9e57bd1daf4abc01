"""Countdown text for SLA clocks, and a one-clock widget for headers.

Far deadlines are shown at minute (from an hour) or hour (from a day) granularity, so only urgent clocks
change every second: that is what keeps a screen full of live clocks cheap over SSH.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Literal

from rich.cells import cell_len
from textual.content import Content
from textual.reactive import reactive
from textual.timer import Timer
from textual.widget import Widget

from console.i18n import _
from widgets.safe_text import clean

CountdownState = Literal["none", "ok", "warning", "breached", "paused"]
_STATES: tuple[CountdownState, ...] = ("none", "ok", "warning", "breached", "paused")

MINUTE = 60
HOUR = 3600
DAY = 86400
NO_CLOCK = "—"
PAUSED_MARK = "⏸"
TICK_SLACK = 0.02
"""Ticks land just after a whole second, so whole-second deadlines have flipped by then."""


def _span(seconds: int) -> str:
    """A non-negative duration at the granularity its size deserves."""
    if seconds < HOUR:
        minutes, rest = divmod(seconds, MINUTE)
        return f"{minutes}:{rest:02d}"
    if seconds < DAY:
        hours, rest = divmod(seconds, HOUR)
        # One pattern per unit pair, so a language can drop the space too: "2小时10分".
        return _("{hours}h {minutes:02d}m").format(hours=hours, minutes=rest // MINUTE)
    days, rest = divmod(seconds, DAY)
    return _("{days}d {hours}h").format(days=days, hours=rest // HOUR)


def format_remaining(seconds: int | None, paused: bool = False) -> str:
    """``12:04``, ``2h 10m``, ``3d 4h``, ``-0:35 overdue``, ``⏸ 1h 05m``; ``—`` without a clock."""
    if seconds is None:
        return NO_CLOCK
    text = _span(seconds) if seconds >= 0 else _("-{elapsed} overdue").format(elapsed=_span(-seconds))
    return f"{PAUSED_MARK} {text}" if paused else text


def unchanged_until(seconds: int | None, now: float, warn_at: float | None = None, paused: bool = False) -> float:
    """The wall-clock instant before which a countdown showing ``seconds`` at ``now`` cannot read otherwise: its text
    shows whole units of the granularity its size deserves (`_span`), a clock moves at most one second a second (a
    business-hours clock less, or not at all out of hours) and its colour changes at the warning or with the text.
    Lets a table of far deadlines skip their clocks between changes."""
    if seconds is None or paused:
        return math.inf  # no clock, or a paused one: fixed until the row itself changes
    size = abs(seconds)
    unit = 1 if size < HOUR else MINUTE if size < DAY else HOUR
    # remaining time shows a new value once it has fallen below the next multiple down; overdue time once it has
    # risen to the next multiple up (one second early: the clocks round to whole seconds)
    steps = seconds % unit if seconds >= 0 else unit - size % unit - 1
    until = now + max(1, steps)
    if warn_at is not None and warn_at > now:
        until = min(until, warn_at)
    return until


def countdown_state(seconds: int | None, now: float, warn_at: float | None, paused: bool = False) -> CountdownState:
    """Colour state of a clock: a breach outranks a pause, a pause outranks a warning."""
    if seconds is None:
        return "none"
    if seconds < 0:
        return "breached"
    if paused:
        return "paused"
    if warn_at is not None and now >= warn_at:
        return "warning"
    return "ok"


def reading(seconds: int | None, now: float, warn_at: float | None, paused: bool = False) -> tuple[str, CountdownState]:
    """What a clock shows at ``now`` and in which colour state."""
    return format_remaining(seconds, paused), countdown_state(seconds, now, warn_at, paused)


def remaining_seconds(due_at: float | None, paused_remaining_s: int | None, now: float) -> int | None:
    """Wall-clock remaining time; floored so a clock reads overdue from the first second past due."""
    if due_at is not None:
        return math.floor(due_at - now)
    return paused_remaining_s


def widest_countdown() -> int:
    """Cells the longest likely countdown needs in the active language (a column width)."""
    samples = (
        format_remaining(-(99 * DAY + 23 * HOUR)),
        format_remaining(-(23 * HOUR + 59 * MINUTE)),
        format_remaining(-(59 * MINUTE + 59)),
        format_remaining(23 * HOUR + 59 * MINUTE, paused=True),
    )
    return max(cell_len(sample) for sample in samples)


def next_tick_delay(now: float) -> float:
    """Seconds until just after the next whole second, so every clock on screen flips in one frame."""
    return 1.0 - (now % 1.0) + TICK_SLACK


class SecondTicks:
    """Calls ``tick`` once a second on the wall-clock second, so every clock on screen flips in the same frame;
    pausable. The widget starts it when mounted and forwards its ``paused`` changes."""

    def __init__(self, widget: Widget, tick: Callable[[], None]) -> None:
        self._widget = widget
        self._tick = tick
        self._timer: Timer | None = None
        self._paused = False

    def start(self, paused: bool) -> None:
        self._paused = paused
        self._widget.set_timer(next_tick_delay(time.time()), self._begin)

    def _begin(self) -> None:
        self._timer = self._widget.set_interval(1.0, self._tick, pause=self._paused)
        self._tick()

    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        if self._timer is not None:
            self._timer.pause() if paused else self._timer.resume()
        if not paused:
            self._tick()


class Countdown(Widget):
    """One live SLA clock, e.g. in a ticket header: ``Resolve 2h 10m``.

    Repaints only when its text changes (once a minute for far deadlines). The state is exposed as
    the classes ``-ok``, ``-warning``, ``-breached``, ``-paused`` and ``-none`` for styling.
    """

    DEFAULT_CSS = """
    Countdown {
        width: auto;
        height: 1;
        &.-warning { color: $warning; }
        &.-breached { color: $error; text-style: bold; }
        &.-paused, &.-none { color: $text-muted; }
    }
    """

    paused: reactive[bool] = reactive(False, init=False)
    """Stop ticking (e.g. while the owner screen pauses live updates)."""

    def __init__(
        self,
        due_at: float | None = None,
        *,
        warn_at: float | None = None,
        paused_remaining_s: int | None = None,
        label: str = "",
        clock: Callable[[], float] = time.time,
        remaining: Callable[[float], int | None] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """
        Args:
            due_at: Epoch seconds when the clock is due, None when paused or absent.
            warn_at: Epoch seconds when it enters warning.
            paused_remaining_s: Frozen remaining seconds while paused.
            label: Text before the countdown (shown literally).
            clock: Time source (tests freeze it).
            remaining: Remaining seconds at a time, for business-hours clocks; default ``due_at - now``.
        """
        super().__init__(name=name, id=id, classes=classes)
        self._due_at = due_at
        self._warn_at = warn_at
        self._paused_remaining_s = paused_remaining_s
        self._label = clean(label)
        self._clock = clock
        self._remaining = remaining
        self._text = ""
        self._state: CountdownState = "none"
        self._ticks = SecondTicks(self, self.tick)
        self._update(self._clock())
        self._set_state_class()

    @property
    def text(self) -> str:
        """The countdown as last computed."""
        return self._text

    @property
    def state(self) -> CountdownState:
        return self._state

    def set_deadline(
        self,
        due_at: float | None,
        *,
        warn_at: float | None = None,
        paused_remaining_s: int | None = None,
        remaining: Callable[[float], int | None] | None = None,
    ) -> None:
        """Point the clock at another deadline (another ticket, or its clock changed)."""
        self._due_at, self._warn_at = due_at, warn_at
        self._paused_remaining_s, self._remaining = paused_remaining_s, remaining
        self._recompute()

    def on_mount(self) -> None:
        self._ticks.start(self.paused)

    def watch_paused(self, paused: bool) -> None:
        self._ticks.set_paused(paused)

    def tick(self) -> None:
        """Recompute the countdown (unless paused); repaint only if its text or state changed."""
        if not self.paused:
            self._recompute()

    def _recompute(self) -> None:
        before = (self._text, self._state)
        self._update(self._clock())
        if (self._text, self._state) == before:
            return
        self._set_state_class()
        self.refresh(layout=cell_len(before[0]) != cell_len(self._text))

    def _update(self, now: float) -> None:
        paused = self._due_at is None and self._paused_remaining_s is not None
        if self._remaining is not None:
            seconds = self._remaining(now)
        else:
            seconds = remaining_seconds(self._due_at, self._paused_remaining_s, now)
        self._text, self._state = reading(seconds, now, self._warn_at, paused)

    def _set_state_class(self) -> None:
        for state in _STATES:
            self.set_class(state == self._state, f"-{state}")

    def render(self) -> Content:
        # Content built from plain strings is never parsed as markup.
        return Content(f"{self._label} {self._text}" if self._label else self._text)
