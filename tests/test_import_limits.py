"""`helpdesk import` on hostile or huge files: every limit is one line naming FILE:LINE with exit 2 and nothing
imported; a large file goes in batches inside one transaction (all or nothing); the export guards spreadsheet
formulas in CSV and still imports back as it is."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from console.rules.errors import BadInput, Unavailable
from console.rules.spreadsheet import formula_safe
from console.rules.validation import MAX_BODY, validate_new_ticket
from console.service import importer
from console.service.helpdesk import HelpdeskService
from console.service.importer import MAX_DEPTH, MAX_FIELD, MAX_LINE_BYTES, MAX_REPORTED
from console.service.intake import IMPORT_BATCH
from tests.conftest import Result

Cli = Callable[..., Result]


def tickets(cli: Cli) -> list[dict[str, Any]]:
    r = cli("export", "--format", "jsonl")
    assert r.code == 0, r.err
    return [json.loads(line) for line in r.out.splitlines()]


def jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def refused(r: Result, where: str, *words: str) -> None:
    """One line on stderr, exit 2, naming the place and saying why; never a traceback."""
    assert r.code == 2, (r.code, r.err)
    assert r.err.count("\n") == 1, r.err
    assert "Traceback" not in r.err
    assert f"helpdesk: {where}" in r.err, r.err
    for word in words:
        assert word in r.err, r.err


# -- limits --------------------------------------------------------------------------------------------------


def test_csv_field_over_the_csv_modules_default_limit_is_one_line(seeded: Cli, tmp_path: Path) -> None:
    """130,000 characters: over csv's 128 KiB default (a traceback before), under MAX_FIELD: validation speaks."""
    path = tmp_path / "rows.csv"
    path.write_text(f"subject,body\nfine,ok\nbig,{'b' * 130_000}\nalso fine,ok\n", encoding="utf-8")
    refused(seeded("import", str(path)), f"{path}:3: ", "body is too long")
    assert tickets(seeded) == []


