"""Fuzzing (hypothesis) every loader of user-supplied files or standard input, and the command line's parser.

For every generated input: the exit code is one of the documented ones (0-5), no exception escapes `main` (nothing
but SystemExit from argparse), stderr holds no traceback and only `helpdesk: …` lines (or argparse's one-line
`helpdesk CMD: error: …`, exit 2), nothing written to the terminal carries an escape sequence's introducer (ESC
or a C1 control), and the database is `helpdesk check`-clean afterwards; a loader that refuses its input has
stored nothing of it.

The examples are derandomized (CI runs the same ones every time). To search wider locally:
    HELPDESK_FUZZ_SCALE=20 HELPDESK_FUZZ_RANDOM=1 pytest tests/test_fuzz.py
(SCALE multiplies every test's number of examples; RANDOM=1 draws new examples on each run, and hypothesis then
keeps the failing ones in .hypothesis/ to replay first next time). A test's examples share its database, so a failing
check may be the work of an earlier example that succeeded (a restore, an import): hypothesis reports the last input
only, and replaying it alone may pass; log each input to find the culprit (that is how the read-only backup below
was found).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import sqlite3
import sys
import tomllib
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.i18n import set_language
from console.service import importer

# -- how much fuzzing --------------------------------------------------------------------------------------------

SCALE = max(1, int(os.environ.get("HELPDESK_FUZZ_SCALE", "1") or "1"))
RANDOM = os.environ.get("HELPDESK_FUZZ_RANDOM") == "1"


def fuzz(examples: int) -> Callable[[Any], Any]:
    # derandomized runs write nothing to .hypothesis/; random ones keep their failures there, to replay first
    database: dict[str, Any] = {} if RANDOM else {"database": None}
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        derandomize=not RANDOM,
        # one database per test function, shared by its examples (each must leave it check-clean); some inputs
        # are large on purpose (lines over the loaders' limits)
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
        **database,
    )


# -- running the CLI in-process, as a real process would see its streams ----------------------------------------

EXIT_CODES = frozenset(range(6))
# The introducers of terminal escape sequences: ESC and the C1 controls (CSI 0x9b, OSC 0x9d…), which terminals
# that honour 8-bit controls act on just the same.
_INTRODUCER = re.compile("[\x1b\x80-\x9f]")
# What else on stderr would move the cursor or break the one-line-per-error rule (newline ends a line).
_STDERR_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
# argparse's own error line (CliParser.error): `helpdesk ticket new: error: …`, in either interface language.
_ARGPARSE_ERROR = re.compile(r"helpdesk(?: [a-z][a-z-]*)*: (?:error|错误): ")


@dataclass
class Outcome:
    argv: list[str]
    data: bytes  # standard input, or the content of the file given
    code: int
    out: str
    err: str
    crash: str | None  # the traceback of an exception that escaped main

    def __str__(self) -> str:
        data = self.data if len(self.data) <= 400 else self.data[:400] + b"..."
        argv = [a if len(a) <= 200 else a[:200] + "..." for a in self.argv]
        return (
            f"\nargv={argv!r}\ninput={data!r}\ncode={self.code}\nstdout={self.out[:2000]!r}\n"
            f"stderr={self.err[:2000]!r}\n{self.crash or ''}"
        )


class Helpdesk:
    """`helpdesk …` run in-process on one database, with streams like a real process's: bytes underneath, UTF-8,
    and either the decoding of a UTF-8 locale (``strict``: invalid input bytes fail to decode, unencodable output
    fails to write) or that of Python's UTF-8 mode under the C/POSIX locale (``surrogateescape``)."""

    def __init__(self, db: Path) -> None:
        self.db = db

    def __call__(
        self, argv: Sequence[str], stdin: bytes = b"", *, actor: str | None = "boss", strict_locale: bool = False
    ) -> Outcome:
        from console.cli.main import main

        args = [*(["--as", actor] if actor is not None else []), *argv]
        errors = "strict" if strict_locale else "surrogateescape"
        out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
        fake_in = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8", errors=errors)
        fake_out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors=errors, write_through=True)
        fake_err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="backslashreplace", write_through=True)
        saved = sys.stdin, sys.stdout, sys.stderr
        sys.stdin, sys.stdout, sys.stderr = fake_in, fake_out, fake_err
        crash: str | None = None
        try:
            code = main(args)
        except SystemExit as exc:  # argparse: --help (0) and bad command lines (2)
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else -1)
            if not isinstance(exc.code, int | None):
                crash = f"SystemExit with a non-numeric code: {exc.code!r}"
        except KeyboardInterrupt:
            raise
        except BaseException:
            code = -1
            crash = traceback.format_exc()
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved
            set_language("en")
            for stream in (fake_out, fake_err):
                try:
                    stream.flush()
                except ValueError:  # what main itself failed to write is part of the crash already
                    pass
                stream.detach()  # the bytes stay readable (a collected wrapper would close its buffer)
            fake_in.detach()
        return Outcome(
            args,
            stdin,
            code,
            out_bytes.getvalue().decode("utf-8", "surrogateescape"),
            err_bytes.getvalue().decode("utf-8", "surrogateescape"),
            crash,
        )

    def check(self) -> None:
        r = self(["check"])
        assert r.crash is None and r.code == 0, f"the database is no longer check-clean:{r}"

    def count(self, table: str) -> int:
        conn = sqlite3.connect(self.db)
        try:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        finally:
            conn.close()


