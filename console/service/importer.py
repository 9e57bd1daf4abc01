"""Ticket import (CSV or JSON Lines, all or nothing) and export.

Rule for untrusted text: control characters other than newline and tab are removed; fields over their limit,
invalid UTF-8 and unknown codes are refused with the file and line named. Nothing is imported unless every row
is good.

Memory does not grow with the file: a first pass reads it line by line and validates every row, keeping only the
first MAX_REPORTED problems; a second pass reads it again and hands the rows to the service as a stream, which
inserts them batch by batch inside one write transaction (so all or nothing still holds). Limits keep any one
line, field or JSON value from costing more than its share: a line is at most MAX_LINE_BYTES, a CSV field at most
MAX_FIELD characters, JSON nested at most MAX_DEPTH levels, a file at most MAX_ROWS rows.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from console.i18n import _
from console.rules.clock import parse_instant
from console.rules.documents import too_many_digits
from console.rules.errors import BadInput, ImportFailed
from console.rules.spreadsheet import formula_safe, formula_unguarded
from console.rules.validation import MAX_BODY, validate_customer, validate_new_ticket
from console.service.helpdesk import HelpdeskService
from console.service.intake import IMPORT_BATCH
from db.vocabulary import STATUSES

FIELDS = (
    "subject",
    "body",
    "customer",
    "email",
    "phone",
    "organisation",
    "customer_tier",
    "priority",
    "channel",
    "tier",
    "status",
    "assignee",
    "created_at",
)

# What the export adds to each ticket: accepted and ignored (an import always creates new tickets), so that an
# export imports back as it is.
EXPORT_ONLY = ("id", "updated_at", "version")

# One line of the file (a JSON Lines row, a physical line of CSV): room for a body at its limit written with
# JSON's \uXXXX escapes (6 bytes a character), which json.dumps does by default.
MAX_LINE_BYTES = 1 << 20
# One CSV field, in characters: the body's limit counts cleaned text, and CRLF line ends or control characters
# that cleaning removes may double the raw field.
MAX_FIELD = 2 * MAX_BODY
# Rows are flat objects, so anything nested is refused by validation anyway; the limit is checked before
# json.loads, whose recursion a line of 100,000 "[" would otherwise exhaust.
MAX_DEPTH = 16
MAX_ROWS = 1_000_000  # one transaction of a million tickets takes minutes: beyond that, split the file
MAX_REPORTED = 20  # problems listed; the rest are counted
PROGRESS_BATCH = 200  # rows taken at a time by an import that reports its progress

# What the import tells of its progress: progress(done, total), total None while unknown.
Progress = Callable[[int, int | None], None]

# A row as TicketIntake.import_rows takes it: the checked ticket fields, and the customer, status, assignee, time.
Row = tuple[dict[str, Any], dict[str, Any]]


class ImportRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    subject: str
    body: str = ""
    customer: str | None = None
    email: str | None = None
    phone: str | None = None
    organisation: str | None = None
    customer_tier: str | None = None
    priority: str = "P3"
    channel: str = "email"
    tier: str = "L1"
    status: str = "new"
    assignee: str | None = None
    created_at: datetime | None = None

    @field_validator("created_at", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        if isinstance(value, str):
            return parse_instant(value, field="created_at")
        return value

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        if value not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        return value


class Problems:
    """A file's problems as `FILE:LINE: reason` lines: the first MAX_REPORTED listed, the rest counted. Invalid
    UTF-8 is listed once, with the number of such lines (a file in another encoding fails on most lines)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: list[str] = []
        self.unlisted = 0
        self._utf8_at: tuple[int, int] | None = None  # (index in lines, line number) of the first invalid UTF-8
        self._utf8_lines = 0

    def __bool__(self) -> bool:
        return bool(self.lines or self.unlisted)

    def add(self, number: int, reason: str) -> None:
        if len(self.lines) < MAX_REPORTED:
            self.lines.append(f"{self.path}:{number}: {reason}")
        else:
            self.unlisted += 1

    def bad_utf8(self, number: int) -> None:
        self._utf8_lines += 1
        if self._utf8_lines == 1:
            if len(self.lines) < MAX_REPORTED:
                self._utf8_at = (len(self.lines), number)
            self.add(number, _("invalid UTF-8"))

    def report(self) -> list[str]:
        lines = list(self.lines)
        unlisted = self.unlisted
        if self._utf8_lines > 1:
            if self._utf8_at is None:
                unlisted += self._utf8_lines - 1
            else:
                index, number = self._utf8_at
                lines[index] = f"{self.path}:{number}: " + _(
                    "invalid UTF-8 ({n} lines in all; is the file saved as UTF-8?)"
                ).format(n=self._utf8_lines)
        if unlisted:
            lines.append(_("… and {n} more").format(n=unlisted))
        return lines


