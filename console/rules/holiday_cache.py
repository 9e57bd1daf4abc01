"""China's public holidays and make-up workdays per year, as the `holidays` package computes them, kept in a small
file per package version.

Importing `holidays` loads every country it knows (about 0.1 s and 17 MB); the console would otherwise pay that
before its first countdown could be drawn. The package stays the only source: installing another version of it
starts a new file, and a missing, unreadable or damaged file is simply recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from datetime import date
from pathlib import Path

CACHE_ENV = "HELPDESK_CACHE_DIR"

YearTable = tuple[frozenset[date], frozenset[date]]

_lock = threading.Lock()
_file_years: dict[int, YearTable] | None = None


def compute_cn_year(year: int) -> YearTable:
    """(holidays, make-up workdays) of one year, straight from the `holidays` package."""
    import holidays as holidays_pkg

    cn = holidays_pkg.country_holidays("CN", years=year)
    off = frozenset(d for d in cn if d.year == year)
    # weekend_workdays also carries a few fixed entries from other years; keep this year's only.
    worked = frozenset(d for d in getattr(cn, "weekend_workdays", ()) if d.year == year)
    return off, worked - off


def package_stamp() -> str:
    """Changes whenever the installed `holidays` package does. Read from the files, not the package metadata:
    importing `importlib.metadata` alone costs more than the whole cached lookup."""
    from importlib.util import find_spec

    spec = find_spec("holidays")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the holidays package has no files to stamp")  # no cache then; the package decides
    package = Path(next(iter(spec.submodule_search_locations)))
    stamp = hashlib.sha256()
    for part in (package, package / "version.py", package / "countries" / "china.py"):
        st = part.stat()
        stamp.update(f"{part}:{st.st_size}:{st.st_mtime_ns};".encode())
    return stamp.hexdigest()[:16]


def cache_path() -> Path:
    base = os.environ.get(CACHE_ENV)
    if not base:
        from platformdirs import user_cache_dir

        base = user_cache_dir("helpdesk", appauthor=False)
    return Path(base) / f"cn-holidays-{package_stamp()}.json"


def cn_year(year: int) -> YearTable:
    """The cached table for `year`, computing and saving it on first use."""
    with _lock:
        years = _read_file()
        hit = years.get(year)
        if hit is None:
            hit = years[year] = compute_cn_year(year)
            _write_file(years)
        return hit


def _read_file() -> dict[int, YearTable]:
    global _file_years
    if _file_years is None:
        _file_years = {}
        try:
            raw = json.loads(cache_path().read_text(encoding="utf-8"))
            for key, value in raw.items():
                _file_years[int(key)] = (
                    frozenset(date.fromisoformat(d) for d in value["off"]),
                    frozenset(date.fromisoformat(d) for d in value["worked"]),
                )
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            _file_years = {}  # absent or damaged: recomputed from the package and rewritten
    return _file_years


def _write_file(years: dict[int, YearTable]) -> None:
    data = {
        str(year): {"off": sorted(d.isoformat() for d in off), "worked": sorted(d.isoformat() for d in worked)}
        for year, (off, worked) in sorted(years.items())
    }
    tmp: str | None = None
    try:
        path = cache_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside and renamed over, so another process never reads half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(tmp, path)
    except OSError:
        # A read-only or full disk only costs the next start the computation.
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def forget() -> None:
    """Drop what this process has read (tests, and after the cache directory changes)."""
    global _file_years
    with _lock:
        _file_years = None
