"""`helpdesk import` memory and time on a large file (run by hand: `python -m tests.bench.import_memory`; not part of
the test suite).

Builds a JSON Lines (or CSV) file of realistic tickets from the demo's catalogue and customers (about 220 bytes a
row), imports it into a fresh database with `python -m console import FILE` in a child process, and prints JSON:
the file's size and rows, the wall time, and the child's peak resident memory (``ru_maxrss`` from ``wait4``, the
kernel's high-water mark of the whole process, the same figure as ``VmHWM`` in /proc/<pid>/status).

    python -m tests.bench.import_memory --rows 300000 [--format jsonl|csv] [--lean] [--dir /tmp/import-bench]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from console.demo.data import CHANNEL_WEIGHTS, catalogue, fill_in, priority_weights
from console.demo.seed import _bulk_age, _bulk_customers
from console.service.importer import FIELDS
from db.vocabulary import PRIORITIES

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
AGENTS = ("li.wei", "ann", "kai")


def rows(count: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    """The rows `bulk_fill` would insert, as an import file carries them."""
    rng = random.Random(seed)
    topics = catalogue()
    topic_weights = list(itertools.accumulate(t.weight for t in topics))
    people = _bulk_customers(rng, max(10, count // 25), seed)
    statuses = ("new", "open", "pending", "resolved", "closed")
    status_weights = list(itertools.accumulate((5, 12, 5, 8, 70)))
    channels = [c for c, _w in CHANNEL_WEIGHTS]
    channel_weights = list(itertools.accumulate(w for _c, w in CHANNEL_WEIGHTS))
    for _ in range(count):
        person = people[rng.randrange(len(people))]
        topic = rng.choices(topics, cum_weights=topic_weights)[0]
        texts = topic.text[person.lang]
        ctx = person.context()
        status = rng.choices(statuses, cum_weights=status_weights)[0]
        yield {
            "subject": fill_in(rng.choice(texts["subject"]), ctx),
            "body": fill_in(rng.choice(texts["body"]), ctx),
            "customer": person.name,
            "email": person.email,
            "phone": person.phone,
            "organisation": person.org.name,
            "customer_tier": person.tier,
            "priority": rng.choices(PRIORITIES, priority_weights(topic, person.lang))[0],
            "channel": rng.choices(channels, cum_weights=channel_weights)[0],
            "tier": "L1" if rng.random() < 0.85 else rng.choice(("L2", "L3")),
            "status": status,
            "assignee": None if status == "new" else rng.choice(AGENTS),
            "created_at": (NOW - timedelta(seconds=int(_bulk_age(rng)))).isoformat(),
        }


LEAN = ("subject", "body", "customer", "email", "priority", "channel")


def write_file(path: Path, count: int, fmt: str, lean: bool) -> None:
    names = LEAN if lean else FIELDS
    with path.open("w", encoding="utf-8", newline="") as out:
        if fmt == "csv":
            writer = csv.DictWriter(out, fieldnames=list(names), extrasaction="ignore")
            writer.writeheader()
            for row in rows(count):
                writer.writerow(row)
        else:
            for row in rows(count):
                kept = {k: row[k] for k in names if row[k] is not None}
                out.write(json.dumps(kept, ensure_ascii=False) + "\n")


def helpdesk(db: Path, *argv: str) -> None:
    subprocess.run([sys.executable, "-m", "console", "--db", str(db), "--as", "boss", *argv], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    parser.add_argument("--lean", action="store_true", help="only " + ", ".join(LEAN) + " (about 220 bytes a row)")
    parser.add_argument("--dir", help="work folder (kept); a temporary one otherwise")
    args = parser.parse_args()

    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="import-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        data = work / f"tickets-{args.rows}{'-lean' if args.lean else ''}.{args.format}"
        if not data.exists():
            write_file(data, args.rows, args.format, args.lean)
        db = work / "helpdesk.db"
        for stale in work.glob("helpdesk.db*"):
            stale.unlink()
        helpdesk(db, "init", "--admin", "boss")
        for name in AGENTS:
            helpdesk(db, "agent", "add", name)

        said = work / "import.out"
        with said.open("wb") as output:
            started = time.perf_counter()
            child = subprocess.Popen(
                [sys.executable, "-m", "console", "--db", str(db), "--as", "boss", "import", str(data)],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            _pid, status, usage = os.wait4(child.pid, 0)
            seconds = time.perf_counter() - started
        with sqlite3.connect(db) as conn:
            (tickets,) = conn.execute("SELECT count(*) FROM tickets").fetchone()
        print(
            json.dumps(
                {
                    "format": args.format + (" (lean)" if args.lean else ""),
                    "file_mb": round(data.stat().st_size / 1e6, 1),
                    "rows": args.rows,
                    "exit": os.waitstatus_to_exitcode(status),
                    "imported": tickets,
                    "seconds": round(seconds, 1),
                    "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # ru_maxrss is in KiB on Linux
                    "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
                    "cores": os.cpu_count(),
                    "output": said.read_text(errors="replace").strip()[:300],
                },
                indent=2,
            )
        )
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
