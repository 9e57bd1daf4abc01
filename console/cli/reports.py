"""`helpdesk report`, `csat`, `followups` and `followup` (the report as text: console.present.report_text)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from console.i18n import _
from console.present.report_text import BY_CHOICES, period_text, report_csv, table

if TYPE_CHECKING:
    from console.service.helpdesk import HelpdeskService


def cmd_report(service: HelpdeskService, args: argparse.Namespace) -> int:
    import sys

    from console.cli.common import emit_json, emit_line, emit_table
    from console.rules.errors import BadInput
    from console.service.reports import build_report, make_period, team_zone, zone_named

    if args.json and args.csv:
        raise BadInput(_("give either --json or --csv, not both"))
    # Without --tz, the days are the team's (the wallboard's "today"): the policy's business-hours zone.
    zone = zone_named(args.tz) if args.tz else team_zone(service.policy())
    period = make_period(args.from_day, args.to_day, zone)
    report = build_report(service, period, args.by, args.now, exclude_backfilled=args.exclude_backfilled)
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
    from console.cli.common import emit_json, emit_line
    from console.service.reports import record_csat

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

    from console.cli.common import emit_json, emit_table
    from console.service.reports import followups

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
    from console.cli.common import emit_json, emit_line
    from console.service.reports import record_followup

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
    from console.cli.common import date_arg, instant_arg, ticket_id_arg, with_service

    p = command("report", _("service-quality report for tickets created in a period"), with_service(cmd_report))
    p.add_argument("--from", dest="from_day", type=date_arg, help=_("first day, inclusive (YYYY-MM-DD)"))
    p.add_argument("--to", dest="to_day", type=date_arg, help=_("last day, inclusive (YYYY-MM-DD)"))
    p.add_argument(
        "--tz", help=_("time zone of the days (default: the policy's business-hours zone, as on the wallboard)")
    )
    p.add_argument("--by", choices=BY_CHOICES, help=_("one row per agent, tier, priority, channel or customer"))
    p.add_argument("--csv", action="store_true", help=_("CSV on standard output"))
    p.add_argument("--now", type=instant_arg, help=_("measure running clocks and backlog ages at this ISO time"))
    p.add_argument(
        "--exclude-backfilled",
        action="store_true",
        help=_("leave out tickets whose history was entered with claimed times (--at, imports)"),
    )

    p = command("csat", _("record the customer's satisfaction (1-5) with a closed ticket"), with_service(cmd_csat))
    p.add_argument("id", type=ticket_id_arg)
    p.add_argument("score", type=int, help=_("1 (poor) to 5 (excellent)"))
    p.add_argument("--comment", default="")
    p.add_argument(
        "--at",
        type=instant_arg,
        help=_("admins: record history that happened at this ISO time (backfilled, marked as such)"),
    )

    p = command(
        "followups", _("closed P1/P2 tickets whose follow-up call is still to make"), with_service(cmd_followups)
    )
    p.add_argument("--due", action="store_true", help=_("only calls due today or earlier"))

    p = command("followup", _("record the follow-up call of a closed ticket"), with_service(cmd_followup))
    p.add_argument("id", type=ticket_id_arg)
    p.add_argument("--note", required=True, help=_("what the customer said"))
    p.add_argument(
        "--at",
        type=instant_arg,
        help=_("admins: record history that happened at this ISO time (backfilled, marked as such)"),
    )
