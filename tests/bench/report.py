"""What a service-quality report costs (run by hand: ``python -m tests.bench.report``; prints JSON).

Two databases, built once and cached under /tmp: the demo (300 tickets with full histories) and 100,000 tickets
from ``console.demo.seed.bulk_fill`` (two years of history, one event each). For each, the report over all time, the
last 30 and 7 days, and all time by agent: wall and CPU seconds, median of three runs. Also the history fetch
for the 30-day period, one bulk query against one query per ticket, and `helpdesk report --json` end to end.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-bulk", action="store_true", help="only the demo database")
    args = parser.parse_args()
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
