"""Presence is best effort: while another process holds the write lock (a long import, a backup), a console's
heartbeat is skipped at once, so its reads (the ticket screen) never wait behind it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from console.service.helpdesk import HelpdeskService

Team = Callable[[str], HelpdeskService]


@pytest.fixture
def write_lock_held(db_path: Path) -> Iterator[None]:
    """Another process with BEGIN IMMEDIATE open on the database for 20 s."""
    code = (
        "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
        "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(20)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(db_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_reads_do_not_queue_behind_a_heartbeat(team: Team, db_path: Path, request: pytest.FixtureRequest) -> None:
    li = team("li.wei")
    tid = li.create_ticket("VPN down", customer="Acme").id
    li.heartbeat(tid)
    request.getfixturevalue("write_lock_held")
    started = time.monotonic()
    li.heartbeat(tid)  # skipped: the lock is someone else's
    detail = li.detail(tid)
    elapsed = time.monotonic() - started
    assert detail.ticket.id == tid
    assert elapsed < 1.0, f"the heartbeat and the read took {elapsed:.2f} s behind another process's write lock"


@pytest.mark.slow
def test_a_database_held_in_exclusive_mode_is_one_line(seeded: Callable[..., object], db_path: Path) -> None:
    code = (
        "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
        "c.execute('PRAGMA locking_mode=EXCLUSIVE'); c.execute('BEGIN EXCLUSIVE'); c.execute('SELECT 1'); "
        "print('locked', flush=True); time.sleep(30)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(db_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        r = subprocess.run(
            [sys.executable, "-m", "console", "--db", str(db_path), "ticket", "list"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).resolve().parents[1],
        )
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert r.returncode == 5
    assert r.stderr.count("\n") == 1 and "stayed locked by another program" in r.stderr and "Traceback" not in r.stderr
