"""`helpdesk ticket new|show|list|reply|…|reopen`: working tickets from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from console.i18n import _
from db.vocabulary import CALL_DIRECTIONS, CONFIRMATION_CHANNELS, PRIORITIES, VISIT_STAGES

if TYPE_CHECKING:
    from datetime import datetime

    from console.service.helpdesk import HelpdeskService


def cmd_ticket_new(service: HelpdeskService, args: argparse.Namespace) -> int:
    ticket = service.create_ticket(
        args.subject,
        args.body or "",
        customer=args.customer,
        email=args.email,
        phone=args.phone,
        organisation=args.organisation,
        customer_tier=args.customer_tier,
        customer_zone=args.customer_zone,
        priority=args.priority,
        channel=args.channel,
        tier=args.tier,
        at=args.at,
    )
    return show_ticket(service, ticket.id, args, None)


def show_ticket(service: HelpdeskService, ticket_id: int, args: argparse.Namespace, now: datetime | None) -> int:
    from console.cli.common import emit_json
    from console.present.render import ticket_json, ticket_text

    detail = service.detail(ticket_id, now)
    if args.json:
        emit_json(ticket_json(detail))
    else:
        sys.stdout.write(ticket_text(detail) + "\n")
    return 0


def cmd_ticket_show(service: HelpdeskService, args: argparse.Namespace) -> int:
    return show_ticket(service, args.id, args, args.now)


def cmd_ticket_list(service: HelpdeskService, args: argparse.Namespace) -> int:
    from console.cli.common import MAX_ID, emit_json, emit_table
    from console.present.render import queue_item_json, queue_rows
    from console.rules.clock import utcnow
    from db.records import TicketFilter
    from db.vocabulary import OPEN_STATUSES

    now = args.now or utcnow()
    statuses: tuple[str, ...] = (args.status,) if args.status else OPEN_STATUSES
    if args.all:
        statuses = ()
    flt = TicketFilter(
        statuses=statuses,
        priority=args.priority,
        assignee=args.assignee,
        tier=args.tier,
        due_before=now.timestamp() if args.breaching else None,
        warn_before=now.timestamp() if args.at_risk else None,
        text=args.search,
        now=now.timestamp(),  # the console's urgency order, judged at the same instant as the Due column
    )
    # One row past the limit tells whether more match, at the cost of that row (a count would read them all).
    probe = 0 <= args.limit < MAX_ID
    items = service.list_tickets(flt, 0, args.limit + 1 if probe else args.limit)
    more = probe and len(items) > args.limit
    if more:
        items = items[: args.limit]
    if args.json:
        emit_json([queue_item_json(item, now) for item in items])
    else:
        headers, rows = queue_rows(items, now)
        emit_table(headers, rows)
    if more:  # on stderr, after the listing: the output itself stays exactly what it was
        sys.stdout.flush()
        sys.stderr.write(
            "helpdesk: "
            + _(
                "listing stopped at --limit {n}; more tickets match: give a larger --limit, or --limit -1 for all"
            ).format(n=f"{args.limit:,}")
            + "\n"
        )
    return 0


def _after_action(service: HelpdeskService, args: argparse.Namespace, ticket_id: int) -> int:
    if args.json:
        return show_ticket(service, ticket_id, args, None)
    ticket = service.ticket(ticket_id)
    from console.cli.common import emit_line
    from console.rules.workflow import STATUS_LABELS

    emit_line(
        _("Ticket {id}: {status}, {tier} / {owner} (version {version}).").format(
            id=ticket.id,
            status=_(STATUS_LABELS[ticket.status]),
            tier=ticket.tier,
            owner=ticket.assignee or _("unassigned"),
            version=ticket.version,
        )
    )
    return 0


def _body(args: argparse.Namespace) -> str:
    if args.body == "-":
        from console.cli.common import text_stdin

        return text_stdin().read()
    return str(args.body)


def cmd_ticket_reply(service: HelpdeskService, args: argparse.Namespace) -> int:
    t = service.reply(args.id, _body(args), at=args.at)
    return _after_action(service, args, t.id)


def cmd_ticket_customer_reply(service: HelpdeskService, args: argparse.Namespace) -> int:
    from console.cli.common import emit_line

    t = service.customer_reply(args.id, _body(args), at=args.at)
    if t.id != args.id and not args.json:
        emit_line(
            _("Ticket {old} was closed too long ago; opened follow-up ticket {new}.").format(old=args.id, new=t.id)
        )
    return _after_action(service, args, t.id)


def cmd_ticket_note(service: HelpdeskService, args: argparse.Namespace) -> int:
    t = service.note(args.id, _body(args), at=args.at)
    return _after_action(service, args, t.id)


def cmd_ticket_assign(service: HelpdeskService, args: argparse.Namespace) -> int:
    t = service.assign(args.id, args.to, at=args.at)
    return _after_action(service, args, t.id)


def cmd_ticket_pending(service: HelpdeskService, args: argparse.Namespace) -> int:
    t = service.pending(args.id, at=args.at)
    return _after_action(service, args, t.id)


def cmd_ticket_resume(service: HelpdeskService, args: argparse.Namespace) -> int:
    t = service.resume(args.id, at=args.at)
    return _after_action(service, args, t.id)


def cmd_ticket_escalate(service: HelpdeskService, args: argparse.Namespace) -> int:
    t = service.escalate(
        args.id,
        args.to,
        args.reason,
        args.notes or "",
        tried=args.tried,
        impact=args.impact,
        told=args.told,
        notice=args.notice,
        at=args.at,
    )
    return _after_action(service, args, t.id)


def cmd_ticket_call(service: HelpdeskService, args: argparse.Namespace) -> int:
    notes = _body(argparse.Namespace(body=args.notes))
    t = service.log_call(args.id, args.direction, notes, at=args.at)
    return _after_action(service, args, t.id)


def cmd_ticket_visit(service: HelpdeskService, args: argparse.Namespace) -> int:
    t = service.visit(args.id, args.stage, args.notes or "", at=args.at)
    return _after_action(service, args, t.id)


def cmd_ticket_priority(service: HelpdeskService, args: argparse.Namespace) -> int:
    t = service.change_priority(args.id, args.priority, args.reason, at=args.at)
    return _after_action(service, args, t.id)


def cmd_ticket_restore(service: HelpdeskService, args: argparse.Namespace) -> int:
    t = service.restore(args.id, args.summary, at=args.at)
    return _after_action(service, args, t.id)


def cmd_ticket_resolve(service: HelpdeskService, args: argparse.Namespace) -> int:
    t = service.resolve(args.id, args.summary, args.code, at=args.at)
    return _after_action(service, args, t.id)


def cmd_ticket_close(service: HelpdeskService, args: argparse.Namespace) -> int:
    t = service.close(
        args.id,
        summary=args.summary,
        code=args.code,
        confirmed=args.confirmed,
        confirmed_by=args.confirmed_by,
        unconfirmed_reason=args.unconfirmed_reason,
        asked_anything_else=args.asked_anything_else,
        kb_id=args.kb,
        kb_needed=args.kb_needed,
        followup=args.followup,
        at=args.at,
    )
    return _after_action(service, args, t.id)


def cmd_ticket_reopen(service: HelpdeskService, args: argparse.Namespace) -> int:
    t = service.reopen(args.id, args.reason, at=args.at)
    return _after_action(service, args, t.id)


def register(sub: Any, common: Any, command: Callable[..., Any]) -> None:
    """Adds this group's sub-commands to the parser."""
    from console.cli.common import article_id_arg, date_arg, instant_arg, limit_arg, ticket_id_arg, with_service

    def at_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--at",
            type=instant_arg,
            help=_("admins: record history that happened at this ISO time (backfilled, marked as such)"),
        )

    ticket = sub.add_parser("ticket", help=_("create, show, list and work tickets"), parents=[common])
    tsub = ticket.add_subparsers(dest="ticket_command", required=True, parser_class=type(ticket))
    p = command("new", _("open a ticket (the customer is created if new)"), with_service(cmd_ticket_new), tsub)
    p.add_argument("--subject", required=True)
    p.add_argument("--body", default="")
    p.add_argument("--customer")
    p.add_argument("--email")
    p.add_argument("--phone")
    p.add_argument("--organisation")
    p.add_argument("--customer-tier")
    p.add_argument("--customer-zone", help=_("the customer's time zone (default: the policy's), e.g. Europe/London"))
    p.add_argument("--priority", default="P3", choices=list(PRIORITIES))
    p.add_argument("--channel", default="email", choices=["phone", "email", "chat", "web", "onsite"])
    p.add_argument("--tier", default="L1", choices=["L1", "L2", "L3"])
    at_option(p)

    p = command("show", _("show a ticket with its SLA clocks"), with_service(cmd_ticket_show), tsub)
    p.add_argument("id", type=ticket_id_arg)
    p.add_argument("--now", type=instant_arg, help=_("evaluate the clocks at this ISO time"))

    p = command("list", _("list tickets, most urgent first"), with_service(cmd_ticket_list), tsub)
    p.add_argument("--status", choices=["new", "open", "pending", "restored", "resolved", "closed"])
    p.add_argument("--all", action="store_true", help=_("every status"))
    p.add_argument("--priority", choices=list(PRIORITIES))
    p.add_argument("--assignee")
    p.add_argument("--tier", choices=["L1", "L2", "L3"])
    p.add_argument("--breaching", action="store_true", help=_("only tickets past a due time"))
    p.add_argument("--at-risk", action="store_true", help=_("only tickets past a warning but not yet due"))
    p.add_argument("--search", help=_("text in subject or customer"))
    p.add_argument(
        "--limit",
        type=limit_arg,
        default=1000,
        metavar="N",
        help=_("list at most N tickets (default: 1000; -1: no limit); when more match, stderr says so"),
    )
    p.add_argument("--now", type=instant_arg)

    for name, help_text, handler in (
        ("reply", _("public reply to the customer"), cmd_ticket_reply),
        ("customer-reply", _("record a message from the customer"), cmd_ticket_customer_reply),
        ("note", _("internal note"), cmd_ticket_note),
    ):
        p = command(name, help_text, with_service(handler), tsub)
        p.add_argument("id", type=ticket_id_arg)
        p.add_argument("--body", required=True, help=_("text, or - to read standard input"))
        at_option(p)

    p = command("assign", _("assign a ticket (default: to yourself)"), with_service(cmd_ticket_assign), tsub)
    p.add_argument("id", type=ticket_id_arg)
    p.add_argument("--to")
    at_option(p)
    for name, help_text, handler in (
        ("pending", _("wait on the customer (clocks pause)"), cmd_ticket_pending),
        ("resume", _("stop waiting on the customer"), cmd_ticket_resume),
    ):
        p = command(name, help_text, with_service(handler), tsub)
        p.add_argument("id", type=ticket_id_arg)
        at_option(p)

    p = command("escalate", _("hand over to a higher tier or a named agent"), with_service(cmd_ticket_escalate), tsub)
    p.add_argument("id", type=ticket_id_arg)
    p.add_argument("--to", required=True, help=_("L2, L3 or an agent's name"))
    p.add_argument("--reason", required=True)
    p.add_argument(
        "--notes",
        help=_(
            "handoff notes; text under the template's headings ('Steps already tried:', 'Business impact:',"
            " 'Customer told:') counts as those parts"
        ),
    )
    p.add_argument("--tried", help=_("what was already tried (required, here or under its heading in --notes)"))
    p.add_argument("--impact", help=_("the business impact (required, here or under its heading in --notes)"))
    p.add_argument("--told", help=_("what the customer was told (required, here, in --notes or as --notice)"))
    p.add_argument("--notice", help=_("send the customer this handover notice as a public reply with the escalation"))
    at_option(p)

    p = command(
        "call",
        _("log a phone call with the customer (outbound: answers the callback clock)"),
        with_service(cmd_ticket_call),
        tsub,
    )
    p.add_argument("id", type=ticket_id_arg)
    p.add_argument("--direction", required=True, choices=list(CALL_DIRECTIONS), help=_("out: we called; in: they did"))
    p.add_argument("--notes", required=True, help=_("what was said, or - to read standard input"))
    at_option(p)

    p = command(
        "visit",
        _("record an on-site visit: dispatched, arrived, left (the on-site clock)"),
        with_service(cmd_ticket_visit),
        tsub,
    )
    p.add_argument("id", type=ticket_id_arg)
    p.add_argument("stage", choices=list(VISIT_STAGES))
    p.add_argument("--notes")
    at_option(p)

    p = command(
        "priority",
        _("change a ticket's priority (its owner or a supervisor; the clocks are measured again)"),
        with_service(cmd_ticket_priority),
        tsub,
    )
    p.add_argument("id", type=ticket_id_arg)
    p.add_argument("priority", choices=list(PRIORITIES))
    p.add_argument("--reason", required=True)
    at_option(p)

    p = command(
        "restore",
        _("service restored by a workaround (cause not yet fixed)"),
        with_service(cmd_ticket_restore),
        tsub,
    )
    p.add_argument("id", type=ticket_id_arg)
    p.add_argument("--summary", required=True)
    at_option(p)

    p = command(
        "resolve",
        _("cause fixed; awaiting the customer's confirmation"),
        with_service(cmd_ticket_resolve),
        tsub,
    )
    p.add_argument("id", type=ticket_id_arg)
    p.add_argument("--summary", required=True)
    p.add_argument("--code")
    at_option(p)

    p = command(
        "close",
        _("close a restored or resolved ticket after confirming with the customer"),
        with_service(cmd_ticket_close),
        tsub,
    )
    p.add_argument("id", type=ticket_id_arg)
    p.add_argument("--summary", required=True)
    p.add_argument("--code")
    p.add_argument("--confirmed", action="store_true", help=_("the customer confirmed the fix"))
    p.add_argument(
        "--confirmed-by",
        choices=list(CONFIRMATION_CHANNELS),
        help=_("how the customer confirmed (required with --confirmed)"),
    )
    p.add_argument("--unconfirmed-reason", help=_("why the customer could not confirm"))
    p.add_argument("--asked-anything-else", action="store_true", help=_("asked whether anything else is needed"))
    p.add_argument("--kb", type=article_id_arg, help=_("link this knowledge article"))
    p.add_argument("--kb-needed", action="store_true", help=_("draft a knowledge article from this ticket"))
    p.add_argument("--followup", type=date_arg, help=_("follow-up call date (required for P1/P2)"))
    at_option(p)

    p = command("reopen", _("reopen a resolved or closed ticket"), with_service(cmd_ticket_reopen), tsub)
    p.add_argument("id", type=ticket_id_arg)
    p.add_argument("--reason", required=True)
    at_option(p)
