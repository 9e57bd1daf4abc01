"""`helpdesk restore SRC`: put a backup back in place of the database (admins only; the service decides who may
and words every refusal)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from console.i18n import _


def _target(args: argparse.Namespace) -> Path:
    from console.cli.common import default_db_path

    return Path(args.db) if args.db else default_db_path()


def _actor(args: argparse.Namespace) -> str:
    from console.rules.whoami import default_agent_name

    return str(args.actor or default_agent_name())


def cmd_restore(args: argparse.Namespace) -> int:
    from console.cli.common import emit_json, emit_line
    from console.service.restore import restore_database

    done = restore_database(Path(args.src), _target(args), _actor(args))
    if args.json:
        emit_json(
            {
                "restored": str(done.target),
                "source": str(done.source),
                "previous": str(done.previous) if done.previous else None,
                "schema_version": done.schema_version,
                "tickets": done.tickets,
                "events": done.events,
            }
        )
        return 0
    emit_line(
        _("Restored {target} from {src} (tickets: {tickets}, events: {events}).").format(
            target=done.target, src=done.source, tickets=done.tickets, events=done.events
        )
    )
    if done.previous is not None:
        emit_line(_("The replaced database is kept as {path}.").format(path=done.previous))
    return 0


def register(sub: Any, common: Any, command: Callable[..., Any]) -> None:
    """Adds `restore` to the parser."""
    p = command(
        "restore",
        _("replace the database with a backup (admins only; refused while anyone has it open)"),
        cmd_restore,
    )
    p.add_argument("src", metavar="SRC", help=_("a database written by 'helpdesk backup'"))