def well_behaved(r: Outcome) -> None:
    assert r.crash is None, f"an exception escaped main:{r}"
    # `mail ingest` answers an MTA: 75 (EX_TEMPFAIL) asks it to keep the message and try again
    mta = "mail" in r.argv and "ingest" in r.argv
    assert r.code in EXIT_CODES or (mta and r.code == 75), f"exit code outside 0-5:{r}"
    assert "Traceback" not in r.err, f"a traceback on stderr:{r}"
    assert not _INTRODUCER.search(r.out), f"an escape introducer on stdout:{r}"
    assert not _INTRODUCER.search(r.err), f"an escape introducer on stderr:{r}"
    assert not _STDERR_CONTROL.search(r.err), f"a control character on stderr:{r}"
    lines = r.err.split("\n")
    assert lines[-1] == "", f"stderr does not end with a newline:{r}"
    for line in lines[:-1]:
        if r.code == 2 and len(lines) == 2 and _ARGPARSE_ERROR.match(line):
            continue
        assert line.startswith("helpdesk: "), f"a stderr line that is not `helpdesk: …`:{r}"


@pytest.fixture
def helpdesk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Helpdesk:
    """A database with admin boss (the login running the tests), agent li.wei (L1), supervisor sue (L2) and one
    ticket; the working directory is an empty scratch directory, so relative paths the fuzzer makes up land there."""
    db = tmp_path / "db" / "helpdesk.db"
    db.parent.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HELPDESK_DB", str(db))
    for name in ("HELPDESK_AGENT", "HELPDESK_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG", "SUDO_UID"):
        monkeypatch.delenv(name, raising=False)
    # The console and the wallboard must never take over the terminal, even under `pytest -s` in one: without a
    # terminal they are refused (exit 2) before anything opens, which is what the fuzzer exercises.
    monkeypatch.setattr("console.cli.common.has_terminal", lambda: False)
    run = Helpdesk(db)
    for argv in (
        ["init", "--admin", "boss"],
        ["agent", "add", "li.wei", "--tier", "L1"],
        ["agent", "add", "sue", "--role", "supervisor", "--tier", "L2"],
        ["ticket", "new", "--subject", "Printer offline", "--customer", "Acme", "--priority", "P2"],
    ):
        r = run(argv, actor=None if argv[0] == "init" else "boss")
        assert r.code == 0 and r.crash is None, r
    return run


# -- strategies: text, bytes, sizes ------------------------------------------------------------------------------

# Characters that have broken parsers and terminals before: C0/C1 controls, NUL, BOM, bidi and zero-width
# characters, line separators, quotes and brackets of every format involved, CJK and an astral emoji.
_NASTY = [
    *"\x00\x07\x08\t\n\r\x0b\x0c\x1b\x7f\x85\x9b\x9d\u200b\u200e\u202e\u2028\u2066\ufeff\ufffd",
    *"工单问题您好，。！「」\"',;:{}[]<>#=%\\|-+.eE0123456789 ",
    "\U0001f600",
    "\u0301",
]
_CHARS = st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from(_NASTY),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
)
fuzz_text = st.text(_CHARS, max_size=120)


texts = st.builds(str.join, st.sampled_from(["\n", "\r\n", "\r"]), st.lists(fuzz_text, max_size=6))


