"""`helpdesk import|export|backup|check|sweep|policy|sla`: the data, its policy and its SLA clocks in bulk."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from console.i18n import _

if TYPE_CHECKING:
    from console.service.helpdesk import HelpdeskService


def cmd_import(service: HelpdeskService, args: argparse.Namespace) -> int:
    from console.cli.common import emit_json, emit_line
    from console.cli.progress import progress_bar, show_progress
    from console.service.importer import import_tickets

    with progress_bar(_("Importing {file}").format(file=args.file), enabled=show_progress(args)) as step:
        created = import_tickets(service, Path(args.file), progress=step)
    if args.json:
        emit_json({"imported": len(created), "ids": created})
    else:
        emit_line(_("Imported {n} tickets from {file}.").format(n=len(created), file=args.file))
    return 0


def cmd_export(service: HelpdeskService, args: argparse.Namespace) -> int:
    from console.service.importer import export_tickets

    export_tickets(service, sys.stdout, args.format)
    return 0


def cmd_backup(service: HelpdeskService, args: argparse.Namespace) -> int:
    from console.cli.common import emit_json, emit_line

    target = service.backup(args.dest)
    if args.json:
        emit_json({"backup": str(target)})
    else:
        emit_line(_("Backed up to {path}.").format(path=target))
    return 0


def cmd_policy_show(service: HelpdeskService, args: argparse.Namespace) -> int:
    """The priorities' rules, then each channel and customer-tier override with the targets it makes (a value it
    changes marked *), then the settings; --json: the document as stored plus ``effective``, the same tables."""
    from console.cli.common import emit_json, emit_line, emit_table
    from console.present.render import policy_json, policy_settings_text, policy_tables

    policy = service.policy()
    if args.json:
        emit_json(policy_json(policy))
        return 0
    tables = policy_tables(policy)
    for index, (title, headers, rows) in enumerate(tables):
        if index:
            emit_line("")
        emit_line(title)
        emit_table(headers, rows)
    if len(tables) > 1:
        emit_line(_("* set by the override (differs from the priority's own rule)"))
    emit_line("")
    emit_line(policy_settings_text(policy))
    return 0


def cmd_policy_load(service: HelpdeskService, args: argparse.Namespace) -> int:
    from console.cli.common import emit_json, emit_line, read_document

    policy = service.load_policy(read_document(args.file))
    if args.json:
        emit_json(json.loads(policy.to_json()))
    else:
        emit_line(_("Policy loaded from {file}.").format(file=args.file))
    return 0


def cmd_sla_due(args: argparse.Namespace) -> int:
    """Each answer is written and flushed as soon as its request line is read, so a program talking to this one
    over a pipe gets one answer per request, and memory does not grow with the input."""
    from console.cli.common import terminal_safe, text_stdin
    from console.rules.sla_due import MAX_LINE, run_due

    had_error = False
    for answer in run_due(_bounded_lines(text_stdin(), MAX_LINE)):
        sys.stdout.write(terminal_safe(answer.text) + "\n")  # an error may quote the request's text
        sys.stdout.flush()
        had_error = had_error or answer.error
    return 2 if had_error else 0


def _bounded_lines(stream: TextIO, limit: int) -> Iterator[str]:
    """The stream's lines, each cut to ``limit + 1`` characters: the rest of a longer line is read in pieces and
    dropped (the cut line is still too long, and is answered as such), so a line without end cannot fill memory."""
    while line := stream.readline(limit + 1):
        if len(line) > limit and not line.endswith("\n"):
            while (rest := stream.readline(limit)) and not rest.endswith("\n"):
                pass
        yield line


def cmd_sweep(service: HelpdeskService, args: argparse.Namespace) -> int:
    from console.cli.common import emit_json, emit_line
    from console.cli.progress import progress_bar, show_progress

    with progress_bar(_("Sweeping"), enabled=show_progress(args)) as step:
        counts = service.sweep(args.now, progress=step)
    with progress_bar(_("Filling in figures"), enabled=show_progress(args)) as step:
        service.live.fill_backlog(progress=step)  # what a migration left to compute, if anything
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
    from console.cli.common import emit_json, emit_line

    problems = service.check()
    if args.json:
        emit_json({"ok": not problems, "problems": problems, "counts": service.table_counts()})
    elif problems:
        for problem in problems:
            emit_line(problem)
    else:
        emit_line(_("Database is consistent: integrity, foreign keys and every ticket's history check out."))
    return 1 if problems else 0


def register(sub: Any, common: Any, command: Callable[..., Any]) -> None:
    """Adds this group's sub-commands to the parser."""
    from console.cli.common import instant_arg, with_service

    p = command("import", _("import tickets from CSV or JSON Lines (all or nothing)"), with_service(cmd_import))
    p.add_argument("file")
    p = command("export", _("export tickets"), with_service(cmd_export))
    p.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    p = command("backup", _("consistent online backup of the database"), with_service(cmd_backup))
    p.add_argument("dest")
    command("check", _("verify integrity and every ticket's history"), with_service(cmd_check))
    p = command("sweep", _("record SLA warnings/breaches and auto-close unconfirmed tickets"), with_service(cmd_sweep))
    p.add_argument("--now", type=instant_arg)

    policy = sub.add_parser("policy", help=_("SLA policies"), parents=[common])
    psub = policy.add_subparsers(dest="policy_command", required=True, parser_class=type(policy))
    command("show", _("show the SLA policy in force"), with_service(cmd_policy_show), psub)
    p = command("load", _("load an SLA policy from TOML (admins only)"), with_service(cmd_policy_load), psub)
    p.add_argument("file")

    slap = sub.add_parser("sla", help=_("SLA calculators"), parents=[common])
    ssub = slap.add_subparsers(dest="sla_command", required=True, parser_class=type(slap))
    command("due", _("due times for JSON Lines requests on standard input"), cmd_sla_due, ssub)
