"""Input at the edges of what the program can represent is one line and an exit code, never a traceback: JSON and
TOML nested deeper than the parsers' stack, documents over their size limit, ids beyond SQLite's integers, times
outside 1970..2200, a database with damaged pages (reads exit 5; after an unclean shutdown, writes are refused).
`helpdesk sla due` answers each line as it reads it."""

from __future__ import annotations

import hashlib
import io
import json
import random
import select
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from console.rules.clock import parse_instant
from console.rules.documents import MAX_DOCUMENT_BYTES
from console.rules.macros import MacroError, MacroSet
from console.rules.policy import PolicyError, load_policy_toml
from console.rules.sla_due import MAX_LINE, run_due
from db import reports as db_reports
from db.errors import DatabaseUnavailable, StoreError
from db.store import Store
from tests.conftest import Result

Cli = Callable[..., Result]
ROOT = Path(__file__).resolve().parents[1]
DEEP_JSON = "[" * 100_000
DEEP_ARRAY_TOML = "a = " + "[" * 100_000 + "]" * 100_000 + "\n"
DEEP_TABLE_TOML = "a = " + "{b = " * 50_000 + "1" + "}" * 50_000 + "\n"
GOOD_REQUEST = json.dumps({"calendar": "24x7", "start": "2026-01-30T17:30:00+08:00", "minutes": 240})


def one_line(r: Result, code: int, *words: str) -> None:
    """Exit ``code`` with exactly one line on stderr (the program's or argparse's), holding each of ``words``."""
    assert r.code == code, (r.code, r.out, r.err[-2000:])
    assert r.err.count("\n") == 1 and r.err.startswith("helpdesk") and "Traceback" not in r.err, r.err[-2000:]
    for word in words:
        assert word in r.err, r.err


# -- deeply nested JSON ----------------------------------------------------------------------------------------


def test_kb_import_of_deeply_nested_json_names_the_file_and_line(seeded: Cli, tmp_path: Path) -> None:
    articles = tmp_path / "articles.jsonl"
    articles.write_text(json.dumps({"title": "Printer jams", "body": "Dry the paper."}) + "\n" + DEEP_JSON + "\n")
    r = seeded("kb", "import", str(articles))
    one_line(r, 2, f"{articles}:2:", "nested too deeply")
    assert seeded("kb", "search", "printer", "--json").json() == []  # all or nothing: the good line is not kept


def test_sla_due_answers_a_deeply_nested_line_in_its_place(cli: Cli) -> None:
    r = cli("sla", "due", stdin=f"{GOOD_REQUEST}\n{DEEP_JSON}\n{GOOD_REQUEST}\n", actor=None)
    assert r.code == 2 and r.err == ""
    answers = [json.loads(line) for line in r.out.splitlines()]
    assert answers[0] == answers[2] == {"due_at": "2026-01-30T21:30:00+08:00"}
    assert answers[1] == {"error": "line 2: not valid JSON: nested too deeply"}


def test_run_due_reads_no_further_than_the_answer_it_gives() -> None:
    read: list[str] = []

    def lines() -> Iterator[str]:
        for line in (GOOD_REQUEST, DEEP_JSON, GOOD_REQUEST):
            read.append(line)
            yield line

    answers = run_due(lines())
    assert next(answers).error is False and len(read) == 1
    assert next(answers).error is True and len(read) == 2
    assert next(answers).error is False and len(read) == 3


def test_an_endless_line_is_read_in_bounded_pieces_and_refused(cli: Cli) -> None:
    from console.cli.data import _bounded_lines

    stream = io.StringIO("x" * 25 + "\n" + "short\n" + "y" * 10)
    assert list(_bounded_lines(stream, 10)) == ["x" * 11, "short\n", "y" * 10]
    r = cli("sla", "due", stdin="z" * (MAX_LINE + 5) + "\n" + GOOD_REQUEST + "\n", actor=None)
    assert r.code == 2
    assert [json.loads(line) for line in r.out.splitlines()] == [
        {"error": f"line 1: longer than {MAX_LINE} characters"},
        {"due_at": "2026-01-30T21:30:00+08:00"},
    ]


def _read_line(stream: IO[bytes], timeout: float = 20.0) -> bytes:
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, "no answer while the input is still open: the answers are held back"
    return stream.readline()