@st.composite
def long_text(draw: st.DrawFn) -> str:
    """A few lines, one of them long: near and past the loaders' line limits (1 MiB)."""
    unit = draw(st.sampled_from(["a", "工", "[", "{", '"', ",", " ", "\\", "#"]))
    length = draw(st.sampled_from([300, 5000, 70_000, (1 << 20) // len(unit.encode()) + 1]))
    head = draw(st.sampled_from(["", "# T\n", '{"title": "', "subject\n", '{"subject": "']))
    return head + unit * length + draw(st.sampled_from(["", "\n", '"}\n']))


@st.composite
def mixed_bytes(draw: st.DrawFn) -> bytes:
    """Valid UTF-8 with invalid sequences spliced in (a file saved in GBK, or cut mid-character)."""
    parts = draw(st.lists(st.one_of(fuzz_text.map(str.encode), st.binary(max_size=8)), max_size=8))
    return b"".join(parts)


def file_bytes(near_valid: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[bytes]:
    """Any bytes a file may hold; with ``near_valid``, mostly those (three inputs in four)."""
    garbage = st.one_of(
        texts.map(str.encode),
        st.binary(max_size=300),
        mixed_bytes(),
        long_text().map(str.encode),
        st.sampled_from(
            [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xff\xfes\x00u\x00", b"\x00" * 64, b"\n" * 1000, "工".encode("gbk")]
        ),
    )
    if near_valid is None:
        return garbage
    near = near_valid.map(str.encode)
    return st.one_of(garbage, near, near, near)


# -- strategies: near-valid structured values --------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """A token written into a JSON or TOML document as it is: numbers no encoder writes, dates, bare words."""

    text: str


_RAW_NUMBERS = [
    "1" * 4301,  # past Python's limit on converting digits to an int
    "-" + "9" * 5000,
    "9" * 400,
    "1e999999",
    "-1e400",
    "1.5e-400",
    "NaN",
    "Infinity",
    "-Infinity",
    "01",
    "0x10",
    "1_000",
    "+1",
    "-0",
    "9223372036854775808",
    "-9223372036854775809",
]
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.sampled_from([0, -1, 1, 2**63 - 1, 2**63, -(2**63), 10**30, 0.5, -0.0, 1e308]),
    st.sampled_from(_RAW_NUMBERS).map(Raw),
)
DATES = [
    "2026-03-02T09:00:00+08:00",
    "2026-03-02T01:00:00Z",
    "2026-03-02",
    "1970-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "2200-01-01T00:00:00Z",
    "2200-12-31T23:59:59+14:00",
    "2201-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-12:00",
    "10000-01-01T00:00:00Z",
    "0000-01-01",
    "2026-02-30",
    "2026-03-02T25:00:00Z",
    "2026-03-02T09:00:00+25:00",
    "2026-03-02T09:00:00.9999999999+08:00",
    "2026-03-02T09:00:00",
    "-2026-01-01",
    "now",
    "today",
    "",
]
WORDS = [
    *("24x7", "cn-business", "none", "Asia/Shanghai", "UTC", "Mars/Olympus", "../../etc/passwd"),
    *("P1", "P2", "P3", "P4", "P0", "L1", "L2", "L3", "L9", "new", "open", "pending", "resolved", "closed"),
    *("email", "phone", "chat", "web", "onsite", "fax", "boss", "li.wei", "sue", "ghost", "gold"),
    *("09:00", "18:00", "24:00", "25:61", "12:00", "mon", "sun", "zh", "en", "fr"),
    *("{customer}", "{agent}", "{ticket}", "{unknown}", "{customer.__class__}", "{customer[0]}", "{customer!r}"),
    *("{customer:>999999999}", "{", "}", "{{", "}}", "{0}", "{}", "{a|b}", "{|}", "{a|}", "{a|{b}}", "|"),
    *(" ", "  padded  ", "=1+1", "@SUM(A1)", "'quoted", "a\nb", "a\r\nb", "\x1b[31mred\x1b[0m", "\x1b]0;pwn\x07"),
    *("\u202eevil", "\x9b31m", "工单", "不归我管", "not my job", "x" * 2001, "x" * 301, "工" * 201),
    *DATES,
]
words = st.sampled_from(WORDS)

leaf_values = st.one_of(st.none(), st.booleans(), NUMBERS, fuzz_text, words, words, st.sampled_from(DATES).map(Raw))
json_values = st.recursive(
    leaf_values,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(words, fuzz_text), inner, max_size=4)
    ),
    max_leaves=12,
)


def _number_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def to_json(value: Any, ascii_only: bool = False) -> str:
    """JSON as Python's decoder reads it (NaN and Infinity included), with Raw tokens written as they are."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, list):
        return "[" + ", ".join(to_json(v, ascii_only) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{to_json(str(k), ascii_only)}: {to_json(v, ascii_only)}" for k, v in value.items()) + "}"
        )
    return json.dumps(value, ensure_ascii=ascii_only)


def to_toml(value: Any) -> str:
    """One TOML value (tables inline); strings as JSON writes them, whose escapes TOML shares (a lone surrogate or a
    raw DEL makes the document invalid: a fine input too). None, which TOML lacks, is written as a bare word."""
    if isinstance(value, Raw):
        return value.text
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}.get(_number_text(value), repr(value))
    if isinstance(value, list):
        return "[" + ", ".join(to_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {to_toml(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def toml_document(data: Any) -> str:
    if not isinstance(data, dict):  # the whole document was replaced: a value where its tables were
        return f"value = {to_toml(data)}\n"
    return "".join(f"{json.dumps(str(k))} = {to_toml(v)}\n" for k, v in data.items())


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with one to three changes, each at a random place in it: a value replaced by a fuzzed one, a
    key removed, an unknown key added, or a list element duplicated or dropped."""

    def change(node: Any) -> Any:
        if isinstance(node, dict) and node and draw(st.integers(0, 3)) > 0:
            key = draw(st.sampled_from(sorted(node)))
            copy = dict(node)
            op = draw(st.sampled_from(["descend", "descend", "descend", "delete", "add"]))
            if op == "delete":
                del copy[key]
            elif op == "add":
                copy[draw(st.one_of(words, fuzz_text))] = draw(json_values)
            else:
                copy[key] = change(node[key])
            return copy
        if isinstance(node, list) and node and draw(st.integers(0, 3)) > 0:
            i = draw(st.integers(0, len(node) - 1))
            op = draw(st.sampled_from(["descend", "descend", "descend", "drop", "repeat"]))
            if op == "drop":
                return node[:i] + node[i + 1 :]
            if op == "repeat":
                return [*node, node[i]]
            return [*node[:i], change(node[i]), *node[i + 1 :]]
        return draw(json_values)

    for _ in range(draw(st.integers(1, 3))):
        document = change(document)
    return document


# -- ticket import: `helpdesk import FILE` (CSV, JSON Lines) -----------------------------------------------------

IMPORT_FIELDS = (*importer.FIELDS, *importer.EXPORT_ONLY)  # what an import reads, and an export adds
_FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "subject": st.sampled_from(["VPN drops", "打印机脱机", "x" * 300, "x" * 301, " ", ""]),
    "email": st.sampled_from(["a@example.com", "not-an-email", "a@b", "工@例子.中国", "@", "a" * 400 + "@x.com"]),
    "phone": st.sampled_from(["+86 21 5555 0100", "123", "+" + "9" * 60, "phone"]),
    "priority": st.sampled_from(["P1", "P2", "P3", "P4", "P0", "p1", ""]),
    "channel": st.sampled_from(["email", "phone", "chat", "web", "onsite", "fax"]),
    "tier": st.sampled_from(["L1", "L2", "L3", "L4"]),
    "status": st.sampled_from(["new", "open", "pending", "restored", "resolved", "closed", "deleted"]),
    "assignee": st.sampled_from(["boss", "li.wei", "sue", "ghost", ""]),
    "created_at": st.sampled_from(DATES),
}


def _cell(field: str) -> st.SearchStrategy[Any]:
    near = _FIELD_VALUES.get(field, st.sampled_from(["Acme", "ACME 有限公司", "gold", "", "—"]))
    return st.one_of(near, near, near, words, fuzz_text)


@st.composite
def csv_documents(draw: st.DrawFn) -> str:
    header = draw(st.lists(st.sampled_from(IMPORT_FIELDS), min_size=1, max_size=8, unique=True))
    if "subject" not in header and draw(st.integers(0, 4)) > 0:
        header.insert(0, "subject")
    if draw(st.integers(0, 9)) == 0:
        header.append(draw(st.one_of(words, fuzz_text)))  # an unknown column
    rows = []
    for _ in range(draw(st.sampled_from([0, 1, 1, 2, 3, 4]))):
        width = len(header) + draw(st.sampled_from([0, 0, 0, 0, -1, 1]))
        rows.append([draw(_cell(header[i] if i < len(header) else "extra")) for i in range(max(width, 0))])
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC])))
    writer.writerow(header)
    for row in rows:
        writer.writerow([str(v) if not isinstance(v, str) else v for v in row])
    text = buffer.getvalue()
    if draw(st.integers(0, 5)) == 0:  # a quote left open, or a row cut short
        text = text[: draw(st.integers(0, len(text)))] + draw(st.sampled_from(['"', '"\n', "\r", ",,,"]))
    return text


