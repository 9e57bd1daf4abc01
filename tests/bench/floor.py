"""A support floor on one host: N consoles and M wallboards in real ptys over a large database, a writer at one
commit per second, and what each of them costs.

Run by hand (prints one JSON document on stdout, progress on stderr; never pass/fail):

    python -m tests.bench.floor --shape 100k --build-only             # build (or find) the cached database
    python -m tests.bench.floor --shape 100k --consoles 5 --boards 1 --seconds 60 --idle 120

Databases are built as a user would build them: ``helpdesk init``, ``helpdesk agent add`` (about 50 agents) and
``helpdesk import`` of JSON Lines files (100,000 rows a file) with claimed ``created_at`` times, then one
``helpdesk sweep``, all with ``HELPDESK_DB`` set. Three shapes, generated from a seeded random source (the same
rows every time for a given GENERATOR_VERSION) and cached under ``--cache`` (default /tmp/helpdesk-floor-bench),
one folder per shape and generator version:

- ``100k``: 100,000 tickets over the 120 days before the build day, about 4,500 still open;
- ``1M-hist``: 900,000 closed tickets over the three years before those, then the same 100,000;
- ``1M-bulk``: 1,000,000 tickets over the same 120 days, about 45,000 open.

The import carries no events (replies, resolutions): a ticket arrives in its final status, resolved or closed at its
creation time. Open P1s are kept to a handful in every shape (a P1 is a major incident), so that a fresh P1 shows
near the top of the queue's "All open" view and of the board's urgent list.

A run works on a copy of the cached database in a temporary folder. Before the screens open it opens the copy once
(``helpdesk agent list``: a cache built by an older schema is migrated there, timed), checks that the copy has every
table, column, index and trigger this code creates in a new database (a cache built while the schema was being
edited may not: then it stops and asks for ``--rebuild``), imports "today's" tickets so far (the shape's daily
rate, from the business zone's midnight to now; the cache stops at the midnight before its build), gives at most
``--today-replies`` (default 1,000) of today's open ones a first reply from their owner (``ticket reply --at``, the
admin acting ``--as`` the owner, in-process CLI calls) and runs ``helpdesk sweep`` (the clocks that ran out since the
build), so the board's "today" and the breached counts are those of a live floor whatever the cache's age. Then:

1. N consoles (``helpdesk --db DB --as AGENT``: one agent each, all under this login, which must be the admin's —
   true when this login built the cache) and M wallboards (``helpdesk --db DB wallboard``), each in its own pty of
   120x40; the consoles switch to "All open" (key ``5``). Every pty is drained continuously by one reader thread.
2. Idle phase (``--idle`` s, no writes; consoles sweep every 30 s): CPU % of a core per process, RSS at the end.
3. Write phase (``--seconds`` s): a writer process calls the CLI in-process (``console.cli.main.main``) once a second,
   in a cycle of commits (``--mix``). ``floor`` (the default), fifteen commits: a new P1 whose subject starts with a
   marker ``FLOOR-000001`` (the probe), three new P3 tickets, five notes on open tickets, three P3s taken by agents,
   two resolved, and the P1 assigned and resolved — still far more P1s than a floor sees (240 an hour; each rings
   and shows an alert on every console of its tier). ``p1-storm``, four commits: the new P1, a note, the P1 assigned,
   the P1 resolved (a P1 every 4 s: the alerts' worst case). Each call's wall time is the
   commit latency (the call opens and closes the service, as a script's call does); the measured window runs from
   the writer's first call (after its own start-up) to its exit. Commit-to-screen lag: from the create call's
   return to the marker's first appearance in each pty's output (escape sequences stripped). CPU % of a core,
   VmRSS at the end and VmHWM per process.
4. Report cost (screens closed): ``helpdesk report --json`` all-time and for the last 30 days: wall time, CPU time
   and peak RSS of the child (``wait4``).

The projection divides half of the host (``cores * 50`` % of a core) by the measured write-phase cost of a floor of
ten consoles per board.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import random
import re
import select
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.bench.pty_tools import cpu_seconds, peak_rss_mb, rss_mb, spawn

GENERATOR_VERSION = 1
SIZE = (120, 40)
DEFAULT_CACHE = Path("/tmp/helpdesk-floor-bench")
REPO = Path(__file__).resolve().parents[2]
CHUNK = 100_000  # rows per import file: progress between files, and each import one bounded transaction
RECENT_DAYS = 120
HISTORY_DAYS = 3 * 365
OPEN_P1 = 3.0  # expected open P1s in a shape, whatever its size
BUSINESS_ZONE = ZoneInfo("Asia/Shanghai")  # the default policy's business zone: the board's "today"
ADMIN = "boss"
WRITER = "floor.lead"  # the supervisor the writer acts as (--as)
MARKER = re.compile(rb"FLOOR-(\d{6})")
ANSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
QUEUE_ROW = re.compile(rb"L[123] \xc2\xb7 ")  # the owner column ("L1 · "): only queue rows carry it
BOARD_ROW = re.compile(rb"P[1-4] #\d+")  # a line of the board's urgent list


@dataclass(frozen=True)
class Shape:
    recent: int  # tickets over the RECENT_DAYS before the build day
    history: int = 0  # closed tickets over the HISTORY_DAYS before those


SHAPES = {
    "100k": Shape(recent=100_000),
    "1M-hist": Shape(recent=100_000, history=900_000),
    "1M-bulk": Shape(recent=1_000_000),
}


def note(message: str) -> None:
    sys.stderr.write(f"floor: {message}\n")
    sys.stderr.flush()


class BenchError(Exception):
    """One line for the user, no traceback."""


# -- the generated floor ------------------------------------------------------------------------------------

GIVEN_EN = ("James", "Mary", "Robert", "Linda", "David", "Susan", "Daniel", "Karen", "Paul", "Emma", "Mark", "Anna")
FAMILY_EN = ("Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Thomas", "Walker", "Wright", "Green", "Hall")
GIVEN_ZH = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛")
FAMILY_ZH = ("王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高")
PINYIN_ZH = ("wang", "li", "zhang", "liu", "chen", "yang", "zhao", "huang", "zhou", "wu", "xu", "sun", "hu", "zhu")
ORGS = (
    ("Northwind Traders", "northwind.example", "en"),
    ("Contoso Logistics", "contoso.example", "en"),
    ("Fabrikam Health", "fabrikam.example", "en"),
    ("Tailspin Travel", "tailspin.example", "en"),
    ("Litware Legal", "litware.example", "en"),
    ("Adatum Finance", "adatum.example", "en"),
    ("Wingtip Retail", "wingtip.example", "en"),
    ("华东物流有限公司", "hdwl.example.cn", "zh"),
    ("星河科技", "xinghe.example.cn", "zh"),
    ("远航贸易", "yuanhang.example.cn", "zh"),
    ("金桥银行上海分行", "jinqiao.example.cn", "zh"),
    ("青松医疗", "qingsong.example.cn", "zh"),
)
SUBJECTS_EN = (
    "VPN drops every {n} minutes",
    "Cannot log in to the ERP since this morning",
    "Printer on floor {n} jams on every job",
    "Outlook asks for the password again and again",
    "New starter needs a laptop and accounts",
    "Shared drive S: is read-only for the team",
    "Wi-Fi in meeting room {n} is very slow",
    "Invoice run failed with error {n}",
    "Phone on desk {n} has no dial tone",
    "Teams calls cut out after a few minutes",
    "Password reset for the HR portal",
    "Laptop will not boot after the update",
    "Cannot print PDFs from the browser",
    "Monitor flickers on the docking station",
    "Request: access to the sales dashboard",
    "Mailbox is full, cannot send",
    "Website checkout returns error 502",
    "Card terminal at store {n} is offline",
)
SUBJECTS_ZH = (
    "VPN 每隔{n}分钟断开一次",
    "今天早上起无法登录 ERP 系统",
    "{n}楼打印机每次打印都卡纸",
    "邮箱一直提示输入密码",
    "新员工入职需要电脑和账号",
    "共享盘对整个团队只读",
    "{n}号会议室无线网络很慢",
    "发票批处理失败，错误代码{n}",
    "笔记本更新后无法开机",
    "门店{n}的刷卡机离线",
)
BODIES_EN = (
    "It started after lunch and affects {n} people on our team. We restarted twice, no change.",
    "Since the update yesterday this happens every time. Screenshot attached. Please call me back.",
    "Several colleagues see the same problem. It is blocking our month-end work.",
)
BODIES_ZH = (
    "午饭后开始出现，影响我们组{n}个人。已经重启两次，没有变化。",
    "昨天更新后每次都这样，附截图，请回电。",
    "好几个同事都遇到同样的问题，影响月底结账。",
)
PRIORITY_MIX = (("P1", 2), ("P2", 13), ("P3", 60), ("P4", 25))
CHANNEL_MIX = (("email", 45), ("phone", 20), ("chat", 15), ("web", 15), ("onsite", 5))
TIER_MIX = (("L1", 85), ("L2", 12), ("L3", 3))
CUSTOMER_TIER_MIX = (("standard", 80), ("gold", 15), ("vip", 5))
OPEN_MIX = (("new", 25), ("open", 50), ("pending", 20), ("restored", 5))


def _pick(rng: random.Random, mix: Sequence[tuple[str, int]]) -> str:
    return rng.choices([k for k, _w in mix], [w for _k, w in mix])[0]


def agents() -> list[tuple[str, str, str]]:
    """(name, role, tier) of the floor's 49 agents besides the admin: 4 supervisors and 45 agents."""
    names = [f"{g.lower()}.{f.lower()}" for f in FAMILY_EN[:5] for g in GIVEN_EN[:5]]
    names += [f"{f}.{g}" for f in PINYIN_ZH[:6] for g in ("wei", "fang", "min", "jie")]
    out: list[tuple[str, str, str]] = [(WRITER, "supervisor", "L1")]
    out += [(names[i], "supervisor", ("L1", "L2", "L3")[i]) for i in range(3)]
    tiers = ["L1"] * 30 + ["L2"] * 10 + ["L3"] * 5
    out += [(names[3 + i], "agent", tier) for i, tier in enumerate(tiers)]
    return out


