"""The wallboard served by a real OpenSSH server through ForceCommand, read in a pseudo-terminal with pyte."""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import os
import pty
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pyte
import pytest

from console.service.helpdesk import HelpdeskService

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)
SSH = shutil.which("ssh")
COLS, ROWS = 120, 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, timeout=30)


@pytest.fixture
def board_db(tmp_path: Path) -> Path:
    db = tmp_path / "helpdesk.db"
    admin = HelpdeskService.open(db, "boss", create=True)
    try:
        admin.init("boss")
        admin.add_agent("sue", "supervisor", "L2")
        admin.add_agent("kai", "agent", "L2")
        kai = HelpdeskService(admin.store, "kai")
        kai.create_ticket("Server down", customer="Initech", priority="P1")  # 30 min: seconds tick
    finally:
        admin.shutdown()
    return db


@pytest.fixture
def sshd(tmp_path: Path, board_db: Path) -> Iterator[tuple[int, Path]]:
    if SSHD is None or SSH is None:
        pytest.skip("OpenSSH server (sshd) or client (ssh) is not installed")
    host_key, user_key = tmp_path / "host_key", tmp_path / "user_key"
    _keygen(host_key)
    _keygen(user_key)
    authorized = tmp_path / "authorized_keys"
    authorized.write_text(user_key.with_suffix(".pub").read_text())
    authorized.chmod(0o600)
    port = _free_port()
    command = (
        f"cd {REPO} && PYTHONPATH={REPO} HELPDESK_LANG=en exec {sys.executable} -m console"
        f" --db {board_db} --as sue wallboard"
    )
    config = tmp_path / "sshd_config"
    config.write_text(
        "\n".join(
            (
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {host_key}",
                f"PidFile {tmp_path / 'sshd.pid'}",
                f"AuthorizedKeysFile {authorized}",
                "StrictModes no",
                "UsePAM no",
                "PermitRootLogin yes",
                "PasswordAuthentication no",
                "PubkeyAuthentication yes",
                f"ForceCommand {command}",
                "PermitTTY yes",
                "AllowTcpForwarding no",
                "X11Forwarding no",
                "PermitTunnel no",
                "AllowAgentForwarding no",
                "",
            )
        )
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory sshd insists on
    server = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if server.poll() is not None:
                pytest.fail(f"sshd exited: {server.stderr.read().decode() if server.stderr else ''}")
            time.sleep(0.1)
        else:
            pytest.fail("sshd did not start listening within 10 s")
        yield port, user_key
    finally:
        server.kill()
        server.wait(timeout=10)


def _read_until(fd: int, stream: pyte.ByteStream, screen: pyte.Screen, needle: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                stream.feed(os.read(fd, 1 << 16))
            except OSError:
                return False
        if needle in "\n".join(screen.display):
            return True
    return False


def _pump(fd: int, stream: pyte.ByteStream, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            with contextlib.suppress(OSError):
                stream.feed(os.read(fd, 1 << 16))


def _countdown(screen: pyte.Screen) -> str | None:
    for line in screen.display:
        if "#1" in line:
            found = re.search(r"-?\d+:\d\d", line)
            if found:
                return found.group(0)
    return None


def test_wallboard_over_ssh(sshd: tuple[int, Path]) -> None:
    port, key = sshd
    argv = [
        SSH or "ssh",
        "-t",
        "-p",
        str(port),
        "-i",
        str(key),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=10",
        f"{getpass.getuser()}@127.0.0.1",
    ]
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child becomes ssh
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        os.environ["TERM"] = "xterm-256color"
        os.execvp(argv[0], argv)
    screen = pyte.Screen(COLS, ROWS)
    stream = pyte.ByteStream(screen)
    try:
        # The ticket's line arrives with the first snapshot, after the empty tiles.
        assert _read_until(fd, stream, screen, "Server down", 30), "\n".join(screen.display)
        _pump(fd, stream, 0.5)
        text = "\n".join(screen.display)
        for label in ("Open backlog", "Breached now", "At risk", "First response SLA", "Satisfaction", "Agents"):
            assert label in text
        assert "I***" in text  # masked customer
        first = _countdown(screen)
        assert first is not None, text
        _pump(fd, stream, 2.5)
        second = _countdown(screen)
        assert second is not None and second != first
    finally:
        with contextlib.suppress(OSError):
            os.write(fd, b"q")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not os.waitpid(pid, os.WNOHANG)[0]:
            _pump(fd, stream, 0.1)
        else:
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        os.close(fd)
