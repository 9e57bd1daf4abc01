"""The service's tests again on PostgreSQL: every test of the modules below that stands on the `team`, `seeded`,
`cli` or `db_path` fixtures (a service, the CLI or a console over a database) and on no fixture of its own module
that another module also defines, is collected here a second time, with `db_path` a PostgreSQL database of its own.
Tests of SQLite's own machinery (the file, its statement trace) are listed in NOT_YET with the reason."""

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
    "tests.test_concurrency",
    "tests.test_roles",
    "tests.test_rollups",
    "tests.test_reports",
    "tests.test_wallboard",
    "tests.test_sla_due",
    "tests.test_csat_followups",
    "tests.test_macros",
    "tests.test_policy",
    "tests.test_replies",
    "tests.test_drafts",
    "tests.test_metrics",
    "tests.test_zones",
    "tests.test_time",
    "tests.test_import_limits",
    "tests.test_hostile_text",
    "tests.test_knowledge",
    "tests.test_cli",
    "tests.test_bad_input",
    "tests.test_limits",
    "tests.test_presence_lock",
    "tests.test_ticket_screen",
    "tests.test_console",
    "tests.test_queue_table",
    "tests.test_progress",
)
SERVICE_FIXTURES = {"team", "seeded", "cli", "clock", "tmp_path", "monkeypatch", "request", "db_path"}
NOT_YET: dict[str, str] = {
    "test_a_change_elsewhere_costs_the_console_a_read_of_that_ticket__test_scale": "SQLite's statement trace",
    "test_backup_while_another_connection_writes__test_cli": "writes the file with sqlite3",
    "test_json_never_carries_terminal_controls__test_cli": "writes the file with sqlite3",
    "test_a_damaged_search_index_is_one_line__test_limits": "damages the file",
    "test_reports_on_a_damaged_file_are_one_line__test_limits": "damages the file",
    "test_writes_are_refused_on_a_file_found_damaged_after_an_unclean_shutdown__test_limits": "damages the file",
    "test_store_reads_raise_store_errors_not_sqlite_ones__test_limits": "damages the file",
    "test_a_sound_file_after_an_unclean_shutdown_is_written_as_usual__test_limits": "SQLite's -wal after a crash",
    "test_reads_do_not_queue_behind_a_heartbeat__test_presence_lock": "holds SQLite's write lock from another process",
    # SQLite's own machinery, with PostgreSQL counterparts tested in tests/test_pg_store.py / test_pg_privileges.py
    "test_a_page_is_an_index_range_with_no_sort__test_scale": "SQLite's query plans (PostgreSQL: EXPLAIN)",
    "test_the_sweep_reads_only_tickets_whose_crossing_has_come__test_scale": "SQLite's statement trace",
    "test_events_are_append_only__test_service": "sqlite3 errors; test_pg_privileges.py refuses it on PostgreSQL",
    "test_check_detects_tampering__test_service": "edits the file with sqlite3 (PostgreSQL: test_pg_store.py)",
    "test_every_write_runs_inside_a_transaction__test_concurrency": "SQLite's statement trace",
    "test_lint_reply_exit_codes_and_shape__test_replies": "no database file at all: a server always has one",
    "test_last_row_failing_in_the_write_rolls_back_every_batch__test_import_limits": "opens the file with sqlite3",
    "test_a_retried_transaction_starts_from_the_first_row__test_import_limits": "locks the file with sqlite3",
    "test_a_one_shot_stream_is_never_imported_in_part__test_import_limits": "locks the file with sqlite3",
    "test_a_clock_that_steps_back_does_not_freeze_a_ticket__test_time": "recorded_at is the server's clock here",
    "test_an_admins_claim_is_marked_and_never_in_the_future__test_time": "recorded_at is the server's clock here",
    "test_a_v6_database_replays_until_the_sweep_has_filled_the_rollups__test_rollups": "edits the file with sqlite3",
}


def _local_fixtures(module: object) -> set[str]:
    """Fixtures a module defines for its own tests (they would not come along with the test)."""
    return {
        name
        for name, value in vars(module).items()
        if type(value).__name__ == "FixtureFunctionDefinition" or hasattr(value, "_pytestfixturefunction")
    }


def _collect() -> dict[str, object]:
    """The tests, and the modules' own fixtures they need where no other module or conftest.py has one of that name
    (a fixture imported here serves every test of this module)."""
    import tests.conftest as conftest

    modules = [importlib.import_module(name) for name in MODULES]
    owners: dict[str, list[object]] = {}
    for module in modules:
        for name in _local_fixtures(module):
            owners.setdefault(name, []).append(vars(module)[name])
    shared = {
        name: fixtures[0]
        for name, fixtures in owners.items()
        if len(fixtures) == 1 and name not in _local_fixtures(conftest) and name != "db_path"
    }
    found: dict[str, object] = dict(shared)
    for module in modules:
        module_name = module.__name__
        local = _local_fixtures(module) - set(shared)
        for name, fn in vars(module).items():
            if not name.startswith("test_") or not callable(fn):
                continue
            params = set(inspect.signature(fn).parameters)
            marks = {m.name for m in getattr(fn, "pytestmark", [])}
            argnames = set()
            for mark in getattr(fn, "pytestmark", []):
                if mark.name == "parametrize":
                    names = mark.args[0]
                    argnames |= {n.strip() for n in (names.split(",") if isinstance(names, str) else names)}
            if params - argnames - SERVICE_FIXTURES - set(shared) or params & local or "slow" in marks:
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
