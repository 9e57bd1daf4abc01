"""What a service-quality report costs (run by hand: ``python -m tests.bench.report``; prints JSON).

Two databases, built once and cached under /tmp: the demo (300 tickets with full histories) and 100,000 tickets
from ``console.demo.seed.bulk_fill`` (two years of history, one event each). For each, the report over all time, the
last 30 and 7 days, and all time by agent: wall and CPU seconds, median of three runs. Also the history fetch
for the 30-day period, one bulk query against one query per ticket, and `helpdesk report --json` end to end.

With ``--db PATH`` (a database of tests/bench/floor.py, say), only ``helpdesk report --json`` over all time and the
last 30 days of that file, in a child process each: wall and CPU seconds and the child's peak RSS (``wait4``), median
of three; ``--tree DIR`` runs the child from another copy of the source (the code before a change), and ``--fill``
first brings the file's report rollups up to date (a database from before schema 7).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from console.service import reports
from console.service.helpdesk import HelpdeskService
from console.service.ticket_view import facts_from_events
from db import reports as db_reports

REPO = Path(__file__).resolve().parents[2]
CACHE = Path("/tmp/helpdesk-bench-report")
NOW = datetime(2026, 3, 6, 8, 0, tzinfo=UTC)  # Friday 16:00 in Shanghai
BULK = 100_000
RUNS = 3


def _build(path: Path, fill: Callable[[HelpdeskService], object]) -> Path:
    """Build into a temporary file and rename, so an interrupted build is never taken for a cached one."""
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    for leftover in tmp.parent.glob(tmp.name + "*"):
        leftover.unlink()
    service = HelpdeskService.open(tmp, "bench", create=True, clock=lambda: NOW)
    try:
        fill(service)
    finally:
        service.shutdown()
    tmp.replace(path)
    return path


def demo_db() -> Path:
    from console.demo.seed import ensure_demo

    return _build(CACHE / "demo.db", lambda s: ensure_demo(s, seed=7, now=NOW))


def bulk_db() -> Path:
    from console.demo.seed import bulk_fill

    return _build(CACHE / "bulk-100k.db", lambda s: bulk_fill(s, BULK, now=NOW))


def _timed(work: Callable[[], Any]) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(RUNS):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"wall_s": round(statistics.median(walls), 3), "cpu_s": round(statistics.median(cpus), 3)}


def _reader(path: Path) -> HelpdeskService:
    """Any registered agent may read reports."""
    service = HelpdeskService.open(path, "bench", clock=lambda: NOW)
    agent = service.store.list_agents()[0].name
    return HelpdeskService(service.store, agent, clock=lambda: NOW)


def measure(path: Path) -> dict[str, Any]:
    service = _reader(path)
    today = NOW.astimezone(reports.REPORT_ZONE).date()
    periods = {
        "all": reports.make_period(None, None),
        "30d": reports.make_period(today - timedelta(days=29), today),
        "7d": reports.make_period(today - timedelta(days=6), today),
    }
    out: dict[str, Any] = {"tickets": service.store.count_tickets(), "events": service.store.count_events()}
    for name, period in periods.items():
        report = reports.build_report(service, period, None, NOW)
        timing = _timed(lambda p=period: reports.build_report(service, p, None, NOW))  # type: ignore[misc]
        per = timing["cpu_s"] / report.total.tickets * 1e6 if report.total.tickets else None
        out[f"report_{name}"] = {"tickets": report.total.tickets, **timing, "cpu_us_per_ticket": per and round(per)}
    out["report_all_by_agent"] = _timed(lambda: reports.build_report(service, periods["all"], "agent", NOW))

    month = periods["30d"]
    ids = [t.id for t in db_reports.period_tickets(service.store, month.start, month.end)]
    out["history_30d"] = {
        "bulk_query": _timed(lambda: db_reports.period_clock_events(service.store, month.start, month.end)),
        "query_per_ticket": _timed(lambda: [facts_from_events(service.store.events(i)) for i in ids]),
    }
    agent = service.actor_name
    service.shutdown()

    env = {**os.environ, "HELPDESK_DB": str(path), "HELPDESK_AGENT": agent}
    argv = [sys.executable, "-m", "console", "report", "--json", "--now", NOW.isoformat()]
    start = month.first.isoformat() if month.first else ""
    for name, extra in (("all", []), ("30d", ["--from", start])):
        walls, cpus = [], []
        for _ in range(RUNS):
            began, before = time.perf_counter(), os.times()
            subprocess.run([*argv, *extra], cwd=REPO, env=env, check=True, capture_output=True)
            after = os.times()
            walls.append(time.perf_counter() - began)
            cpus.append(after.children_user + after.children_system - before.children_user - before.children_system)
        out[f"cli_json_{name}"] = {
            "wall_s": round(statistics.median(walls), 3),
            "cpu_s": round(statistics.median(cpus), 3),
        }
    return out


def _child(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall and CPU seconds and peak RSS (MB) of one child."""
    began = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    if status != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.read().decode() if proc.stderr else status}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def fill(path: Path) -> dict[str, Any]:
    """Bring the rollups of ``path`` up to date, as the sweeper would (a batch per transaction)."""
    from console.service.rollups import fill_rollups

    service = HelpdeskService.open(path, None)
    began, done = time.perf_counter(), 0
    try:
        while batch := fill_rollups(service.core, service.sla_book):
            done += batch
    finally:
        service.shutdown()
    return {"tickets": done, "seconds": round(time.perf_counter() - began, 1)}


def measure_cli(path: Path, tree: Path, days: int = 30) -> dict[str, Any]:
    """`helpdesk report --json`, all time and the last ``days`` days (the team zone's), against ``path``."""
    import sqlite3
    from zoneinfo import ZoneInfo

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    last = conn.execute("SELECT max(created_at) FROM tickets").fetchone()[0]
    tickets = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
    conn.close()
    today = datetime.fromisoformat(last).astimezone(ZoneInfo("Asia/Shanghai")).date()
    env = {**os.environ, "HELPDESK_DB": str(path)}
    out: dict[str, Any] = {"db": str(path), "tickets": tickets, "code": str(tree)}
    for name, extra in (("all", []), (f"{days}d", ["--from", (today - timedelta(days=days - 1)).isoformat()])):
        runs = [_child([sys.executable, "-m", "console", "report", "--json", *extra], tree, env) for _ in range(RUNS)]
        out[f"report_{name}"] = {
            "wall_s": round(statistics.median(r[0] for r in runs), 3),
            "cpu_s": round(statistics.median(r[1] for r in runs), 3),
            "peak_rss_mb": round(statistics.median(r[2] for r in runs), 1),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-bulk", action="store_true", help="only the demo database")
    parser.add_argument("--db", type=Path, help="only `helpdesk report --json` against this database")
    parser.add_argument("--tree", type=Path, default=REPO, help="with --db: the source tree the child runs")
    parser.add_argument("--fill", action="store_true", help="with --db: fill the report rollups first")
    args = parser.parse_args()
    if args.db is not None:
        found: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "load_1m": os.getloadavg()[0]}}
        if args.fill:
            found["fill"] = fill(args.db)
        found.update(measure_cli(args.db, args.tree))
        print(json.dumps(found, indent=2))
        return
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "load_1m": os.getloadavg()[0]},
        "demo": measure(demo_db()),
    }
    if not args.skip_bulk:
        cached = (CACHE / "bulk-100k.db").exists()
        began = time.perf_counter()
        path = bulk_db()
        result["bulk_build_s"] = "cached" if cached else round(time.perf_counter() - began, 1)
        result["bulk_100k"] = measure(path)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
