"""`helpdesk restore SRC`: put a backup back in place of the database (admins only; the service decides who may
and words every refusal). `helpdesk migrate`: a SQLite database copied into PostgreSQL (likewise). `helpdesk
sudo-config`: the sudoers rule of the shared-host deployment."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from console.i18n import _


def _target(args: argparse.Namespace) -> Path:
    from console.cli.common import default_db_path

    return Path(args.db) if args.db else default_db_path()


def cmd_restore(args: argparse.Namespace) -> int:
    from console.cli.common import emit_json, emit_line
    from console.service.restore import restore_database

    done = restore_database(Path(args.src), _target(args), args.actor)
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


def cmd_migrate(args: argparse.Namespace) -> int:
    from console.cli.common import emit_json, emit_line
    from console.cli.progress import progress_bar, show_progress
    from console.rules.errors import BadInput
    from console.service.migrate import migrate_database

    if not args.source.strip():
        raise BadInput(_("--from is empty: give the SQLite database file"))
    with progress_bar(_("Copying {file}").format(file=args.source), enabled=show_progress(args)) as step:
        done = migrate_database(Path(args.source), args.target, args.actor, progress=step)
    if args.json:
        emit_json(
            {
                "source": str(done.source),
                "target": done.target,
                "admin": done.admin,
                "login": done.login,
                "tables": done.tables,
                "rows": sum(done.tables.values()),
                "seconds": round(done.seconds, 3),
            }
        )
        return 0
    emit_line(
        _("Copied {source} into {target}: {tickets} tickets, {events} events, {rows} rows in all.").format(
            source=done.source,
            target=done.target,
            tickets=done.tables["tickets"],
            events=done.tables["events"],
            rows=sum(done.tables.values()),
        )
    )
    emit_line(_("{admin} is the admin of the copy, logging in as {login}.").format(admin=done.admin, login=done.login))
    return 0


# POSIX account and group names, as useradd accepts them: nothing that could end a sudoers line or add a rule.
_ACCOUNT = re.compile(r"[a-z_][a-z0-9_.-]{0,31}")


def sudo_config(script: str, group: str, account: str) -> str:
    """A sudoers file: members of ``group`` may run the helpdesk, and only it, as ``account`` (which alone can open
    the database). sudo records who ran it (SUDO_UID), and the helpdesk believes that record only when it runs as
    the database's owner. No SETENV: the environment is sudo's, not the caller's."""
    return "\n".join(
        (
            f"# helpdesk: members of {group} run the console and CLI as {account}, the owner of the database",
            f"Defaults!{script} env_reset",
            f"%{group} ALL=({account}) NOPASSWD: {script}",
            "",
        )
    )


def cmd_sudo_config(args: argparse.Namespace) -> int:
    import sys

    from console.cli.wallboard import helpdesk_script
    from console.rules.errors import BadInput

    for what, value in ((_("group"), args.group), (_("account"), args.account)):
        if not _ACCOUNT.fullmatch(value):
            raise BadInput(_("{what} {value!r} is not a valid account or group name").format(what=what, value=value))
    script = helpdesk_script()
    if not script.startswith("/") or any(c.isspace() or c in ",:=\\\"'" for c in script):
        raise BadInput(_("the helpdesk script's path {path!r} cannot be used in sudoers").format(path=script))
    sys.stdout.write(sudo_config(script, args.group, args.account))
    return 0


def register(sub: Any, common: Any, command: Callable[..., Any]) -> None:
    """Adds `sudo-config`, `restore` and `migrate` to the parser."""
    p = command(
        "sudo-config",
        _("print the sudoers rule that lets a group of agents run the helpdesk as the database's owner"),
        cmd_sudo_config,
    )
    p.add_argument("--group", required=True, help=_("the agents' group (e.g. support)"))
    p.add_argument("--account", default="helpdesk", help=_("the account that owns the database (default: helpdesk)"))
    p = command(
        "restore",
        _("replace the database with a backup (admins only; refused while anyone has it open)"),
        cmd_restore,
    )
    p.add_argument("src", metavar="SRC", help=_("a database written by 'helpdesk backup'"))
    p = command(
        "migrate",
        _("copy a whole SQLite database into a new, empty PostgreSQL database (admins only)"),
        cmd_migrate,
    )
    p.epilog = _(
        "Run as an admin of the SQLite database, connecting as the PostgreSQL database's owner. One transaction: all"
        " or nothing. Only SQLite to PostgreSQL: for the other way, use 'helpdesk export' and 'helpdesk import'."
    )
    p.add_argument("--from", dest="source", required=True, metavar="SQLITE_PATH", help=_("the SQLite database file"))
    p.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="POSTGRESQL_URL",
        help=_("the new database, e.g. postgresql://helpdesk@/helpdesk (no data in it yet)"),
    )
