"""The console against a 100,000-ticket database: first paint and peak memory beside a blank Textual app (same
run), and what an idle full queue costs at 160×50 (bytes/s written to the terminal, CPU % of a core).

First paint is the first frame: the view line, the queue's column titles and the footer, as the blank app's first
frame is its one line of text. The service (pydantic, sqlite-utils) opens after it, so the time until the first
queue rows are on screen is reported beside it.

Run by hand: ``python -m tests.bench.console [--runs 15] [--seconds 20]``; prints JSON. Start-up times on a
small machine vary by a few tens of milliseconds from run to run, so the default takes 15 interleaved pairs and
reports each pair's ratio beside the medians. The databases are built
once through the service layer (``console.demo.seed.bulk_fill``) and kept under /tmp.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from tests.bench.pty_tools import measure_idle, peak_rss_mb, spawn, stop, wait_for_each

AGENT = "bench"
BLANK_MARKER = "blank-app-painted"
FRAME_MARKER = b"Subject"  # the queue's column titles: the console's first frame
ROW_MARKER = "L1 · ".encode()  # the owner column: only queue rows carry it
SIZE = (160, 50)


def database(count: int) -> Path:
    from console.demo.seed import bulk_fill
    from console.service.helpdesk import HelpdeskService

    path = Path(f"/tmp/helpdesk-bench-{count}.db")
    if path.exists():
        return path
    tmp = path.with_suffix(".building")
    for leftover in tmp.parent.glob(tmp.name + "*"):
        leftover.unlink()
    service = HelpdeskService.open(tmp, AGENT, create=True)
    service.init(AGENT)
    bulk_fill(service, count)
    service.shutdown()
    tmp.rename(path)
    return path


def blank_child() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class Blank(App[None]):
        def compose(self) -> ComposeResult:
            yield Static(BLANK_MARKER)

    Blank().run()


def first_paint(argv: list[str], *markers: bytes) -> tuple[list[float], float]:
    """(seconds to each marker, peak MB two seconds after the last)."""
    started = time.monotonic()
    pid, fd = spawn(argv, SIZE)
    try:
        seconds = wait_for_each(fd, markers, started)
        time.sleep(2)
        return seconds, peak_rss_mb(pid)
    finally:
        stop(pid, fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blank-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    if args.blank_child:
        blank_child()
        return
    big, small = database(100_000), database(100)
    console = [sys.executable, "-m", "console", "--as", AGENT, "--db"]
    blank_runs, big_runs, small_runs = [], [], []
    # One unmeasured start of each, so every program runs from cached bytecode, as an installed one does.
    first_paint([sys.executable, "-m", "tests.bench.console", "--blank-child"], BLANK_MARKER.encode())
    first_paint([*console, str(small)], FRAME_MARKER, ROW_MARKER)
    for _ in range(args.runs):  # interleaved, so load on the machine hits all three alike
        blank_runs.append(
            first_paint([sys.executable, "-m", "tests.bench.console", "--blank-child"], BLANK_MARKER.encode())
        )
        big_runs.append(first_paint([*console, str(big)], FRAME_MARKER, ROW_MARKER))
        small_runs.append(first_paint([*console, str(small)], FRAME_MARKER, ROW_MARKER))

    def med(runs: list[tuple[list[float], float]], marker: int) -> float:
        return round(statistics.median(r[0][marker] for r in runs), 3)

    def med_mb(runs: list[tuple[list[float], float]]) -> float:
        return round(statistics.median(r[1] for r in runs), 1)

    pid, fd = spawn([*console, str(big)], SIZE)
    try:
        bytes_per_s, cpu = measure_idle(pid, fd, args.seconds, warmup=6.0)
    finally:
        stop(pid, fd)
    blank_s, big_s = med(blank_runs, 0), med(big_runs, 0)
    blank_mb, big_mb = med_mb(blank_runs), med_mb(big_runs)
    print(
        json.dumps(
            {
                "size": f"{SIZE[0]}x{SIZE[1]}",
                "runs": args.runs,
                "blank_first_paint_s": blank_s,
                "console_100k_first_paint_s": big_s,
                "console_100_first_paint_s": med(small_runs, 0),
                "first_paint_ratio": round(big_s / blank_s, 2),
                "first_paint_ratio_per_run": [
                    round(c[0][0] / b[0][0], 2) for b, c in zip(blank_runs, big_runs, strict=True)
                ],
                "console_100k_rows_on_screen_s": med(big_runs, 1),
                "console_100_rows_on_screen_s": med(small_runs, 1),
                "rows_on_screen_ratio": round(med(big_runs, 1) / blank_s, 2),
                "blank_peak_mb": blank_mb,
                "console_100k_peak_mb": big_mb,
                "peak_mb_over_blank": round(big_mb - blank_mb, 1),
                "idle_bytes_per_s": round(bytes_per_s, 1),
                "idle_cpu_percent": round(cpu, 2),
                "targets_met": {
                    "first_paint_1_5x": big_s <= 1.5 * blank_s,
                    "memory_plus_25mb": big_mb - blank_mb <= 25,
                    "idle_2kib_s": bytes_per_s <= 2048,
                    "idle_2pct_cpu": cpu <= 2.0,
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
