"""SQLite and PostgreSQL side by side on the same data: first paint, action latency, 8-writer throughput and
knowledge-search p95. Run by hand (prints one JSON document on stdout, progress on stderr; never pass/fail):

    python -m tests.bench.engines [--runs 3] [--db-sqlite PATH] [--pg-url URL]

The data: the demo database (``helpdesk demo --no-ui`` into a new SQLite file, or a copy of ``--db-sqlite``), with
``--kb-articles`` knowledge articles added (the real articles of ``--data`` padded as tests/bench/kb_search.py pads
them, imported by ``helpdesk kb import``), then ``helpdesk migrate --from that.db --to postgresql://…``: the same
rows on both engines. Everything runs as this login, the SQLite database's admin (the demo binds it), which the
migration makes the PostgreSQL owner's role.

PostgreSQL: without ``--pg-url`` a throwaway PostgreSQL 15 cluster is started with tests/pg.py's machinery (as root
the server runs as the ``postgres`` account) and stopped at the end. Unlike the tests' clusters it runs durable:
``fsync``, ``synchronous_commit`` and ``full_page_writes`` on (ALTER SYSTEM after the start), so that a commit waits
for the disk as SQLite's does (WAL with ``synchronous = FULL``, db/connection.py). ``--pg-url`` names an empty
database (the schema may be there, nothing else) owned by the URL's role: the copy goes there, and the writers act
``--as`` the agents through that role (an admin's login: the migrating admin's).

Measured for each engine, each figure the median of ``--runs`` runs with the runs' values beside it (the spread):

1. First paint: ``helpdesk --db DB`` in a pty of 120x40, wall time until the queue's column titles (first frame)
   and until its first ticket rows (the owner column, ``L1 · ``) reach the terminal. One unmeasured start each first.
2. Action latency: ``ticket new`` / ``note`` / ``assign`` / ``resolve`` of ``--calls`` fresh tickets, in-process
   CLI calls (``console.cli.main.main``, each opening and closing the service as a script's call does): p50, p95
   and max of each. The same actions through one open ``HelpdeskService`` (the console's path) beside them.
3. 8-writer throughput: 8 processes, each its own agent on its own service connection, repeating new → note →
   assign (to itself) → resolve on tickets of its own for ``--seconds`` s as fast as they can: commits per second
   in all, errors by kind, retries (a unit of work run again whole after a busy / serialization error: the
   transactions begun beyond the count of the writer's unmeasured first cycle), the actions' p50/p95/p99/max and
   how many took over a second (a writer waiting on SQLite's busy handler, which polls rather than queues: another
   may take the lock first many times over). SQLite: this login (admin) ``--as`` each agent. PostgreSQL: each
   agent's own role (the roles the migration made, given a password here for SCRAM over TCP) with a throwaway
   cluster, the URL's role ``--as`` the agent with ``--pg-url``.
4. Knowledge search: ``HelpdeskService.search_kb`` (limit 10) over the same articles (the demo's and the
   ``--kb-articles`` imported), 40 queries of each kind of tests/bench/kb_search.py's ``latency_queries`` (or the
   titles' words without ``--data``): p50 and p95 in all, p95 by kind. Reported as not available where the
   engine's store has no search yet.

Each run adds its tickets to the same databases (a few thousand over the runs): a later run works on a slightly
larger queue, the same on both engines.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.floor import ANSI, QUEUE_ROW, cli_call, helpdesk_argv, host_busy, percentile
from tests.bench.pty_tools import drain, spawn, stop

SIZE = (120, 40)
FRAME = b"Subject"  # the queue's column titles: the console's first frame
WRITERS = ("emma.clarke", "li.wei", "tom.baker", "wang.fang", "chen.jing", "james.wright", "liu.yang", "sarah.okafor")
ASSIGNEE = "li.wei"  # whom the latency calls assign to (an L1 agent of the demo)
ACTIONS = ("ticket new", "ticket note", "ticket assign", "ticket resolve")
REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO.parent / "shared" / "data"
KB_QUERIES = 40  # per kind of query (six kinds)


class BenchError(Exception):
    """One line for the user, no traceback."""


def note(message: str) -> None:
    sys.stderr.write(f"engines: {message}\n")
    sys.stderr.flush()


@dataclass
class Engine:
    name: str
    db: str  # the path or URL the console and the CLI are given
    writers: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # agent -> (db, --as)
    writers_are: str = ""


def spread(values: Sequence[float], digits: int = 1) -> dict[str, Any]:
    """The median of the runs' values, and the values."""
    return {"median": round(statistics.median(values), digits), "runs": [round(v, digits) for v in values]}