def customer(index: int) -> dict[str, str]:
    """Customer ``index``: a pure function of the number, so that every shape draws from the same people."""
    rng = random.Random(index * 7919 + 17)
    org, domain, lang = ORGS[index % len(ORGS)]
    if lang == "en":
        given, family = rng.choice(GIVEN_EN), rng.choice(FAMILY_EN)
        name, local = f"{given} {family}", f"{given.lower()}.{family.lower()}"
    else:
        family_index = rng.randrange(len(PINYIN_ZH))
        name, local = FAMILY_ZH[family_index] + rng.choice(GIVEN_ZH), PINYIN_ZH[family_index]
    return {
        "customer": name,
        "email": f"{local}.{index}@{domain}",
        "phone": f"+44 20 7946 {index % 10000:04d}" if lang == "en" else f"+86 138 {index % 100_000_000:08d}",
        "organisation": org,
        "customer_tier": _pick(rng, CUSTOMER_TIER_MIX),
        "lang": lang,
    }


def open_chance(age_days: float) -> float:
    """How likely a ticket of this age is still open: 4,500 of 100,000 over 120 days."""
    if age_days < 2:
        return 0.7
    if age_days < 7:
        return 0.3
    if age_days < 30:
        return 0.07
    return 0.01


def rows(
    count: int,
    start: datetime,
    end: datetime,
    seed: str,
    customers: int,
    *,
    history: bool = False,
    p1_keep: float = 1.0,
) -> Iterator[dict[str, Any]]:
    """``count`` tickets created between ``start`` and ``end``, in time order (ticket numbers grow with time); a P1
    that would be open stays open with the chance ``p1_keep`` (see p1_keep)."""
    rng = random.Random(seed)
    span = (end - start).total_seconds()
    by_tier: dict[str, list[str]] = {}
    for name, role, tier in agents():
        if role == "agent":
            by_tier.setdefault(tier, []).append(name)
    for i in range(count):
        created = start + timedelta(seconds=int((i + rng.random()) * span / count))
        person = customer(rng.randrange(customers))
        zh = person.pop("lang") == "zh"
        n = rng.randint(2, 40)
        subject = rng.choice(SUBJECTS_ZH if zh else SUBJECTS_EN).format(n=n)
        body = rng.choice(BODIES_ZH if zh else BODIES_EN).format(n=n)
        priority = _pick(rng, PRIORITY_MIX)
        tier = _pick(rng, TIER_MIX)
        age = (end - created).total_seconds() / 86400
        still_open = not history and rng.random() < open_chance(age)
        if still_open and priority == "P1" and rng.random() >= p1_keep:
            still_open = False
        if still_open:
            status = _pick(rng, OPEN_MIX)
        else:
            status = "resolved" if age < 5 and rng.random() < 0.4 else "closed"
        yield {
            "subject": subject,
            "body": body,
            **person,
            "priority": priority,
            "channel": _pick(rng, CHANNEL_MIX),
            "tier": tier,
            "status": status,
            "assignee": "" if status == "new" else rng.choice(by_tier[tier]),
            "created_at": created.isoformat(),
        }


