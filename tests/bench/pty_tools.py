"""Running a terminal program under a real pseudo-terminal, for the benchmarks: what it writes, what it costs."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import termios
import time
from collections.abc import Mapping, Sequence


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all threads), from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def spawn(argv: Sequence[str], size: tuple[int, int], env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """Fork ``argv`` on a new pty of ``size`` (columns, lines); returns (pid, master fd)."""
    columns, lines = size
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        # Bytecode is cached as after a pip install (an environment may switch that off): otherwise a program run
        # from the source tree would be compiled on every start while its libraries are not.
        child_env = {
            k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL") and k != "PYTHONDONTWRITEBYTECODE"
        }
        child_env.update(TERM="xterm-256color", TEXTUAL_ANIMATIONS="none", LANG="C.UTF-8", COLORTERM="truecolor")
        child_env.update(env or {})
        os.execvpe(argv[0], list(argv), child_env)
    return pid, fd


def drain(fd: int, timeout: float) -> bytes:
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return b""
    try:
        return os.read(fd, 1 << 16)
    except OSError:  # the child closed the terminal
        return b""


def stop(pid: int, fd: int) -> None:
    """ctrl+q first (the app restores the terminal), SIGKILL if it does not go."""
    with contextlib.suppress(OSError):
        os.write(fd, b"\x11")
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0]:
            break
        drain(fd, 0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(fd)


def wait_for_each(fd: int, markers: Sequence[bytes], started: float, limit: float = 60.0) -> list[float]:
    """Seconds from ``started`` until each of ``markers`` first reaches the terminal (in any order)."""
    seen = b""
    times: dict[bytes, float] = {}
    keep = max(len(m) for m in markers)
    while len(times) < len(markers) and time.monotonic() - started < limit:
        seen = seen[-keep:] + drain(fd, 0.01)
        now = time.monotonic() - started
        for marker in markers:
            if marker not in times and marker in seen:
                times[marker] = now
    missing = [m for m in markers if m not in times]
    if missing:
        raise RuntimeError(f"{missing!r} never painted")
    return [times[m] for m in markers]


def wait_for(fd: int, marker: bytes, started: float, limit: float = 60.0) -> float:
    """Seconds from ``started`` until ``marker`` reaches the terminal."""
    seen = b""
    while time.monotonic() - started < limit:
        seen = seen[-len(marker) :] + drain(fd, 0.01)
        if marker in seen:
            return time.monotonic() - started
    raise RuntimeError(f"{marker!r} never painted")


def measure_idle(pid: int, fd: int, seconds: float, warmup: float) -> tuple[float, float]:
    """(bytes/s written to the terminal, CPU % of one core) over ``seconds`` after ``warmup``."""
    started = time.monotonic()
    while time.monotonic() - started < warmup:
        drain(fd, 0.05)
    cpu_before = cpu_seconds(pid)
    began = time.monotonic()
    written = 0
    while (elapsed := time.monotonic() - began) < seconds:
        written += len(drain(fd, min(0.25, seconds - elapsed)))
    elapsed = time.monotonic() - began
    return written / elapsed, 100 * (cpu_seconds(pid) - cpu_before) / elapsed


def rss_mb(pid: int) -> float:
    """The process's resident memory now (VmRSS), in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")