def quantiles(values_ms: Sequence[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values_ms, 0.5) or 0.0, 1),
        "p95": round(percentile(values_ms, 0.95) or 0.0, 1),
        "max": round(max(values_ms), 1),
    }


# -- the data ---------------------------------------------------------------------------------------------------


def run_helpdesk(*argv: str, what: str) -> str:
    done = subprocess.run([*helpdesk_argv(), *argv], capture_output=True, text=True, check=False, timeout=3600)
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise BenchError(f"{what}: exit {done.returncode}: {said[-1] if said else ''}")
    return done.stdout


def sqlite_database(work: Path, source: Path | None, kb_articles: int, data: Path) -> Path:
    db = work / "bench.db"
    if source is not None:
        note(f"copying {source}")
        with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src:
            with contextlib.closing(sqlite3.connect(db)) as dst:
                src.backup(dst)
    else:
        note("building the demo database (helpdesk demo --no-ui)")
        run_helpdesk("--db", str(db), "demo", "--no-ui", what="helpdesk demo")
    if kb_articles > 0:
        if not (data / "kb_en" / "articles.jsonl").exists():
            note(f"{data} has no articles: the knowledge search runs on the database's own articles")
        else:
            from tests.bench.kb_search import load, padded

            articles = padded(load(data), kb_articles)
            path = work / "articles.jsonl"
            with path.open("w", encoding="utf-8") as fh:
                for a in articles:
                    row = {"title": a.title, "body": a.body, "tags": a.tags.split(",") if a.tags else []}
                    fh.write(json.dumps({**row, "ref": a.ref}, ensure_ascii=False) + "\n")
            note(f"importing {len(articles):,} knowledge articles (helpdesk kb import)")
            run_helpdesk("--db", str(db), "kb", "import", str(path), what="helpdesk kb import")
    return db


def migrate(sqlite_db: Path, url: str) -> dict[str, Any]:
    note("copying into PostgreSQL (helpdesk migrate)")
    out = run_helpdesk("migrate", "--from", str(sqlite_db), "--to", url, "--json", what="helpdesk migrate")
    done: dict[str, Any] = json.loads(out)
    return {"rows": done["rows"], "seconds": done["seconds"], "admin": done["admin"], "login": done["login"]}


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Any]:
    """tests/pg.py's cluster, made durable (the tests run it with fsync off)."""
    import pytest

    from tests.pg import cluster_running

    try:
        with cluster_running() as cluster:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                cluster.admin_sql(f"ALTER SYSTEM SET {setting} = on")
            cluster.admin_sql("SELECT pg_reload_conf()")
            time.sleep(0.5)  # the reload is asynchronous: the postmaster signals its children
            yield cluster
    except pytest.skip.Exception as exc:
        raise BenchError(str(exc)) from exc


