"""`helpdesk wallboard` and `helpdesk ssh-config`: the live board, and the sshd block that serves it."""

from __future__ import annotations

import argparse
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


def ssh_config(script: str, db: str, supervisor: str, user: str = SSH_USER) -> str:
    """An sshd_config block: the `user` account can only ever run the read-only board, in a terminal."""
    command = " ".join(shlex.quote(part) for part in (script, "--db", db, "--as", supervisor, "wallboard"))
    return "\n".join(
        (
            f"Match User {user}",
            f"    ForceCommand {command}",
            "    PermitTTY yes",
            "    AllowTcpForwarding no",
            "    X11Forwarding no",
            "    PermitTunnel no",
            "    AllowAgentForwarding no",
            "",
        )
    )


def cmd_ssh_config(args: argparse.Namespace) -> int:
    from console.cli.common import default_db_path

    db = str(Path(args.db).resolve() if getattr(args, "db", None) else default_db_path())
    sys.stdout.write(ssh_config(helpdesk_script(), db, args.supervisor, args.user))
    return 0


def register(sub: Any, common: Any, command: Callable[..., Any]) -> None:
    p = command("wallboard", _("live, read-only supervisor wallboard"), cmd_wallboard)
    p.add_argument(
        "--show-customers",
        action="store_true",
        help=_("show customer names and contacts (supervisors and admins)"),
    )
    p = command("ssh-config", _("print the sshd_config block that serves the wallboard over SSH"), cmd_ssh_config)
    p.add_argument("--supervisor", required=True, help=_("the supervisor the board runs as"))
    p.add_argument("--user", default=SSH_USER, help=_("the system account that connects (default: wallboard)"))
