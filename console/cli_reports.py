"""`helpdesk report`, `csat`, `followups` and `followup`; and the report as a table and as CSV (shared with the
report screen's export). Imports no Textual.
"""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from console.i18n import N_, _

if TYPE_CHECKING:
    from console.reports import Report, ReportRow
    from console.service import HelpdeskService


BY_CHOICES = ("agent", "tier", "priority", "channel", "customer")  # console.reports groups by these

# -- CSV: the JSON row objects, flattened ------------------------------------------------------------------

_INTS = {"tickets", "closed", "unconfirmed_closures", "csat_count", "kb_linked"}
_INT_PREFIXES = ("backlog_by_age", "sla_met", "sla_total")
# A cell a spreadsheet would run as a formula gets a leading apostrophe; a leading apostrophe is doubled so
# that reading it back is exact.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def _flat(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "sla_cycles":
            for clock, counts in value.items():
                out[f"sla_met.{clock}"] = counts["met"]
                out[f"sla_total.{clock}"] = counts["total"]
        elif isinstance(value, dict):
            out.update({f"{key}.{sub}": v for sub, v in value.items()})
        else:
            out[key] = value
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # repr reads back to the same float
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(_FORMULA_START) else text


def _empty_row(grouped: bool) -> dict[str, Any]:
    from console.reports import summarise

    return summarise([], datetime.now(UTC)).as_json(grouped=grouped)


def to_csv(rows: Sequence[Mapping[str, Any]], grouped: bool = False) -> str:
    """``sla_attainment.resolve``, ``sla_met.resolve``, ``backlog_by_age.lt_1d``…; an empty cell is null.

    Without rows, the header alone (with a ``group`` column if ``grouped``)."""
    flat = [_flat(r) for r in rows]
    columns = list(flat[0] if flat else _flat(_empty_row(grouped)))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for r in flat:
        writer.writerow([_cell(r.get(c)) for c in columns])
    return buffer.getvalue()


def _value(column: str, text: str) -> Any:
    if column == "group":
        return (text[1:] if text.startswith("'") else text) or None
    if text == "":
        return None
    if column in _INTS or column.split(".")[0] in _INT_PREFIXES:
        return int(text)
    return float(text)


def from_csv(text: str) -> list[dict[str, Any]]:
    """Read ``to_csv`` back into the JSON row objects (same keys, same order)."""
    order = list(_empty_row(grouped=True))
    out: list[dict[str, Any]] = []
    for record in csv.DictReader(io.StringIO(text)):
        row: dict[str, Any] = {}
        for column, raw in record.items():
            value = _value(column, raw)
            head, _dot, sub = column.partition(".")
            if head in ("sla_met", "sla_total"):
                row.setdefault("sla_cycles", {}).setdefault(sub, {})[head[4:]] = value
            elif sub:
                row.setdefault(head, {})[sub] = value
            else:
                row[head] = value
        out.append({k: row[k] for k in order if k in row})
    return out


def report_csv(report: Report) -> str:
    return to_csv([row.as_json(grouped=bool(report.by)) for row in report.rows()], grouped=bool(report.by))


# -- the table people read ----------------------------------------------------------------------------------

METRIC_LABELS: tuple[tuple[str, str], ...] = (
    ("tickets", N_("Tickets received")),
    ("closed", N_("Closed")),
    ("first_response_median_s", N_("First response, median")),
    ("first_response_p90_s", N_("First response, p90")),
    ("resolution_median_s", N_("Resolution, median")),
    ("resolution_p90_s", N_("Resolution, p90")),
    ("sla.first_response", N_("SLA met: first response")),
    ("sla.next_update", N_("SLA met: proactive updates")),
    ("sla.restore", N_("SLA met: service restored")),
    ("sla.resolve", N_("SLA met: resolution")),
    ("resolution_rate", N_("Resolution rate")),
    ("fcr_rate", N_("First-contact resolution")),
    ("escalation_rate", N_("Escalation rate")),
    ("reopen_rate", N_("Reopen rate")),
    ("unconfirmed_closures", N_("Closed unconfirmed")),
    ("csat_avg", N_("Satisfaction (1-5)")),
    ("csat_count", N_("Satisfaction answers")),
    ("kb_linked", N_("Knowledge articles linked")),
    ("kb_capture_rate", N_("Knowledge captured at closure")),
    ("backlog.lt_1d", N_("Open, under 1 day old")),
    ("backlog.1d_3d", N_("Open, 1-3 days old")),
    ("backlog.3d_7d", N_("Open, 3-7 days old")),
    ("backlog.7d_30d", N_("Open, 7-30 days old")),
    ("backlog.ge_30d", N_("Open, 30 days or older")),
)
GROUP_NONE = {"agent": N_("unassigned"), "customer": N_("no customer")}