def pg_settings(url: str) -> dict[str, str]:
    import psycopg

    names = ("server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "shared_buffers")
    with psycopg.connect(url, autocommit=True) as conn:
        return {name: str((conn.execute(f"SHOW {name}").fetchone() or ("?",))[0]) for name in names}


def sqlite_settings(db: Path) -> dict[str, str]:
    from db.connection import connect

    conn = connect(db)
    try:
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
        sync = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[conn.execute("PRAGMA synchronous").fetchone()[0]]
    finally:
        conn.close()
    return {"sqlite_version": sqlite3.sqlite_version, "journal_mode": str(journal), "synchronous": sync}


def filesystem(path: Path) -> str:
    done = subprocess.run(["df", "-T", str(path)], capture_output=True, text=True, check=False)
    lines = done.stdout.splitlines()
    return lines[1].split()[1] if len(lines) > 1 else "?"


# -- 1. first paint ---------------------------------------------------------------------------------------------


def first_paint(db: str, limit: float = 60.0) -> tuple[float, float]:
    """(seconds to the first frame, seconds to the first ticket rows) of one console start."""
    started = time.monotonic()
    pid, fd = spawn([*helpdesk_argv(), "--db", db], SIZE)
    frame: float | None = None
    tail = text = b""
    try:
        while time.monotonic() - started < limit:
            data = drain(fd, 0.01)
            if not data:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    pid = 0
                    raise BenchError(f"the console on {db} ended: {text[-300:].decode(errors='replace')}")
                continue
            now = time.monotonic() - started
            seen = ANSI.sub(b"", tail + data)  # a marker or an escape cut between reads: the tail goes first
            tail = (tail + data)[-512:]
            text = (text + ANSI.sub(b"", data))[-4096:]
            if frame is None and FRAME in seen:
                frame = now
            if QUEUE_ROW.search(seen):
                return frame if frame is not None else now, now
        raise BenchError(f"the console on {db} painted no rows in {limit:.0f} s")
    finally:
        if pid:
            stop(pid, fd)


# -- 2. action latency ------------------------------------------------------------------------------------------


def cli_ok(argv: list[str]) -> tuple[str, float]:
    code, out, err, began, ended = cli_call(argv)
    if code != 0:
        raise BenchError(f"helpdesk {' '.join(argv[2:5])}: exit {code}: {err.strip()}")
    return out, ended - began


def cli_latency(db: str, calls: int, tag: str) -> dict[str, list[float]]:
    """Seconds per call of each action over ``calls`` fresh tickets (new, note, assign, resolve each in turn)."""
    base = ["--db", db, "--lang", "en"]
    times: dict[str, list[float]] = {action: [] for action in ACTIONS}
    for i in range(calls + 1):  # the first cycle warms up (imports, first connection) and is not counted
        out, new = cli_ok(
            [
                *[*base, "--json", "ticket", "new", "--subject", f"Receipt printer jams at till {tag}-{i}"],
                *["--priority", "P3", "--channel", "phone", "--customer", "Bench Customer"],
                *["--body", "The printer jams after every second receipt."],
            ]
        )
        tid = str(json.loads(out)["id"])
        _o, noted = cli_ok([*base, "ticket", "note", tid, "--body", "Checked the paper roll and the cutter."])
        _o, assigned = cli_ok([*base, "ticket", "assign", tid, "--to", ASSIGNEE])
        _o, resolved = cli_ok([*base, "ticket", "resolve", tid, "--summary", "Printer head cleaned."])
        if i:
            for action, seconds in zip(ACTIONS, (new, noted, assigned, resolved), strict=True):
                times[action].append(seconds)
    return times


def service_latency(db: str, calls: int, tag: str) -> dict[str, list[float]]:
    """The same actions through one open service (the console's path)."""
    from console.service.helpdesk import HelpdeskService

    times: dict[str, list[float]] = {action: [] for action in ACTIONS}
    service = HelpdeskService.open(db)
    try:
        for i in range(calls + 1):
            t0 = time.perf_counter()
            ticket = service.create_ticket(
                f"Receipt printer jams at till {tag}-{i}",
                "The printer jams after every second receipt.",
                customer="Bench Customer",
                priority="P3",
                channel="phone",
            )
            t1 = time.perf_counter()
            service.note(ticket.id, "Checked the paper roll and the cutter.")
            t2 = time.perf_counter()
            service.assign(ticket.id, ASSIGNEE)
            t3 = time.perf_counter()
            service.resolve(ticket.id, "Printer head cleaned.")
            t4 = time.perf_counter()
            if i:
                for action, seconds in zip(ACTIONS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                    times[action].append(seconds)
    finally:
        service.shutdown()
    return times


# -- 3. eight writers -------------------------------------------------------------------------------------------


class CountedTransactions:
    """Counts the outermost transactions a store begins: a unit of work retried whole begins another."""

    def __init__(self, store: Any) -> None:
        self.count = 0
        self.depth = 0
        inner = store.transaction

        @contextlib.contextmanager
        def counted() -> Iterator[None]:
            if not self.depth:
                self.count += 1
            self.depth += 1
            try:
                with inner():
                    yield
            finally:
                self.depth -= 1

        store.transaction = counted


def writer_child(db: str, actor: str | None, seconds: float, out: str, barrier: Any) -> None:
    """new → note → assign (to itself) → resolve on tickets of its own, as fast as it can for ``seconds``; writes
    {"start", "end", "baseline": {kind: transactions}, "actions": [[kind, ok, seconds, transactions, error], ...]}
    to ``out``. One cycle before the start, unmeasured: the imports and caches a first action fills, and each
    action's transaction count when nothing retried (the other writers are still starting)."""
    from console.i18n import set_language
    from console.service.helpdesk import HelpdeskService

    set_language("en")
    service = HelpdeskService.open(db, actor)
    me = service.actor_name
    counter = CountedTransactions(service.store)
    tid: int | None = None

    def act(kind: str, step: int) -> None:
        nonlocal tid
        if kind == "ticket new":
            tid = service.create_ticket(
                f"Till {step} of {me}: printer jams", "It jams.", customer="Bench Customer", channel="phone"
            ).id
            return
        assert tid is not None
        if kind == "ticket note":
            service.note(tid, "Checked the paper roll.")
        elif kind == "ticket assign":
            service.assign(tid, me)
        else:
            service.resolve(tid, "Printer head cleaned.")

    baseline: dict[str, int] = {}
    for kind in ACTIONS:
        before = counter.count
        act(kind, -1)
        baseline[kind] = counter.count - before
    actions: list[list[Any]] = []
    barrier.wait(timeout=300)
    start = time.monotonic()
    deadline = start + seconds
    tid = None
    step = 0
    while time.monotonic() < deadline:
        kind = ACTIONS[step % len(ACTIONS)]
        before = counter.count
        t0 = time.monotonic()
        error = ""
        try:
            act(kind, step)
        except Exception as exc:  # every failure is counted by kind, none stops the writer
            error = f"{type(exc).__name__}: {str(exc)[:120]}"
            step = -1  # start again on a fresh ticket
        actions.append([kind, not error, time.monotonic() - t0, counter.count - before, error])
        step += 1
    end = time.monotonic()
    service.shutdown()
    Path(out).write_text(
        json.dumps({"start": start, "end": end, "baseline": baseline, "actions": actions}), encoding="utf-8"
    )


def eight_writers(engine: Engine, seconds: float, work: Path, tag: str) -> dict[str, Any]:
    from tests.bench import engines as this  # by its module name: the spawned children import it so

    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(engine.writers) + 1)
    outputs = [work / f"writer-{tag}-{i}.json" for i in range(len(engine.writers))]
    procs = [
        ctx.Process(target=this.writer_child, args=(db, actor, seconds, str(out), barrier))
        for (db, actor), out in zip(engine.writers.values(), outputs, strict=True)
    ]
    for proc in procs:
        proc.start()
    barrier.wait(timeout=300)
    for proc in procs:
        proc.join(timeout=seconds + 120)
    for proc in procs:
        if proc.is_alive():
            proc.kill()
    if any(proc.exitcode != 0 for proc in procs):
        raise BenchError(f"{engine.name}: writer exit codes {[proc.exitcode for proc in procs]}")
    results = [json.loads(out.read_text(encoding="utf-8")) for out in outputs]
    actions = [a for r in results for a in r["actions"]]
    # Transactions an action began beyond its count in the writer's unmeasured first cycle: retries.
    retries = sum(max(0, a[3] - r["baseline"][a[0]]) for r in results for a in r["actions"])
    ok_actions = [a for a in actions if a[1]]
    elapsed = max(r["end"] for r in results) - min(r["start"] for r in results)
    errors = Counter(a[4].split(":", 1)[0] for a in actions if not a[1])
    first_errors = sorted({a[4] for a in actions if not a[1]})[:3]
    latencies = [a[2] * 1000 for a in ok_actions]
    return {
        "commits_per_s": len(ok_actions) / elapsed,
        "commits": len(ok_actions),
        "seconds": round(elapsed, 2),
        "errors": dict(errors),
        "first_errors": first_errors,
        "retries": retries,
        "p50_ms": percentile(latencies, 0.5) or 0.0,
        "p95_ms": percentile(latencies, 0.95) or 0.0,
        "p99_ms": percentile(latencies, 0.99) or 0.0,
        "max_ms": max(latencies, default=0.0),
        "over_1s": sum(1 for v in latencies if v > 1000),
    }


# -- 4. knowledge search ----------------------------------------------------------------------------------------


def kb_queries(db: Path, data: Path) -> dict[str, list[str]]:
    """kb_search.py's typical interactive queries by kind (English words, Chinese words, mixed, prefixes being typed,
    whole descriptions) from the articles of ``data``, or the database's own titles' words."""
    if (data / "kb_en" / "articles.jsonl").exists():
        from tests.bench.kb_search import latency_queries, load

        return latency_queries(load(data), n=KB_QUERIES)
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        titles = [row[0] for row in conn.execute("SELECT title FROM kb_articles ORDER BY id")]
    return {"title_word": [w for t in titles for w in t.split()[:2] if len(w) > 2]}


def kb_latency(db: str, queries: dict[str, list[str]]) -> dict[str, list[float]] | str:
    """Milliseconds per search by kind of query, or why there is none on this engine."""
    from console.service.helpdesk import HelpdeskService

    every = [q for group in queries.values() for q in group]
    service = HelpdeskService.open(db)
    try:
        try:
            service.search_kb(every[0], limit=10)
        except (AttributeError, NotImplementedError) as exc:
            return f"not available on this branch ({type(exc).__name__}: {exc})"
        for q in every[:20]:  # warm the caches
            service.search_kb(q, limit=10)
        wall: dict[str, list[float]] = {}
        for kind, group in queries.items():
            for q in group:
                t0 = time.perf_counter()
                service.search_kb(q, limit=10)
                wall.setdefault(kind, []).append((time.perf_counter() - t0) * 1000)
        return wall
    finally:
        service.shutdown()


# -- the run ----------------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    busy = host_busy()
    time.sleep(3)
    after = host_busy()
    return {
        "cores": os.cpu_count(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        # what the machine's other users take before anything here runs
        "host_busy_percent_before": round(100 * (after[0] - busy[0]) / max(1, after[1] - busy[1]), 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def measure(
    engines: list[Engine], args: argparse.Namespace, work: Path, queries: dict[str, list[str]]
) -> dict[str, Any]:
    paint: dict[str, list[tuple[float, float]]] = {e.name: [] for e in engines}
    cli: dict[str, list[dict[str, list[float]]]] = {e.name: [] for e in engines}
    svc: dict[str, list[dict[str, list[float]]]] = {e.name: [] for e in engines}
    writers: dict[str, list[dict[str, Any]]] = {e.name: [] for e in engines}
    kb: dict[str, list[dict[str, list[float]]] | str] = {e.name: [] for e in engines}
    for engine in engines:
        note(f"{engine.name}: one unmeasured console start")
        first_paint(engine.db)
    for run in range(1, args.runs + 1):
        for engine in engines:  # interleaved, so the machine's other load falls on both alike
            tag = f"{engine.name[:2]}{run}"
            note(f"run {run}/{args.runs} {engine.name}: first paint")
            paint[engine.name].append(first_paint(engine.db))
            note(f"run {run}/{args.runs} {engine.name}: {args.calls} x 4 CLI calls, then through one service")
            cli[engine.name].append(cli_latency(engine.db, args.calls, tag))
            svc[engine.name].append(service_latency(engine.db, args.calls, tag))
            note(f"run {run}/{args.runs} {engine.name}: {len(engine.writers)} writers for {args.seconds:g} s")
            writers[engine.name].append(eight_writers(engine, args.seconds, work, tag))
            note(f"run {run}/{args.runs} {engine.name}: knowledge search ({sum(map(len, queries.values()))} queries)")
            runs = kb[engine.name]
            if not isinstance(runs, str):
                found = kb_latency(engine.db, queries)
                if isinstance(found, str):
                    kb[engine.name] = found
                else:
                    runs.append(found)
    out: dict[str, Any] = {}
    for engine in engines:
        name = engine.name

        def actions(per_run: list[dict[str, list[float]]]) -> dict[str, Any]:
            table: dict[str, Any] = {}
            for action in ACTIONS:
                q = [quantiles([s * 1000 for s in run[action]]) for run in per_run]
                table[action] = {key: spread([x[key] for x in q]) for key in ("p50", "p95", "max")}
            return table

        w = writers[name]
        kb_runs = kb[name]
        out[name] = {
            "db": engine.db.split("@")[-1],  # no password in the report
            "first_paint_s": {
                "first_frame": spread([p[0] for p in paint[name]], 3),
                "first_rows": spread([p[1] for p in paint[name]], 3),
            },
            "cli_ms": actions(cli[name]),
            "service_ms": actions(svc[name]),
            "eight_writers": {
                "writers": engine.writers_are,
                "commits_per_s": spread([x["commits_per_s"] for x in w]),
                "p50_ms": spread([x["p50_ms"] for x in w]),
                "p95_ms": spread([x["p95_ms"] for x in w]),
                "p99_ms": spread([x["p99_ms"] for x in w]),
                "max_ms": spread([x["max_ms"] for x in w]),
                "actions_over_1s": [x["over_1s"] for x in w],
                "commits": [x["commits"] for x in w],
                "errors": [x["errors"] for x in w],
                "first_errors": sorted({e for x in w for e in x["first_errors"]})[:5],
                "retries": [x["retries"] for x in w],
            },
            "kb_search_ms": kb_runs
            if isinstance(kb_runs, str)
            else {
                "queries": {kind: len(group) for kind, group in queries.items()},
                "p50": spread([percentile([v for g in r.values() for v in g], 0.5) or 0.0 for r in kb_runs], 2),
                "p95": spread([percentile([v for g in r.values() for v in g], 0.95) or 0.0 for r in kb_runs], 2),
                "p95_by_kind": {
                    kind: spread([percentile(r[kind], 0.95) or 0.0 for r in kb_runs], 2) for kind in queries
                },
            },
        }
    return out


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.engines", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db-sqlite", type=Path, help="a SQLite database to copy instead of the demo")
    parser.add_argument("--pg-url", help="an empty PostgreSQL database to copy into (default: a throwaway cluster)")
    parser.add_argument("--calls", type=int, default=30, help="calls of each action per run (default 30)")
    parser.add_argument("--seconds", type=float, default=20.0, help="the writers' time per run (default 20)")
    parser.add_argument("--kb-articles", type=int, default=10_000, help="knowledge articles (0: the database's own)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the articles' folder (../shared/data)")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="one engine only")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, work: Path, cluster: Any | None) -> dict[str, Any]:
    report: dict[str, Any] = {"machine": machine(), "runs": args.runs, "calls": args.calls, "seconds": args.seconds}
    sqlite_db = sqlite_database(work, args.db_sqlite, args.kb_articles, args.data)
    engines: list[Engine] = []
    settings: dict[str, Any] = {}
    if args.only != "postgresql":
        engines.append(
            Engine(
                "sqlite",
                str(sqlite_db),
                {a: (str(sqlite_db), a) for a in WRITERS},
                "this login (the demo's admin) --as each agent",
            )
        )
        settings["sqlite"] = {**sqlite_settings(sqlite_db), "filesystem": filesystem(sqlite_db)}
    if args.only != "sqlite":
        writers: dict[str, tuple[str, str | None]]
        if cluster is not None:
            database = cluster.new_database()
            url = cluster.url(database)
            copied = migrate(sqlite_db, url)
            writers = {a: (cluster.url(database, cluster.role(a)), None) for a in WRITERS}
            are = "each agent's own role (made by the migration; a password set here for SCRAM on 127.0.0.1)"
            fs = filesystem(Path(cluster.root))
        else:
            url = args.pg_url
            copied = migrate(sqlite_db, url)
            writers = {a: (url, a) for a in WRITERS}
            are = "the URL's role (the migrating admin's) --as each agent"
            fs = "?"
        engines.append(Engine("postgresql", url, writers, are))
        settings["postgresql"] = {
            **pg_settings(url),
            "filesystem": fs,
            "cluster": "throwaway (tests/pg.py), made durable" if cluster is not None else "--pg-url",
            "migrate": copied,
        }
    report["settings"] = settings
    queries = kb_queries(sqlite_db, args.data)
    report.update(measure(engines, args, work, queries))
    report["machine"]["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    for name in [k for k in os.environ if k.startswith("HELPDESK_")]:
        del os.environ[name]  # the databases are given by --db; nothing of the caller's setup leaks in
    work = Path(tempfile.mkdtemp(prefix="helpdesk-engines-"))
    os.environ.update(HELPDESK_LANG="en", HELPDESK_STATE_DIR=str(work / "state"))
    from console.i18n import set_language

    set_language("en")
    try:
        with contextlib.ExitStack() as stack:
            cluster = None
            if args.only != "sqlite" and not args.pg_url:
                note("starting a throwaway PostgreSQL 15 cluster")
                cluster = stack.enter_context(throwaway_cluster())
            report = run(args, work, cluster)
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    except BenchError as exc:
        note(str(exc))
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
