"""The rows a windowed table holds: whole pages, least recently drawn dropped first, and after an invalidation
the old rows on screen kept showing until fresh ones arrive."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Row = TypeVar("Row")


class RowPages(Generic[Row]):
    def __init__(self, page_size: int = 100, max_pages: int = 20) -> None:
        self.page_size = max(1, page_size)
        self.max_pages = max(1, max_pages)
        self._pages: OrderedDict[int, dict[int, Row]] = OrderedDict()
        self._stale: dict[int, Row] = {}  # shown after `invalidate` until fresh rows arrive

    def get(self, index: int) -> Row | None:
        page = self._pages.get(index // self.page_size)
        if page is not None and index in page:
            return page[index]
        return self._stale.get(index)

    def held(self) -> list[Row]:
        """Every row held, fresh or stale."""
        return [row for page in self._pages.values() for row in page.values()] + list(self._stale.values())

    def replace(self, same: Callable[[Row, Row], bool], rows: Sequence[Row]) -> list[int]:
        """Put each of ``rows`` in place of the held row ``same`` says it replaces; returns the indexes replaced."""
        replaced: list[int] = []
        for store in (*self._pages.values(), self._stale):
            for index, held in store.items():
                for row in rows:
                    if same(held, row):
                        store[index] = row
                        replaced.append(index)
                        break
        return replaced

    def touch(self, index: int) -> None:
        """Row ``index`` was drawn: its page is the last to go."""
        page_no = index // self.page_size
        if page_no in self._pages:
            self._pages.move_to_end(page_no)

    def store(self, offset: int, rows: Sequence[Row], total: int, watched: range) -> list[int]:
        """Keep rows ``offset …`` (those below ``total``); returns the indexes in ``watched`` whose row changed."""
        changed: list[int] = []
        for index, row in enumerate(rows, offset):
            if index >= total:
                break
            if index in watched and self.get(index) != row:
                changed.append(index)
            self._stale.pop(index, None)
            page_no = index // self.page_size
            self._pages.setdefault(page_no, {})[index] = row
            self._pages.move_to_end(page_no)
        return changed

    def evict(self, keep: range) -> None:
        """Drop least recently drawn pages beyond ``max_pages``, never one holding an index in ``keep``."""
        kept_pages = range(keep.start // self.page_size, max(keep.start, keep.stop - 1) // self.page_size + 1)
        for page_no in list(self._pages):
            if len(self._pages) <= self.max_pages:
                break
            if page_no not in kept_pages:
                del self._pages[page_no]

    def invalidate(self, shown: range) -> None:
        """Forget every page, keeping the rows in ``shown`` to draw until their fresh copies come."""
        for index in shown:
            row = self.get(index)
            if row is not None:
                self._stale[index] = row
        self._pages.clear()

    def clear(self) -> None:
        self._pages.clear()
        self._stale.clear()

    def missing(self, first: int, last: int, total: int) -> tuple[int, int] | None:
        """(offset, limit) of the pages covering rows ``first`` to ``last`` not fully held, or None."""
        if total <= 0 or last <= first:
            return None
        size = self.page_size
        wanted = [
            page_no
            for page_no in range(first // size, (last - 1) // size + 1)
            if len(self._pages.get(page_no, ())) < min(size, total - page_no * size)
        ]
        if not wanted:
            return None
        offset = wanted[0] * size
        return offset, min(total, (wanted[-1] + 1) * size) - offset
