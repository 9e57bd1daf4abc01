"""The on-disk holiday tables: same answers as the `holidays` package, survive damage, never block a calendar."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from console.rules import holiday_cache


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv(holiday_cache.CACHE_ENV, str(tmp_path))
    holiday_cache.forget()
    yield tmp_path
    holiday_cache.forget()


def test_matches_the_package(cache_dir: Path) -> None:
    off, worked = holiday_cache.cn_year(2025)
    assert (off, worked) == holiday_cache.compute_cn_year(2025)
    assert date(2025, 10, 1) in off and date(2025, 1, 1) in off
    assert date(2025, 9, 28) in worked and date(2025, 10, 11) in worked  # Sundays worked for National Day
    path = holiday_cache.cache_path()
    assert path.parent == cache_dir
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert "2025-09-28" in stored["2025"]["worked"]


def test_another_holidays_install_gets_its_own_file(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = holiday_cache.cache_path()
    real_stat = Path.stat

    def newer(self: Path, *args: object, **kwargs: object) -> object:
        st = real_stat(self)
        if self.name == "china.py":  # as if pip had just replaced the package
            return SimpleNamespace(st_size=st.st_size, st_mtime_ns=st.st_mtime_ns + 1)
        return st

    monkeypatch.setattr(Path, "stat", newer)
    assert holiday_cache.cache_path() != before


def test_a_new_process_reads_the_file_instead_of_the_package(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = holiday_cache.cn_year(2026)
    holiday_cache.forget()

    def refuse(year: int) -> holiday_cache.YearTable:
        raise AssertionError(f"computed {year} again")

    monkeypatch.setattr(holiday_cache, "compute_cn_year", refuse)
    assert holiday_cache.cn_year(2026) == first


@pytest.mark.parametrize("content", ["", "{not json", '{"2026": {"off": ["2026-13-01"], "worked": []}}', "[1, 2]"])
def test_a_damaged_file_is_recomputed_and_rewritten(cache_dir: Path, content: str) -> None:
    path = holiday_cache.cache_path()
    path.write_text(content, encoding="utf-8")
    assert holiday_cache.cn_year(2026) == holiday_cache.compute_cn_year(2026)
    assert "2026" in json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through directory permissions")
def test_an_unwritable_cache_still_answers(cache_dir: Path) -> None:
    cache_dir.chmod(0o500)
    try:
        assert holiday_cache.cn_year(2024) == holiday_cache.compute_cn_year(2024)
        assert list(cache_dir.iterdir()) == []
    finally:
        cache_dir.chmod(0o700)


def test_an_unusable_cache_location_still_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv(holiday_cache.CACHE_ENV, str(blocker / "cache"))  # a directory below a plain file
    holiday_cache.forget()
    try:
        assert holiday_cache.cn_year(2024) == holiday_cache.compute_cn_year(2024)
        assert not list(tmp_path.glob("**/*.tmp"))
    finally:
        holiday_cache.forget()


def test_the_business_calendar_reads_through_it(cache_dir: Path) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from console.rules.calendars import BusinessCalendar, _cn_year

    shanghai = ZoneInfo("Asia/Shanghai")
    cal = BusinessCalendar(
        name="cn", tz=shanghai, weekly=(((9 * 3600, 18 * 3600),),) * 5 + ((), ()), year_loader=_cn_year
    )
    assert not cal.is_open(datetime(2025, 10, 1, 10, tzinfo=shanghai))  # National Day
    assert cal.is_open(datetime(2025, 9, 28, 10, tzinfo=shanghai))  # a Sunday worked in its place
    assert "2025" in json.loads(holiday_cache.cache_path().read_text(encoding="utf-8"))


def test_without_package_files_to_stamp_the_package_answers_uncached(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)  # e.g. installed inside a zip
    assert holiday_cache.cn_year(2025) == holiday_cache.compute_cn_year(2025)
    assert list(cache_dir.iterdir()) == []