def test_csv_field_over_the_field_limit_is_one_line(seeded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(f'subject,body\nfine,ok\nbig,"{"b" * (MAX_FIELD + 1)}"\nalso fine,ok\n', encoding="utf-8")
    refused(seeded("import", str(path)), f"{path}:3: ", f"over {MAX_FIELD} characters")
    assert tickets(seeded) == []


def test_csv_body_at_its_limit_in_cjk_is_kept_whole(seeded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(f'subject,body\n打印机,"{"字" * MAX_BODY}"\n', encoding="utf-8")  # 300 KB of UTF-8
    assert seeded("import", str(path)).code == 0
    (t,) = tickets(seeded)
    assert t["body"] == "字" * MAX_BODY


def test_line_over_the_line_limit_is_one_line(seeded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    long_row = json.dumps({"subject": "big", "body": "x" * MAX_LINE_BYTES})
    path.write_text(f'{{"subject": "fine"}}\n{long_row}\n{{"subject": "also fine"}}\n', encoding="utf-8")
    refused(seeded("import", str(path)), f"{path}:2: ", f"line is over {MAX_LINE_BYTES} bytes")
    assert tickets(seeded) == []


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_deeply_nested_json_is_one_line(seeded: Cli, tmp_path: Path, depth: int) -> None:
    path = tmp_path / "rows.jsonl"
    nested = "[" * depth + "]" * depth
    path.write_text(f'{{"subject": "fine"}}\n{{"subject": "x", "body": {nested}}}\n', encoding="utf-8")
    refused(seeded("import", str(path)), f"{path}:2: ", f"nested deeper than {MAX_DEPTH} levels")
    assert tickets(seeded) == []


def test_brackets_inside_strings_are_not_nesting(seeded: Cli, tmp_path: Path) -> None:
    body = 'config: {"a": [[[[' * 20 + '\\" [[[ still text'
    path = jsonl(tmp_path / "rows.jsonl", [{"subject": "[[[[[[[[[[[[[[[[[[[[ brackets", "body": body}])
    assert seeded("import", str(path)).code == 0
    (t,) = tickets(seeded)
    assert t["body"] == body


def test_shallow_nesting_is_refused_by_validation(seeded: Cli, tmp_path: Path) -> None:
    path = jsonl(tmp_path / "rows.jsonl", [{"subject": "fine"}, {"subject": {"nested": [1, 2]}}])
    refused(seeded("import", str(path)), f"{path}:2: subject: ", "string")


def test_utf16_file_is_one_line(seeded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes("subject,body\n打印机,卡纸\n".encode("utf-16"))
    refused(seeded("import", str(path)), f"{path}: not UTF-8")
    path.write_bytes("subject,body\nprinter,jam\n".encode("utf-16-le"))  # no byte-order mark
    refused(seeded("import", str(path)), f"{path}: not UTF-8")
    assert tickets(seeded) == []


def test_file_in_another_encoding_is_one_line(seeded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(
        "".join(json.dumps({"subject": f"打印机 {i}"}, ensure_ascii=False) + "\n" for i in range(50)).encode("gbk")
    )
    refused(seeded("import", str(path)), f"{path}:1: not UTF-8")
    # the first line fine, most of the others not: one line naming the first, with the count
    path.write_bytes(
        b'{"subject": "fine"}\n' + "".join(f'{{"subject": "café {i}"}}\n' for i in range(40)).encode("latin-1")
    )
    refused(seeded("import", str(path)), f"{path}:2: invalid UTF-8", "40 lines")
    assert tickets(seeded) == []


def test_bad_row_among_many_imports_nothing(seeded: Cli, tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [{"subject": f"Ticket {i}", "customer": f"C{i % 7}"} for i in range(3000)]
    rows[1733]["priority"] = "P9"
    path = jsonl(tmp_path / "rows.jsonl", rows)
    refused(seeded("import", str(path)), f"{path}:1734: ", "priority")
    assert tickets(seeded) == []


def test_problems_are_capped(seeded: Cli, tmp_path: Path) -> None:
    path = jsonl(tmp_path / "rows.jsonl", [{"subject": ""} for _ in range(MAX_REPORTED + 13)])
    r = seeded("import", str(path))
    lines = r.err.strip().splitlines()
    assert r.code == 2 and len(lines) == MAX_REPORTED + 1
    assert lines[0].startswith(f"helpdesk: {path}:1: ") and lines[-1] == "helpdesk: … and 13 more"


def test_row_count_limit(seeded: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "MAX_ROWS", 3)
    path = jsonl(tmp_path / "rows.jsonl", [{"subject": f"T{i}"} for i in range(5)])
    refused(seeded("import", str(path)), f"{path}:4: ", "more than 3 rows")
    assert tickets(seeded) == []


def test_unreadable_path_is_one_line(seeded: Cli, tmp_path: Path) -> None:
    refused(seeded("import", str(tmp_path)), "cannot read")


# -- batches, one transaction --------------------------------------------------------------------------------


def test_file_of_several_batches_is_imported_whole(seeded: Cli, tmp_path: Path) -> None:
    count = IMPORT_BATCH * 2 + 17
    rows = [{"subject": f"Ticket {i}", "customer": f"C{i % 11}", "email": f"c{i % 11}@x.test"} for i in range(count)]
    r = seeded("import", str(jsonl(tmp_path / "rows.jsonl", rows)), "--json")
    assert r.code == 0, r.err
    assert r.json()["imported"] == count
    assert [t["subject"] for t in tickets(seeded)] == [f"Ticket {i}" for i in range(count)]
    assert seeded("check").code == 0


def good_rows(count: int) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for i in range(count):
        yield validate_new_ticket(f"Ticket {i}", "", "P3", "email", "L1"), {"customer": f"C{i % 5}"}


def count_tickets(db_path: Path) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute("SELECT count(*) FROM tickets").fetchone()[0])


def test_last_row_failing_in_the_write_rolls_back_every_batch(
    team: Callable[[str], HelpdeskService], db_path: Path
) -> None:
    """The last row passes the file's checks but fails as it is written (its customer is over the limit):
    the batches already inserted in the same transaction go too."""
    li = team("li.wei")

    def rows() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        yield from good_rows(IMPORT_BATCH * 2 + 5)
        yield validate_new_ticket("Last", "", "P3", "email", "L1"), {"customer": "C" * 100_000}

    with pytest.raises(BadInput, match="too long"):
        li.import_rows(rows())
    assert count_tickets(db_path) == 0


def test_last_row_bad_in_the_file_imports_nothing(seeded: Cli, tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [{"subject": f"Ticket {i}"} for i in range(IMPORT_BATCH * 2 + 5)]
    rows.append({"subject": "Last", "assignee": "nobody"})
    path = jsonl(tmp_path / "rows.jsonl", rows)
    refused(seeded("import", str(path)), f"{path}:{len(rows)}: ", "unknown agent nobody")
    assert tickets(seeded) == []


class BusyOnce:
    """Rows that, the first time through, meet a busy database half-way (as SQLite may report at any write)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.passes = 0

    def __iter__(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        self.passes += 1
        for i, row in enumerate(good_rows(self.count)):
            if self.passes == 1 and i == self.count // 2:
                raise sqlite3.OperationalError("database is locked")
            yield row


def test_a_retried_transaction_starts_from_the_first_row(team: Callable[[str], HelpdeskService], db_path: Path) -> None:
    rows = BusyOnce(IMPORT_BATCH + 10)
    ids = team("li.wei").import_rows(rows)
    assert rows.passes == 2
    assert len(ids) == count_tickets(db_path) == IMPORT_BATCH + 10


def test_a_one_shot_stream_is_never_imported_in_part(team: Callable[[str], HelpdeskService], db_path: Path) -> None:
    with pytest.raises(Unavailable, match="nothing was imported"):
        team("li.wei").import_rows(iter(BusyOnce(IMPORT_BATCH + 10)))
    assert count_tickets(db_path) == 0


# -- export: formulas guarded, round trip ----------------------------------------------------------------------

TRICKY = [
    {"subject": '=HYPERLINK("http://evil.test","click")', "body": "@SUM(A1:A9)", "customer": "+Plus Corp"},
    {"subject": "-2+3 looks like a sum", "body": "- first bullet\n- second", "customer": "@handle"},
    {"subject": "'quoted already", "body": "'=still text", "customer": "Plain"},
    {"subject": "打印机卡纸", "body": '第一行\n第二行, with a comma and "quotes"', "phone": "+86 138 0000 0000"},
    {"subject": "Normal", "body": "=1+1 in the middle is fine: x=1", "customer": "Bob", "email": "bob@x.test"},
]


def test_export_csv_guards_formula_cells(seeded: Cli, tmp_path: Path) -> None:
    assert seeded("import", str(jsonl(tmp_path / "rows.jsonl", TRICKY))).code == 0
    out = seeded("export", "--format", "csv").out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["subject"] == '\'=HYPERLINK("http://evil.test","click")'
    assert rows[0]["body"] == "'@SUM(A1:A9)" and rows[0]["customer"] == "'+Plus Corp"
    assert rows[1]["subject"] == "'-2+3 looks like a sum" and rows[1]["body"] == "'- first bullet\n- second"
    assert rows[1]["customer"] == "'@handle"
    assert rows[2]["subject"] == "''quoted already" and rows[2]["body"] == "''=still text"
    assert rows[3]["phone"] == "'+86 138 0000 0000"
    assert rows[4]["body"] == "'=1+1 in the middle is fine: x=1" and rows[4]["subject"] == "Normal"
    for row in rows:  # no cell a spreadsheet would run
        assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values())
    # tabs and carriage returns too (an import strips them from the ends, a reply or a note may not)
    assert [formula_safe(t) for t in ("\tx", "\rx", "x\t")] == ["'\tx", "'\rx", "x\t"]
    # JSON Lines is data, not a spreadsheet: unchanged
    assert [t["subject"] for t in tickets(seeded)] == [r["subject"] for r in TRICKY]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_imports_back_as_it_is(seeded: Cli, tmp_path: Path, fmt: str) -> None:
    assert seeded("import", str(jsonl(tmp_path / "rows.jsonl", TRICKY))).code == 0
    before = tickets(seeded)
    exported = tmp_path / f"export.{fmt}"
    exported.write_text(seeded("export", "--format", fmt).out, encoding="utf-8")
    r = seeded("import", str(exported), "--json")
    assert r.code == 0, r.err
    after = tickets(seeded)[len(before) :]
    keep = ("subject", "body", "customer", "email", "phone", "priority", "channel", "tier", "status", "created_at")
    assert [{k: t[k] for k in keep} for t in after] == [{k: t[k] for k in keep} for t in before]
    assert [t["id"] for t in after] == r.json()["ids"]  # new tickets: the exported ids are not reused
