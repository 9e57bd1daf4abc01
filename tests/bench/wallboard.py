"""What the wallboard costs over the wire while idle: bytes/s written to the terminal and CPU % of a core.

Run by hand: ``python -m tests.bench.wallboard [--seconds 20]``; prints JSON. The board runs as
``helpdesk wallboard`` in a real pseudo-terminal (120x40) over a seeded database in which nothing changes, so
all that moves are the countdowns (a few under an hour, ticking every second). Same method as
``tests.bench.queue_widget``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.bench.pty_tools import measure_idle, spawn, stop

REPO = Path(__file__).resolve().parents[2]


def seed(db: Path) -> None:
    from console.service.helpdesk import HelpdeskService

    now = datetime.now(UTC).replace(microsecond=0)
    admin = HelpdeskService.open(db, "boss", create=True)
    try:
        admin.init("boss")
        admin.add_agent("sue", "supervisor", "L2")
        for name in ("ann", "kai", "li.wei"):
            admin.add_agent(name, "agent", "L1")
        for i in range(40):
            # the admin records the past on each agent's behalf (only admins may claim a time: --as with --at)
            agent = HelpdeskService(admin.store, ("ann", "kai", "li.wei")[i % 3], entered_by="boss")
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
    argv = [sys.executable, "-m", "console", "--db", str(db), "--as", "sue", "--lang", "en", "wallboard"]
    pid, fd = spawn(argv, size, {"PYTHONPATH": str(REPO)})
    try:
        bytes_per_s, cpu = measure_idle(pid, fd, seconds, warmup)
    finally:
        stop(pid, fd)
    return {
        "size": f"{size[0]}x{size[1]}",
        "seconds": seconds,
        "bytes_per_s": round(bytes_per_s, 1),
        "cpu_percent": round(cpu, 2),
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
