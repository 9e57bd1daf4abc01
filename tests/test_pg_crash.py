"""Crash safety and concurrency on PostgreSQL: tests/test_kill.py's writer killed with SIGKILL at random moments
(nothing it reported done is lost, no action half done, `helpdesk check` passes) and tests/test_concurrency.py's
8-process stress (every reported success exactly once, versions accounted for), against a PostgreSQL database.
The suite's other PostgreSQL runs (tests/test_pg_service.py) leave slow tests out; these two are worth their time."""

from __future__ import annotations

import pytest

from tests.test_concurrency import test_stress_eight_processes_random_actions as _stress
from tests.test_kill import crash_db  # noqa: F401 - the fixture, on this module's database
from tests.test_kill import test_writer_killed_at_random_moments_loses_nothing_reported as _kills


@pytest.fixture
def db_path(pg_db: str) -> str:
    """The tests' database: a PostgreSQL one (their fixtures pass it on as they pass a file)."""
    return pg_db


test_a_writer_killed_on_postgresql_loses_nothing_reported = pytest.mark.slow(_kills)
test_eight_processes_on_postgresql_lose_and_repeat_nothing = pytest.mark.slow(_stress)
