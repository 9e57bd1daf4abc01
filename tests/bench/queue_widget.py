"""What the live queue costs over the wire: bytes/s and CPU while idle, and time to first paint.

Run by hand: ``python -m tests.bench.queue_widget [--seconds 10] [--quick]``; prints JSON.

Each measurement forks a child under a real pseudo-terminal (the size set on it as a terminal would),
runs a small App holding only the queue over a lazy 100,000-row source, and reads everything the child
writes to its terminal. After the first frame and a warm-up, it counts bytes and the child's CPU time
(``/proc/<pid>/stat``, all threads) for a fixed period in which nothing happens but the clocks ticking.

Scenarios (what the visible rows' clocks look like):
  far         every clock more than an hour away: minute granularity, nothing changes each second
  mixed       deadlines spread from 2 hours overdue to 3 days ahead, as in an unsorted queue
  sorted      the top of a queue sorted by due time: about a third of the screen within the hour
  all_urgent  every visible clock under an hour: the worst case, every row changes every second
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence

from tests.bench.pty_tools import measure_idle, spawn, stop, wait_for

TOTAL = 100_000
MARKER = "Printer on floor 3 #000001"
BLANK_MARKER = "blank-app-painted"
SCENARIOS = ("far", "mixed", "sorted", "all_urgent")
LIMIT_BYTES_PER_S = 2048
LIMIT_CPU_PERCENT = 2.0


# -- the child ------------------------------------------------------------------------------------


def _due_offset(scenario: str, index: int) -> float:
    """Seconds from start-up to row ``index``'s deadline."""
    if scenario == "far":
        return 2 * 3600 + (index * 7919) % (3 * 86400)
    if scenario == "mixed":
        return -2 * 3600 + (index * 7919) % (3 * 86400 + 2 * 3600)
    if scenario == "sorted":
        return -1800 + index * 300  # 5 minutes apart: rows 0-17 are within the hour
    return 120 + (index * 71) % 3300  # all_urgent


def run_child(scenario: str) -> None:
    from textual import on
    from textual.app import App, ComposeResult

    from widgets.queue_table import QueueRow, QueueTable

    start = time.time()
    subjects = ("Printer on floor 3", "VPN drops every hour", "邮件无法同步到手机", "Password reset")
    customers = ("ACME Corp", "李伟", "Globex", "Initech")

    def make(index: int) -> QueueRow:
        due = start + _due_offset(scenario, index)
        return QueueRow(
            ticket_id=index + 1,
            priority=f"P{index % 4 + 1}",
            subject=f"{subjects[index % 4]} #{index + 1:06d}",
            customer=customers[index % 4],
            status=("open", "pending", "escalated")[index % 3],
            owner="L2 · li.wei",
            clock="resolve",
            due_at=due,
            warn_at=due - 1800,
            paused_remaining_s=None,
        )

    class QueueBench(App[None]):
        def compose(self) -> ComposeResult:
            yield QueueTable(total=TOTAL, id="queue")

        @on(QueueTable.WindowNeeded, "#queue")
        def fetch(self, event: QueueTable.WindowNeeded) -> None:
            # Rows are made only for the window asked for, as a paged query would return them.
            rows = [make(i) for i in range(event.offset, min(TOTAL, event.offset + event.limit))]
            event.control.set_window(event.offset, rows, TOTAL)

    QueueBench().run()


def run_blank_child() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class Blank(App[None]):
        def compose(self) -> ComposeResult:
            yield Static(BLANK_MARKER)

    Blank().run()


# -- the parent -----------------------------------------------------------------------------------


def _spawn(args: Sequence[str], size: tuple[int, int], colors: str) -> tuple[int, int]:
    env = {"COLORTERM": "truecolor"} if colors == "truecolor" else {"COLORTERM": ""}
    return spawn([sys.executable, "-m", "tests.bench.queue_widget", *args], size, env)


def first_paint(args: Sequence[str], marker: str, size: tuple[int, int]) -> float:
    """Seconds from fork to the marker text reaching the terminal."""
    started = time.monotonic()
    pid, fd = _spawn(args, size, "truecolor")
    try:
        return wait_for(fd, marker.encode(), started, limit=30)
    finally:
        stop(pid, fd)


def idle_cost(scenario: str, size: tuple[int, int], seconds: float, warmup: float, colors: str) -> dict[str, object]:
    """Bytes/s and CPU % of a core while the queue only ticks."""
    pid, fd = _spawn(["--child", scenario], size, colors)
    try:
        bytes_per_s, cpu_percent = measure_idle(pid, fd, seconds, warmup)
    finally:
        stop(pid, fd)
    return {
        "scenario": scenario,
        "size": f"{size[0]}x{size[1]}",
        "colors": colors,
        "bytes_per_s": round(bytes_per_s, 1),
        "cpu_percent": round(cpu_percent, 2),
        "within_target": bytes_per_s <= LIMIT_BYTES_PER_S and cpu_percent <= LIMIT_CPU_PERCENT,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", choices=SCENARIOS, help=argparse.SUPPRESS)
    parser.add_argument("--blank-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring period per case")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--quick", action="store_true", help="only 160x50 truecolor")
    parser.add_argument("--paint-runs", type=int, default=5, help="first-paint runs (median reported)")
    options = parser.parse_args()
    if options.child:
        run_child(options.child)
        return
    if options.blank_child:
        run_blank_child()
        return

    cases = [((160, 50), "truecolor")]
    if not options.quick:
        cases += [((120, 40), "truecolor"), ((160, 50), "256")]
    idle = [
        idle_cost(scenario, size, options.seconds, options.warmup, colors)
        for size, colors in cases
        for scenario in SCENARIOS
    ]
    runs = range(options.paint_runs)
    queue = [first_paint(["--child", "mixed"], MARKER, (160, 50)) for _ in runs]
    blank = [first_paint(["--blank-child"], BLANK_MARKER, (160, 50)) for _ in runs]
    paint = {
        "runs": options.paint_runs,
        "queue_100k_median_s": round(statistics.median(queue), 3),
        "blank_app_median_s": round(statistics.median(blank), 3),
    }
    target = {"bytes_per_s": LIMIT_BYTES_PER_S, "cpu_percent": LIMIT_CPU_PERCENT}
    report = {"target": target, "idle": idle, "time_to_first_paint": paint}
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