# -- reading: lines, then records ---------------------------------------------------------------------------


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise BadInput(_("cannot read {file}: {error}").format(file=path, error=exc.strerror or exc)) from exc


def _lines(handle: BinaryIO, path: Path, problems: Problems, *, lenient: bool) -> Iterator[tuple[int, str | None]]:
    """Each physical line, decoded, read MAX_LINE_BYTES at most at a time. A line over the limit, or (unless
    ``lenient``) not UTF-8, comes as None once reported; ``lenient`` decodes such a line with replacement
    characters instead, so that CSV keeps its structure (the import fails on the problem all the same)."""
    number = 0
    while True:
        try:
            raw = handle.readline(MAX_LINE_BYTES + 1)
        except OSError as exc:
            raise BadInput(_("cannot read {file}: {error}").format(file=path, error=exc.strerror or exc)) from exc
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest of the line without holding it
                raw = handle.readline(1 << 16)
            problems.add(number, _("line is over {n} bytes").format(n=MAX_LINE_BYTES))
            yield number, None
            continue
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
            _check_encoding(raw, path)
        text: str | None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.bad_utf8(number)
            text = raw.decode("utf-8", errors="replace") if lenient else None
        yield number, text


def _check_encoding(first: bytes, path: Path) -> None:
    """A file in another encoding is one line of error, not one for each of its lines."""
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or first.count(b"\x00") * 4 >= max(len(first), 4):
        raise BadInput(_("{file}: not UTF-8 text (UTF-16 or UTF-32?); save it as UTF-8").format(file=path))
    try:
        first.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(_("{file}:1: not UTF-8 text; save it as UTF-8").format(file=path)) from exc


# Outside strings, what opens or closes a level; inside them, escapes (so \" does not end one).
_JSON_TOKEN = re.compile(r'\\.|["\[\]{}]', re.DOTALL)


def _too_deep(text: str) -> bool:
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False  # cannot nest deeper than it has brackets: every ordinary row stops here
    depth = 0
    in_string = False
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token == '"':
            in_string = not in_string
        elif in_string or len(token) == 2:
            continue
        elif token in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        else:
            depth -= 1
    return False


