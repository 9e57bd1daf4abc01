"""`helpdesk …`: the scriptable command line over the service layer.

Commands that open no screen never import Textual, so scripts calling the CLI in a loop stay fast.
Exit codes: 0 done, 1 refused by the rules, 2 bad input, 3 permission denied, 4 stale view, 5 database unusable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from console.errors import BadInput, HelpdeskError
from console.i18n import _, detect_language, set_language
from db.errors import StoreError

if TYPE_CHECKING:
    from console.service import HelpdeskService

Handler = Callable[[argparse.Namespace], int]


class CliParser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {_('error')}: {message}\n")


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("helpdesk", appauthor=False)) / "helpdesk.db"


def _instant(text: str) -> datetime:
    from console.clock import parse_instant

    try:
        return parse_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(_("not a date (YYYY-MM-DD): {text}").format(text=text)) from exc


def _ticket_id(text: str) -> int:
    try:
        value = int(text.lstrip("#"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(_("not a ticket number: {text}").format(text=text)) from exc
    if value <= 0:
        raise argparse.ArgumentTypeError(_("not a ticket number: {text}").format(text=text))
    return value


# -- output ---------------------------------------------------------------------------------------------


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def emit_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    from console.textout import table

    sys.stdout.write(table(headers, rows) + "\n")


def emit_line(text: str) -> None:
    from widgets.safe_text import clean

    sys.stdout.write(clean(text) + "\n")


# -- service access -------------------------------------------------------------------------------------


def db_path(args: argparse.Namespace) -> Path:
    if args.db is not None and not str(args.db).strip():
        raise BadInput(_("--db is empty: give a database file"))
    return Path(args.db) if args.db else default_db_path()


def open_service(args: argparse.Namespace, *, create: bool = False, wallboard: bool = False) -> HelpdeskService:
    from console.service import HelpdeskService

    path = db_path(args)
    if not args.db and create:
        path.parent.mkdir(parents=True, exist_ok=True)
    return HelpdeskService.open(path, args.actor, create=create, wallboard=wallboard)


def console_db_path(args: argparse.Namespace) -> str:
    """The database the console will open, checked now with the standard library alone (a missing, unreadable or
    damaged file is reported before the screen is taken over; the service itself opens after the first frame)."""
    from console.errors import Unavailable
    from db.connection import connect
    from db.errors import DatabaseUnavailable

    path = db_path(args)
    try:
        connect(path, create=False).close()
    except DatabaseUnavailable as exc:
        raise Unavailable(str(exc)) from exc
    return str(path)


def with_service(fn: Callable[[HelpdeskService, argparse.Namespace], int], *, create: bool = False) -> Handler:
    def run(args: argparse.Namespace) -> int:
        service = open_service(args, create=create)
        try:
            return fn(service, args)
        finally:
            service.shutdown()

    return run


# -- agents ---------------------------------------------------------------------------------------------


def cmd_init(service: HelpdeskService, args: argparse.Namespace) -> int:
    agent = service.init(args.admin)
    if args.json:
        emit_json(agent.model_dump(mode="json"))
    else:
        emit_line(_("Created {path} with admin {name}.").format(path=service.store.path, name=agent.name))
    return 0


def cmd_agent_add(service: HelpdeskService, args: argparse.Namespace) -> int:
    agent = service.add_agent(args.name, args.role, args.tier, args.display_name or "")
    if args.json:
        emit_json(agent.model_dump(mode="json"))
    else:
        emit_line(_("Added {role} {name} ({tier}).").format(role=_(agent.role), name=agent.name, tier=agent.tier))
    return 0


def cmd_agent_list(service: HelpdeskService, args: argparse.Namespace) -> int:
    agents = service.agents()
    if args.json:
        emit_json([a.model_dump(mode="json") for a in agents])
    else:
        emit_table(
            [_("Name"), _("Role"), _("Tier"), _("Active")],
            [[a.name, _(a.role), a.tier, _("yes") if a.active else _("no")] for a in agents],
        )
    return 0


# -- tickets --------------------------------------------------------------------------------------------


def cmd_ticket_new(service: HelpdeskService, args: argparse.Namespace) -> int:
    ticket = service.create_ticket(
        args.subject,
        args.body or "",
        customer=args.customer,
        email=args.email,
        phone=args.phone,
        organisation=args.organisation,
        customer_tier=args.customer_tier,
        priority=args.priority,
        channel=args.channel,
        tier=args.tier,
        at=args.at,
    )
    return show_ticket(service, ticket.id, args, None)


def show_ticket(service: HelpdeskService, ticket_id: int, args: argparse.Namespace, now: datetime | None) -> int:
    from console.render import ticket_json, ticket_text

    detail = service.detail(ticket_id, now)
    if args.json:
        emit_json(ticket_json(detail))
    else:
        sys.stdout.write(ticket_text(detail) + "\n")
    return 0


def cmd_ticket_show(service: HelpdeskService, args: argparse.Namespace) -> int:
    return show_ticket(service, args.id, args, args.now)


def cmd_ticket_list(service: HelpdeskService, args: argparse.Namespace) -> int:
    from console.clock import utcnow
    from console.render import queue_item_json, queue_rows
    from db.queue_filter import OPEN_STATUSES, TicketFilter

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
    )
    items = service.list_tickets(flt, 0, args.limit)
    if args.json:
        emit_json([queue_item_json(item, now) for item in items])
    else:
        headers, rows = queue_rows(items, now)
        emit_table(headers, rows)
    return 0


def _after_action(service: HelpdeskService, args: argparse.Namespace, ticket_id: int) -> int:
    if args.json:
        return show_ticket(service, ticket_id, args, None)
    ticket = service.ticket(ticket_id)
    from console.workflow import STATUS_LABELS

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
        return sys.stdin.read()
    return str(args.body)


def cmd_ticket_reply(service: HelpdeskService, args: argparse.Namespace) -> int:
    t = service.reply(args.id, _body(args), at=args.at)
    return _after_action(service, args, t.id)


def cmd_ticket_customer_reply(service: HelpdeskService, args: argparse.Namespace) -> int:
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
    t = service.escalate(args.id, args.to, args.reason, args.notes, at=args.at)
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


# -- import, export, backup, policy, sla ---------------------------------------------------------------------


def cmd_import(service: HelpdeskService, args: argparse.Namespace) -> int:
    from console.importer import import_tickets

    created = import_tickets(service, Path(args.file))
    if args.json:
        emit_json({"imported": len(created), "ids": created})
    else:
        emit_line(_("Imported {n} tickets from {file}.").format(n=len(created), file=args.file))
    return 0


def cmd_export(service: HelpdeskService, args: argparse.Namespace) -> int:
    from console.importer import export_tickets

    export_tickets(service, sys.stdout, args.format)
    return 0


def cmd_backup(service: HelpdeskService, args: argparse.Namespace) -> int:
    target = service.backup(args.dest)
    if args.json:
        emit_json({"backup": str(target)})
    else:
        emit_line(_("Backed up to {path}.").format(path=target))
    return 0


def cmd_policy_show(service: HelpdeskService, args: argparse.Namespace) -> int:
    policy = service.policy()
    if args.json:
        emit_json(json.loads(policy.to_json()))
    else:
        from console.render import policy_rows

        headers, rows = policy_rows(policy)
        emit_table(headers, rows)
    return 0


def cmd_policy_load(service: HelpdeskService, args: argparse.Namespace) -> int:
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(_("cannot read {file}: {error}").format(file=args.file, error=exc)) from exc
    policy = service.load_policy(text)
    if args.json:
        emit_json(json.loads(policy.to_json()))
    else:
        emit_line(_("Policy loaded from {file}.").format(file=args.file))
    return 0


def cmd_sla_due(args: argparse.Namespace) -> int:
    from console.sla_due import run_due

    outputs, had_error = run_due(sys.stdin)
    sys.stdout.write("".join(line + "\n" for line in outputs))
    return 2 if had_error else 0


def cmd_sweep(service: HelpdeskService, args: argparse.Namespace) -> int:
    counts = service.sweep(args.now)
    if args.json:
        emit_json(counts)
    else:
        emit_line(
            _(
                "{warnings} warnings, {breaches} breaches recorded; {closed} resolved tickets closed unconfirmed."
            ).format(warnings=counts["warnings"], breaches=counts["breaches"], closed=counts["auto_closed"])
        )
    return 0


def cmd_check(service: HelpdeskService, args: argparse.Namespace) -> int:
    problems = service.check()
    if args.json:
        emit_json({"ok": not problems, "problems": problems})
    elif problems:
        for problem in problems:
            emit_line(problem)
    else:
        emit_line(_("Database is consistent: integrity, foreign keys and every ticket's history check out."))
    return 1 if problems else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from console.demo import ensure_demo

    service = open_service(args, create=True)
    try:
        summary = ensure_demo(service, seed=args.seed)
    finally:
        service.shutdown()
    if args.no_ui:
        if args.json:
            emit_json(summary)
        else:
            emit_line(
                _("Demo database {path}: {tickets} tickets, {articles} articles; you are {agent}.").format(
                    path=summary["db"],
                    tickets=summary["tickets"],
                    articles=summary["articles"],
                    agent=summary["agent"],
                )
            )
        return 0
    return run_console(args)


def run_console(args: argparse.Namespace) -> int:
    from console.app import run_app

    return run_app(args)


# -- the parser -----------------------------------------------------------------------------------------


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=argparse.SUPPRESS, help=_("database file (env HELPDESK_DB)"))
    parser.add_argument(
        "--as", dest="actor", default=argparse.SUPPRESS, help=_("act as this agent (env HELPDESK_AGENT)")
    )
    parser.add_argument("--lang", default=argparse.SUPPRESS, choices=["en", "zh"], help=_("interface language"))
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=_("machine-readable output"))


class _NotConsoleOnly(Exception):
    pass


class _ConsoleOnlyParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _NotConsoleOnly(message)


def _parse_console_only(raw: Sequence[str]) -> argparse.Namespace | None:
    """`helpdesk [--db F] [--as A] [--lang L]` opens the console. Parsed with the common options alone, so that
    opening the console does not first build the parsers of every command (a noticeable part of its first frame);
    anything else, help and mistakes included, goes to the full parser."""
    parser = _ConsoleOnlyParser(prog="helpdesk", add_help=False)
    _add_common(parser)
    try:
        args, rest = parser.parse_known_args(raw)
    except _NotConsoleOnly:
        return None
    return None if rest else args


def build_parser() -> CliParser:
    common = CliParser(add_help=False)
    _add_common(common)

    parser = CliParser(prog="helpdesk", parents=[common], description=_("Terminal helpdesk console."))
    sub = parser.add_subparsers(dest="command", parser_class=CliParser, metavar=_("COMMAND"))

    def command(name: str, help_text: str, handler: Handler, parent: Any = sub) -> CliParser:
        p: CliParser = parent.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    def at_option(p: CliParser) -> None:
        p.add_argument("--at", type=_instant, help=_("record the action at this ISO time (imports, tests)"))

    p = command("init", _("create the database with its first admin"), with_service(cmd_init, create=True))
    p.add_argument("--admin", required=True)

    agent = sub.add_parser("agent", help=_("manage agents"), parents=[common])
    agent_sub = agent.add_subparsers(dest="agent_command", required=True, parser_class=CliParser)
    p = command("add", _("add an agent (admins only)"), with_service(cmd_agent_add), agent_sub)
    p.add_argument("name")
    p.add_argument("--role", default="agent", choices=["agent", "supervisor", "admin"])
    p.add_argument("--tier", default="L1", choices=["L1", "L2", "L3"])
    p.add_argument("--display-name")
    command("list", _("list agents"), with_service(cmd_agent_list), agent_sub)

    ticket = sub.add_parser("ticket", help=_("create, show, list and work tickets"), parents=[common])
    tsub = ticket.add_subparsers(dest="ticket_command", required=True, parser_class=CliParser)
    p = command("new", _("open a ticket (the customer is created if new)"), with_service(cmd_ticket_new), tsub)
    p.add_argument("--subject", required=True)
    p.add_argument("--body", default="")
    p.add_argument("--customer")
    p.add_argument("--email")
    p.add_argument("--phone")
    p.add_argument("--organisation")
    p.add_argument("--customer-tier")
    p.add_argument("--priority", default="P3", choices=["P1", "P2", "P3", "P4"])
    p.add_argument("--channel", default="email", choices=["phone", "email", "chat", "web", "onsite"])
    p.add_argument("--tier", default="L1", choices=["L1", "L2", "L3"])
    at_option(p)

    p = command("show", _("show a ticket with its SLA clocks"), with_service(cmd_ticket_show), tsub)
    p.add_argument("id", type=_ticket_id)
    p.add_argument("--now", type=_instant, help=_("evaluate the clocks at this ISO time"))

    p = command("list", _("list tickets, most urgent first"), with_service(cmd_ticket_list), tsub)
    p.add_argument("--status", choices=["new", "open", "pending", "restored", "resolved", "closed"])
    p.add_argument("--all", action="store_true", help=_("every status"))
    p.add_argument("--priority", choices=["P1", "P2", "P3", "P4"])
    p.add_argument("--assignee")
    p.add_argument("--tier", choices=["L1", "L2", "L3"])
    p.add_argument("--breaching", action="store_true", help=_("only tickets past a due time"))
    p.add_argument("--at-risk", action="store_true", help=_("only tickets past a warning but not yet due"))
    p.add_argument("--search", help=_("text in subject or customer"))
    p.add_argument("--limit", type=int, default=1000)
    p.add_argument("--now", type=_instant)

    for name, help_text, handler in (
        ("reply", _("public reply to the customer"), cmd_ticket_reply),
        ("customer-reply", _("record a message from the customer"), cmd_ticket_customer_reply),
        ("note", _("internal note"), cmd_ticket_note),
    ):
        p = command(name, help_text, with_service(handler), tsub)
        p.add_argument("id", type=_ticket_id)
        p.add_argument("--body", required=True, help=_("text, or - to read standard input"))
        at_option(p)

    p = command("assign", _("assign a ticket (default: to yourself)"), with_service(cmd_ticket_assign), tsub)
    p.add_argument("id", type=_ticket_id)
    p.add_argument("--to")
    at_option(p)
    for name, help_text, handler in (
        ("pending", _("wait on the customer (clocks pause)"), cmd_ticket_pending),
        ("resume", _("stop waiting on the customer"), cmd_ticket_resume),
    ):
        p = command(name, help_text, with_service(handler), tsub)
        p.add_argument("id", type=_ticket_id)
        at_option(p)

    p = command("escalate", _("hand over to a higher tier or a named agent"), with_service(cmd_ticket_escalate), tsub)
    p.add_argument("id", type=_ticket_id)
    p.add_argument("--to", required=True, help=_("L2, L3 or an agent's name"))
    p.add_argument("--reason", required=True)
    p.add_argument("--notes", required=True, help=_("handoff notes: symptoms, steps tried, impact, contact"))
    at_option(p)

    p = command(
        "restore",
        _("service restored by a workaround (cause not yet fixed)"),
        with_service(cmd_ticket_restore),
        tsub,
    )
    p.add_argument("id", type=_ticket_id)
    p.add_argument("--summary", required=True)
    at_option(p)

    p = command(
        "resolve",
        _("cause fixed; awaiting the customer's confirmation"),
        with_service(cmd_ticket_resolve),
        tsub,
    )
    p.add_argument("id", type=_ticket_id)
    p.add_argument("--summary", required=True)
    p.add_argument("--code")
    at_option(p)

    p = command("close", _("close after confirming with the customer"), with_service(cmd_ticket_close), tsub)
    p.add_argument("id", type=_ticket_id)
    p.add_argument("--summary", required=True)
    p.add_argument("--code")
    p.add_argument("--confirmed", action="store_true", help=_("the customer confirmed the fix"))
    p.add_argument("--unconfirmed-reason", help=_("why the customer could not confirm"))
    p.add_argument("--asked-anything-else", action="store_true", help=_("asked whether anything else is needed"))
    p.add_argument("--kb", type=int, help=_("link this knowledge article"))
    p.add_argument("--kb-needed", action="store_true", help=_("draft a knowledge article from this ticket"))
    p.add_argument("--followup", type=_date, help=_("follow-up call date (required for P1/P2)"))
    at_option(p)

    p = command("reopen", _("reopen a resolved or closed ticket"), with_service(cmd_ticket_reopen), tsub)
    p.add_argument("id", type=_ticket_id)
    p.add_argument("--reason", required=True)
    at_option(p)

    p = command("import", _("import tickets from CSV or JSON Lines (all or nothing)"), with_service(cmd_import))
    p.add_argument("file")
    p = command("export", _("export tickets"), with_service(cmd_export))
    p.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    p = command("backup", _("consistent online backup of the database"), with_service(cmd_backup))
    p.add_argument("dest")
    command("check", _("verify integrity and every ticket's history"), with_service(cmd_check))
    p = command("sweep", _("record SLA warnings/breaches and auto-close unconfirmed tickets"), with_service(cmd_sweep))
    p.add_argument("--now", type=_instant)

    policy = sub.add_parser("policy", help=_("SLA policies"), parents=[common])
    psub = policy.add_subparsers(dest="policy_command", required=True, parser_class=CliParser)
    command("show", _("show the SLA policy in force"), with_service(cmd_policy_show), psub)
    p = command("load", _("load an SLA policy from TOML (admins only)"), with_service(cmd_policy_load), psub)
    p.add_argument("file")

    slap = sub.add_parser("sla", help=_("SLA calculators"), parents=[common])
    ssub = slap.add_subparsers(dest="sla_command", required=True, parser_class=CliParser)
    command("due", _("due times for JSON Lines requests on standard input"), cmd_sla_due, ssub)

    p = command("demo", _("fill an empty database with demo data and open the console"), cmd_demo)
    p.add_argument("--no-ui", action="store_true", help=_("only create the demo data"))
    p.add_argument("--seed", type=int, default=7)

    for extra in _extra_commands():
        extra(sub, common, command)
    return parser


def _extra_commands() -> list[Callable[..., None]]:
    """Command groups that live in their own modules (knowledge base, replies, reports, wallboard)."""
    from console import cli_more

    return cli_more.REGISTER


def main(argv: Sequence[str] | None = None) -> int:
    # pydantic scans every installed package for plugins on first use; the console uses none, and the scan is
    # a noticeable part of start-up (a user who wants one can still set the variable)
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    raw = list(sys.argv[1:] if argv is None else argv)
    set_language(detect_language(_peek_lang(raw)))
    args = _parse_console_only(raw) or build_parser().parse_args(raw)
    for name, env, default in (
        ("db", "HELPDESK_DB", None),
        ("actor", "HELPDESK_AGENT", None),
        ("json", None, False),
    ):
        if not hasattr(args, name):
            setattr(args, name, os.environ.get(env) if env else default)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        if getattr(args, "command", None) is None:
            args.handler = run_console
            return _run(run_console, args)
        build_parser().parse_args([*raw, "--help"])
        return 2
    return _run(handler, args)


def _peek_lang(raw: Sequence[str]) -> str | None:
    for i, item in enumerate(raw):
        if item == "--lang" and i + 1 < len(raw):
            return raw[i + 1]
        if item.startswith("--lang="):
            return item.split("=", 1)[1]
    return None


def _run(handler: Handler, args: argparse.Namespace) -> int:
    try:
        return handler(args)
    except HelpdeskError as exc:
        for line in getattr(exc, "lines", None) or [str(exc)]:
            sys.stderr.write(f"helpdesk: {_one_line(line)}\n")
        return exc.exit_code
    except StoreError as exc:  # the file turned out damaged, full or gone mid-command (reads reach the store directly)
        sys.stderr.write(f"helpdesk: {_one_line(str(exc))}\n")
        return 5
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        sys.stderr.write(f"helpdesk: {_one_line(str(exc))}\n")
        return 1


def _one_line(text: str) -> str:
    from widgets.safe_text import clean

    return clean(" ".join(text.split()))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