def p1_keep(expected_open: float, open_p1: float) -> float:
    """The chance that keeps about ``open_p1`` of the P1s among ``expected_open`` open tickets open."""
    return open_p1 / max(1.0, expected_open * PRIORITY_MIX[0][1] / 100)


def shape_rows(shape: Shape, end: datetime) -> Iterator[dict[str, Any]]:
    recent_start = end - timedelta(days=RECENT_DAYS)
    if shape.history:
        yield from rows(
            shape.history,
            recent_start - timedelta(days=HISTORY_DAYS),
            recent_start,
            f"floor-history-{shape.history}",
            max(1000, shape.history // 25),
            history=True,
        )
    expected_open = sum(open_chance(d) for d in range(RECENT_DAYS)) * shape.recent / RECENT_DAYS
    yield from rows(
        shape.recent,
        recent_start,
        end,
        f"floor-recent-{shape.recent}",
        max(1000, shape.recent // 25),
        p1_keep=p1_keep(expected_open, OPEN_P1),
    )


def business_midnight(now: datetime) -> datetime:
    local = now.astimezone(BUSINESS_ZONE)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


# -- the CLI, as a user runs it -------------------------------------------------------------------------------


def helpdesk_argv() -> list[str]:
    """The installed ``helpdesk`` beside this interpreter, else ``python -m console``."""
    script = Path(sys.executable).parent / "helpdesk"
    return [str(script)] if script.exists() else [sys.executable, "-m", "console"]


def user_env(db: Path, state: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(HELPDESK_DB=str(db), HELPDESK_LANG="en")
    if state is not None:
        env["HELPDESK_STATE_DIR"] = str(state)  # drafts of the run's consoles stay in the run's folder
    return env


def run_cli(db: Path, *argv: str, what: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*helpdesk_argv(), *argv], env=user_env(db), capture_output=True, text=True, check=False, timeout=3600
    )
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise BenchError(f"{what}: exit {done.returncode}: {said[-1] if said else ''}")
    return done


def write_jsonl(path: Path, batch: Iterator[dict[str, Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for row in batch:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def import_stream(work: Path, progress: dict[str, Any], stream: Iterator[dict[str, Any]], total: int) -> None:
    """Imports ``stream`` in files of CHUNK rows, each file one ``helpdesk import`` (all or nothing); after each,
    ``progress`` (parts done, seconds spent) is saved, so that an interrupted build goes on from there."""
    db = work / "helpdesk.db"
    for _skipped in zip(range(progress["parts_done"] * CHUNK), stream, strict=False):
        pass  # rows already imported by an earlier attempt: generated again (deterministic) and dropped
    while True:
        path = work / f"part-{progress['parts_done'] + 1:03d}.jsonl"
        taken = write_jsonl(path, (row for _i, row in zip(range(CHUNK), stream, strict=False)))
        if not taken:
            path.unlink()
            return
        began = time.monotonic()
        run_cli(db, "import", str(path), what=f"helpdesk import {path.name}")
        progress["import_s"] += time.monotonic() - began
        progress["parts_done"] += 1
        progress["rows_done"] += taken
        save_progress(work, progress)
        path.unlink()
        done, spent = progress["rows_done"], progress["import_s"]
        rate = done / spent if spent else 0.0
        eta = (total - done) / rate if rate else 0.0
        note(f"imported {done:,}/{total:,} ({rate:,.0f} rows/s in import, about {eta / 60:.1f} min left)")


def save_progress(work: Path, progress: dict[str, Any]) -> None:
    (work / "progress.tmp").write_text(json.dumps(progress))
    (work / "progress.tmp").replace(work / "progress.json")


def cache_dir(cache: Path, shape: str) -> Path:
    return cache / f"{shape}-v{GENERATOR_VERSION}"


def building_dir(cache: Path, shape: str) -> Path:
    return cache / f"{shape}-v{GENERATOR_VERSION}.building"


def build(cache: Path, name: str) -> Path:
    """The shape's cached folder (helpdesk.db, meta.json), built if missing; an interrupted or failed build goes
    on from its last imported file (or from the sweep)."""
    final = cache_dir(cache, name)
    if (final / "meta.json").exists():
        return final
    shape = SHAPES[name]
    work = building_dir(cache, name)
    db = work / "helpdesk.db"
    began = time.monotonic()
    progress: dict[str, Any] | None = None
    with contextlib.suppress(OSError, ValueError, sqlite3.Error):
        progress = json.loads((work / "progress.json").read_text())
        # the database is the truth (a build stopped between an import and its progress note): whole files only
        in_db = db_counts(db)["tickets"]
        progress = progress if in_db % CHUNK == 0 else None
        if progress is not None:
            progress.update(parts_done=in_db // CHUNK, rows_done=in_db)
    if progress is None or progress.get("generator_version") != GENERATOR_VERSION:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        built_at = datetime.now(UTC).replace(microsecond=0)
        progress = {
            "generator_version": GENERATOR_VERSION,
            "built_at": built_at.isoformat(),
            "end": business_midnight(built_at).isoformat(),
            "parts_done": 0,
            "rows_done": 0,
            "import_s": 0.0,
            "setup_s": 0.0,
        }
        note(f"building {name} in {work} (tickets up to {progress['end']})")
        run_cli(db, "init", "--admin", ADMIN, what="helpdesk init")
        for agent, role, tier in agents():
            run_cli(db, "agent", "add", agent, "--role", role, "--tier", tier, what=f"helpdesk agent add {agent}")
        progress["setup_s"] = time.monotonic() - began
        save_progress(work, progress)
    else:
        note(f"going on with {name} in {work}: {progress['rows_done']:,} rows imported before")
    for stale in work.glob("part-*.jsonl"):
        stale.unlink()
    total = shape.recent + shape.history
    import_stream(work, progress, shape_rows(shape, datetime.fromisoformat(progress["end"])), total)
    note(f"{name}: first sweep")
    swept = time.monotonic()
    sweep = json.loads(run_cli(db, "--json", "sweep", what="helpdesk sweep").stdout)
    sweep_s = time.monotonic() - swept
    counts = db_counts(db)
    meta = {
        "shape": name,
        "generator_version": GENERATOR_VERSION,
        "built_at": progress["built_at"],
        "tickets_until": progress["end"],
        "build_s": round(progress["setup_s"] + progress["import_s"] + sweep_s, 1),  # across attempts, if resumed
        "setup_s": round(progress["setup_s"], 1),
        "import_s": round(progress["import_s"], 1),
        "import_rows_per_s": round(total / progress["import_s"], 1) if progress["import_s"] else None,
        "first_sweep_s": round(sweep_s, 1),
        "first_sweep": sweep,
        "db_mb": round(db.stat().st_size / 1e6, 1),
        "schema": schema_version(db),
        **counts,
    }
    (work / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    for copy in work.glob("helpdesk.db.*.bak"):  # made by a schema migration that landed during the build
        copy.unlink()
    shutil.rmtree(final, ignore_errors=True)
    work.rename(final)
    note(f"{name}: built in {meta['build_s']} s: {json.dumps(counts)}")
    return final


def schema_objects(db: Path) -> dict[str, list[str]]:
    """Every table (with its columns), index and trigger of a database, by name."""
    out: dict[str, list[str]] = {}
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        names = conn.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall()
        for kind, name in names:
            columns = conn.execute(f'PRAGMA table_info("{name}")').fetchall() if kind == "table" else []
            out[f"{kind} {name}"] = sorted(c[1] for c in columns)
    return out


def schema_mismatch(copy: Path, scratch: Path) -> str:
    """What the copy (once opened by this code) lacks of the schema this code creates in a new database: empty when
    nothing. A cache built while the schema was being edited can claim this code's version and still lack tables."""
    run_cli(scratch, "init", "--admin", ADMIN, what="helpdesk init (the schema of this code)")
    want, have = schema_objects(scratch), schema_objects(copy)
    missing = [name for name in want if name not in have]
    columns = [f"{name} ({', '.join(sorted(set(want[name]) - set(have[name])))})" for name in want if name in have]
    columns = [c for c in columns if not c.endswith("()")]
    return "; ".join(filter(None, ["missing " + ", ".join(missing) if missing else "", *columns]))


def schema_version(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def db_counts(db: Path) -> dict[str, Any]:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        tickets, open_, p1 = conn.execute(
            "SELECT count(*), sum(status IN ('new','open','pending','restored')),"
            " sum(status IN ('new','open','pending','restored') AND priority = 'P1') FROM tickets"
        ).fetchone()
        (events,) = conn.execute("SELECT count(*) FROM events").fetchone()
        (customers,) = conn.execute("SELECT count(*) FROM customers").fetchone()
        (agents_n,) = conn.execute("SELECT count(*) FROM agents").fetchone()
    return {
        "tickets": tickets,
        "open": open_ or 0,
        "open_p1": p1 or 0,
        "events": events,
        "customers": customers,
        "agents": agents_n,
    }


def today_rows(shape: Shape, now: datetime) -> Iterator[dict[str, Any]]:
    """Today's arrivals so far at the shape's daily rate (the cache stops at a midnight before its build)."""
    start = business_midnight(now)
    elapsed = (now - start).total_seconds()
    count = int(shape.recent / RECENT_DAYS * elapsed / 86400)
    seed = f"floor-today-{shape.recent}-{start.date().isoformat()}"
    # about one more open P1: with the cache's few, a fresh P1 still shows near the top of every list
    keep = p1_keep(count * open_chance(0), 1.0)
    return rows(count, start, now, seed, max(1000, shape.recent // 25), p1_keep=keep) if count else iter(())


# -- the floor: ptys, one reader for all ------------------------------------------------------------------------


@dataclass
class Screen:
    role: str  # "console" or "board"
    name: str
    pid: int
    fd: int
    ready: re.Pattern[bytes]
    started: float = field(default_factory=time.monotonic)
    painted: float | None = None  # first rows on screen
    seen: dict[str, float] = field(default_factory=dict)  # marker -> first time on this pty
    tail: bytes = b""
    text: bytes = b""  # the last few KB of output, escape sequences stripped (what a crash printed)
    written: int = 0
    open: bool = True


class Reader(threading.Thread):
    """Drains every pty (so no program ever blocks on its output) and notes when markers first show."""

    def __init__(self, screens: list[Screen]) -> None:
        super().__init__(daemon=True)
        self.screens = {s.fd: s for s in screens}
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            fds = [fd for fd, s in self.screens.items() if s.open]
            if not fds:
                return
            ready, _w, _x = select.select(fds, [], [], 0.1)
            now = time.monotonic()
            for fd in ready:
                screen = self.screens[fd]
                try:
                    data = os.read(fd, 1 << 16)
                except OSError:
                    data = b""
                if not data:
                    screen.open = False
                    continue
                self.take(screen, data, now)

    def take(self, screen: Screen, data: bytes, now: float) -> None:
        screen.written += len(data)
        # An escape sequence or a marker may be cut between reads: the tail of the previous read goes first.
        text = ANSI.sub(b"", screen.tail + data)
        screen.tail = (screen.tail + data)[-512:]
        screen.text = (screen.text + ANSI.sub(b"", data))[-4096:]
        with self.lock:
            if screen.painted is None and screen.ready.search(text):
                screen.painted = now
            for match in MARKER.finditer(text):
                screen.seen.setdefault(match.group(0).decode(), now)


def stop_screen(screen: Screen) -> None:
    with contextlib.suppress(OSError):
        os.write(screen.fd, b"\x11")  # ctrl+q: the app restores the terminal
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(screen.pid, os.WNOHANG)[0]:
                break
        with contextlib.suppress(OSError, ValueError):  # drained, so that its last frame never blocks it
            if select.select([screen.fd], [], [], 0.05)[0]:
                os.read(screen.fd, 1 << 16)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.kill(screen.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(screen.pid, 0)
    screen.open = False
    with contextlib.suppress(OSError):
        os.close(screen.fd)
    screen.fd = -1


def stop_reader(reader: Reader) -> None:
    """Before any pty is closed: the reader must not select on a closed descriptor."""
    reader.stopping.set()
    if reader.is_alive():
        reader.join(timeout=2)


def host_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole host, from /proc/stat."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class Phase:
    """CPU per process and of the whole host over a period."""

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = list(pids)
        self.began = time.monotonic()
        self.cpu = {pid: cpu_seconds(pid) for pid in self.pids}
        self.host = host_busy()

    def end(self) -> tuple[float, dict[int, float], float]:
        """(seconds, CPU % of a core per pid, host busy % of all cores)."""
        seconds = time.monotonic() - self.began
        cpu = {pid: 100 * (cpu_seconds(pid) - self.cpu[pid]) / seconds for pid in self.pids}
        busy, total = host_busy()
        host = 100 * (busy - self.host[0]) / max(1, total - self.host[1])
        return seconds, cpu, host


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None or value != value else round(value, digits)  # NaN (a process gone) is None


# -- the writer (a child process) ----------------------------------------------------------------------------


def cli_call(argv: list[str]) -> tuple[int, str, str, float, float]:
    """(exit code, stdout, stderr, start, end) of one in-process ``helpdesk`` call."""
    from console.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    began = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue(), began, time.monotonic()


MIXES: dict[str, tuple[str, ...]] = {
    "floor": (
        *("create", "new", "note", "take", "new", "note", "assign", "note"),
        *("new", "take", "close", "note", "take", "close", "resolve"),
    ),
    "p1-storm": ("create", "note", "assign", "resolve"),
}


def writer_child(db: str, seconds: float, seed: int, mix: str = "floor") -> None:
    """One commit a second through the CLI entry point in this process; one JSON line per commit on stdout."""
    rng = random.Random(seed)
    base = ["--db", db, "--as", WRITER, "--lang", "en"]
    code, out, err, _b, _e = cli_call([*base, "--json", "ticket", "list", "--status", "open"])
    if code != 0:
        raise SystemExit(f"floor writer: ticket list: {err.strip()}")
    open_ids = [t["id"] for t in json.loads(out)]
    assignees = [name for name, role, tier in agents() if role == "agent" and tier == "L1"]
    marker_id: int | None = None
    ordinary: list[int] = []  # the P3s this writer opened, oldest first
    cycle = MIXES[mix]
    sys.stdout.write(json.dumps({"ready": True}) + "\n")  # the parent's write phase starts here
    sys.stdout.flush()
    begin = time.monotonic()
    step = 0
    while (due := begin + step) < begin + seconds:
        time.sleep(max(0.0, due - time.monotonic()))
        kind = cycle[step % len(cycle)]
        k = step // len(cycle) + 1
        marker = f"FLOOR-{k:06d}"
        if kind in ("take", "close") and not ordinary:
            kind = "note"
        if kind == "new":
            person = customer(rng.randrange(1000))
            argv = [
                *["--json", "ticket", "new", "--subject", f"Receipt printer jams at till {step}"],
                *["--priority", "P3", "--channel", "phone", "--customer", person["customer"]],
            ]
        elif kind == "take":
            argv = ["ticket", "assign", str(ordinary[-1]), "--to", rng.choice(assignees)]
        elif kind == "close":
            argv = ["ticket", "resolve", str(ordinary.pop(0)), "--summary", "Printer head cleaned."]
        elif kind == "create":
            person = customer(rng.randrange(1000))
            argv = [
                *["--json", "ticket", "new", "--subject", f"{marker} Card payments down at every store"],
                *["--priority", "P1", "--channel", "phone", "--customer", person["customer"]],
                *["--email", person["email"], "--body", "All card terminals show 'host unreachable'."],
            ]
        elif kind == "note" or marker_id is None:
            kind = "note"
            argv = ["ticket", "note", str(rng.choice(open_ids)), "--body", f"Floor note {step}: checked with the site."]
        elif kind == "assign":
            argv = ["ticket", "assign", str(marker_id), "--to", rng.choice(assignees)]
        else:
            argv = ["ticket", "resolve", str(marker_id), "--summary", "Payment host restarted; terminals back."]
        code, out, err, began, ended = cli_call([*base, *argv])
        if kind == "create" and code == 0:
            marker_id = int(json.loads(out)["id"])
        if kind == "new" and code == 0:
            ordinary.append(int(json.loads(out)["id"]))
        record = {"step": step, "kind": kind, "code": code, "start": began, "end": ended}
        if kind == "create":
            record["marker"] = marker
        if code != 0:
            record["error"] = err.strip().splitlines()[-1:] or [""]
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()
        step += 1


def replies_child(db: str, since: str, limit: int) -> None:
    """A first reply by its owner on each of today's open tickets, a few minutes to an hour and a half after it came
    in (``--at``, as the admin acting ``--as`` the owner): the import carries no events, and the board's "today"
    figures (first responses, medians) need some. Prints {"replied": n, "failed": n, "first_error": ...}."""
    rng = random.Random(since)
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        todo = conn.execute(
            "SELECT id, assignee, created_at FROM tickets WHERE created_at >= ? AND assignee IS NOT NULL"
            " AND status IN ('open', 'pending', 'restored') ORDER BY id",
            [since],
        ).fetchall()
    latest = datetime.now(UTC) - timedelta(minutes=1)
    replied = failed = 0
    first_error = ""
    for ticket_id, owner, created in todo:
        at = datetime.fromisoformat(created.replace("Z", "+00:00")) + timedelta(minutes=rng.uniform(3, 90))
        if at > latest:
            continue
        if replied + failed >= limit:
            break
        argv = ["--db", db, "--as", owner, "ticket", "reply", str(ticket_id), "--at", at.isoformat()]
        code, _out, err, _b, _e = cli_call([*argv, "--body", "Thank you, we are looking into it and will call you."])
        if code == 0:
            replied += 1
        else:
            failed += 1
            first_error = first_error or err.strip()
    sys.stdout.write(json.dumps({"replied": replied, "failed": failed, "first_error": first_error}) + "\n")


# -- the run ------------------------------------------------------------------------------------------------


def open_screens(db: Path, state: Path, consoles: int, boards: int) -> list[Screen]:
    env = user_env(db, state)
    env.pop("HELPDESK_DB")  # the screens are given --db, as the README's examples do
    # one agent a console: the agents, then the supervisors but the writer's, then the admin itself (no --as)
    staff = agents()
    names = [name for name, role, _tier in staff if role == "agent"]
    names += [name for name, role, _tier in staff if role == "supervisor" and name != WRITER]
    if consoles > len(names) + 1:
        raise BenchError(f"{consoles} consoles need {consoles} agents; the floor has {len(names) + 1}")
    screens: list[Screen] = []
    for i in range(consoles):
        acting = ["--as", names[i]] if i < len(names) else []
        pid, fd = spawn([*helpdesk_argv(), "--db", str(db), *acting], SIZE, env)
        screens.append(Screen("console", names[i] if acting else ADMIN, pid, fd, QUEUE_ROW))
    for i in range(boards):
        pid, fd = spawn([*helpdesk_argv(), "--db", str(db), "wallboard"], SIZE, env)
        screens.append(Screen("board", f"board-{i + 1}", pid, fd, BOARD_ROW))
    return screens


def wait_painted(screens: list[Screen], reader: Reader, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with reader.lock:
            waiting = [s for s in screens if s.painted is None]
        if not waiting:
            return
        check_alive(waiting, "before it painted")
        time.sleep(0.1)
    raise BenchError(f"{', '.join(s.name for s in screens if s.painted is None)} painted no rows in {limit:.0f} s")


def check_alive(screens: Sequence[Screen], when: str) -> None:
    """A screen that ended is a failed run (a crash, or a product edit in progress): its last words, one line."""
    for screen in screens:
        ended = not screen.open
        with contextlib.suppress(ChildProcessError):
            ended = ended or os.waitpid(screen.pid, os.WNOHANG)[0] != 0
        if ended:
            said = [line.strip() for line in screen.text.decode(errors="replace").splitlines() if line.strip()]
            last = " | ".join(said[-3:])[-300:]
            raise BenchError(f"{screen.role} {screen.name} ended {when}: {last}")


def mem(pid: int) -> tuple[float, float]:
    return rss_mb(pid), peak_rss_mb(pid)


def report_cost(db: Path, argv: Sequence[str]) -> dict[str, Any]:
    """Wall time, CPU time and peak RSS (the kernel's high-water mark, from wait4) of one ``helpdesk`` command."""
    with tempfile.TemporaryFile() as errors:
        began = time.monotonic()
        child = subprocess.Popen(
            [*helpdesk_argv(), "--db", str(db), *argv], env=user_env(db), stdout=subprocess.DEVNULL, stderr=errors
        )
        try:
            _pid, status, usage = os.wait4(child.pid, 0)
        except BaseException:  # Ctrl-C: the child goes too
            child.kill()
            child.wait()
            raise
        seconds = time.monotonic() - began
        child.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        err = errors.read().decode(errors="replace").strip()
    return {
        "argv": ["helpdesk", *argv],
        "exit": child.returncode,
        "wall_s": round(seconds, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
        **({"error": err.splitlines()[-1]} if err else {}),
    }


def floor_run(args: argparse.Namespace, cached: Path) -> dict[str, Any]:
    shape = SHAPES[args.shape]
    meta = json.loads((cached / "meta.json").read_text())
    tmp = Path(tempfile.mkdtemp(prefix="floor-run-"))
    screens: list[Screen] = []
    writer: subprocess.Popen[str] | None = None
    reader: Reader | None = None
    try:
        db = tmp / "helpdesk.db"
        for part in ("helpdesk.db", "helpdesk.db-wal"):  # the -shm is rebuilt by the first opener
            if (cached / part).exists():
                shutil.copy2(cached / part, tmp / part)
        state = tmp / "state"
        state.mkdir()
        now = datetime.now(UTC).replace(microsecond=0)
        age = now - datetime.fromisoformat(meta["built_at"])
        prepare: dict[str, Any] = {"cache_age_days": round(age.total_seconds() / 86400, 2)}
        # The first command on the copy migrates a cache built by an older schema (timed here, not in a screen).
        prepare["schema_of_cache"] = schema_version(db)
        began = time.monotonic()
        run_cli(db, "agent", "list", what="helpdesk agent list (open and migrate the copy)")
        prepare["first_open_s"] = round(time.monotonic() - began, 2)
        prepare["schema"] = schema_version(db)
        mismatch = schema_mismatch(db, tmp / "scratch.db")
        if mismatch:
            raise BenchError(
                f"the cached {args.shape} database lacks part of this code's schema {prepare['schema']} ({mismatch});"
                f" it was built by other code: rebuild it with --rebuild"
            )
        today = tmp / "today.jsonl"
        prepare["today_imported"] = write_jsonl(today, today_rows(shape, now))
        if prepare["today_imported"]:
            began = time.monotonic()
            run_cli(db, "import", str(today), what="helpdesk import (today)")
            prepare["today_import_s"] = round(time.monotonic() - began, 2)
            if args.today_replies:
                began = time.monotonic()
                since = business_midnight(now).strftime("%Y-%m-%dT%H:%M:%SZ")
                child = [sys.executable, "-m", "tests.bench.floor", "--replies-child", str(db), "--since", since]
                child += ["--today-replies", str(args.today_replies)]
                done = subprocess.run(
                    child, capture_output=True, text=True, env={**user_env(db), "PYTHONPATH": str(REPO)}, cwd=REPO
                )
                if done.returncode != 0:
                    raise BenchError(f"today's replies failed: {(done.stderr.strip().splitlines() or [''])[-1]}")
                prepare["today_replies"] = json.loads(done.stdout)
                prepare["today_replies_s"] = round(time.monotonic() - began, 2)
        began = time.monotonic()
        prepare["sweep"] = json.loads(run_cli(db, "--json", "sweep", what="helpdesk sweep").stdout)
        prepare["sweep_s"] = round(time.monotonic() - began, 2)
        counts = db_counts(db)
        note(f"run copy ready: {json.dumps(counts)}; opening {args.consoles} consoles and {args.boards} boards")

        screens = open_screens(db, state, args.consoles, args.boards)
        reader = Reader(screens)
        reader.start()
        wait_painted(screens, reader, args.start_limit)
        for screen in screens:
            if screen.role == "console":
                os.write(screen.fd, b"5")  # the "All open" view, where a new P1 goes to the top
        first_rows = {s.name: round((s.painted or 0) - s.started, 2) for s in screens}
        time.sleep(args.settle)
        check_alive(screens, "while settling")
        pids = [s.pid for s in screens]

        note(f"idle phase: {args.idle:.0f} s")
        phase = Phase(pids)
        idle_bytes = {s.pid: -s.written for s in screens}
        time.sleep(args.idle)
        idle_s, idle_cpu, idle_host = phase.end()
        idle_bytes = {s.pid: idle_bytes[s.pid] + s.written for s in screens}
        idle_mem = {pid: mem(pid) for pid in pids}
        check_alive(screens, "in the idle phase")

        note(f"write phase: {args.seconds:.0f} s at one commit a second")
        writer = subprocess.Popen(
            [
                *[sys.executable, "-m", "tests.bench.floor", "--writer-child", str(db)],
                *["--seconds", str(args.seconds), "--mix", args.mix],
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**user_env(db, state), "PYTHONPATH": str(REPO)},
            cwd=REPO,
        )
        assert writer.stdout is not None
        first = writer.stdout.readline()  # the writer has imported the CLI and read its open tickets
        phase = Phase(pids)
        write_bytes = {s.pid: -s.written for s in screens}
        out, err = writer.communicate(timeout=args.seconds + 120)
        write_s, write_cpu, write_host = phase.end()
        write_bytes = {s.pid: write_bytes[s.pid] + s.written for s in screens}
        write_mem = {pid: mem(pid) for pid in pids}
        check_alive(screens, "in the write phase")
        if writer.returncode != 0 or not first.startswith("{"):
            raise BenchError(f"the writer failed: {(err.strip().splitlines() or [''])[-1]}")
        commits = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        markers = [c["marker"] for c in commits if "marker" in c and c["code"] == 0]
        # the last markers get time to show (out of the measured window), as long as any other may take
        linger = time.monotonic() + args.linger
        while time.monotonic() < linger:
            with reader.lock:
                if all(m in s.seen for s in screens for m in markers if s.open):
                    break
            time.sleep(0.1)

        ends = {c["marker"]: c["end"] for c in commits if "marker" in c and c["code"] == 0}
        per_process: list[dict[str, Any]] = []
        for s in screens:
            with reader.lock:
                lags = [s.seen[m] - ends[m] for m in ends if m in s.seen]
                missing = [m for m in ends if m not in s.seen]
            per_process.append(
                {
                    "role": s.role,
                    "name": s.name,
                    "pid": s.pid,
                    "first_rows_s": first_rows[s.name],
                    "idle_cpu_percent": r(idle_cpu[s.pid], 2),
                    "idle_rss_mb": r(idle_mem[s.pid][0], 1),
                    "write_cpu_percent": r(write_cpu[s.pid], 2),
                    "write_rss_mb": r(write_mem[s.pid][0], 1),
                    "peak_rss_mb": r(write_mem[s.pid][1], 1),
                    "lag_max_s": r(max(lags) if lags else None),
                    "lag_p50_s": r(statistics.median(lags) if lags else None),
                    "markers_seen": len(lags),
                    "markers_missing": missing,
                    "idle_bytes_per_s": round(idle_bytes[s.pid] / idle_s),  # what the screen costs over SSH
                    "write_bytes_per_s": round(write_bytes[s.pid] / write_s),
                    "bytes_written": s.written,
                    "alive_at_end": s.open,
                }
            )
        stop_reader(reader)
        for s in screens:
            stop_screen(s)

        latencies = [c["end"] - c["start"] for c in commits]
        writer_summary = {
            "commits": len(commits),
            "failed": [c for c in commits if c["code"] != 0][:5],
            "by_kind": {k: sum(1 for c in commits if c["kind"] == k) for k in ("create", "note", "assign", "resolve")},
            "latency_max_s": r(max(latencies) if latencies else None),
            "latency_p50_s": r(percentile(latencies, 0.5)),
            "latency_p95_s": r(percentile(latencies, 0.95)),
        }
        reports: dict[str, Any] = {}
        if not args.no_report:
            note("report cost: all time, then the last 30 days")
            # A screen that had to be killed leaves its log beside the file: the next command to open it checks the
            # whole file first (PRAGMA quick_check, seconds at 1M tickets). That is the cost of a crash, not of a
            # report: one command opens it first, timed apart.
            reports["first_open_after_screens"] = report_cost(db, ["agent", "list"])
            last = datetime.now(BUSINESS_ZONE).date()
            reports["all_time"] = report_cost(db, ["--json", "report"])
            reports["last_30_days"] = report_cost(
                db, ["--json", "report", "--from", (last - timedelta(days=29)).isoformat(), "--to", last.isoformat()]
            )
        return {
            "prepare": prepare,
            "counts": counts,
            "phases": {
                "idle": {"seconds": round(idle_s, 1), "host_busy_percent": round(idle_host, 1)},
                "write": {"seconds": round(write_s, 1), "host_busy_percent": round(write_host, 1)},
            },
            "aggregates": aggregates(per_process, writer_summary),
            "writer": writer_summary,
            "reports": reports,
            "projection": projection(per_process),
            "processes": per_process,
        }
    finally:
        if writer is not None and writer.poll() is None:
            writer.kill()
            writer.wait()
        if reader is not None:
            stop_reader(reader)
        for s in screens:
            if s.fd >= 0:
                stop_screen(s)
        shutil.rmtree(tmp, ignore_errors=True)


def role_summary(rows_: list[dict[str, Any]]) -> dict[str, Any]:
    def col(key: str) -> list[float]:
        return [p[key] for p in rows_ if p[key] is not None]

    lag_max, lag_p50 = col("lag_max_s"), col("lag_p50_s")
    return {
        "count": len(rows_),
        "idle_cpu_percent_max": r(max(col("idle_cpu_percent"), default=None), 2),
        "idle_cpu_percent_median": r(statistics.median(col("idle_cpu_percent")) if rows_ else None, 2),
        "write_cpu_percent_max": r(max(col("write_cpu_percent"), default=None), 2),
        "write_cpu_percent_median": r(statistics.median(col("write_cpu_percent")) if rows_ else None, 2),
        "idle_rss_mb_max": r(max(col("idle_rss_mb"), default=None), 1),
        "peak_rss_mb_max": r(max(col("peak_rss_mb"), default=None), 1),
        "idle_bytes_per_s_max": max(col("idle_bytes_per_s"), default=None),
        "write_bytes_per_s_max": max(col("write_bytes_per_s"), default=None),
        "lag_max_s": r(max(lag_max, default=None)),
        "lag_p50_s": r(statistics.median(lag_p50) if lag_p50 else None),
        "markers_missing": sum(len(p["markers_missing"]) for p in rows_),
    }


def aggregates(per_process: list[dict[str, Any]], writer: dict[str, Any]) -> dict[str, Any]:
    return {
        "consoles": role_summary([p for p in per_process if p["role"] == "console"]),
        "boards": role_summary([p for p in per_process if p["role"] == "board"]),
        "writer_latency_s": {k: writer[f"latency_{k}_s"] for k in ("max", "p50", "p95")},
    }


def projection(per_process: list[dict[str, Any]]) -> dict[str, Any]:
    cores = os.cpu_count() or 1
    budget = 50.0 * cores  # half of the host, in % of one core

    def median(role: str, key: str) -> float | None:
        values = [p[key] for p in per_process if p["role"] == role and p[key] is not None]
        return statistics.median(values) if values else None

    console, board = median("console", "write_cpu_percent"), median("board", "write_cpu_percent")
    console_idle, board_idle = median("console", "idle_cpu_percent"), median("board", "idle_cpu_percent")
    out: dict[str, Any] = {
        "host_cores": cores,
        "budget_percent_of_a_core": budget,
        "console_cpu_percent": r(console, 2),
        "board_cpu_percent": r(board, 2),
        "formula": (
            "budget = 50 * cores (% of one core); c, b = median write-phase CPU % of a console and of a board at "
            "one commit/s; a floor of ten consoles per board: consoles = floor(10 * budget / (10 * c + b)), "
            "boards = floor(consoles / 10); consoles_alone = floor(budget / c)"
        ),
    }
    if console:
        per_floor = 10 * console + (board or 0.0)
        consoles = int(10 * budget / per_floor)
        out.update(consoles=consoles, boards=consoles // 10, consoles_alone=int(budget / console))
        out["meets_50_plus_5"] = consoles >= 50 and (board is None or consoles // 10 >= 5)
    if console_idle is not None:
        out["idle_percent_of_a_core_for_50_consoles_5_boards"] = r(50 * console_idle + 5 * (board_idle or 0.0), 1)
    return out


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def _interrupted(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.floor", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shape", choices=list(SHAPES), default="100k")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where built databases are kept")
    parser.add_argument("--build-only", action="store_true", help="build (or find) the shape's database and stop")
    parser.add_argument("--rebuild", action="store_true", help="build the shape's database anew, cached or not")
    parser.add_argument("--consoles", type=int, default=2)
    parser.add_argument("--boards", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=60.0, help="write phase")
    parser.add_argument("--mix", choices=list(MIXES), default="floor", help="the writer's cycle of commits")
    parser.add_argument("--idle", type=float, default=120.0, help="idle phase (no writes)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after the first rows before measuring")
    parser.add_argument("--linger", type=float, default=10.0, help="seconds after the writes for the last markers")
    parser.add_argument("--start-limit", type=float, default=180.0, help="seconds the screens get to paint rows")
    parser.add_argument("--no-report", action="store_true", help="skip the report cost")
    parser.add_argument(
        "--today-replies",
        type=int,
        default=1000,
        metavar="N",
        help="first replies on at most N of today's open tickets, the earliest first (0: none)",
    )
    parser.add_argument("--writer-child", metavar="DB", help=argparse.SUPPRESS)
    parser.add_argument("--replies-child", metavar="DB", help=argparse.SUPPRESS)
    parser.add_argument("--since", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.writer_child:
        writer_child(args.writer_child, args.seconds, args.seed, args.mix)
        return 0
    if args.replies_child:
        replies_child(args.replies_child, args.since, args.today_replies)
        return 0
    # Ctrl-C or a kill: unwind through the finally blocks, which stop every child and remove the copy.
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background (SIG_IGN)
    try:
        try:
            if args.rebuild:
                for old in (cache_dir(args.cache, args.shape), building_dir(args.cache, args.shape)):
                    shutil.rmtree(old, ignore_errors=True)
            cached = build(args.cache, args.shape)
        except (BenchError, OSError, subprocess.SubprocessError) as exc:
            raise BenchError(f"cannot build the {args.shape} database under {args.cache}: {exc}") from exc
        meta = json.loads((cached / "meta.json").read_text())
        result: dict[str, Any] = {"machine": machine(), "shape": args.shape, "cache": str(cached), "build": meta}
        if not args.build_only:
            result["settings"] = {
                "consoles": args.consoles,
                "boards": args.boards,
                "size": f"{SIZE[0]}x{SIZE[1]}",
                "idle_s": args.idle,
                "write_s": args.seconds,
                "mix": args.mix,
                "identity": (
                    f"every screen runs under this login (the admin {ADMIN}); each console as its own agent with "
                    f"--as (agents, then supervisors; a 49th console is the admin itself); boards as the admin; "
                    f"the writer in-process as --as {WRITER} (supervisor)"
                ),
                "view": "consoles: All open (key 5); boards: the urgent list",
            }
            result.update(floor_run(args, cached))
    except BenchError as exc:
        note(str(exc))
        return 1
    except KeyboardInterrupt:
        note("interrupted; children stopped, temporary files removed")
        return 130
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