def near_or_raw(field: str, near: Callable[[str], st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    return st.one_of(near(field), near(field), near(field), json_values, st.sampled_from(_RAW_NUMBERS).map(Raw))


@st.composite
def jsonl_documents(
    draw: st.DrawFn, fields: Sequence[str], near: Callable[[str], st.SearchStrategy[Any]], required: Sequence[str]
) -> str:
    """Rows of ``fields`` with near-valid values (``required`` ones present four times in five), among them the
    odd row that is no object, and often one known-nasty line."""
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        names = [f for f in required if draw(st.integers(0, 4)) > 0]
        names += [f for f in draw(st.lists(st.sampled_from(fields), unique=True)) if f not in names]
        row: Any = {f: draw(near_or_raw(f, near)) for f in names}
        if draw(st.integers(0, 9)) == 0:
            row = draw(json_values)  # not an object at all
        lines.append(to_json(row, ascii_only=draw(st.booleans())))
    if draw(st.integers(0, 2)) == 0:  # one known-nasty line among the others, wherever it falls
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(edge_lines(draw(st.sampled_from(fields))))))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


def edge_lines(field: str) -> list[str]:
    """JSON lines that random generation reaches too rarely: values Python's decoder refuses or turns into what no
    UTF-8 writer takes, nesting past the recursion limit, duplicate keys, values where objects belong."""
    key = json.dumps(field)
    return [
        f"{{{key}: {'1' * 4301}}}",  # past Python's limit on converting digits to an int
        f"{{{key}: -{'9' * 5000}}}",
        f"{{{key}: 1e999999, {key}: -1e999999}}",
        f"{{{key}: NaN}}",
        f'{{{key}: "\\ud800"}}',  # a lone surrogate, which SQLite's UTF-8 cannot store
        f'{{{key}: "\\udcff\\u0000\\u001b[31m\\u009b1m\\u202e"}}',
        f'{{{key}: "x", {key}: "y"}}',
        f"{{{key}: {{{key}: {{{key}: [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}}}}}}",
        "[" * 100_000,  # nesting past any recursion limit
        "{" + '"a": {' * 5000,
        f"\ufeff{{{key}: 1}}",
        "null",
        "[]",
        "{}",
        '"a string"',
        "1",
    ]


