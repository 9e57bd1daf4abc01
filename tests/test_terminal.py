"""The console and its terminal, on a real pseudo-terminal: no byte typed kills it, it will not start without a
terminal, and it ends (keeping the draft being typed) when the terminal goes away."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from console.service.helpdesk import HelpdeskService
from tests.bench.pty_tools import drain, spawn, wait_for

Team = Callable[[str], HelpdeskService]
SIZE = (100, 30)
# Runs the console with hang-ups ignored, as under nohup: then only end of input tells it the terminal has gone.
IGNORING_HANGUPS = [
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGHUP, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])",
]


@pytest.fixture
def small_db(team: Team, db_path: Path) -> Path:
    team("boss").create_ticket("Printer jam", "Third floor", customer="Acme", priority="P2")
    return db_path


def console(db: Path, *extra: str, prefix: list[str] | None = None) -> tuple[int, int]:
    argv = [*(prefix or []), sys.executable, "-m", "console", "--db", str(db), "--as", "boss", *extra]
    return spawn(argv, SIZE, {"HELPDESK_STATE_DIR": os.environ["HELPDESK_STATE_DIR"]})


def wait_exit(pid: int, fd: int | None, limit: float) -> tuple[int | None, bytes, float]:
    """(exit status or None if still running after ``limit`` s, what it wrote meanwhile, seconds taken)."""
    started = time.monotonic()
    out = b""
    while time.monotonic() - started < limit:
        if fd is not None:
            out += drain(fd, 0.02)
        else:
            time.sleep(0.02)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), out, time.monotonic() - started
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None, out, time.monotonic() - started


def test_bytes_that_are_not_utf8_do_not_kill_the_console(small_db: Path) -> None:
    pid, fd = console(small_db)
    try:
        started = time.monotonic()
        wait_for(fd, b"Printer jam", started, limit=30)
        os.write(fd, b"\xff")  # never valid UTF-8
        os.write(fd, "你好".encode("gbk"))  # Chinese typed in a GBK terminal
        os.write(fd, b"\xe4\xbd")  # and a UTF-8 character cut short
        time.sleep(0.3)
        os.write(fd, b"?")  # still alive: the keys screen opens
        wait_for(fd, b"Esc closes", time.monotonic(), limit=10)
        os.write(fd, b"\x1b")
        time.sleep(0.2)
        os.write(fd, b"\x11")  # ctrl+q
        code, out, _ = wait_exit(pid, fd, limit=10)
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    finally:
        os.close(fd)
    text = out.decode("utf-8", "replace")
    assert code == 0, text[-600:]
    assert "Traceback" not in text and "UnicodeDecodeError" not in text


@pytest.mark.parametrize("args", [["wallboard"], []], ids=["wallboard", "console"])
def test_without_a_terminal_it_refuses_at_once(small_db: Path, args: list[str]) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "console", "--db", str(small_db), "--as", "boss", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL if not args else subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=20,
        text=True,
    )
    assert time.monotonic() - started < 2
    assert done.returncode == 2
    what = "wallboard" if args else "console"
    assert done.stderr == f"helpdesk: the {what} needs a terminal\n"
    assert not done.stdout


@pytest.mark.parametrize("prefix", [None, IGNORING_HANGUPS], ids=["hang-up", "hang-up-ignored"])
def test_when_the_terminal_goes_the_console_ends_and_keeps_the_draft(small_db: Path, prefix: list[str] | None) -> None:
    pid, fd = console(small_db, prefix=prefix)
    try:
        started = time.monotonic()
        wait_for(fd, b"Printer jam", started, limit=30)
        os.write(fd, b"\r")  # open the ticket
        wait_for(fd, b"Third floor", time.monotonic(), limit=10)  # its conversation: loaded
        os.write(fd, b"r")
        wait_for(fd, b"Public reply", time.monotonic(), limit=10)
        os.write(fd, "Line down 你好".encode())
        wait_for(fd, "你好".encode(), time.monotonic(), limit=10)
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
        raise
    os.close(fd)  # the SSH session drops: nothing typed was sent, the autosave has not come round yet
    code, _, took = wait_exit(pid, None, limit=5)
    assert code is not None, "the console kept running without its terminal"
    assert took < 2
    drafts = list((Path(os.environ["HELPDESK_STATE_DIR"]) / "drafts").glob("*.json"))
    assert [json.loads(p.read_text(encoding="utf-8"))["text"] for p in drafts] == ["Line down 你好"]


def test_input_is_read_in_the_locale_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    import locale

    from console.tui.driver import input_encoding

    for named, expected in (("UTF-8", "utf-8"), ("GBK", "gbk"), ("no-such-codec", "utf-8"), ("", "utf-8")):
        monkeypatch.setattr(locale, "getpreferredencoding", lambda do_setlocale=True, name=named: name)
        assert input_encoding() == expected