def test_sla_due_streams_its_answers(tmp_path: Path) -> None:
    """A real process behind a pipe: each answer arrives while its input is still open."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", "sla", "due"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(GOOD_REQUEST.encode() + b"\n")
        proc.stdin.flush()
        assert json.loads(_read_line(proc.stdout)) == {"due_at": "2026-01-30T21:30:00+08:00"}
        proc.stdin.write(DEEP_JSON.encode() + b"\n")
        proc.stdin.flush()
        assert json.loads(_read_line(proc.stdout)) == {"error": "line 2: not valid JSON: nested too deeply"}
        proc.stdin.close()
        assert proc.wait(timeout=20) == 2
    finally:
        proc.kill()
        proc.wait()


# -- TOML documents ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [DEEP_ARRAY_TOML, DEEP_TABLE_TOML], ids=["arrays", "inline-tables"])
@pytest.mark.parametrize("command", ["policy", "macro", "phrases"])
def test_deeply_nested_toml_is_one_line(seeded: Cli, tmp_path: Path, command: str, text: str) -> None:
    doc = tmp_path / "deep.toml"
    doc.write_text(text)
    one_line(seeded(command, "load", str(doc)), 2, "not valid TOML", "nested too deeply")


@pytest.mark.parametrize("command", ["policy", "macro", "phrases"])
def test_a_document_over_the_size_limit_is_refused_unread(seeded: Cli, tmp_path: Path, command: str) -> None:
    doc = tmp_path / "huge.toml"
    doc.write_text("# padding\n" * (MAX_DOCUMENT_BYTES // 10 + 1))
    one_line(seeded(command, "load", str(doc)), 2, str(doc), "too large")


def test_the_parsers_themselves_refuse_deep_and_large_documents() -> None:
    with pytest.raises(PolicyError, match="nested too deeply"):
        load_policy_toml(DEEP_TABLE_TOML)
    with pytest.raises(PolicyError, match="too large"):
        load_policy_toml("#" * (MAX_DOCUMENT_BYTES + 1))
    with pytest.raises(MacroError, match="nested too deeply"):
        MacroSet.from_toml(DEEP_ARRAY_TOML)
    with pytest.raises(MacroError, match="too large"):
        MacroSet.from_toml("# 中文\n" * (MAX_DOCUMENT_BYTES // 8))  # under the limit in characters, not in bytes


# -- ids ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("ticket", "show", "99999999999999999999"), ("not a ticket number",)),
        (("ticket", "show", str(2**63)), ("not a ticket number",)),
        (("ticket", "note", str(2**63), "--body", "x"), ("not a ticket number",)),
        (("kb", "show", "99999999999999999999"), ("not an article number",)),
        (("kb", "publish", str(2**63)), ("not an article number",)),
        (("ticket", "close", "1", "--summary", "x", "--kb", str(2**64)), ("not an article number",)),
        (("ticket", "list", "--limit", str(2**63)), ("--limit",)),
    ],
)
def test_ids_beyond_sqlite_integers_are_bad_input(seeded: Cli, argv: tuple[str, ...], words: tuple[str, ...]) -> None:
    one_line(seeded(*argv), 2, *words)


def test_the_largest_id_is_merely_not_found(seeded: Cli) -> None:
    one_line(seeded("ticket", "show", str(2**63 - 1)), 2, "not found")
    one_line(seeded("kb", "show", str(2**63 - 1)), 2, "not found")


# -- times and dates ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("ticket", "new", "--subject", "x", "--at", "9999-12-31T23:59:59Z"),
        ("ticket", "new", "--subject", "x", "--at", "0001-01-01T00:00:00Z"),
        ("ticket", "new", "--subject", "x", "--at", "0001-01-01T00:00:00+01:00"),  # overflows on the way to UTC
        ("ticket", "note", "1", "--body", "x", "--at", "1969-12-31T23:59:59Z"),
        ("ticket", "list", "--now", "9999-12-31T23:59:59Z"),
        ("ticket", "show", "1", "--now", "0001-01-01T00:00:00Z"),
        ("report", "--from", "9999-12-31"),
        ("report", "--to", "0001-01-01"),
        ("report", "--now", "2201-01-01T00:00:00Z"),
        ("sweep", "--now", "9999-12-31T23:59:59Z"),
        ("ticket", "close", "1", "--summary", "x", "--followup", "9999-12-31"),
        ("followup", "1", "--note", "x", "--at", "0001-01-01T00:00:00Z"),
        ("csat", "1", "5", "--at", "9999-12-31T00:00:00Z"),
    ],
)
def test_times_outside_1970_to_2200_are_one_line(seeded: Cli, argv: tuple[str, ...]) -> None:
    assert seeded("ticket", "new", "--subject", "Printer offline").code == 0
    one_line(seeded(*argv), 2, "must be between 1970 and 2200")


def test_the_edges_of_the_range_are_accepted(seeded: Cli) -> None:
    assert seeded("ticket", "list", "--now", "2200-12-31T23:59:59Z").code == 0
    assert seeded("report", "--from", "1970-01-01", "--to", "2200-12-31", "--json").code == 0


def test_instants_are_checked_in_utc() -> None:
    assert parse_instant("1970-01-01T08:00:00+08:00").isoformat() == "1970-01-01T00:00:00+00:00"
    for text in ("1970-01-01T07:59:59+08:00", "2200-12-31T23:00:00-05:00", "9999-12-31T23:59:59-01:00"):
        with pytest.raises(ValueError, match="must be between 1970 and 2200"):
            parse_instant(text)


def test_import_names_the_row_with_a_time_out_of_range(seeded: Cli, tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"subject": "Old", "created_at": "0001-01-01T00:00:00+01:00"}) + "\n")
    one_line(seeded("import", str(rows)), 2, f"{rows}:1:", "must be between 1970 and 2200")


# -- a damaged database -------------------------------------------------------------------------------------


def _pages(path: Path, table: str) -> list[int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)  # read-only: closing it checkpoints nothing
    try:
        return [r[0] for r in conn.execute("SELECT pageno FROM dbstat WHERE name = ? ORDER BY pageno", [table])]
    finally:
        conn.close()


def _overwrite(path: Path, pages: list[int], seed: int = 7) -> None:
    """Overwrite whole pages with garbage (seeded, so every run damages the same way)."""
    rng = random.Random(seed)
    size = 4096
    with path.open("r+b") as fh:
        for page in pages:
            fh.seek((page - 1) * size)
            fh.write(rng.randbytes(size))


@pytest.fixture
def big_db(seeded: Cli, db_path: Path, tmp_path: Path) -> Path:
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"subject": f"T{i}", "body": "x" * 900}) + "\n" for i in range(200)))
    assert seeded("import", str(rows)).code == 0
    assert not Path(f"{db_path}-wal").exists()  # closed cleanly
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096
    conn.close()
    return db_path


def test_reports_on_a_damaged_file_are_one_line(seeded: Cli, big_db: Path) -> None:
    leaves = _pages(big_db, "tickets")
    assert len(leaves) > 20
    middle = len(leaves) // 2
    _overwrite(big_db, leaves[middle : middle + 3])
    for argv in (("report",), ("report", "--by", "agent"), ("report", "--csv")):
        one_line(seeded(*argv), 5, str(big_db), "malformed")
    r = seeded("check")  # says what is wrong: its output is the finding, not an error
    assert r.code == 1 and r.err == "" and "malformed" in r.out


def test_store_reads_raise_store_errors_not_sqlite_ones(seeded: Cli, big_db: Path) -> None:
    _overwrite(big_db, _pages(big_db, "tickets")[5:8])
    store = Store(big_db)
    try:
        with pytest.raises(DatabaseUnavailable, match="malformed"):
            db_reports.period_tickets(store, None, None)
        with pytest.raises(StoreError):
            db_reports.period_clock_events(store, None, None)
    finally:
        store.close()


def test_a_damaged_search_index_is_one_line(seeded: Cli, db_path: Path, tmp_path: Path) -> None:
    articles = tmp_path / "articles.jsonl"
    articles.write_text(
        "".join(json.dumps({"title": f"Printer {i} jams", "body": "Dry the paper. " * 50}) + "\n" for i in range(40))
    )
    assert seeded("kb", "import", str(articles)).code == 0
    _overwrite(db_path, _pages(db_path, "kb_fts_config"))  # SQLite: "vtable constructor failed: kb_fts"
    one_line(seeded("kb", "search", "printer"), 5, "knowledge base cannot be searched")


# -- writes after an unclean shutdown -------------------------------------------------------------------------

_CRASH = """
import os, sys, time
from db.store import Store
store = Store(sys.argv[1])
store.heartbeat("boss", 1, time.time())  # a committed write, still in the -wal
os._exit(0)  # no close: the log is not checkpointed into the file and stays beside it
"""


def _crash_after_a_write(path: Path) -> None:
    subprocess.run([sys.executable, "-c", _CRASH, str(path)], cwd=ROOT, check=True, timeout=60)
    assert Path(f"{path}-wal").stat().st_size > 0


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_writes_are_refused_on_a_file_found_damaged_after_an_unclean_shutdown(seeded: Cli, big_db: Path) -> None:
    leaves = _pages(big_db, "tickets")
    _crash_after_a_write(big_db)
    _overwrite(big_db, [leaves[len(leaves) // 2]])  # one page, which the write does not need to read
    wal = Path(f"{big_db}-wal")
    before = (_digest(big_db), _digest(wal))
    for _attempt in range(2):  # the log is left in place, so the next command checks again
        r = seeded("ticket", "note", "1", "--body", "NOTE-AFTER-DAMAGE")
        one_line(r, 5, f"{big_db} is damaged: run 'helpdesk check'; restore from a backup")
        assert (_digest(big_db), _digest(wal)) == before  # nothing written, nothing checkpointed
    assert b"NOTE-AFTER-DAMAGE" not in big_db.read_bytes() + wal.read_bytes()
    r = seeded("check")  # reads still work
    assert r.code == 1 and r.err == "" and "malformed" in r.out


def test_a_sound_file_after_an_unclean_shutdown_is_written_as_usual(seeded: Cli, big_db: Path) -> None:
    _crash_after_a_write(big_db)
    assert seeded("ticket", "note", "1", "--body", "after the crash").code == 0
    store = Store(big_db)
    try:
        assert store.damage == []
        assert [v.agent for v in store.viewers(1, 0)] == ["boss"]  # the crashed process's write was kept
        assert store.messages(1)[-1].body == "after the crash"
    finally:
        store.close()
