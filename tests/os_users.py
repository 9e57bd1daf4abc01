"""Real operating-system users for the tests of identity and file permissions: created with useradd by the test
(which runs as root, as CI does), removed afterwards, and able to run this checkout's interpreter."""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_LOCK = Path("/tmp/helpdesk-tests-traverse.lock")
_COUNT = Path("/tmp/helpdesk-tests-traverse.count")


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("creating operating-system users needs root (CI runs as root)")
    for tool in ("useradd", "userdel", "groupadd", "groupdel", "runuser"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(3)}"


def _closed_ancestors() -> list[Path]:
    """Directories on the way to the interpreter and this checkout that other users cannot pass through (a Python
    installed under /root, say): the tests open them for traversal (not reading) while OS users are about."""
    found: list[Path] = []
    for target in (Path(sys.executable).resolve(), Path(sys.executable).parent, REPO):
        for parent in [target, *target.parents]:
            if parent.is_dir() and not parent.stat().st_mode & stat.S_IXOTH and parent not in found:
                found.append(parent)
    return found


@contextlib.contextmanager
def traversable() -> Iterator[None]:
    """o+x on the closed ancestors for as long as any test worker needs it (a count under a file lock, shared by
    every test run on the machine), then back as they were."""
    with _LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        count = int(_COUNT.read_text() or 0) if _COUNT.exists() else 0
        # every holder opens what it needs that is still closed (another test run on this machine, of another
        # checkout, may hold the count with other directories); the last one out closes them all
        for path in _closed_ancestors():
            path.chmod(path.stat().st_mode | stat.S_IXOTH)
            with (_COUNT.with_suffix(".paths")).open("a") as note:
                note.write(f"{path}\n")
        _COUNT.write_text(str(count + 1))
        fcntl.flock(lock, fcntl.LOCK_UN)
    try:
        yield
    finally:
        with _LOCK.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            count = int(_COUNT.read_text() or 1) - 1
            _COUNT.write_text(str(count))
            paths = _COUNT.with_suffix(".paths")
            if count == 0 and paths.exists():
                for line in paths.read_text().splitlines():
                    p = Path(line)
                    if p.is_dir():
                        p.chmod(p.stat().st_mode & ~stat.S_IXOTH)
                paths.unlink()
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def os_group(name: str) -> Iterator[str]:
    subprocess.run(["groupadd", name], check=True, capture_output=True, timeout=30)
    try:
        yield name
    finally:
        subprocess.run(["groupdel", name], capture_output=True, timeout=30)


@contextlib.contextmanager
def os_users(names: Sequence[str], groups: Sequence[str] = ()) -> Iterator[list[str]]:
    made: list[str] = []
    try:
        for name in names:
            extra = ["--groups", ",".join(groups)] if groups else []
            cmd = ["useradd", "--no-create-home", "--shell", "/bin/sh", *extra, name]
            subprocess.run(cmd, check=True, capture_output=True, timeout=30)
            made.append(name)
        yield made
    finally:
        for name in made:
            subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True, timeout=30)
            subprocess.run(["userdel", name], capture_output=True, timeout=30)


def script() -> str:
    """This checkout's `helpdesk` script, as pip installed it beside the interpreter."""
    return str(Path(sys.executable).with_name("helpdesk"))


def run_as(
    user: str | None,
    *argv: str,
    env: dict[str, str] | None = None,
    stdin: str = "",
    sudo_to: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """`helpdesk ARGV` as ``user`` (runuser), or as root when ``user`` is None; ``sudo_to``: through
    `sudo -n -u ACCOUNT`, as an agent of the shared-host deployment types it."""
    base = {
        "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "LANG": "C.UTF-8",
        "HELPDESK_LANG": "en",
        "HELPDESK_CACHE_DIR": "/tmp/helpdesk-tests-cache",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    command = [script(), *argv]
    if sudo_to is not None:
        command = ["sudo", "-n", "-u", sudo_to, *command]
    if user is not None:
        command = [
            "runuser",
            "-u",
            user,
            "--",
            "env",
            "-i",
            *(f"{k}={v}" for k, v in {**base, **(env or {})}.items()),
            *command,
        ]
        full_env = None
    else:
        full_env = {**base, **(env or {})}
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout, env=full_env)
