"""The service's tests again on PostgreSQL: every test of the modules below that stands on the `team`, `seeded` or
`cli` fixtures alone (a service or the CLI over a database, never the file itself or the console's screens) is
collected here a second time, with `db_path` a PostgreSQL database of its own. Tests that open the file or a
console are left to their SQLite module until their backend is ported (listed in NOT_YET with the reason)."""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = (
    "tests.test_service",
    "tests.test_ticket_actions",
    "tests.test_workflow",
    "tests.test_sla",
    "tests.test_urgency",
    "tests.test_scale",
    "tests.test_permissions",
    "tests.test_identity",
)
SERVICE_FIXTURES = {"team", "seeded", "cli", "clock", "tmp_path", "monkeypatch", "request"}
NOT_YET: dict[str, str] = {
    # SQLite's own machinery, with PostgreSQL counterparts tested in tests/test_pg_store.py / test_pg_privileges.py
    "test_a_page_is_an_index_range_with_no_sort__test_scale": "SQLite's statement trace and query plans",
    "test_the_sweep_reads_only_tickets_whose_crossing_has_come__test_scale": "SQLite's statement trace",
    "test_events_are_append_only__test_service": "sqlite3 errors; test_pg_privileges.py refuses it on PostgreSQL",
    "test_check_detects_tampering__test_service": "edits the file with sqlite3 (PostgreSQL: test_pg_store.py)",
}


def _collect() -> dict[str, object]:
    found: dict[str, object] = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name, fn in vars(module).items():
            if not name.startswith("test_") or not callable(fn) or inspect.iscoroutinefunction(fn):
                continue
            params = set(inspect.signature(fn).parameters)
            marks = {m.name for m in getattr(fn, "pytestmark", [])}
            argnames = set()
            for mark in getattr(fn, "pytestmark", []):
                if mark.name == "parametrize":
                    names = mark.args[0]
                    argnames |= {n.strip() for n in (names.split(",") if isinstance(names, str) else names)}
            if params - argnames - SERVICE_FIXTURES or "slow" in marks:
                continue
            key = f"{name}__{module_name.rsplit('.', 1)[1]}"
            if key in NOT_YET:
                continue
            found[key] = fn
    return found


globals().update(_collect())


@pytest.fixture
def db_path(pg_db: str) -> str:
    """Every collected test's database: a PostgreSQL one (the fixtures pass it on as they pass a file)."""
    return pg_db