@st.composite
def good_rows_of_hostile_text(draw: st.DrawFn, fmt: str) -> str:
    """Rows an import accepts, their free text fuzzed: what gets past the checks must be stored and printed safely."""
    rows = []
    for _ in range(draw(st.integers(1, 3))):
        row = {
            "subject": draw(st.one_of(fuzz_text, words)) + "x",
            "body": draw(st.one_of(texts, words)),
            "customer": draw(st.one_of(fuzz_text, words)),
            "organisation": draw(fuzz_text),
            "priority": draw(st.sampled_from(["P1", "P2", "P3", "P4"])),
            "status": draw(st.sampled_from(["new", "open", "pending", "resolved", "closed"])),
            "assignee": draw(st.sampled_from(["", "boss", "li.wei", "sue"])),
            "created_at": draw(st.sampled_from(["", "2026-03-01T09:00:00+08:00", "2026-03-02T00:59:59Z"])),
        }
        rows.append(row)
    if fmt == "jsonl":
        return "".join(to_json(row, ascii_only=draw(st.booleans())) + "\n" for row in rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


@fuzz(150)
@given(data=st.data(), fmt=st.sampled_from(["csv", "jsonl"]), strict_locale=st.booleans())
def test_ticket_import_survives_any_file(
    helpdesk: Helpdesk, data: st.DataObject, fmt: str, strict_locale: bool
) -> None:
    near = csv_documents() if fmt == "csv" else jsonl_documents(IMPORT_FIELDS, _cell, ["subject"])
    content = data.draw(st.one_of(file_bytes(near), good_rows_of_hostile_text(fmt).map(str.encode)), label="content")
    # the suffix picks the format (anything but .csv is read as JSON Lines)
    suffix = data.draw(st.sampled_from([f".{fmt}", f".{fmt}", f".{fmt.upper()}", ".txt", ""]), label="suffix")
    path = Path(f"tickets{suffix}")
    path.write_bytes(content)
    before = helpdesk.count("tickets")
    r = helpdesk(["import", str(path)], strict_locale=strict_locale)
    r.data = content  # shown with a failure: the file's content
    well_behaved(r)
    if r.code != 0:
        assert helpdesk.count("tickets") == before, f"a refused import stored tickets:{r}"
    else:  # what was stored is printed back as safely as anything else
        for argv in (["ticket", "list", "--all"], ["ticket", "list", "--all", "--json"], ["export"]):
            well_behaved(helpdesk(argv))
    helpdesk.check()


# -- knowledge base: `helpdesk kb import PATH` (Markdown, a folder, JSON Lines) ----------------------------------

_ARTICLE_FIELDS = ("title", "body", "tags", "ref", "product", "lang")


def _article_value(field: str) -> st.SearchStrategy[Any]:
    near = st.sampled_from(["VPN setup", "如何连接 VPN", "Open the client.\n\nThen connect.", "", " ", "x" * 301])
    if field == "tags":
        near = st.one_of(near, st.lists(st.one_of(words, st.integers()), max_size=3))
    return st.one_of(near, words, fuzz_text)


@st.composite
def markdown_documents(draw: st.DrawFn) -> str:
    heading = draw(st.sampled_from(["# ", "#", "## ", "", "\ufeff# ", "  # ", "# \x1b[31m"]))
    return heading + draw(fuzz_text) + draw(st.sampled_from(["\n", "\r\n", "\r", ""])) + draw(texts)


@fuzz(100)
@given(
    layout=st.sampled_from(["file", "file", "folder", "missing", "empty folder"]),
    names=st.lists(
        st.sampled_from(["a.md", "b.markdown", "c.jsonl", "D.MD", "e.txt", "f.JSONL"]), min_size=1, max_size=3
    ),
    contents=st.lists(
        st.one_of(
            file_bytes(markdown_documents()),
            file_bytes(jsonl_documents(_ARTICLE_FIELDS, _article_value, ["title", "body"])),
        ),
        min_size=3,
        max_size=3,
    ),
)
def test_kb_import_survives_any_files(
    helpdesk: Helpdesk, tmp_path: Path, layout: str, names: list[str], contents: list[bytes]
) -> None:
    root = Path("kb")
    shutil.rmtree(root, ignore_errors=True)
    if layout == "missing":
        target = root / "nothing-here.md"
    elif layout == "empty folder":
        root.mkdir()
        target = root
    elif layout == "file":
        root.mkdir()
        target = root / names[0]
        target.write_bytes(contents[0])
    else:
        (root / "sub").mkdir(parents=True)
        for i, name in enumerate(names):
            (root / ("sub" if i % 2 else "") / name).write_bytes(contents[i])
        target = root
    before = helpdesk.count("kb_articles")
    r = helpdesk(["kb", "import", str(target)])
    r.data = b"\n---\n".join(contents[: len(names)])
    well_behaved(r)
    if r.code != 0:
        assert helpdesk.count("kb_articles") == before, f"a refused kb import stored articles:{r}"
    helpdesk.check()


# -- `helpdesk sla due < requests.jsonl` -------------------------------------------------------------------------


def _request_value(field: str) -> st.SearchStrategy[Any]:
    near: st.SearchStrategy[Any]
    if field == "calendar":
        spec = st.fixed_dictionaries(
            {},
            optional={
                "tz": st.sampled_from(["Asia/Shanghai", "UTC", "Mars/Olympus", "", "../../etc/passwd"]),
                "weekly": st.dictionaries(
                    st.sampled_from(["mon", "tue", "sun", "xyz"]),
                    st.lists(st.lists(st.sampled_from(["09:00", "18:00", "24:00", "25:61", "12:00", ""]), max_size=3)),
                    max_size=3,
                ),
                "holidays": st.lists(st.sampled_from(DATES), max_size=3),
                "workdays": st.lists(st.sampled_from(DATES), max_size=3),
            },
        )
        near = st.one_of(st.sampled_from(["24x7", "cn-business", "none", ""]), spec)
    elif field in ("start",):
        near = st.sampled_from(DATES)
    elif field == "minutes":
        near = st.one_of(NUMBERS, st.sampled_from([0, 1, 240, 10_000_000, 10_000_001, -1]))
    else:
        near = st.lists(st.lists(st.sampled_from(DATES), max_size=3), max_size=3)
    return st.one_of(near, near, json_values)


@fuzz(150)
@given(
    stdin=file_bytes(
        jsonl_documents(
            ("calendar", "start", "minutes", "pauses", "extra"), _request_value, ["calendar", "start", "minutes"]
        )
    ),
    strict_locale=st.booleans(),
)
def test_sla_due_survives_any_input(helpdesk: Helpdesk, stdin: bytes, strict_locale: bool) -> None:
    r = helpdesk(["sla", "due"], stdin, actor=None, strict_locale=strict_locale)
    well_behaved(r)
    assert r.code in (0, 2), f"sla due answers every line, exit 0 or 2:{r}"
    for line in r.out.splitlines():  # one JSON answer per request line, an answer or an error
        answer = json.loads(line)
        assert isinstance(answer, dict) and set(answer) <= {"due_at", "error"}, r


# -- the TOML documents admins load: policy, macros, phrases -----------------------------------------------------

_DEFAULTS = Path(__file__).resolve().parents[1] / "console" / "defaults"


@cache
def default_document(kind: str) -> dict[str, Any]:
    return tomllib.loads((_DEFAULTS / f"{kind}.toml").read_text(encoding="utf-8"))


def _toml_inputs(kind: str) -> st.SearchStrategy[bytes]:
    return file_bytes(
        st.one_of(
            st.just(kind).map(default_document).flatmap(mutated).map(toml_document),
            st.dictionaries(st.one_of(words, fuzz_text), json_values, max_size=4).map(toml_document),
            st.sampled_from(["a = [" * 5000, "a = " + "1" * 4301, 'a = """', "[[x]]\n[x]", "a = 1979-05-27T25:00:00"]),
        )
    )


_SHOW = {"policy": ["policy", "show"], "macro": ["macro", "list"], "phrases": ["phrases", "list"]}


@pytest.mark.parametrize("kind", ["policy", "macro", "phrases"])
def test_toml_loaders_survive_any_document(helpdesk: Helpdesk, kind: str) -> None:
    document = {"policy": "policy", "macro": "macros", "phrases": "phrases"}[kind]

    @fuzz(60)
    @given(content=_toml_inputs(document))
    def load(content: bytes) -> None:
        path = Path(f"{kind}.toml")
        path.write_bytes(content)
        r = helpdesk([kind, "load", str(path)])
        r.data = content
        well_behaved(r)
        if r.code == 0:  # what was stored is shown back, and must be as safe to print as what was loaded
            for extra in ([], ["--json"]):
                well_behaved(helpdesk([*_SHOW[kind], *extra]))
        helpdesk.check()

    load()


# -- `helpdesk lint-reply < text` --------------------------------------------------------------------------------


@fuzz(80)
@given(
    stdin=st.one_of(
        file_bytes(st.sampled_from(["不归我管", "That's not my job.", "> 不归我管\n您好", "“不可能”", "不 归 我 管"])),
        st.lists(
            st.sampled_from(["不归我管", "not my job", "你们的网络太烂", "\x1b[31m", "。", "\n", " "]), max_size=30
        )
        .map("".join)
        .map(str.encode),
    ),
    lang=st.sampled_from([None, "en", "zh"]),
    strict_locale=st.booleans(),
)
def test_lint_reply_survives_any_text(helpdesk: Helpdesk, stdin: bytes, lang: str | None, strict_locale: bool) -> None:
    r = helpdesk(["lint-reply", *(["--lang", lang] if lang else [])], stdin, strict_locale=strict_locale)
    well_behaved(r)
    if r.code in (0, 1):
        assert isinstance(json.loads(r.out), dict), r


# -- `helpdesk restore SRC` --------------------------------------------------------------------------------------


@pytest.fixture
def backup_bytes(helpdesk: Helpdesk, tmp_path: Path) -> bytes:
    """A real backup of the fuzzed database, to be damaged in many small ways."""
    dest = tmp_path / "backup.db"
    r = helpdesk(["backup", str(dest)])
    assert r.code == 0, r
    return dest.read_bytes()


@st.composite
def damaged(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["byte", "byte", "byte", "run", "truncate"]))
        at = min(draw(st.one_of(st.integers(0, 100), st.integers(0, len(original)))), len(data) - 1)  # often the header
        if op == "truncate":
            del data[max(at, 16) :]
        elif op == "run":
            data[at : at + 64] = draw(st.binary(min_size=64, max_size=64))
        else:
            data[at] = draw(st.integers(0, 255))
        if not data:
            break
    return bytes(data)


