"""Shared fixtures: a temporary database with a small team, a frozen clock, and an in-process CLI runner."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from console.i18n import set_language
from console.rules.holiday_cache import CACHE_ENV, forget
from console.service.helpdesk import HelpdeskService
from console.tui.drafts import STATE_ENV

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


class FrozenClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now = self.now + timedelta(**kwargs)
        return self.now


async def settle(pilot: Any, rounds: int = 4) -> None:
    """Let a Pilot-driven app's workers and look threads (console/tui/looks.py) finish, and what they start in turn;
    an exclusive worker superseded by a newer one is not an error."""
    from textual.worker import WorkerCancelled

    looks = getattr(pilot.app, "looks", None)
    for _ in range(rounds):
        for _wait in range(500):  # a look may start a worker, and a worker a look: both are waited for each round
            if looks is None or looks.idle:
                break
            await pilot.pause(0.01)
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:
            pass  # its successor is still running; the next round waits for it
        await pilot.pause(0.05)


@pytest.fixture(autouse=True, scope="session")
def _holiday_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the holiday tables the calendars cache out of the user's home (subprocesses inherit it too)."""
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("cache"))
    forget()
    yield


@pytest.fixture(autouse=True)
def _state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The console's drafts go to a temporary directory, never the user's (subprocesses inherit it too)."""
    monkeypatch.setenv(STATE_ENV, str(tmp_path_factory.mktemp("state")))


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    set_language("en")
    yield
    set_language("en")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "helpdesk.db"


TEAM = (
    ("sue", "supervisor", "L2"),
    ("li.wei", "agent", "L1"),
    ("ann", "agent", "L1"),
    ("kai", "agent", "L2"),
    ("zoe", "agent", "L3"),
)


def open_team(db_path: Path, clock: FrozenClock) -> HelpdeskService:
    """A new database with admin `boss` and the TEAM; the admin's service (for fixtures and hypothesis examples)."""
    admin = HelpdeskService.open(db_path, "boss", clock=clock, create=True)
    admin.init("boss")
    for name, role, tier in TEAM:
        admin.add_agent(name, role, tier)
    return admin


@pytest.fixture
def team(db_path: Path, clock: FrozenClock) -> Iterator[Callable[[str], HelpdeskService]]:
    """A database with admin `boss`, supervisor `sue` (L2), agents `li.wei` (L1), `ann` (L1), `kai` (L2), `zoe` (L3);
    returns a factory of services acting as a given agent (entered by boss), all sharing the frozen clock."""
    admin = open_team(db_path, clock)
    services: list[HelpdeskService] = [admin]

    def as_agent(name: str) -> HelpdeskService:
        # History built by the tests is entered by the admin for each agent, as an import would be: times given
        # with at= are claims (backfilled), allowed because an admin enters them (tests/test_identity.py checks
        # that an agent on their own may not claim a time).
        svc = HelpdeskService(admin.store, name, clock=clock, entered_by=None if name == "boss" else "boss")
        services.append(svc)
        return svc

    yield as_agent
    admin.store.close()


def sqlite_conn(service: HelpdeskService) -> sqlite3.Connection:
    """The SQLite connection under a service, for the tests that reach past the store into the file itself."""
    from db.store import Store

    store = service.store
    assert isinstance(store, Store), "a test of SQLite's own machinery"
    return store.conn


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(database: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """A runner of `helpdesk …` in-process against ``database`` (a file, or a PostgreSQL URL)."""
    from console.cli.main import main

    monkeypatch.setenv("HELPDESK_DB", database)
    monkeypatch.delenv("HELPDESK_AGENT", raising=False)
    monkeypatch.delenv("HELPDESK_LANG", raising=False)

    def run(*argv: str, stdin: str = "", actor: str | None = "boss") -> Result:
        out, err = io.StringIO(), io.StringIO()
        args = list(argv)
        if actor is not None:
            args = ["--as", actor, *args]
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(args)
            except SystemExit as exc:  # argparse exits
                code = int(exc.code or 0)
        set_language("en")
        return Result(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def cli(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run `helpdesk …` in-process against the temporary database."""
    return run_cli(str(db_path), monkeypatch)


@pytest.fixture
def seeded(cli: Callable[..., Result]) -> Callable[..., Result]:
    """The CLI on a database with admin boss, agent li.wei (L1) and supervisor sue (L2)."""
    assert cli("init", "--admin", "boss", actor=None).code == 0
    assert cli("agent", "add", "li.wei", "--tier", "L1").code == 0
    assert cli("agent", "add", "sue", "--role", "supervisor", "--tier", "L2").code == 0
    return cli


# Another agent's process, as a console between two keystrokes, started under the umask it is given: its open
# connection keeps the database's -wal and -shm beside it until it is told (a line on stdin) to end.
HOLDER = (
    "import os, sys; os.umask(int(sys.argv[2], 8)); from console.service.helpdesk import HelpdeskService; "
    "s = HelpdeskService.open(sys.argv[1], 'boss'); s.agents(); print('ready', flush=True); sys.stdin.readline()"
)


@pytest.fixture
def holder() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """``holder(db, umask=0o022)`` starts a holder on ``db`` and returns once it is open; all end with the test."""
    procs: list[subprocess.Popen[str]] = []

    def start(db: Path, umask: int = 0o022) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(db), oct(umask)],
            cwd=Path(__file__).resolve().parents[1],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.communicate("\n", timeout=30)


# -- PostgreSQL (tests/pg.py): one throwaway cluster per test process, a database per test ------------------------


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    from tests.pg import cluster_running

    with cluster_running() as cluster:
        yield cluster


@pytest.fixture
def pg_db(pg_cluster: Any) -> Iterator[str]:
    """A fresh helpdesk database (schema in place, no agents yet), as the owner's URL."""
    name = pg_cluster.new_database()
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)
