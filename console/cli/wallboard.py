"""`helpdesk wallboard` and `helpdesk ssh-config`: the live board, and the sshd block that serves it."""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from console.i18n import _

SSH_USER = "wallboard"


def cmd_wallboard(args: argparse.Namespace) -> int:
    from console.cli.common import run_console

    args.wallboard = True
    return run_console(args)


def helpdesk_script() -> str:
    """The `helpdesk` script installed beside the running interpreter (where pip put it), else on PATH."""
    beside = Path(sys.executable).with_name("helpdesk")
    if beside.exists():
        return str(beside)
    return shutil.which("helpdesk") or str(beside)


# POSIX account names, as useradd takes them: nothing that could end the `Match User` line or start another.
ACCOUNT = re.compile(r"[a-z_][a-z0-9_.-]{0,31}")


def ssh_config(script: str, db: str, user: str = SSH_USER) -> str:
    """An sshd_config block: the ``user`` account can only ever run the read-only board, in a terminal. The board
    account's own login tells the helpdesk who it is (a board-only agent), so the command names nobody. Every value
    is checked by the caller (no control characters) and quoted for the shell sshd runs the command with."""
    command = " ".join(shlex.quote(part) for part in (script, "--db", db, "wallboard"))
    return "\n".join(
        (
            f"Match User {user}",
            f"    ForceCommand {command}",
            "    PermitTTY yes",
            "    DisableForwarding yes",  # TCP, agent, X11 and stream-local forwarding
            "    PermitTunnel no",
            "    PermitUserRC no",
            "",
        )
    )


def _has_control(text: str) -> bool:
    return any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text)


def cmd_ssh_config(args: argparse.Namespace) -> int:
    from console.cli.common import db_path, open_service
    from console.rules.errors import BadInput
    from console.service.wallboard import board_account

    user = args.user
    if not ACCOUNT.fullmatch(user):
        raise BadInput(_("--user {value!r} is not a valid account name").format(value=user))
    db = str(db_path(args).resolve())
    script = helpdesk_script()
    for what, value in ((_("database path"), db), (_("helpdesk script path"), script)):
        if _has_control(value):  # a newline would end the ForceCommand line and start a line of its own
            raise BadInput(_("the {what} {value!r} has control characters").format(what=what, value=value))
    service = open_service(args)  # the person printing it must be a supervisor or admin of this database
    try:
        board_account(service, user)
    finally:
        service.shutdown()
    sys.stdout.write(ssh_config(script, db, user))
    return 0


def register(sub: Any, common: Any, command: Callable[..., Any]) -> None:
    p = command("wallboard", _("live, read-only supervisor wallboard"), cmd_wallboard)
    p.add_argument(
        "--show-customers",
        action="store_true",
        help=_("show customer names and contacts (supervisors and admins)"),
    )
    p = command("ssh-config", _("print the sshd_config block that serves the wallboard over SSH"), cmd_ssh_config)
    p.add_argument(
        "--user",
        default=SSH_USER,
        help=_("the system account that connects, a wallboard login of this database (default: wallboard)"),
    )