@fuzz(80)
@given(data=st.data(), kind=st.sampled_from(["damaged", "damaged", "damaged", "bytes", "header", "special"]))
def test_restore_survives_any_source(helpdesk: Helpdesk, backup_bytes: bytes, data: st.DataObject, kind: str) -> None:
    src = Path("source.db")
    for leftover in Path(".").glob("source.db*"):
        if leftover.is_dir():
            leftover.rmdir()
        else:
            leftover.unlink()
    if kind == "damaged":
        src.write_bytes(data.draw(damaged(backup_bytes)))
    elif kind == "bytes":
        src.write_bytes(data.draw(st.binary(max_size=2000)))
    elif kind == "header":
        src.write_bytes(b"SQLite format 3\x00" + data.draw(st.binary(max_size=2000)))
    else:
        special = data.draw(st.sampled_from(["empty", "folder", "missing", "the database", "wal only"]))
        if special == "empty":
            src.write_bytes(b"")
        elif special == "folder":
            src.mkdir()
        elif special == "the database":
            src = helpdesk.db
        elif special == "wal only":
            src.write_bytes(backup_bytes[:100])
            Path("source.db-wal").write_bytes(data.draw(st.binary(max_size=200)))
    r = helpdesk(["restore", str(src)])
    well_behaved(r)
    helpdesk.check()


