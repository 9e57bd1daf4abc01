"""The ticket queue: a windowed table for 100,000 tickets with live SLA countdowns.

Built on the line API (``ScrollView.render_line``): only visible lines are rendered, and only pages of rows
the owner hands down are held. Each second the countdowns on screen are recomputed and only the cells whose
text changed are repainted, so a screen of far deadlines sends nothing and an urgent clock a few bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from math import ceil
from typing import ClassVar, Literal

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar
from textual.strip import Strip

from console.i18n import N_, _
from widgets.bindings import translate_bindings
from widgets.countdown import (
    CountdownState,
    SecondTicks,
    reading,
    unchanged_until,
    widest_countdown,
)
from widgets.queue_layout import (
    COMPONENTS,
    STATE_COMPONENT,
    SUBJECT_MIN,
    TITLES,
    Column,
    ColumnKey,
    changed_cells,
    layout_columns,
)
from widgets.queue_row import (
    CLOCK_LABELS,
    QueueRow,
    RemainingFor,
    default_clock_label,
    default_remaining,
    is_paused,
    same_code,
)
from widgets.row_pages import RowPages
from widgets.safe_text import clean, fit
from widgets.styling import component_layer

__all__ = ["COMPONENTS", "SUBJECT_MIN", "QueueRow", "QueueTable", "layout_columns"]


class QueueTable(ScrollView, can_focus=True):
    """Ticket queue over a sparse, windowed row source, with live SLA countdowns.

    The owner answers `WindowNeeded` with `set_window`, calls `reset` when the view or filter changes and
    `invalidate` when data changed elsewhere.

    Component classes: ``queue-table--header``, ``--cursor``, ``--warning``, ``--breached``, ``--paused``,
    ``--placeholder`` (loading rows, no clock) and ``--p1`` … ``--p4`` (the priority cell).
    """

    DEFAULT_CSS = """
    QueueTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        & > .queue-table--header { background: $panel; color: $foreground; text-style: bold; }
        & > .queue-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .queue-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .queue-table--warning { color: $warning; }
        & > .queue-table--breached { color: $error; text-style: bold; }
        & > .queue-table--paused { color: $text-muted; }
        & > .queue-table--placeholder { color: $text-disabled; }
        & > .queue-table--p1 { color: $error; text-style: bold; }
        & > .queue-table--p2 { color: $warning; }
        & > .queue-table--p3 { }
        & > .queue-table--p4 { color: $text-muted; }
    }
    """

    COMPONENT_CLASSES = {f"queue-table--{name}" for name in COMPONENTS}

    BINDINGS = [
        Binding("down,j", "cursor_down", N_("Down"), show=False, id="queue_table.cursor_down"),
        Binding("up,k", "cursor_up", N_("Up"), show=False, id="queue_table.cursor_up"),
        Binding("home,g", "cursor_first", N_("First"), show=False, id="queue_table.cursor_first"),
        Binding("end,G", "cursor_last", N_("Last"), show=False, id="queue_table.cursor_last"),
        Binding("pageup", "cursor_page_up", N_("Page up"), show=False, id="queue_table.page_up"),
        Binding("pagedown", "cursor_page_down", N_("Page down"), show=False, id="queue_table.page_down"),
        Binding("enter", "choose", N_("Open"), id="queue_table.choose"),
    ]

    paused: reactive[bool] = reactive(False, init=False)
    """Stop the countdowns ticking (the owner screen binds a key to it)."""

    class _Posted(Message):
        """A message from a queue table; ``control`` is the table (so handlers can select it by id)."""

        coalesce: ClassVar[bool] = False  # a newer one replaces an older one of its kind still queued

        def __init__(self, queue_table: QueueTable) -> None:
            super().__init__()
            self.queue_table = queue_table

        @property
        def control(self) -> QueueTable:
            return self.queue_table

        def can_replace(self, message: Message) -> bool:
            return (
                self.coalesce
                and isinstance(message, QueueTable._Posted)
                and type(message) is type(self)
                and message.queue_table is self.queue_table
            )

    class WindowNeeded(_Posted):
        """Rows ``offset`` to ``offset + limit`` are on (or near) the screen but not held."""

        coalesce = True  # a burst of scrolling leaves only the latest window to fetch

        def __init__(self, queue_table: QueueTable, offset: int, limit: int) -> None:
            super().__init__(queue_table)
            self.offset = offset
            self.limit = limit

    class TicketChosen(_Posted):
        """Enter (or a double click) on a ticket."""

        def __init__(self, queue_table: QueueTable, ticket_id: int) -> None:
            super().__init__(queue_table)
            self.ticket_id = ticket_id

    class CursorMoved(_Posted):
        """The cursor is on another ticket (None: empty queue)."""

        coalesce = True  # key repeat: a preview pane only needs the ticket the cursor settled on

        def __init__(self, queue_table: QueueTable, ticket_id: int | None) -> None:
            super().__init__(queue_table)
            self.ticket_id = ticket_id

    def __init__(
        self,
        *,
        total: int = 0,
        remaining_for: RemainingFor = default_remaining,
        clock: Callable[[], float] = time.time,
        status_label: Callable[[str], str] = same_code,
        clock_label: Callable[[str | None], str] = default_clock_label,
        page_size: int = 100,
        max_pages: int = 20,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        """
        Args:
            total: Number of rows in the queue (rows arrive later through `set_window`).
            remaining_for: Seconds left on a row's clock at a time (business-hours clocks count open
                time only).
            clock: Time source.
            status_label: Display label of a status code.
            clock_label: Display label of a clock code.
            page_size: Rows per cached page (requests are whole pages).
            max_pages: Pages held before the least recently drawn is dropped.
        """
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        translate_bindings(self)
        self._remaining_for = remaining_for
        self._clock = clock
        self._status_label = status_label
        self._clock_label = clock_label
        self._rows: RowPages[QueueRow] = RowPages(page_size, max_pages)
        self._total = max(0, total)
        self._requested: tuple[int, int] | None = None
        self._cursor = 0
        self._announced: int | None = None
        self._now = clock()
        self._ticks = SecondTicks(self, self.tick)
        self._columns: tuple[Column, ...] = ()
        self._layout_width = -1
        self._styles: dict[str, Style] = {}
        self._row_cells: dict[int, tuple[QueueRow, bool, list[Segment]]] = {}  # by ticket: kept as rows move
        self._drawn: dict[int, tuple[str, CountdownState]] = {}
        self._holds: dict[int, float] = {}  # index -> until when its countdown cannot change (`unchanged_until`)
        self._id_width = 6
        self._render_size: tuple[int, int] | None = None
        self._loaded = total > 0  # until the owner hands down a first answer, an empty queue is not yet known

    # -- public API ---------------------------------------------------------------------------------

    @property
    def total(self) -> int:
        return self._total

    @property
    def cursor_index(self) -> int:
        return self._cursor

    @property
    def cursor_ticket_id(self) -> int | None:
        row = self.row_at(self._cursor)
        return None if row is None else row.ticket_id

    def row_at(self, index: int) -> QueueRow | None:
        return self._rows.get(index)

    def held_ticket_ids(self) -> set[int]:
        """The tickets of every row the table holds (on screen and the pages around it)."""
        return {row.ticket_id for row in self._rows.held()}

    def update_rows(self, rows: Sequence[QueueRow]) -> None:
        """Fresh copies of rows held (the same tickets, in the same places: their order did not change)."""
        for index in self._rows.replace(lambda held, row: held.ticket_id == row.ticket_id, rows):
            self._refresh_index(index)

    def set_total(self, total: int) -> None:
        """The queue grew or shrank (a change applied elsewhere); rows already held stay."""
        if total != self._total:
            self._set_total(total)
            self.refresh()

    def set_window(self, offset: int, rows: Sequence[QueueRow], total: int) -> None:
        """Hand down rows ``offset …`` of a queue of ``total`` rows (the answer to `WindowNeeded`)."""
        self._accept(offset, rows, total)
        self._request_window()

    def screen_window(self) -> tuple[int, int]:
        """(offset, limit) of the rows a screen shows from the top row on screen: what the owner reads again, with
        its change, when a change elsewhere reorders the queue (`refreshed`)."""
        return self.scroll_offset.y, self._page_height()

    def refreshed(self, offset: int, rows: Sequence[QueueRow], total: int) -> None:
        """Fresh rows for the screen (`screen_window`) after a change elsewhere that may have moved any row. Rows held
        off screen are kept to draw, but read again when scrolled to: a change costs a screen of rows, not pages."""
        top, height = self.scroll_offset.y, self._page_height()
        self._rows.invalidate(range(max(0, top - height), top + 2 * height))
        self._requested = None
        self._accept(offset, rows, total)

    def _accept(self, offset: int, rows: Sequence[QueueRow], total: int) -> None:
        self._loaded = True
        if total != self._total:
            self._set_total(total)
        before = self.row_at(self._cursor)
        changed = self._store(offset, rows)
        if self._requested is not None:
            start, limit = self._requested
            if offset <= start and offset + len(rows) >= min(start + limit, self._total):
                self._requested = None
        after = self.row_at(self._cursor)
        if before is not None and after is not None and after.ticket_id != before.ticket_id:
            self._follow(before.ticket_id, offset, rows)
        for index in changed:
            self._refresh_index(index)
        self._announce_cursor()

    def reset(self, total: int, rows: Sequence[QueueRow] = ()) -> None:
        """Forget every row (the view or filter changed). ``rows`` are the new first rows when the owner has
        them already (one round trip less on opening); placeholders show until the rest arrive."""
        self._rows.clear()
        self._requested = None
        self._row_cells.clear()
        self._drawn.clear()
        self._holds.clear()
        self._cursor = 0
        self._loaded = True
        self._set_total(total)
        self._store(0, rows)
        if self.is_mounted:
            self.scroll_to(y=0, animate=False)
        self.refresh()
        if self._total == 0:
            self._announce_cursor()
        self._request_window()

    def invalidate(self) -> None:
        """Refetch the rows on screen (data changed elsewhere); they stay shown and the cursor stays put."""
        self._rows.invalidate(range(*self._visible_rows()))
        self._requested = None
        self._request_window()

    def move_cursor(self, index: int) -> None:
        """Put the cursor on row ``index`` (clamped) and scroll it into view."""
        if self._total == 0:
            return
        index = max(0, min(index, self._total - 1))
        if index != self._cursor:
            self._refresh_index(self._cursor)
            self._cursor = index
            self._refresh_index(index)
        self._scroll_to_cursor()
        self._announce_cursor()

    def tick(self) -> None:
        """Recompute the countdowns on screen and repaint only the cells whose text changed."""
        if self.paused or not self.is_mounted:
            return
        self._now = now = self._clock()
        if not self.screen.is_current:
            return  # another screen covers this one; it repaints in full when it comes back
        column = self._column("countdown")
        if column is None:
            return
        top, bottom = self._visible_rows()
        for index in range(top, bottom):
            drawn = self._drawn.get(index)
            row = self.row_at(index)
            if drawn is None or row is None:
                continue  # not on screen yet: its first paint will use the new time anyway
            if now < self._holds.get(index, 0.0):
                continue  # a far deadline: its text cannot have changed yet
            text, state = self._countdown(index, row, now)
            if (text, state) == drawn:
                continue
            start, end = changed_cells(drawn[0], text, column.width, restyled=state != drawn[1])
            if end > start:
                self.refresh(Region(column.x + start, index - top + 1, end - start, 1))

    # -- actions and events ---------------------------------------------------------------------------

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor - 1)

    def action_cursor_first(self) -> None:
        self.move_cursor(0)

    def action_cursor_last(self) -> None:
        self.move_cursor(self._total - 1)

    def action_cursor_page_down(self) -> None:
        self.move_cursor(self._cursor + self._page_height())

    def action_cursor_page_up(self) -> None:
        self.move_cursor(self._cursor - self._page_height())

    def action_choose(self) -> None:
        ticket_id = self.cursor_ticket_id
        if ticket_id is not None:
            self.post_message(self.TicketChosen(self, ticket_id))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        self.move_cursor(self.scroll_offset.y + offset.y - 1)
        if event.chain == 2:
            self.action_choose()

    def on_mount(self) -> None:
        self._set_total(self._total)
        self._ticks.start(self.paused)

    def watch_paused(self, paused: bool) -> None:
        self._ticks.set_paused(paused)

    def on_resize(self) -> None:
        self._scroll_to_cursor()
        self._request_window()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self._drawn.clear()
            self._holds.clear()
            self._request_window()

    def notify_style_update(self) -> None:
        # Theme changes and focus (the cursor looks different) both come through here.
        super().notify_style_update()
        self._styles.clear()
        self._row_cells.clear()

    # -- rendering ------------------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # The widget's region is looked up in the compositor on every access; once per batch of lines is enough.
        region = self.scrollable_content_region
        self._render_size = (region.width, region.height)
        try:
            return super().render_lines(crop)
        finally:
            self._render_size = None

    def render_line(self, y: int) -> Strip:
        width = self._render_size[0] if self._render_size else self.scrollable_content_region.width
        if width != self._layout_width:
            self._relayout(width)
        if y == 0:
            return self._header_strip(width)
        index = self.scroll_offset.y + y - 1
        if index >= self._total:
            if index == 0:
                return self._filler(width, _("No tickets") if self._loaded else _("Loading…"))
            return Strip.blank(width, self._style("base"))
        row = self.row_at(index)
        if row is None:
            return self._filler(width, "…")
        self._rows.touch(index)
        cursor = index == self._cursor
        text, state = self._countdown(index, row, self._now)
        self._drawn[index] = (text, state)
        base = self._style("cursor" if cursor else "base")
        state_style = base + self._style(STATE_COMPONENT[state]) if state in STATE_COMPONENT else base
        countdown = Segment(fit(text, self._columns[0].width), state_style)
        return Strip([countdown, *self._cells(row, cursor)]).adjust_cell_length(width, base)

    def _cells(self, row: QueueRow, cursor: bool) -> list[Segment]:
        """Every cell of a row after the countdown: unchanged between ticks, so kept."""
        cached = self._row_cells.get(row.ticket_id)
        if cached is not None and cached[1] == cursor and cached[0] == row:
            return cached[2]
        base = self._style("cursor" if cursor else "base")
        texts: dict[ColumnKey, str] = {
            "id": str(row.ticket_id),
            "priority": row.priority,
            "subject": row.subject,
            "customer": row.customer,
            "status": self._status_label(row.status),
            "owner": row.owner,
            "clock": self._clock_label(row.clock),
        }
        segments: list[Segment] = []
        for column in self._columns[1:]:
            align: Literal["left", "right"] = "right" if column.key == "id" else "left"
            cell = " " + fit(clean(texts[column.key]), column.width, align)
            style = base
            if column.key == "priority" and row.priority.lower() in COMPONENTS:
                style = base + self._style(row.priority.lower())
            if segments and segments[-1].style == style:
                segments[-1] = Segment(segments[-1].text + cell, style)
            else:
                segments.append(Segment(cell, style))
        height = self._render_size[1] if self._render_size else self.size.height
        if len(self._row_cells) > 4 * max(1, height):
            self._row_cells.clear()
        self._row_cells[row.ticket_id] = (row, cursor, segments)
        return segments

    def _header_strip(self, width: int) -> Strip:
        parts = []
        for column in self._columns:
            align: Literal["left", "right"] = "right" if column.key == "id" else "left"
            parts.append(fit(column.title, column.width, align))
        return Strip([Segment(" ".join(parts), self._style("header"))]).adjust_cell_length(width, self._style("header"))

    def _filler(self, width: int, text: str) -> Strip:
        subject = self._column("subject")
        indent = subject.x if subject is not None else 0
        style = self._style("base") + self._style("placeholder")
        return Strip([Segment(" " * indent + text, style)]).adjust_cell_length(width, self._style("base"))

    def _style(self, name: str) -> Style:
        """Rich styles of the widget and its components, kept until restyled.

        Header and cursor are whole line styles; the others are layers (``component_layer``).
        """
        style = self._styles.get(name)
        if style is None:
            if name == "base":
                style = self.rich_style
            else:
                component = f"queue-table--{name}"
                if name in ("header", "cursor"):
                    style = self.get_component_rich_style(component)
                else:
                    style = component_layer(self, component)
            self._styles[name] = style
        return style

    def _relayout(self, width: int) -> None:
        fixed: dict[ColumnKey, int] = {
            "id": max(self._id_width, cell_len(_(TITLES["id"]))),
            "priority": max(2, cell_len(_(TITLES["priority"]))),
            "status": max(9, cell_len(_(TITLES["status"]))),
            "clock": min(12, max(cell_len(_(label)) for label in (TITLES["clock"], *CLOCK_LABELS.values()))),
            "countdown": min(18, max(widest_countdown(), cell_len(_(TITLES["countdown"])))),
        }
        self._columns = layout_columns(width, fixed)
        self._layout_width = width
        self._row_cells.clear()

    # -- bookkeeping ----------------------------------------------------------------------------------

    def _countdown(self, index: int, row: QueueRow, now: float) -> tuple[str, CountdownState]:
        """Row ``index``'s countdown at ``now``; notes until when it will read the same."""
        seconds = self._remaining_for(row, now)
        paused = is_paused(row)
        self._holds[index] = unchanged_until(seconds, now, row.warn_at, paused)
        return reading(seconds, now, row.warn_at, paused)

    def _column(self, key: ColumnKey) -> Column | None:
        return next((column for column in self._columns if column.key == key), None)

    def _page_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _visible_rows(self) -> tuple[int, int]:
        top = self.scroll_offset.y
        return top, min(self._total, top + self._page_height())

    def _set_total(self, total: int) -> None:
        self._total = max(0, total)
        self._cursor = max(0, min(self._cursor, self._total - 1))
        size = Size(0, self._total + 1)  # one line for the header
        if size == self.virtual_size:
            return
        if not self.is_mounted:
            self.virtual_size = size
            return
        # A queue that grows or shrinks by a ticket needs no layout pass of the screen (what Textual's own
        # `_size_updated(layout=False)` does; a scrollbar shown or hidden still lays out), and its scrollbar is
        # painted again only when its thumb moves: on a long queue it rarely does, and a repaint costs more than a row.
        bar = self.vertical_scrollbar if self.show_vertical_scrollbar else None
        height = 0 if bar is None else bar.size.height
        before = None if bar is None else _thumb(height, bar.window_virtual_size, bar.window_size, bar.position)
        self.set_reactive(ScrollView.virtual_size, size)
        if bar is not None and before == _thumb(height, size.height, bar.window_size, bar.position):
            bar.set_reactive(ScrollBar.window_virtual_size, size.height)
            self.scroll_y = self.validate_scroll_y(self.scroll_y)
            return
        self._scroll_update(size)

    def _refresh_index(self, index: int) -> None:
        top, bottom = self._visible_rows()
        if top <= index < bottom:
            self.refresh(Region(0, index - top + 1, self.scrollable_content_region.width, 1))

    def _scroll_to_cursor(self) -> None:
        top, height = self.scroll_offset.y, self._page_height()
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False)
        elif self._cursor >= top + height:
            self.scroll_to(y=self._cursor - height + 1, animate=False)

    def _announce_cursor(self) -> None:
        """Post CursorMoved when the ticket under the cursor changes (once its row is known)."""
        if self._total and self.row_at(self._cursor) is None:
            return
        ticket_id = self.cursor_ticket_id
        if ticket_id != self._announced:
            self._announced = ticket_id
            self.post_message(self.CursorMoved(self, ticket_id))

    def _follow(self, ticket_id: int, offset: int, rows: Sequence[QueueRow]) -> None:
        """Fresh rows put another ticket under the cursor: move to where its ticket went, if it came too."""
        for index, row in enumerate(rows, offset):
            if row.ticket_id == ticket_id:
                self._refresh_index(self._cursor)
                self._cursor = index
                self._refresh_index(index)
                self._scroll_to_cursor()
                return

    def _store(self, offset: int, rows: Sequence[QueueRow]) -> list[int]:
        """Keep rows ``offset …``; returns the indexes on screen whose row changed."""
        changed = self._rows.store(offset, rows, self._total, range(*self._visible_rows()))
        top, height = self.scroll_offset.y, self._page_height()
        self._rows.evict(range(max(0, top - height), top + 2 * height + 1))  # the screen and one either side
        widest = max((len(str(row.ticket_id)) for row in rows), default=0)
        if widest > self._id_width:
            self._id_width = widest
            self._layout_width = -1
            self.refresh()
        return changed

    def _request_window(self) -> None:
        """Ask for the pages on screen and a screen either side that are not held yet."""
        if self._total == 0 or not self.is_mounted:
            return
        top, height = self.scroll_offset.y, self._page_height()
        window = self._rows.missing(max(0, top - height), min(self._total, top + 2 * height), self._total)
        if window is None:
            return
        if window != self._requested:
            self._requested = window
            self.post_message(self.WindowNeeded(self, *window))


def _thumb(size: int, virtual: float, window: float, position: float) -> tuple[int, int] | None:
    """Where a vertical scrollbar of ``size`` cells draws its thumb, in eighths of a cell (Textual's
    ScrollBarRender.render_bar); None when it draws none."""
    virtual, window = ceil(virtual), ceil(window) if window < virtual else 0
    if not (window and size and virtual and size != virtual):
        return None
    thumb = max(1, window / (virtual / size))
    start = int((size - thumb) * (position / (virtual - window)) * 8)
    return start, start + ceil(thumb * 8)
