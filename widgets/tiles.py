"""Wallboard tiles: a big number with its label, a small table, a list of live countdowns.

Tiles are handed plain values and repaint only when a value actually changed, so an idle board costs
nothing on the wire but the countdowns that tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Digits, Static

from widgets.countdown import (
    SecondTicks,
    reading,
    remaining_seconds,
    widest_countdown,
)
from widgets.safe_text import clean, fit, plain
from widgets.styling import component_layer

Tone = Literal["plain", "good", "warning", "bad"]
_TONES: tuple[Tone, ...] = ("plain", "good", "warning", "bad")


class NumberTile(Vertical):
    """A label, a value in large numerals (or one bold line when the screen is short) and a caption.

    The tone sets one of the classes ``-good``, ``-warning``, ``-bad`` (colour only where it means something).
    """

    DEFAULT_CSS = """
    NumberTile {
        height: 100%;
        padding: 0 1;
        border-left: vkey $panel-lighten-2;
        & > .tile-label { color: $text-muted; width: 1fr; height: 1; }
        & > .tile-value { text-style: bold; width: 1fr; height: 1; display: none; }
        & > .tile-caption { color: $text-muted; width: 1fr; height: 1; }
        & > Digits { width: 1fr; }
        &.-compact > .tile-value { display: block; }
        &.-compact > Digits { display: none; }
        &.-good > Digits, &.-good > .tile-value { color: $success; }
        &.-warning > Digits, &.-warning > .tile-value { color: $warning; }
        &.-bad > Digits, &.-bad > .tile-value { color: $error; }
    }
    """

    def __init__(self, label: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._label = clean(label)
        self._value = "—"
        self._caption = ""
        self._tone: Tone = "plain"

    def compose(self) -> ComposeResult:
        yield Static(Content(self._label), classes="tile-label", markup=False)
        yield Digits(self._value)
        yield Static(Content(self._value), classes="tile-value", markup=False)
        yield Static(Content(self._caption), classes="tile-caption", markup=False)

    @property
    def value(self) -> str:
        return self._value

    @property
    def caption(self) -> str:
        return self._caption

    def show(self, value: str, caption: str = "", tone: Tone = "plain") -> None:
        """Set what the tile shows; only the parts that changed are repainted."""
        if value != self._value:
            self._value = value
            self.query_one(Digits).update(value)
            self.query_one(".tile-value", Static).update(Content(value))
        if caption != self._caption:
            self._caption = caption
            self.query_one(".tile-caption", Static).update(plain(caption))
        if tone != self._tone:
            self._tone = tone
            for name in _TONES:
                self.set_class(name == tone, f"-{name}")


class TableTile(Widget):
    """A titled, fixed-column table of short rows (e.g. each agent's open and breached tickets)."""

    DEFAULT_CSS = """
    TableTile {
        height: 1fr;
        padding: 0 1;
    }
    """

    def __init__(self, title: str, headers: Sequence[str], widths: Sequence[int], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._title = clean(title)
        self._headers = [clean(h) for h in headers]
        self._widths = list(widths)
        self._rows: list[tuple[str, ...]] = []

    @property
    def rows(self) -> list[tuple[str, ...]]:
        return list(self._rows)

    def set_rows(self, rows: Sequence[Sequence[str]]) -> None:
        new = [tuple(clean(cell) for cell in row) for row in rows]
        if new != self._rows:
            self._rows = new
            self.refresh()

    def _line(self, cells: Sequence[str]) -> str:
        # The first column takes what the others leave; numbers are right-aligned.
        first = max(4, self.size.width - sum(w + 1 for w in self._widths[1:]))
        parts = [fit(cells[0], first)]
        parts += [fit(cell, width, "right") for cell, width in zip(cells[1:], self._widths[1:], strict=False)]
        return " ".join(parts)

    def render(self) -> Content:
        lines = [Content.styled(self._title, "bold"), Content.styled(self._line(self._headers), "dim")]
        for row in self._rows[: max(0, self.size.height - 2)]:
            lines.append(Content(self._line(row)))
        return Content("\n").join(lines)


@dataclass(frozen=True)
class CountdownItem:
    """One line of the countdown list: its key, the text beside the clock, and the deadline."""

    key: int
    text: str
    due_at: float
    warn_at: float | None
    remaining: Callable[[float], int | None] | None = None


# One line of the countdown list as drawn: ("title" | "empty" | "more", text) or ("item", clock, state, text).
_Line = tuple[str, ...]


class CountdownList(Widget):
    """A titled list of lines with a live countdown each, most urgent first.

    It shows as many lines as its height holds, in the order given; when more items exist than fit (``total``
    counts those not handed over too), the last line says how many are left out, in the words of ``more``
    (called with the number hidden and the number shown). The caller orders the items so that what must never
    be hidden comes first.

    One widget draws every line (Textual's line API) and one timer ticks every clock on the wall-clock second: a
    board's clocks that move each second then cost one widget's changed lines a frame, not a widget each (each of
    those was rendered and composited on its own, most of an idle board's CPU).
    """

    DEFAULT_CSS = """
    CountdownList {
        height: 1fr;
        padding: 0 1;
        & > .countdown-list--title { text-style: bold; }
        & > .countdown-list--muted { color: $text-muted; }
        & > .countdown-list--more { color: $text-muted; text-style: bold; }
        & > .countdown-list--warning { color: $warning; }
        & > .countdown-list--breached { color: $error; text-style: bold; }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "countdown-list--title",
        "countdown-list--muted",
        "countdown-list--more",
        "countdown-list--warning",
        "countdown-list--breached",
    }

    def __init__(
        self,
        title: str,
        empty: str,
        *,
        clock: Callable[[], float] = time.time,
        more: Callable[[int, int], str] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._title = clean(title)
        self._empty = clean(empty)
        self._clock = clock
        self._more = more or (lambda hidden, _shown: f"+{hidden}")
        self._items: list[CountdownItem] = []
        self._total = 0
        self._shown = 0
        self._more_text = ""
        self._lines: list[_Line] = []
        self._styles: dict[str, Style] = {}
        self._ticks = SecondTicks(self, self._tick)
        self._clock_width = 0

    def on_mount(self) -> None:
        self._clock_width = widest_countdown() + 1  # one column wide enough in the active language
        self._ticks.start(False)

    @property
    def keys(self) -> list[int]:
        """The keys of the lines shown, top to bottom."""
        return [item.key for item in self._items[: self._shown]]

    @property
    def more_text(self) -> str:
        """What the last line says of the items left out ("" when all are shown)."""
        return self._more_text

    @property
    def lines(self) -> list[str]:
        """The lines as shown (clock and text of each item), top to bottom: for tests and tools."""
        return [f"{line[1]} {line[3]}" if line[0] == "item" else line[1] for line in self._lines]

    def set_items(self, items: Sequence[CountdownItem], total: int | None = None) -> None:
        """The items in the order to show them; ``total`` (at least ``len(items)``) counts every item there is."""
        self._items = list(items)
        self._total = max(len(self._items), total or 0)
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _rows(self) -> int:
        """Lines the list has room for under its title."""
        return max(0, self.content_size.height - 1)

    def _fit(self) -> None:
        if not self.is_mounted:
            return
        rows = self._rows()
        shown = min(len(self._items), rows)
        hidden = self._total - shown
        if hidden > 0 and shown > 0 and shown == rows:
            shown -= 1  # the last line says what is left out
            hidden += 1
        self._shown = shown
        self._more_text = self._more(hidden, shown) if hidden > 0 else ""
        self._draw(self._clock())

    def _tick(self) -> None:
        if self._shown:
            self._draw(self._clock())

    def _draw(self, now: float) -> None:
        """The lines at ``now``; only those that read otherwise than before are repainted."""
        lines: list[_Line] = [("title", self._title)]
        if not self._items:
            lines.append(("empty", self._empty))
        for item in self._items[: self._shown]:
            seconds = item.remaining(now) if item.remaining is not None else remaining_seconds(item.due_at, None, now)
            lines.append(("item", *reading(seconds, now, item.warn_at), clean(item.text)))
        if self._more_text:
            lines.append(("more", clean(self._more_text)))
        before, self._lines = self._lines, lines
        width = self.content_size.width
        for y in range(max(len(before), len(lines))):
            old, new = (before[y] if y < len(before) else None), (lines[y] if y < len(lines) else None)
            if old == new:
                continue
            if old is not None and new is not None and old[0] == new[0] == "item" and old[3] == new[3]:
                self.refresh(Region(0, y, self._clock_width, 1))  # only the clock moved: only its cells go out
            else:
                self.refresh(Region(0, y, width, 1))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def _style(self, name: str) -> Style:
        """The widget's style with a component's colour and text style over it (kept until restyled)."""
        style = self._styles.get(name)
        if style is None:
            if name == "base":
                style = self.rich_style
            else:
                style = self.rich_style + component_layer(self, f"countdown-list--{name}")
            self._styles[name] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        base = self._style("base")
        if y >= len(self._lines):
            return Strip.blank(width, base)
        kind, *parts = self._lines[y]
        if kind == "item":
            clock, state, text = parts
            clock_width = self._clock_width
            clock_style = self._style(_STATE_COMPONENT[state]) if state in _STATE_COMPONENT else base
            segments = [
                Segment(fit(clock, clock_width, "right"), clock_style),
                Segment(" " + fit(text, max(0, width - clock_width - 1)), base),
            ]
        else:
            component = {"title": "title", "empty": "muted", "more": "more"}[kind]
            segments = [Segment(fit(parts[0], width), self._style(component))]
        return Strip(segments).adjust_cell_length(width, base)


# A clock's state as the list colours it (an "ok" clock keeps the widget's colour).
_STATE_COMPONENT = {"warning": "warning", "breached": "breached", "paused": "muted", "none": "muted"}