def _jsonl_records(lines: Iterable[tuple[int, str | None]], problems: Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, text in lines:
        if text is None or not text.strip():
            continue
        if _too_deep(text):
            problems.add(number, _("JSON nested deeper than {n} levels").format(n=MAX_DEPTH))
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.add(number, _("not JSON: {error}").format(error=exc.msg))
            continue
        except RecursionError:  # cannot happen past _too_deep; kept so that no input can raise it
            problems.add(number, _("JSON nested deeper than {n} levels").format(n=MAX_DEPTH))
            continue
        except ValueError:  # not a syntax error (caught above): an integer too long to convert
            problems.add(number, _("not JSON: {error}").format(error=too_many_digits()))
            continue
        if not isinstance(value, dict):
            problems.add(number, _("expected a JSON object"))
            continue
        yield number, value


def _csv_problem(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return _("a field is over {n} characters").format(n=MAX_FIELD)
    return _("not CSV: {error}").format(error=exc)


def _csv_records(lines: Iterable[tuple[int, str | None]], problems: Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    # A refused line stands as an empty one, so the reader's line numbers stay the file's.
    reader = csv.reader("\n" if text is None else text for _n, text in lines)
    # The limit is the csv module's global: raised for this file (its default, 128 KiB, is under a body's
    # limit in CJK) and put back after.
    previous = csv.field_size_limit(MAX_FIELD)
    try:
        header: list[str] | None = None
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # the reader's place in a quoted field is lost: what follows cannot be read as rows
                problems.add(reader.line_num, _csv_problem(exc))
                return
            if not values:
                continue
            if header is None:
                header = values
                unknown = [f for f in header if f not in FIELDS and f not in EXPORT_ONLY]
                if unknown:
                    problems.add(reader.line_num, _("unknown column(s): {names}").format(names=", ".join(unknown)))
                    return
                continue
            if len(values) > len(header):
                problems.add(reader.line_num, _("more values than columns"))
                continue
            # the export guards cells a spreadsheet would run as formulas; their apostrophe goes again here
            yield reader.line_num, {k: formula_unguarded(v) for k, v in zip(header, values, strict=False) if v}
    finally:
        csv.field_size_limit(previous)


def _records(path: Path, handle: BinaryIO, problems: Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, raw row) for each row that parses; the others go to ``problems``."""
    if path.suffix.lower() == ".csv":
        records = _csv_records(_lines(handle, path, problems, lenient=True), problems)
    else:
        records = _jsonl_records(_lines(handle, path, problems, lenient=False), problems)
    for count, (number, row) in enumerate(records, 1):
        if count > MAX_ROWS:
            problems.add(number, _("more than {n} rows; split the file").format(n=MAX_ROWS))
            return
        yield number, row


def _checked(path: Path, agents: frozenset[str], problems: Problems) -> Iterator[Row]:
    """Every good row of the file, read as a stream; the bad ones go to ``problems``."""
    with _open(path) as handle:
        for number, raw in _records(path, handle, problems):
            try:
                row = ImportRow.model_validate({k: v for k, v in raw.items() if k not in EXPORT_ONLY})
                fields = validate_new_ticket(row.subject, row.body, row.priority, row.channel, row.tier)
                validate_customer(row.customer, row.email, row.phone, row.organisation, row.customer_tier)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "row"
                problems.add(number, f"{where}: {first['msg']}")
                continue
            except (BadInput, ValueError) as exc:
                problems.add(number, str(exc))
                continue
            if row.assignee and row.assignee not in agents:
                problems.add(number, _("unknown agent {name}").format(name=row.assignee))
                continue
            yield (
                fields,
                {
                    "customer": row.customer,
                    "email": row.email,
                    "phone": row.phone,
                    "organisation": row.organisation,
                    "customer_tier": row.customer_tier,
                    "status": row.status,
                    "assignee": row.assignee or None,  # "" (JSON) is no one, as an empty CSV cell is
                    "at": row.created_at,
                },
            )


class _Replay:
    """The file's rows again, for the write: each iteration reads the file anew (so a retried transaction
    starts from the first row), and a file that changed since it was checked fails the transaction.
    ``progress`` hears of the rows written: the service takes them ``batch`` at a time, so when one batch's
    first row is asked for, every earlier row is in."""

    def __init__(
        self, path: Path, agents: frozenset[str], rows: int, progress: Progress | None = None, batch: int = 1
    ) -> None:
        self.path = path
        self.agents = agents
        self.rows = rows
        self.progress = progress
        self.batch = batch

    def __iter__(self) -> Iterator[Row]:
        problems = Problems(self.path)
        count = 0
        progress = self.progress
        for row in _checked(self.path, self.agents, problems):
            if problems:
                break
            if progress is not None and not count % self.batch:
                progress(count, self.rows)
            count += 1
            yield row
        if problems or count != self.rows:
            raise ImportFailed([_("{file} changed while it was imported; nothing was imported").format(file=self.path)])


def import_tickets(service: HelpdeskService, path: Path, *, progress: Progress | None = None) -> list[int]:
    """``progress(done, total)``: the rows checked so far (total None), then the rows written of ``total``."""
    service.me()
    agents = frozenset(a.name for a in service.agents())
    problems = Problems(path)
    rows = 0
    for _row in _checked(path, agents, problems):
        rows += 1
        if progress is not None:
            progress(rows, None)
    if problems:
        raise ImportFailed(problems.report())
    if not rows:
        raise ImportFailed([f"{path}: " + _("no tickets in the file")])
    # With a bar to draw, smaller batches (a tenth of a second's rows) let it move smoothly; one transaction either way.
    batch = PROGRESS_BATCH if progress is not None else IMPORT_BATCH
    created = service.import_rows(_Replay(path, agents, rows, progress, batch), batch=batch)
    if progress is not None:
        progress(rows, rows)
    return created


def export_tickets(service: HelpdeskService, out: IO[str], fmt: str) -> int:
    records = service.export_records()
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=[*FIELDS, *EXPORT_ONLY], extrasaction="ignore")
        writer.writeheader()
        for record in records:
            writer.writerow({k: formula_safe(v) if isinstance(v, str) else v for k, v in record.items()})
    else:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(records)