# -- what the fuzzer found, pinned (each of these failed before its fix) -----------------------------------------

HUGE = "1" * 4301  # digits: past Python's limit on converting them to an int, which parsers raise as ValueError
_ANSWER = '"calendar": "24x7", "start": "2026-03-02T09:00:00+08:00", "minutes"'


@pytest.mark.parametrize(
    ("argv", "file", "stdin", "strict_locale", "code"),
    [
        pytest.param(["import", "t.jsonl"], f'{{"subject": {HUGE}}}\n', b"", False, 2, id="import-huge-number"),
        pytest.param(["import", "t.jsonl"], '{"subject": "x", "assignee": ""}\n', b"", False, 0, id="import-no-one"),
        pytest.param(["sla", "due"], None, f"{{{_ANSWER}: {HUGE}}}\n".encode(), False, 2, id="sla-huge-number"),
        pytest.param(["sla", "due"], None, b"\x80\n", True, 2, id="sla-not-utf8"),
        pytest.param(["sla", "due"], None, b'{"\xc2\x9b": 1}\n', False, 2, id="sla-echoes-c1"),
        pytest.param(["lint-reply"], None, b"\xff\xfe", True, 0, id="lint-not-utf8"),
        pytest.param(["ticket", "reply", "1", "--body", "-"], None, b"x\xffy", True, 0, id="body-not-utf8"),
        pytest.param(["policy", "load", "p.toml"], f"a = {HUGE}\n", b"", False, 2, id="policy-huge-number"),
        pytest.param(["macro", "load", "m.toml"], f"a = {HUGE}\n", b"", False, 2, id="macro-huge-number"),
        pytest.param(["phrases", "load", "f.toml"], f"a = {HUGE}\n", b"", False, 2, id="phrases-huge-number"),
        pytest.param(["ticket", "list", "a\nb\x1b[31m"], None, b"", False, 2, id="argparse-echoes-controls"),
    ],
)
def test_inputs_the_fuzzer_found(
    helpdesk: Helpdesk, argv: list[str], file: str | None, stdin: bytes, strict_locale: bool, code: int
) -> None:
    if file is not None:
        Path(argv[-1]).write_text(file, encoding="utf-8")
    r = helpdesk(argv, stdin, strict_locale=strict_locale)
    well_behaved(r)
    assert r.code == code, r
    helpdesk.check()


def test_restore_refuses_a_backup_marked_read_only(helpdesk: Helpdesk, backup_bytes: bytes) -> None:
    """Found by the restore fuzzer: byte 18 of the header (the file format's write version) over 2 makes SQLite
    open the file read-only; such a backup passed every check, and the restored database could not be opened."""
    damaged = bytearray(backup_bytes)
    damaged[18] = 3
    Path("read-only.db").write_bytes(damaged)
    r = helpdesk(["restore", "read-only.db"])
    well_behaved(r)
    assert r.code == 2 and "nothing was changed" in r.err, r
    helpdesk.check()


# -- the command line's parser: `helpdesk` with arbitrary argv ---------------------------------------------------


@dataclass
class Command:
    options: list[tuple[list[str], int, tuple[str, ...]]]  # (option strings, values taken, choices)
    positionals: int
    sub: dict[str, Command]


