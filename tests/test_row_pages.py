"""The queue table's page cache on its own: what it holds, drops, keeps showing and asks for."""

from __future__ import annotations

from widgets.row_pages import RowPages


def test_store_reports_changes_on_screen_only() -> None:
    pages: RowPages[str] = RowPages(page_size=10)
    assert pages.store(0, ["a", "b", "c"], total=3, watched=range(0, 2)) == [0, 1]
    assert pages.store(0, ["a", "B", "C"], total=3, watched=range(0, 2)) == [1]  # row 2 is off screen
    assert [pages.get(i) for i in range(4)] == ["a", "B", "C", None]
    assert pages.store(2, ["x", "beyond"], total=3, watched=range(0, 3)) == [2]  # nothing kept past the total
    assert pages.get(3) is None


def test_eviction_drops_least_recently_drawn_but_never_the_screen() -> None:
    pages: RowPages[int] = RowPages(page_size=10, max_pages=2)
    for page in range(4):
        pages.store(page * 10, list(range(page * 10, page * 10 + 10)), total=40, watched=range(0))
    pages.touch(5)  # page 0 was drawn last
    pages.evict(keep=range(30, 35))
    assert [pages.get(i * 10) is not None for i in range(4)] == [True, False, False, True]


def test_invalidated_rows_stay_shown_until_fresh_ones_come() -> None:
    pages: RowPages[str] = RowPages(page_size=10)
    pages.store(0, ["a", "b", "c", "d"], total=4, watched=range(0))
    pages.invalidate(shown=range(1, 3))
    assert [pages.get(i) for i in range(4)] == [None, "b", "c", None]
    assert pages.missing(0, 4, total=4) == (0, 4)
    assert pages.store(0, ["a", "b2", "c", "d"], total=4, watched=range(1, 3)) == [1]
    assert pages.get(1) == "b2" and pages.missing(0, 4, total=4) is None


def test_missing_asks_for_whole_pages_across_the_gap() -> None:
    pages: RowPages[int] = RowPages(page_size=10)
    pages.store(10, list(range(10)), total=35, watched=range(0))
    assert pages.missing(0, 35, total=35) == (0, 35)  # pages 0 and 2-3 missing: one request spanning them
    assert pages.missing(10, 20, total=35) is None
    assert pages.missing(12, 25, total=35) == (20, 10)
    assert pages.missing(0, 0, total=35) is None and pages.missing(0, 5, total=0) is None
