"""Reports as text: the CSV export (with its reader, for round trips), the table and the period line, shared by
`helpdesk report` and the console's report screen."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from console.i18n import N_, _
from console.rules.spreadsheet import formula_safe, formula_unguarded

if TYPE_CHECKING:
    from console.service.reports import Report, ReportRow

BY_CHOICES = ("agent", "tier", "priority", "channel", "customer")  # console.service.reports groups by these

# -- CSV: the JSON row objects, flattened ------------------------------------------------------------------

_INTS = {"tickets", "closed", "unconfirmed_closures", "csat_count", "kb_linked"}
_INT_PREFIXES = ("backlog_by_age", "sla_met", "sla_total")


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
    # a cell a spreadsheet would run as a formula is guarded (console/rules/spreadsheet.py)
    return formula_safe(value) if isinstance(value, str) else str(value)


def _empty_row(grouped: bool) -> dict[str, Any]:
    from console.service.reports import summarise

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
        return formula_unguarded(text) or None
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
    ("sla.onsite", N_("SLA met: on site in time")),
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
    text = _("Tickets created {first} – {last} ({zone}), figures at {now}").format(
        first=p.first.isoformat() if p.first else _("the start"),
        last=p.last.isoformat() if p.last else _("now"),
        zone=p.zone,
        now=report.now.astimezone(p.zone).strftime("%Y-%m-%d %H:%M"),
    )
    if report.backfilled:
        how = _("excluded") if report.backfilled_excluded else _("included; --exclude-backfilled leaves them out")
        text += " · " + _("{n} tickets with backfilled history ({how})").format(n=report.backfilled, how=how)
    return text


# -- commands -----------------------------------------------------------------------------------------------
