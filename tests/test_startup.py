"""Opening the console: the first frame comes before the service (its libraries load in a thread afterwards), a
refused open ends the console with the reason in one line, and the command line opens the console without
building every command's parser."""

from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from console.cli import common
from console.cli import main as cli
from console.rules.errors import PermissionDenied
from console.service.helpdesk import HelpdeskService
from console.tui.app import HelpdeskApp
from console.tui.screens.queue import QueueScreen
from tests.bench.pty_tools import drain, spawn
from tests.conftest import FrozenClock, settle
from widgets.queue_table import QueueTable

Team = Callable[[str], HelpdeskService]


def table_text(app: HelpdeskApp, y: int) -> str:
    return app.screen.query_one(QueueTable).render_line(y).text


async def test_first_frame_waits_for_nothing_and_rows_follow(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    li.create_ticket("Core switch down", customer="Acme", priority="P1")
    release = threading.Event()
    opened: list[str] = []

    def opener() -> HelpdeskService:
        release.wait(10)  # the libraries are still loading
        opened.append(threading.current_thread().name)
        return li

    app = HelpdeskApp(opener, actor_name="li.wei", clock=lambda: clock().timestamp(), live_interval=3600)
    async with app.run_test(size=(100, 20)) as pilot:
        await pilot.pause(0.2)
        assert isinstance(app.screen, QueueScreen)
        assert "Loading…" in table_text(app, 1) and "No tickets" not in table_text(app, 1)
        header = str(app.screen.query_one("#queue-header").render())
        assert "li.wei" in header and "All open …" in header and " 0" not in header  # not counted yet, not zero
        assert opened == []
        release.set()
        deadline = time.monotonic() + 5
        while app.screen.query_one(QueueTable).total != 1 and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert "Core switch down" in table_text(app, 1)
        assert opened and opened[0] != threading.main_thread().name


async def test_an_empty_queue_says_so_once_known(team: Team, clock: FrozenClock) -> None:
    app = HelpdeskApp(team("li.wei"), clock=lambda: clock().timestamp(), live_interval=3600)
    async with app.run_test(size=(100, 20)) as pilot:
        await settle(pilot)
        assert "No tickets" in table_text(app, 1)


async def test_a_refused_open_ends_the_console_with_its_code(clock: FrozenClock) -> None:
    def opener() -> HelpdeskService:
        raise PermissionDenied("unknown agent ghost")

    app = HelpdeskApp(opener, actor_name="ghost", clock=lambda: clock().timestamp())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
    assert app.return_code == 3
    assert isinstance(app.open_error, PermissionDenied)


def run_console(args: list[str], env: dict[str, str] | None = None, limit: float = 20.0) -> tuple[int, str]:
    """`python -m console ARGS` on a real terminal: (exit status, everything it wrote)."""
    pid, fd = spawn([sys.executable, "-m", "console", *args], (80, 24), env)
    out = b""
    deadline = time.monotonic() + limit
    status = None
    while time.monotonic() < deadline:
        out += drain(fd, 0.05)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            out += drain(fd, 0.05)
            break
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail(f"the console did not end: {out[-400:]!r}")
    os.close(fd)
    assert status is not None
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


def test_unknown_agent_leaves_the_terminal_with_one_line(team: Team, db_path: Path) -> None:
    team("li.wei")
    code, out = run_console(["--as", "nobody", "--db", str(db_path)])
    assert code == 3
    assert "Traceback" not in out and "PermissionDenied" not in out
    after_screen = re.split(r"\x1b\[[0-9;?]*[A-Za-z]", out)[-1]  # what follows the terminal's restoration
    assert after_screen.strip().splitlines() == [
        "helpdesk: unknown agent nobody: ask an admin to run 'helpdesk agent add nobody'"
    ]


def test_a_bad_database_is_refused_before_the_screen_opens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common, "has_terminal", lambda: True)  # pytest's streams are not one
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"not a database at all" * 100)
    for path, words in ((tmp_path / "missing" / "x.db", "does not exist"), (damaged, "not a SQLite database")):
        assert cli.main(["--as", "li.wei", "--db", str(path)]) == 5
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("helpdesk: ") and words in err
    assert damaged.read_bytes() == b"not a database at all" * 100


@pytest.mark.parametrize(
    ("argv", "opens"),
    [
        ([], True),
        (["--as", "ann", "--db", "x.db", "--lang", "zh"], True),
        (["--db=x.db"], True),
        (["demo"], False),
        (["--as", "ann", "ticket", "list"], False),
    ],
)
def test_console_arguments_without_the_full_parser(
    argv: list[str], opens: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[bool] = []
    real_build = cli.build_parser
    seen: list[argparse.Namespace] = []

    def build_parser() -> argparse.ArgumentParser:
        built.append(True)
        return real_build()

    def run_console(args: argparse.Namespace) -> int:
        seen.append(args)
        return 0

    def run(handler: object, args: argparse.Namespace) -> int:
        seen.append(args)
        return 0

    monkeypatch.setattr(cli, "build_parser", build_parser)
    monkeypatch.setattr(cli, "run_console", run_console)
    monkeypatch.setattr(cli, "_run", run)
    assert cli.main(argv) == 0
    assert built == ([] if opens else [True])
    if opens and "--as" in argv:
        assert (seen[0].actor, seen[0].db, seen[0].lang) == ("ann", "x.db", "zh")


@pytest.mark.parametrize("argv", [["--help"], ["--lang", "fr"], ["--bogus"], ["--db"]])
def test_help_and_mistakes_still_go_to_the_full_parser(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    out, err = capsys.readouterr()
    if argv == ["--help"]:
        assert exc.value.code == 0 and "ticket" in out and "wallboard" in out
    else:
        assert exc.value.code == 2 and err.count("\n") == 1
