"""Wallboard tiles: a big number with its label, a small table, a list of live countdowns.

Tiles are handed plain values and repaint only when a value actually changed, so an idle board costs
nothing on the wire but the countdowns that tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Digits, Static

from widgets.countdown import Countdown, widest_countdown
from widgets.safe_text import clean, fit, plain

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


class CountdownLine(Horizontal):
    DEFAULT_CSS = """
    CountdownLine {
        height: 1;
        & > Countdown { text-align: right; text-wrap: nowrap; margin-right: 1; }
        & > Static { width: 1fr; height: 1; }
    }
    """

    def __init__(self, item: CountdownItem, clock: Callable[[], float]) -> None:
        super().__init__()
        self.item = item
        self._clock = clock

    def compose(self) -> ComposeResult:
        countdown = Countdown(
            self.item.due_at, warn_at=self.item.warn_at, clock=self._clock, remaining=self.item.remaining
        )
        countdown.styles.width = widest_countdown() + 1  # one column wide enough in the active language
        yield countdown
        yield Static(plain(self.item.text), markup=False)

    def update_item(self, item: CountdownItem) -> None:
        """Show ``item`` on this line (the same ticket's new figures, or another ticket: lines are reused)."""
        if item.text != self.item.text:
            self.query_one(Static).update(plain(item.text))
        if (item.key, item.due_at, item.warn_at) != (self.item.key, self.item.due_at, self.item.warn_at):
            countdown = self.query_one(Countdown)
            countdown.set_deadline(item.due_at, warn_at=item.warn_at, remaining=item.remaining)
        self.item = item


class CountdownList(Vertical):
    """A titled list of lines with a live countdown each, most urgent first; lines are reused in place.

    It shows as many lines as its height holds, in the order given; when more items exist than fit (``total``
    counts those not handed over too), the last line says how many are left out, in the words of ``more``
    (called with the number hidden and the number shown). The caller orders the items so that what must never
    be hidden comes first.
    """

    DEFAULT_CSS = """
    CountdownList {
        height: 1fr;
        padding: 0 1;
        & > .list-title { text-style: bold; height: 1; }
        & > .list-empty { color: $text-muted; height: 1; }
        & > .list-more { color: $text-muted; text-style: bold; height: 1; display: none; }
    }
    """

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
        # The lines, kept here rather than queried: a removal or mount still pending in the DOM is already
        # counted, so fits in quick succession (new items, then a resize) never leave extra lines.
        self._lines: list[CountdownLine] = []
        self._more_text = ""

    def compose(self) -> ComposeResult:
        yield Static(Content(self._title), classes="list-title", markup=False)
        yield Static(Content(self._empty), classes="list-empty", markup=False)
        yield Static("", classes="list-more", markup=False)

    @property
    def keys(self) -> list[int]:
        """The keys of the lines shown, top to bottom."""
        return [line.item.key for line in self._lines]

    @property
    def more_text(self) -> str:
        """What the last line says of the items left out ("" when all are shown)."""
        return self._more_text

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
        items = self._items[:shown]
        self.query_one(".list-empty").display = not self._items
        more = self._more(hidden, shown) if hidden > 0 else ""
        more_line = self.query_one(".list-more", Static)
        if more != self._more_text:
            self._more_text = more
            more_line.update(plain(more))
        more_line.display = bool(more)
        for line, item in zip(self._lines, items, strict=False):
            line.update_item(item)
        if len(items) > len(self._lines):
            new = [CountdownLine(item, self._clock) for item in items[len(self._lines) :]]
            self._lines.extend(new)
            self.mount_all(new, before=more_line)
        elif len(items) < len(self._lines):
            extra, self._lines = self._lines[len(items) :], self._lines[: len(items)]
            with self.app.batch_update():
                for line in extra:
                    line.remove()
