"""Long CLI jobs draw a progress bar on a terminal, and only there; a listing cut at --limit says so on stderr.

The bar is tested on a real pseudo-terminal (import, demo, Ctrl-C); piped, redirected or with --json the output is
byte for byte what it was without a bar. The truncation note is checked in-process against the full listing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.cells import cell_len

from console.cli.progress import ERASE, _Bar, show_progress
from console.service.helpdesk import HelpdeskService
from tests.bench.pty_tools import drain, spawn
from tests.conftest import Result

Cli = Callable[..., Result]
Team = Callable[[str], HelpdeskService]
SIZE = (100, 30)
ROWS = 1500  # about a second of importing: long enough for the bar to be drawn (after 0.3 s)
NOW = "2026-03-02T03:00:00Z"


# -- --limit ----------------------------------------------------------------------------------------------------


@pytest.fixture
def three(seeded: Cli) -> Cli:
    for subject in ("Printer jam", "VPN down", "Mail bounce"):
        assert seeded("ticket", "new", "--subject", subject, "--at", "2026-03-02T01:00:00Z").code == 0
    return seeded


def test_a_listing_cut_at_the_limit_says_so_on_stderr_and_changes_nothing_else(three: Cli) -> None:
    full = three("ticket", "list", "--now", NOW, "--json")
    cut = three("ticket", "list", "--now", NOW, "--json", "--limit", "2")
    assert (full.code, full.err, cut.code) == (0, "", 0)
    assert cut.json() == full.json()[:2]
    # the same JSON text the listing of two would always have printed: nothing added to stdout
    assert cut.out == json.dumps(full.json()[:2], ensure_ascii=False, indent=2) + "\n"
    assert cut.err == (
        "helpdesk: listing stopped at --limit 2; more tickets match: give a larger --limit, or --limit -1 for all\n"
    )
    table = three("ticket", "list", "--now", NOW, "--limit", "2")
    assert (table.code, table.err) == (0, cut.err)
    assert "Mail bounce" not in table.out and len(table.out.splitlines()) == 4  # header, rule, two rows


@pytest.mark.parametrize("limit", ["3", "50", "-1"])
def test_a_listing_that_holds_every_match_says_nothing(three: Cli, limit: str) -> None:
    result = three("ticket", "list", "--now", NOW, "--json", "--limit", limit)
    assert (result.code, result.err, len(result.json())) == (0, "", 3)


def test_the_note_is_translated_and_the_limit_documented(three: Cli) -> None:
    zh = three("--lang", "zh", "ticket", "list", "--now", NOW, "--limit", "1")
    assert zh.code == 0 and zh.err.startswith("helpdesk: 列表已在 --limit 1 处截止")
    zero = three("ticket", "list", "--now", NOW, "--json", "--limit", "0")
    assert zero.out == "[]\n" and "more tickets match" in zero.err
    assert "default: 1000; -1: no limit" in three("ticket", "list", "--help").out
    assert "default: 10" in three("kb", "search", "--help").out


# -- the bar's line -------------------------------------------------------------------------------------------


class _Sink:
    encoding = "utf-8"

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        raise OSError("not a terminal")


@pytest.mark.parametrize(
    "label", ["Importing /tmp/tickets-2026-march.jsonl", "正在导入 /数据/二〇二六年三月的工单.jsonl"]
)
@pytest.mark.parametrize("total", [None, 50_000])
def test_the_line_fits_any_width_and_keeps_what_matters(label: str, total: int | None) -> None:
    bar = _Bar(label, _Sink())  # type: ignore[arg-type]
    bar.done, bar.total, bar.phase_start, bar.phase_done = 20_000, total, 0.0, 0
    for width in range(1, 140):
        line = bar.line(10.0, width)
        assert cell_len(line) <= width, (width, line)
        assert "\x1b" not in line and "\r" not in line
    wide = bar.line(10.0, 139)
    if total is None:
        assert "20,000" in wide and "2,000/s" in wide
    else:
        assert "40%" in wide and "20,000/50,000" in wide and "0:15 left" in wide and "█" in wide
        assert "40%" in bar.line(10.0, 40)  # narrow: the rate and counts go first, the percentage stays


def test_a_quick_job_draws_nothing_and_a_drawn_line_is_erased() -> None:
    sink = _Sink()
    bar = _Bar("Importing", sink)  # type: ignore[arg-type]
    bar(1, 2)
    bar.close()
    assert sink.text == ""  # done before the first draw
    bar = _Bar("Importing", sink)  # type: ignore[arg-type]
    bar.next_draw = 0.0
    bar(1, 2)
    bar.close()
    assert sink.text.startswith(ERASE + "Importing") and sink.text.endswith("50%  1/2" + ERASE)


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("stdout", "stderr", "json_out", "term", "shown"),
    [
        (True, True, False, "xterm", True),
        (True, True, True, "xterm", False),  # --json
        (False, True, False, "xterm", False),  # stdout piped or redirected, the bar would still reach the screen
        (True, False, False, "xterm", False),  # stderr to a log
        (True, True, False, "dumb", False),
    ],
)
def test_the_bar_is_only_for_a_terminal_on_both_streams(
    monkeypatch: pytest.MonkeyPatch, stdout: bool, stderr: bool, json_out: bool, term: str, shown: bool
) -> None:
    monkeypatch.setattr(sys, "stdout", _Stream(stdout))
    monkeypatch.setattr(sys, "stderr", _Stream(stderr))
    monkeypatch.setenv("TERM", term)
    assert show_progress(argparse.Namespace(json=json_out)) is shown


# -- on a terminal ----------------------------------------------------------------------------------------------


@pytest.fixture
def import_file(tmp_path: Path) -> Path:
    path = tmp_path / "tickets.jsonl"
    with path.open("w") as out:
        for n in range(ROWS):
            out.write(json.dumps({"subject": f"Printer {n} offline", "body": "Third floor"}) + "\n")
    return path


def _env() -> dict[str, str]:
    return {"HELPDESK_STATE_DIR": os.environ["HELPDESK_STATE_DIR"], "HELPDESK_LANG": "en"}


def _on_terminal(argv: list[str], limit: float = 60) -> tuple[int | None, str]:
    """Exit code and everything written to the terminal (stdout and stderr, newlines as the pty makes them)."""
    pid, fd = spawn([sys.executable, "-m", "console", *argv], SIZE, _env())
    out = b""
    code: int | None = None
    started = time.monotonic()
    try:
        while time.monotonic() - started < limit:
            out += drain(fd, 0.05)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                out += drain(fd, 0.05)
                break
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    finally:
        os.close(fd)
    return code, out.decode("utf-8", "replace")


def _piped(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, **_env()}
    return subprocess.run([sys.executable, "-m", "console", *argv], capture_output=True, env=env, timeout=60)


def _lines_drawn(screen: str) -> list[str]:
    return [part for part in screen.split(ERASE) if part][:-1]  # the last part is the command's own output


def test_import_on_a_terminal_draws_a_bar_then_erases_it(team: Team, db_path: Path, import_file: Path) -> None:
    code, screen = _on_terminal(["--db", str(db_path), "--as", "boss", "import", str(import_file)])
    assert code == 0, screen[-600:]
    drawn = _lines_drawn(screen)
    assert drawn, screen[-600:]
    assert all(line.startswith(f"Importing {import_file}"[:20]) for line in drawn)
    assert all(cell_len(line) < SIZE[0] for line in drawn)  # never wraps
    assert any(re.search(r"\d+%  [\d,]+/1,500", line) for line in drawn), drawn
    # erased before the command's own line, which is then what it always was
    assert screen.endswith(f"{ERASE}Imported {ROWS} tickets from {import_file}.\r\n")


def test_no_bar_when_piped_or_with_json(team: Team, db_path: Path, import_file: Path) -> None:
    argv = ["--db", str(db_path), "--as", "boss", "import", str(import_file)]
    piped = _piped(argv)
    assert (piped.returncode, piped.stderr) == (0, b"")
    assert piped.stdout == f"Imported {ROWS} tickets from {import_file}.\n".encode()
    code, screen = _on_terminal([*argv, "--json"])
    ids = list(range(ROWS + 1, 2 * ROWS + 1))  # the second import of the file
    assert code == 0
    assert screen == (json.dumps({"imported": ROWS, "ids": ids}, indent=2) + "\n").replace("\n", "\r\n")


def test_ctrl_c_leaves_the_terminal_clean(team: Team, db_path: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    big.write_text("".join(json.dumps({"subject": f"Ticket {n}"}) + "\n" for n in range(5_000)))
    argv = [sys.executable, "-m", "console", "--db", str(db_path), "--as", "boss", "import", str(big)]
    pid, fd = spawn(argv, SIZE, _env())
    out = b""
    interrupted = False
    started = time.monotonic()
    try:
        while time.monotonic() - started < 30:
            out += drain(fd, 0.02)
            if not interrupted and b"/5,000" in out:  # rows are being written
                os.write(fd, b"\x03")
                interrupted = True
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                out += drain(fd, 0.05)
                break
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the import did not stop on Ctrl-C")
    finally:
        os.close(fd)
    assert interrupted and os.waitstatus_to_exitcode(status) == 130
    # After the last line of the bar: its erasing and nothing else. The terminal's own echo of ^C may come before
    # or after it (the signal and the echo race), and is all that can be left on the line.
    last_bar = out.decode("utf-8", "replace").rsplit(" left", 1)[-1].rsplit("/5,000", 1)[-1]
    assert last_bar.replace("^C", "").endswith(ERASE), last_bar
    assert "Importing" not in last_bar and "Traceback" not in last_bar
    assert team("boss").count_tickets() == 0  # all or nothing


@pytest.mark.slow  # the demo takes its few seconds
def test_demo_on_a_terminal_draws_a_bar_then_erases_it(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    code, screen = _on_terminal(["--db", str(db), "demo", "--no-ui"])
    assert code == 0, screen[-600:]
    drawn = _lines_drawn(screen)
    assert drawn and all(line.startswith("Building the demo database") for line in drawn), screen[-600:]
    assert re.search(r"Demo database .*: 300 tickets", screen.rsplit(ERASE, 1)[1])
    assert screen.rsplit(ERASE, 1)[1].count("\n") == 1  # only the command's own line after the bar