def duration(seconds: float | None) -> str:
    """``0:45:00``: hours (any number), minutes and seconds of business time."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def cell(row: ReportRow, key: str) -> str:
    """One figure of one row, formatted for people."""
    if key.startswith("sla."):
        a = row.sla[key[4:]]
        return "—" if a.rate is None else f"{percent(a.rate)} ({a.met}/{a.total})"
    if key.startswith("backlog."):
        return str(row.backlog_by_age[key[8:]])
    value = getattr(row, key)
    if key.endswith("_s"):
        return duration(value)
    if key.endswith("_rate"):
        return percent(value)
    if key == "csat_avg":
        return "—" if value is None else f"{value:.2f}"
    return str(value)


def group_label(by: str | None, group: str | None) -> str:
    return _(GROUP_NONE.get(by or "", "—")) if group is None else group


def table(report: Report) -> tuple[list[str], list[list[str]]]:
    """Figures as rows; the whole period, then each group, as columns."""
    rows = [report.total, *report.groups]
    headers = [_("Figure"), _("All"), *(group_label(report.by, r.group) for r in report.groups)]
    return headers, [[_(label), *(cell(r, key) for r in rows)] for key, label in METRIC_LABELS]


def period_text(report: Report) -> str:
    p = report.period
    return _("Tickets created {first} – {last} ({zone}), figures at {now}").format(
        first=p.first.isoformat() if p.first else _("the start"),
        last=p.last.isoformat() if p.last else _("now"),
        zone=p.zone,
        now=report.now.astimezone(p.zone).strftime("%Y-%m-%d %H:%M"),
    )


# -- commands -----------------------------------------------------------------------------------------------


def cmd_report(service: HelpdeskService, args: argparse.Namespace) -> int:
    import sys

    from console.cli import emit_json, emit_line, emit_table
    from console.errors import BadInput
    from console.reports import build_report, make_period, zone_named

    if args.json and args.csv:
        raise BadInput(_("give either --json or --csv, not both"))
    period = make_period(args.from_day, args.to_day, zone_named(args.tz))
    report = build_report(service, period, args.by, args.now)
    if args.json:
        emit_json(report.as_json())
    elif args.csv:
        sys.stdout.write(report_csv(report))
    else:
        emit_line(period_text(report))
        headers, rows = table(report)
        emit_table(headers, rows)
    return 0


def cmd_csat(service: HelpdeskService, args: argparse.Namespace) -> int:
    from console.cli import emit_json, emit_line
    from console.reports import record_csat

    row = record_csat(service, args.id, args.score, args.comment or "", at=args.at)
    if args.json:
        emit_json(row.model_dump(mode="json"))
    else:
        emit_line(
            _("Ticket {id}: satisfaction {score}/5 recorded for closure {closure}.").format(
                id=row.ticket_id, score=row.score, closure=row.closure
            )
        )
    return 0


def cmd_followups(service: HelpdeskService, args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from console.cli import emit_json, emit_table
    from console.reports import followups

    items = followups(service, due_only=args.due)
    if args.json:
        emit_json([asdict(item) for item in items])
    else:
        emit_table(
            [_("Ticket"), _("Priority"), _("Call by"), _("Customer"), _("Phone"), _("Subject"), _("Assignee")],
            [
                [
                    f"#{i.id}",
                    i.priority,
                    i.followup_due,
                    i.customer or "—",
                    i.phone or i.email or "—",
                    i.subject,
                    i.assignee or "—",
                ]
                for i in items
            ],
        )
    return 0


def cmd_followup(service: HelpdeskService, args: argparse.Namespace) -> int:
    from console.cli import emit_json, emit_line
    from console.reports import record_followup

    ticket = record_followup(service, args.id, args.note, at=args.at)
    if args.json:
        emit_json(
            {
                "id": ticket.id,
                "followup_due": ticket.followup_due,
                "followup_done_at": ticket.followup_done_at.isoformat() if ticket.followup_done_at else None,
            }
        )
    else:
        emit_line(_("Ticket {id}: follow-up call recorded.").format(id=ticket.id))
    return 0


def register(sub: Any, common: Any, command: Callable[..., Any]) -> None:
    """Adds this group's sub-commands to the parser."""
    from console.cli import _date, _instant, _ticket_id, with_service

    p = command("report", _("service-quality report for tickets created in a period"), with_service(cmd_report))
    p.add_argument("--from", dest="from_day", type=_date, help=_("first day, inclusive (YYYY-MM-DD)"))
    p.add_argument("--to", dest="to_day", type=_date, help=_("last day, inclusive (YYYY-MM-DD)"))
    p.add_argument("--tz", help=_("time zone of the days (default Asia/Shanghai)"))
    p.add_argument("--by", choices=BY_CHOICES, help=_("one row per agent, tier, priority, channel or customer"))
    p.add_argument("--csv", action="store_true", help=_("CSV on standard output"))
    p.add_argument("--now", type=_instant, help=_("measure running clocks and backlog ages at this ISO time"))

    p = command("csat", _("record the customer's satisfaction (1-5) with a closed ticket"), with_service(cmd_csat))
    p.add_argument("id", type=_ticket_id)
    p.add_argument("score", type=int, help=_("1 (poor) to 5 (excellent)"))
    p.add_argument("--comment", default="")
    p.add_argument("--at", type=_instant, help=_("record the action at this ISO time (imports, tests)"))

    p = command(
        "followups", _("closed P1/P2 tickets whose follow-up call is still to make"), with_service(cmd_followups)
    )
    p.add_argument("--due", action="store_true", help=_("only calls due today or earlier"))

    p = command("followup", _("record the follow-up call of a closed ticket"), with_service(cmd_followup))
    p.add_argument("id", type=_ticket_id)
    p.add_argument("--note", required=True, help=_("what the customer said"))
    p.add_argument("--at", type=_instant, help=_("record the action at this ISO time (imports, tests)"))