@cache
def command_tree() -> Command:
    """Every command, its options and its positionals, read from the real parser."""
    import argparse

    from console.cli.main import build_parser

    def walk(parser: argparse.ArgumentParser) -> Command:
        node = Command([], 0, {})
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                node.sub = {name: walk(p) for name, p in action.choices.items()}
            elif action.option_strings:
                takes = 0 if action.nargs == 0 else 1
                choices = tuple(str(c) for c in action.choices) if action.choices else ()
                node.options.append((list(action.option_strings), takes, choices))
            else:
                node.positionals += 1
        return node

    return walk(build_parser())


HOSTILE = [
    *(
        "",
        " ",
        "-",
        "--",
        "---",
        "-1",
        "-0",
        "0",
        "1",
        "2",
        "#1",
        "+1",
        "１",
        "1.5",
        "1e3",
        "0x10",
        "1_0",
        "nan",
        "inf",
    ),
    *(str(2**63 - 1), str(2**63), str(-(2**63)), str(10**30), "9" * 5000, "-" + "9" * 400),
    *DATES,
    *("=", "--db=", "--as=", "--lang=zh", "-h", "--help", "--version", "@args.txt", "%s", "%(prog)s", "{}", "{x}"),
    *("\x1b[31m", "\x1b]0;pwn\x07", "a\nb", "a\rb", "\t", "\u202e", "工单", "\udcff", "\U0001f600", "x" * 100_000),
    *(".", "..", "nope/nope.db", "missing.db", "boss", "li.wei", "sue", "ghost", "root", "L2", "P1", "closed"),
]
# What a real command line can hold: no NUL (argv entries are C strings); no "/" in made-up values, so that no
# path the fuzzer writes leaves the scratch directory (the ones above stay inside it too).
_ARG_CHARS = st.one_of(
    st.characters(codec="utf-8", exclude_characters="\x00/"),
    st.sampled_from([c for c in _NASTY if c != "\x00"] + ["\udc80", "\udcff"]),
)
arg_values = st.one_of(st.sampled_from(HOSTILE), st.sampled_from(HOSTILE), st.text(_ARG_CHARS, max_size=40))


@st.composite
def argvs(draw: st.DrawFn, db: str) -> list[str]:
    node = command_tree()
    argv: list[str] = []

    def option_tokens(options: list[tuple[list[str], int, tuple[str, ...]]]) -> list[str]:
        names, takes, choices = draw(st.sampled_from(options))
        name = draw(st.sampled_from(names))
        if name.startswith("--") and len(name) > 4 and draw(st.integers(0, 5)) == 0:
            name = name[: draw(st.integers(3, len(name) - 1))]  # argparse takes unambiguous abbreviations
        if not takes:
            return [name]
        if name == "--db":
            # a demo filled into a fresh file takes seconds, not milliseconds: the demo is given the database
            value = db if "demo" in argv else draw(st.one_of(st.just(db), st.just(db), arg_values))
        elif choices:
            value = draw(st.one_of(st.sampled_from(choices), arg_values))
        else:
            value = draw(arg_values)
        form = draw(st.sampled_from(["separate", "separate", "equals", "missing"]))
        if form == "equals" and name.startswith("--"):
            return [f"{name}={value}"]
        return [name] if form == "missing" else [name, value]

    while True:
        if node.options and draw(st.integers(0, 4)) == 0:
            argv += option_tokens(node.options)
        if not node.sub or draw(st.integers(0, 9)) == 0:
            break
        name = draw(st.one_of(st.sampled_from(sorted(node.sub)), st.sampled_from(sorted(node.sub)), arg_values))
        argv.append(name)
        if name not in node.sub:
            break
        node = node.sub[name]
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["option", "option", "option", "positional", "value", "repeat"]))
        if kind == "option" and node.options:
            argv += option_tokens(node.options)
        elif kind == "repeat" and argv:
            argv.append(draw(st.sampled_from(argv)))
        elif kind == "positional" and node.positionals:
            argv.append(draw(st.sampled_from(["1", "2", "boss", "li.wei"])))
        else:
            argv.append(draw(arg_values))
    return argv


@fuzz(150)
@given(data=st.data(), actor=st.sampled_from(["boss", None, "li.wei", "sue"]), strict_locale=st.booleans())
def test_command_line_survives_any_arguments(
    helpdesk: Helpdesk, data: st.DataObject, actor: str | None, strict_locale: bool
) -> None:
    argv = data.draw(argvs(str(helpdesk.db)))
    r = helpdesk(argv, b"", actor=actor, strict_locale=strict_locale)
    well_behaved(r)
    helpdesk.check()


def test_the_fuzzer_knows_every_command() -> None:
    """The argv strategy walks the real parser: a command added later is fuzzed without anyone listing it."""
    tree = command_tree()
    names = set(tree.sub)
    assert {"ticket", "import", "kb", "sla", "policy", "macro", "phrases", "lint-reply", "restore"} <= names
    assert "new" in tree.sub["ticket"].sub and any("--subject" in o[0] for o in tree.sub["ticket"].sub["new"].options)
