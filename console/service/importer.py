"""Ticket import (CSV or JSON Lines, all or nothing) and export.

Rule for untrusted text: control characters other than newline and tab are removed; fields over their limit,
invalid UTF-8 and unknown codes are refused with the file and line named. Nothing is imported unless every row
is good.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from console.i18n import _
from console.rules.clock import parse_instant
from console.rules.errors import BadInput, ImportFailed
from console.rules.validation import validate_customer, validate_new_ticket
from console.service.helpdesk import HelpdeskService
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


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, row) pairs; a row that cannot be parsed comes as an error string."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInput(_("cannot read {file}: {error}").format(file=path, error=exc.strerror or exc)) from exc
    lines = raw.split(b"\n")
    decoded: list[str] = []
    for number, line in enumerate(lines, 1):
        try:
            decoded.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            yield number, _("invalid UTF-8")
            decoded.append("")
    text = "\n".join(decoded).lstrip("\ufeff")
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        unknown = [f for f in (reader.fieldnames or []) if f not in FIELDS]
        if unknown:
            yield 1, _("unknown column(s): {names}").format(names=", ".join(unknown))
            return
        for row in reader:
            if None in row:
                yield reader.line_num, _("more values than columns")
                continue
            yield reader.line_num, {k: v for k, v in row.items() if v not in (None, "")}
    else:
        for number, entry in enumerate(text.split("\n"), 1):
            if not entry.strip():
                continue
            try:
                value = json.loads(entry)
            except json.JSONDecodeError as exc:
                yield number, _("not JSON: {error}").format(error=exc.msg)
                continue
            if not isinstance(value, dict):
                yield number, _("expected a JSON object")
                continue
            yield number, value


def parse_file(path: Path) -> list[tuple[int, ImportRow, dict[str, Any]]]:
    good: list[tuple[int, ImportRow, dict[str, Any]]] = []
    errors: list[str] = []
    for number, row in _rows(path):
        if isinstance(row, str):
            errors.append(f"{path}:{number}: {row}")
            continue
        try:
            parsed = ImportRow.model_validate(row)
            fields = validate_new_ticket(parsed.subject, parsed.body, parsed.priority, parsed.channel, parsed.tier)
            validate_customer(parsed.customer, parsed.email, parsed.phone, parsed.organisation, parsed.customer_tier)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "row"
            errors.append(f"{path}:{number}: {where}: {first['msg']}")
            continue
        except (BadInput, ValueError) as exc:
            errors.append(f"{path}:{number}: {exc}")
            continue
        good.append((number, parsed, fields))
    if errors:
        raise ImportFailed(errors)
    if not good:
        raise ImportFailed([f"{path}: " + _("no tickets in the file")])
    return good


def import_tickets(service: HelpdeskService, path: Path) -> list[int]:
    rows = parse_file(path)
    service.me()
    agents = {a.name for a in service.agents()}
    problems = [
        f"{path}:{number}: " + _("unknown agent {name}").format(name=row.assignee)
        for number, row, _f in rows
        if row.assignee and row.assignee not in agents
    ]
    if problems:
        raise ImportFailed(problems)
    return service.import_rows(
        [
            (
                fields,
                {
                    "customer": row.customer,
                    "email": row.email,
                    "phone": row.phone,
                    "organisation": row.organisation,
                    "customer_tier": row.customer_tier,
                    "status": row.status,
                    "assignee": row.assignee,
                    "at": row.created_at,
                },
            )
            for _n, row, fields in rows
        ]
    )


def export_tickets(service: HelpdeskService, out: IO[str], fmt: str) -> int:
    records = service.export_records()
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=[*FIELDS, "id", "updated_at", "version"], extrasaction="ignore")
        writer.writeheader()
        for record in records:
            writer.writerow(record)
    else:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(records)
