"""`helpdesk migrate --from SQLITE --to postgresql://…` against a real PostgreSQL (tests/pg.py), and export/import
between the two engines.

What may differ between a SQLite database and its copy, and nothing else (README, "Team deployment"):
- the migrating admin's ``login``: the PostgreSQL owner's role there (as `init` binds the first admin);
- ``report_state.value``: text on PostgreSQL (SQLite's column has no type), read back as what it was;
- the copy's record in ``helpdesk_copies`` (PostgreSQL only: the audit of the copy).
"""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import psycopg
import pytest

from console.i18n import set_language
from console.service.helpdesk import HelpdeskService
from db.copy import SEEDED, TABLES
from tests.conftest import Result
from tests.conftest import run_cli as _run_cli
from tests.pg import OWNER, Cluster

Cli = Callable[..., Result]
ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-03-02T11:00:00+08:00"
MAIL = ROOT / "tests" / "data" / "mail" / "foxmail_gbk.eml"


def run_cli(db: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The in-process CLI on ``db`` named by --db (conftest's runner names it by HELPDESK_DB, which the next runner
    made would change under this one)."""
    run = _run_cli(db, monkeypatch)

    def on(*argv: str, stdin: str = "", actor: str | None = "boss") -> Result:
        return run("--db", db, *argv, stdin=stdin, actor=actor)

    return on


# -- building a source ------------------------------------------------------------------------------------------

HISTORY: list[tuple[str | None, tuple[str, ...]]] = [
    (
        "li.wei",
        (
            "ticket",
            "new",
            "--subject",
            "VPN 每小时断线",
            "--customer",
            "王芳",
            "--email",
            "wf@example.cn",
            "--priority",
            "P2",
            "--channel",
            "phone",
            "--body",
            '客户说：VPN 每小时断一次 "quoted"\n\ttab',
            "--at",
            "2026-03-02T09:00:00+08:00",
        ),
    ),
    ("li.wei", ("ticket", "new", "--subject", "printer", "--priority", "P4", "--at", "2026-03-02T09:01:00+08:00")),
    ("sue", ("ticket", "new", "--subject", "site down", "--priority", "P1", "--channel", "email")),
    ("li.wei", ("ticket", "assign", "1", "--at", "2026-03-02T09:05:00+08:00")),
    ("li.wei", ("ticket", "reply", "1", "--body", "您好，我是李伟", "--at", "2026-03-02T09:06:00+08:00")),
    (None, ("ticket", "note", "2", "--body", "boss's own note, at the real time")),
    ("sue", ("ticket", "assign", "3")),
    (
        "sue",
        (
            "ticket",
            "resolve",
            "1",
            "--summary",
            "换了路由器",
            "--code",
            "hardware",
            "--at",
            "2026-03-02T10:00:00+08:00",
        ),
    ),
    (
        "sue",
        (
            "ticket",
            "close",
            "1",
            "--summary",
            "router replaced",
            "--confirmed",
            "--confirmed-by",
            "phone",
            "--asked-anything-else",
            "--followup",
            "2026-03-05",
            "--at",
            "2026-03-02T10:05:00+08:00",
        ),
    ),
    (None, ("csat", "1", "5", "--comment", "很好")),
]


def _ingest(db: str, config: Path, raw: bytes, monkeypatch: pytest.MonkeyPatch) -> Result:
    """`helpdesk mail ingest` with ``raw`` on standard input, as an MTA pipes it."""
    from console.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(["--db", db, "mail", "ingest", "--config", str(config), "--json"])
        except SystemExit as exc:
            code = int(exc.code or 0)
    set_language("en")
    return Result(code, out.getvalue(), err.getvalue())


def build_source(cli: Cli, db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """boss (admin, this process's login), li.wei (L1), sue (supervisor): tickets with Chinese text, events entered
    by boss for others (--as) and backfilled (--at), boss's own, a reply, a closure and its score, knowledge
    articles, the macros, a ticket opened by mail."""
    from console.rules.macros import macros_toml_sample
    from tests.mailservers import write_config

    assert cli("init", "--admin", "boss", actor=None).code == 0
    assert cli("agent", "add", "li.wei", "--tier", "L1", "--display-name", "李伟").code == 0
    assert cli("agent", "add", "sue", "--role", "supervisor", "--tier", "L2").code == 0
    for actor, argv in HISTORY:
        r = cli(*argv, actor=actor)
        assert r.code == 0, (argv, r.err)
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "vpn.md").write_text(
        "# VPN 断线怎么办\n\n重启路由器，然后 **重新连接**。\n\ntags: vpn, 网络\n", encoding="utf-8"
    )
    (kb / "printer.md").write_text("# Printer offline\n\nPower-cycle it.\n\ntags: printer\n", encoding="utf-8")
    assert cli("kb", "import", str(kb)).code == 0
    macros = tmp_path / "macros.toml"
    macros.write_text(macros_toml_sample(), encoding="utf-8")
    assert cli("macro", "load", str(macros)).code == 0
    config = write_config(tmp_path / "helpdesk.toml", new_tickets_per_hour=100)
    r = _ingest(str(db), config, MAIL.read_bytes(), monkeypatch)
    assert r.code == 0 and r.json()["outcome"] == "new", r.err


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "source.db"
    build_source(run_cli(str(db), monkeypatch), db, tmp_path, monkeypatch)
    return db


@pytest.fixture
def target(pg_cluster: Cluster) -> Iterator[str]:
    """A new, empty database (no schema yet) owned by the helpdesk's owner role, as a DBA makes it."""
    name = pg_cluster.new_database(template=None)
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


def migrate(cli: Cli, source: Path | str, url: str, *extra: str, actor: str | None = None) -> Result:
    return cli("migrate", "--from", str(source), "--to", url, *extra, actor=actor)


# -- comparing ---------------------------------------------------------------------------------------------------


def sqlite_rows(db: Path, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    conn = sqlite3.connect(db)
    try:
        columns = [str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")]
        return columns, conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
    finally:
        conn.close()


def pg_query(url: str, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(statement, params)
        return list(cur.fetchall()) if cur.description else []


def assert_same_rows(db: Path, url: str, admin: str = "boss") -> None:
    """Every table row for row, normalised only for the documented differences (the module's docstring)."""
    boss_login = sqlite3.connect(db).execute("SELECT login FROM agents WHERE name = ?", [admin]).fetchone()
    for table in TABLES:
        columns, rows = sqlite_rows(db, table)
        if table == "agents":
            rows = [
                tuple(OWNER if (c == "login" and v == boss_login[0]) else v for c, v in zip(columns, r, strict=True))
                for r in rows
            ]
        if table == "report_state":
            rows = [(k, None if v is None else str(v)) for k, v in rows]
        copied = pg_query(url, f"SELECT {', '.join(columns)} FROM {table}")
        assert sorted(map(repr, copied)) == sorted(map(repr, rows)), table


def counts(cli: Cli) -> dict[str, int]:
    r = cli("check", "--json", actor=None)
    assert r.code == 0 and r.json()["ok"], r.out + r.err
    found: dict[str, int] = r.json()["counts"]
    return found


def visible(cli: Cli, ids: list[int]) -> list[Any]:
    """What the console and scripts see: lists, every ticket, the report, the agents (logins apart)."""
    out: list[Any] = []
    for argv in (("ticket", "list", "--all"), ("ticket", "list", "--status", "closed")):
        for actor in (None, "li.wei", "sue"):
            r = cli(*argv, "--json", "--now", NOW, actor=actor)
            assert r.code == 0, r.err
            out.append(r.json())
    for tid in ids:
        r = cli("ticket", "show", str(tid), "--json", "--now", NOW, actor=None)
        assert r.code == 0, r.err
        out.append(r.json())
    r = cli("report", "--json", "--from", "2026-02-01", "--to", "2026-12-31", "--now", NOW, actor=None)
    assert r.code == 0, r.err
    out.append(r.json())
    r = cli("agent", "list", "--json", actor=None)
    out.append([{k: v for k, v in a.items() if a["name"] != "boss" or k != "login"} for a in r.json()])
    r = cli("kb", "drafts", "--json", actor=None)
    out.append(r.json() if r.code == 0 else r.err)
    for query in ("VPN 断线", "printer", "路由器"):  # the copy's search index, built from the copied articles
        r = cli("kb", "search", query, "--json", "--drafts", actor=None)
        assert r.code == 0, r.err
        out.append([{k: v for k, v in hit.items() if k != "score"} for hit in r.json()])
    return out


def same_json(a: Any, b: Any) -> bool:
    return json.dumps(a, ensure_ascii=False, sort_keys=True) == json.dumps(b, ensure_ascii=False, sort_keys=True)


def test_the_copy_knows_every_table_of_both_schemas(tmp_path: Path, pg_db: str) -> None:
    """A table added to either schema must be added to db/copy.py's TABLES (or migrate would leave it behind)."""
    from db.store import Store

    store = Store(tmp_path / "new.db")
    try:
        names = {str(r[0]) for r in store._tuples("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        store.close()
    assert {n for n in names if not n.startswith(("sqlite_", "kb_fts"))} == set(TABLES)
    found = {r[0] for r in pg_query(pg_db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    # PostgreSQL's own bookkeeping: its versions, the copies made into it, the roles its admins made, the sweep's
    # witnesses (db/pg/schema.py), its knowledge search index (built from kb_articles by the copy); nothing of a
    # SQLite helpdesk to carry over
    own = {
        "helpdesk_schema",
        "helpdesk_copies",
        "helpdesk_roles",
        "helpdesk_system_events",
        "kb_search",
        "kb_terms",
        "kb_postings",
        "kb_delta",
        "kb_stats",
    }
    assert found - own == set(TABLES)


# -- the tests ---------------------------------------------------------------------------------------------------


def test_a_migrated_database_is_its_source_row_for_row(
    source: Path, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_cli = run_cli(str(source), monkeypatch)
    r = migrate(sqlite_cli, source, target, "--json")
    assert r.code == 0, r.err
    summary = r.json()
    assert summary["admin"] == "boss" and summary["login"] == OWNER and "pw-" not in r.out
    pg_cli = run_cli(target, monkeypatch)
    before = counts(sqlite_cli)
    assert summary["tables"] == before == counts(pg_cli)
    assert before["events"] > 10 and before["mail_messages"] >= 1 and before["kb_articles"] == 2
    assert_same_rows(source, target)
    # the history kept as SQLite recorded it: others' events entered by boss, backfilled ones, boss's own
    events = pg_query(target, "SELECT actor, entered_by, backfilled, recorded_at FROM events ORDER BY id")
    assert ("li.wei", "boss", 1) in {e[:3] for e in events} and ("boss", None, 0) in {e[:3] for e in events}
    # the chain verifies on PostgreSQL (check's own recomputation passed above), and the copy is on record
    [(by, events_n, last_hash, where)] = pg_query(
        target, "SELECT by_role, events, last_hash, source FROM helpdesk_copies"
    )
    head = (
        sqlite3.connect(source)
        .execute("SELECT count(*), (SELECT hash FROM events ORDER BY id DESC LIMIT 1) FROM events")
        .fetchone()
    )
    assert (by, events_n, last_hash, where) == (OWNER, head[0], head[1], str(source))
    ids = [t["id"] for t in sqlite_cli("ticket", "list", "--all", "--json", actor=None).json()]
    assert len(ids) == 4
    assert same_json(visible(sqlite_cli, ids), visible(pg_cli, ids))


def test_the_demo_database_migrates_whole(tmp_path: Path, target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from console.demo.seed import ensure_demo

    db = tmp_path / "demo.db"
    service = HelpdeskService.open(db, None, create=True)
    try:
        ensure_demo(service)
    finally:
        service.shutdown()
    sqlite_cli = run_cli(str(db), monkeypatch)
    r = migrate(sqlite_cli, db, target, "--json")
    assert r.code == 0, r.err
    assert r.json()["tables"]["tickets"] == 300
    pg_cli = run_cli(target, monkeypatch)
    assert counts(sqlite_cli) == counts(pg_cli)
    assert_same_rows(db, target, admin=r.json()["admin"])
    board = [cli("ticket", "list", "--all", "--json", "--now", NOW, actor=None).json() for cli in (sqlite_cli, pg_cli)]
    # the demo's tickets as they stood at NOW (those opened later are not listed then), the same on both engines
    assert board[0] and same_json(board[0], board[1])


def test_work_goes_on_after_a_migration(
    source: Path, target: str, pg_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copied agents' logins are roles of the database, ids go on after the copied ones, and the chain after
    the copied head: the next events are the database's own, stamped by its trigger."""
    assert migrate(run_cli(str(source), monkeypatch), source, target).code == 0
    [(last_event,)] = pg_query(target, "SELECT max(id) FROM events")
    [(last_ticket,)] = pg_query(target, "SELECT max(id) FROM tickets")
    database = target.rsplit("/", 1)[1]
    li = run_cli(pg_cluster.url(database, pg_cluster.role("li.wei")), monkeypatch)
    r = li("ticket", "new", "--subject", "迁移之后", "--json", actor=None)
    assert r.code == 0, r.err
    assert r.json()["id"] == last_ticket + 1
    assert li("ticket", "note", "2", "--body", "after the move", actor=None).code == 0
    rows = pg_query(target, "SELECT id, actor, entered_by FROM events WHERE id > %s ORDER BY id", [last_event])
    assert [r[0] for r in rows] == list(range(last_event + 1, last_event + 1 + len(rows))) and len(rows) >= 2
    assert {(r[1], r[2]) for r in rows} == {("li.wei", None)}
    assert counts(run_cli(target, monkeypatch))["events"] == last_event + len(rows)
    # the feed goes on after the copied position
    [(feed_top,)] = pg_query(target, "SELECT max(id) FROM changes")
    copied_top = sqlite3.connect(source).execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()[0]
    assert feed_top > copied_top


def _data_counts(url: str) -> dict[str, int]:
    return {t: int(pg_query(url, f"SELECT count(*) FROM {t}")[0][0]) for t in TABLES if t not in SEEDED}


def test_a_target_holding_data_is_refused_and_left_as_it_was(
    source: Path, target: str, pg_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = run_cli(str(source), monkeypatch)
    assert migrate(cli, source, target).code == 0
    held = _data_counts(target)
    r = migrate(cli, source, target)
    assert r.code == 1 and r.out == "" and r.err.count("\n") == 1
    assert "already holds data" in r.err and "nothing was copied" in r.err and "pw-" not in r.err
    assert _data_counts(target) == held
    assert pg_query(target, "SELECT count(*) FROM helpdesk_copies") == [(1,)]
    # a database someone ran `init` on holds an agent already
    name = pg_cluster.new_database()
    try:
        url = pg_cluster.url(name)
        assert run_cli(url, monkeypatch)("init", "--admin", "boss", actor=None).code == 0
        r = migrate(cli, source, url)
        assert r.code == 1 and "already holds data (agents 1," in r.err
        assert _data_counts(url)["tickets"] == 0
    finally:
        pg_cluster.drop_database(name)


def test_a_migration_killed_halfway_leaves_the_target_empty(tmp_path: Path, target: str, pg_cluster: Cluster) -> None:
    from console.demo.seed import bulk_fill

    db = tmp_path / "bulk.db"
    service = HelpdeskService.open(db, "boss", create=True)
    try:
        service.init("boss")
        bulk_fill(service, 4000, seed=5)
    finally:
        service.shutdown()
    env = {**os.environ, "PYDANTIC_DISABLE_PLUGINS": "__all__"}
    env.pop("HELPDESK_AGENT", None)
    argv = [sys.executable, "-m", "console.cli.main", "migrate", "--from", str(db), "--to", target]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    database = target.rsplit("/", 1)[1]
    copying = None
    deadline = time.monotonic() + 60
    try:
        with psycopg.connect(pg_cluster.superuser_url(database), autocommit=True) as watch:
            while time.monotonic() < deadline and proc.poll() is None:
                # the tickets or a table after them are going in: agents and customers are in (uncommitted)
                rows = watch.execute(
                    "SELECT p.relid::regclass::text, p.tuples_processed FROM pg_stat_progress_copy p"
                    " JOIN pg_database d ON d.oid = p.datid WHERE d.datname = %s",
                    [database],
                ).fetchall()
                if rows and rows[0][0] in TABLES[TABLES.index("tickets") :] and rows[0][1] > 0:
                    copying = rows[0]
                    proc.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.002)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert copying is not None, f"the copy was not caught midway (exit {proc.returncode})"
    assert proc.returncode == -signal.SIGKILL
    # the server rolls the dead session's transaction back
    deadline = time.monotonic() + 30
    while pg_cluster.admin_sql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND usename = %s", params=[database, OWNER]
    )[0][0]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert set(_data_counts(target).values()) == {0}
    assert pg_query(target, "SELECT count(*) FROM helpdesk_copies") == [(0,)]
    # and the same migration then goes through
    done = subprocess.run([*argv, "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tables"]["tickets"] == 4000


def test_bad_requests_are_one_line_and_write_nothing(
    source: Path, target: str, tmp_path: Path, pg_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = run_cli(str(source), monkeypatch)

    def one_line(r: Result, code: int, *words: str) -> None:
        assert r.code == code and r.out == "" and r.err.count("\n") == 1, r
        assert r.err.startswith("helpdesk") and all(w in r.err for w in words), r.err
        assert "Traceback" not in r.err and "pw-" not in r.err

    one_line(cli("migrate", "--to", target, actor=None), 2, "--from")
    one_line(cli("migrate", "--from", str(source), actor=None), 2, "--to")
    one_line(cli("migrate", "--from", str(source), "--to", target, "--bogus", actor=None), 2, "--bogus")
    one_line(migrate(cli, source, str(tmp_path / "copy.db")), 2, "postgresql://")
    one_line(migrate(cli, "", target), 2, "--from")
    one_line(migrate(cli, target, str(tmp_path / "copy.db")), 2, "export", "import")
    one_line(migrate(cli, tmp_path / "missing.db", target), 2, "does not exist")
    one_line(migrate(cli, tmp_path, target), 2)
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    one_line(migrate(cli, text, target), 2, "not a SQLite database")
    corrupt = tmp_path / "corrupt.db"
    data = bytearray(source.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for start in range(page, len(data), page):  # every b-tree page's header but the first page's (the schema)
        data[start : start + 12] = b"\xff" * 12
    corrupt.write_bytes(bytes(data))
    one_line(migrate(cli, corrupt, target), 2, str(corrupt))
    # only an admin of the source: li.wei is an agent
    one_line(migrate(cli, source, target, actor="li.wei"), 3, "li.wei", "admin")
    # only the database's owner, and another role's attempt leaves not even the schema
    database = target.rsplit("/", 1)[1]
    other = pg_cluster.url(database, pg_cluster.role("someone_else"))
    one_line(migrate(cli, source, other), 3, "someone_else", "owner")
    assert pg_query(target, "SELECT to_regclass('helpdesk_schema') IS NULL") == [(True,)]
    # an unreachable server
    one_line(migrate(cli, source, "postgresql://nobody:secret@127.0.0.1:1/none"), 5)
    # a source whose chain does not hold: refused by the server, nothing kept
    broken = tmp_path / "broken.db"
    broken.write_bytes(source.read_bytes())
    conn = sqlite3.connect(broken)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET actor = 'sue' WHERE id = 3")
    conn.commit()
    conn.close()
    one_line(migrate(cli, broken, target), 2, "event 3", "hash")
    assert set(_data_counts(target).values()) == {0}
    assert migrate(cli, source, target).code == 0  # and the sound one still goes in


def test_the_copy_path_is_the_owners_alone(
    source: Path, target: str, pg_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """helpdesk_copies: an agent may neither record a copy nor, by the setting alone, keep forged stamps; the owner
    cannot record one into a database that holds data; the record is append-only."""
    assert migrate(run_cli(str(source), monkeypatch), source, target).code == 0
    database = target.rsplit("/", 1)[1]
    li = pg_cluster.url(database, pg_cluster.role("li.wei"))
    with psycopg.connect(li) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO helpdesk_copies (source, events) VALUES ('x', 0)")
    with psycopg.connect(li) as conn:
        conn.execute("SET helpdesk.copy = 'on'")
        conn.execute(
            "INSERT INTO events (id, ticket_id, actor, at, kind, detail, recorded_at, backfilled, entered_by, hash)"
            " VALUES (1, 2, 'li.wei', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'note',"
            " '{}', '2000-01-01T00:00:00Z', 0, 'boss', 'forged')"
        )
    [(rid, recorded, entered, hashed)] = pg_query(
        target, "SELECT id, recorded_at, entered_by, hash FROM events ORDER BY id DESC LIMIT 1"
    )
    assert rid > 1 and recorded != "2000-01-01T00:00:00Z" and entered is None and hashed != "forged"
    with psycopg.connect(target) as conn:
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            conn.execute("INSERT INTO helpdesk_copies (source, events) VALUES ('again', 0)")
    with psycopg.connect(target) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("DELETE FROM helpdesk_copies")
    assert run_cli(target, monkeypatch)("check", actor=None).code == 0


# -- export and import between the engines -----------------------------------------------------------------------


def _read_back(cli: Cli) -> list[Any]:
    ids = [t["id"] for t in cli("ticket", "list", "--all", "--json", "--now", NOW, actor=None).json()]
    out: list[Any] = [cli("ticket", "list", "--all", "--json", "--now", NOW, actor=None).json()]
    out += [cli("ticket", "show", str(i), "--json", "--now", NOW, actor=None).json() for i in sorted(ids)]
    return _without_recorded_at(out)


def _without_recorded_at(value: Any) -> Any:
    """``recorded_at`` is when an event was written: the import's own time, by the server's clock on PostgreSQL."""
    if isinstance(value, dict):
        return {k: _without_recorded_at(v) for k, v in value.items() if k != "recorded_at"}
    if isinstance(value, list):
        return [_without_recorded_at(v) for v in value]
    return value


def test_export_and_import_give_the_same_tickets_on_either_engine(
    source: Path, tmp_path: Path, pg_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite → PostgreSQL → SQLite through export files: each import reads the same on both engines, and the
    exports along the way are the same file."""
    names = [pg_cluster.new_database() for _ in range(2)]
    try:
        pg_a, pg_b = (pg_cluster.url(n) for n in names)
        clis = {
            "pg_a": run_cli(pg_a, monkeypatch),
            "pg_b": run_cli(pg_b, monkeypatch),
            "lite_a": run_cli(str(tmp_path / "a.db"), monkeypatch),
            "lite_b": run_cli(str(tmp_path / "b.db"), monkeypatch),
        }
        for cli in clis.values():
            assert cli("init", "--admin", "boss", actor=None).code == 0
            assert cli("agent", "add", "li.wei", "--tier", "L1", "--display-name", "李伟").code == 0
            assert cli("agent", "add", "sue", "--role", "supervisor", "--tier", "L2").code == 0
        first = tmp_path / "from-sqlite.jsonl"
        first.write_text(run_cli(str(source), monkeypatch)("export", actor=None).out, encoding="utf-8")
        for which in ("pg_a", "lite_a"):
            r = clis[which]("import", str(first), "--json", actor=None)
            assert r.code == 0, r.err
        assert same_json(_read_back(clis["pg_a"]), _read_back(clis["lite_a"]))
        back = tmp_path / "from-postgresql.jsonl"
        back.write_text(clis["pg_a"]("export", actor=None).out, encoding="utf-8")
        assert back.read_text(encoding="utf-8") == clis["lite_a"]("export", actor=None).out
        for which in ("lite_b", "pg_b"):
            r = clis[which]("import", str(back), "--json", actor=None)
            assert r.code == 0, r.err
        assert same_json(_read_back(clis["lite_b"]), _read_back(clis["pg_b"]))
        # the tickets themselves made the whole journey: the exports differ in nothing but what an export adds
        strip = ("id", "updated_at", "version")
        journey = [
            [{k: v for k, v in json.loads(line).items() if k not in strip} for line in text.splitlines()]
            for text in (first.read_text(encoding="utf-8"), clis["pg_b"]("export", actor=None).out)
        ]
        assert journey[0] == journey[1]
        for cli in clis.values():
            assert cli("check", actor=None).code == 0
    finally:
        for name in names:
            pg_cluster.drop_database(name)


def test_progress_is_reported_up_to_every_row(source: Path, target: str) -> None:
    """What the progress bar is fed (console/cli/progress.py draws it on a terminal only): counts that only grow,
    against the total of the source's rows, ending at it."""
    from console.service.migrate import migrate_database

    seen: list[tuple[int, int | None]] = []
    done = migrate_database(source, target, progress=lambda n, total: seen.append((n, total)))
    total = sum(done.tables.values())
    assert seen and {t for _n, t in seen} == {total}
    assert [n for n, _t in seen] == sorted(n for n, _t in seen) and seen[-1][0] == total
