"""What the wallboard costs over the wire while idle: bytes/s written to the terminal and CPU % of a core.

Run by hand: ``python -m tests.bench.wallboard [--seconds 20]``; prints JSON. The board runs as
``helpdesk wallboard`` in a real pseudo-terminal (120x40) over a seeded database in which nothing changes, so
all that moves are the countdowns (a few under an hour, ticking every second). Same method as
``tests.bench.queue_widget``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pty
import select
import signal
import struct
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SYNC_START = b"\x1b[?2026h"  # Textual opens every frame with a synchronized-output mark


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, all threads


def _drain(fd: int, timeout: float) -> bytes:
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return b""
    try:
        return os.read(fd, 1 << 16)
    except OSError:  # the child closed the terminal
        return b""


def _stop(pid: int, fd: int) -> None:
    with contextlib.suppress(OSError):
        os.write(fd, b"q")
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0]:
            break
        _drain(fd, 0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(fd)


def seed(db: Path) -> None:
    from console.service import HelpdeskService

    now = datetime.now(UTC).replace(microsecond=0)
    admin = HelpdeskService.open(db, "boss", create=True)
    try:
        admin.init("boss")
        admin.add_agent("sue", "supervisor", "L2")
        for name in ("ann", "kai", "li.wei"):
            admin.add_agent(name, "agent", "L1")
        for i in range(40):
            agent = HelpdeskService(admin.store, ("ann", "kai", "li.wei")[i % 3])
            ticket = agent.create_ticket(
                f"Ticket {i}",
                customer=f"Customer {i % 7}",
                priority=("P1", "P2", "P3", "P4")[i % 4],
                channel="phone",
                at=now - timedelta(minutes=5 * i),
            )
            agent.assign(ticket.id, at=now - timedelta(minutes=5 * i - 1))
    finally:
        admin.shutdown()


def idle_cost(db: Path, size: tuple[int, int], seconds: float, warmup: float) -> dict[str, object]:
    columns, lines = size
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        import fcntl
        import termios

        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL")}
        env.update(TERM="xterm-256color", COLORTERM="truecolor", LANG="C.UTF-8", PYTHONPATH=str(REPO))
        argv = [sys.executable, "-m", "console", "--db", str(db), "--as", "sue", "--lang", "en", "wallboard"]
        os.execvpe(sys.executable, argv, env)
    try:
        started = time.monotonic()
        while time.monotonic() - started < warmup:
            _drain(fd, 0.05)
        cpu_before = _cpu_seconds(pid)
        began = time.monotonic()
        written = frames = 0
        while (elapsed := time.monotonic() - began) < seconds:
            chunk = _drain(fd, min(0.25, seconds - elapsed))
            written += len(chunk)
            frames += chunk.count(SYNC_START)
        elapsed = time.monotonic() - began
        cpu = _cpu_seconds(pid) - cpu_before
    finally:
        _stop(pid, fd)
    return {
        "size": f"{columns}x{lines}",
        "seconds": round(elapsed, 1),
        "bytes_per_s": round(written / elapsed, 1),
        "frames_per_s": round(frames / elapsed, 2),
        "cpu_percent": round(100 * cpu / elapsed, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring period")
    parser.add_argument("--warmup", type=float, default=4.0, help="seconds before measuring")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "helpdesk.db"
        seed(db)
        result = idle_cost(db, (120, 40), options.seconds, options.warmup)
    result["target"] = {"bytes_per_s_max": 2048, "cpu_percent_max": 2.0}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
