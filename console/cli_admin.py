"""`helpdesk restore SRC`: put a backup back in place of the database (admins only).

The mechanics (validation, the in-use probe, the atomic swap) live in ``db.restore``; this module decides who
may restore and words every outcome.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.errors import BadInput, HelpdeskError, PermissionDenied, Refused, Unavailable
from console.i18n import _

if TYPE_CHECKING:
    from db.restore import RestoreError, Staged


def _target(args: argparse.Namespace) -> Path:
    from console.cli import default_db_path

    return Path(args.db) if args.db else default_db_path()


def _actor(args: argparse.Namespace) -> str:
    from console.whoami import default_agent_name

    return str(args.actor or default_agent_name())


def _authorise(actor: str, target: Path, staged: Staged) -> None:
    """An admin of the database being replaced; when that one cannot be read (missing or damaged, the reason to
    restore), an admin of the backup being restored."""
    from db import restore

    where = target if restore.target_state(target) == "helpdesk" else staged.path
    role = restore.agent_role(where, actor)
    if role is None:
        raise PermissionDenied(
            _("unknown agent {name}: ask an admin to run 'helpdesk agent add {name}'").format(name=actor)
        )
    if role != "admin":
        raise PermissionDenied(
            _("{name} is {role}; this needs {roles}").format(name=actor, role=_(role), roles=_("admin"))
        )


def _explain(exc: RestoreError) -> HelpdeskError:
    """Each reason as one line, with the exit code of its kind: bad source 2, refused 1, unusable target 5."""
    from db.restore import RestoreError as R

    detail = f" ({exc.detail})" if exc.detail else ""
    messages: dict[str, tuple[type[HelpdeskError], str]] = {
        R.SOURCE_MISSING: (BadInput, _("{path} does not exist")),
        R.SOURCE_NOT_SQLITE: (BadInput, _("{path} is not a SQLite database")),
        R.SOURCE_UNREADABLE: (BadInput, _("{path} cannot be read")),
        R.SOURCE_CORRUPT: (BadInput, _("{path} fails the integrity check; nothing was changed")),
        R.SOURCE_NOT_HELPDESK: (BadInput, _("{path} is not a helpdesk database; nothing was changed")),
        R.SOURCE_TOO_NEW: (BadInput, _("{path} was written by a newer helpdesk; upgrade before restoring it")),
        R.SOURCE_IS_TARGET: (BadInput, _("{path} is the database itself")),
        R.TARGET_DIR_MISSING: (Unavailable, _("directory {path} does not exist")),
        R.TARGET_NOT_DATABASE: (Refused, _("{path} is not a SQLite database; not replacing it")),
        R.TARGET_FOREIGN: (Refused, _("{path} is a SQLite database of another application; not replacing it")),
        R.TARGET_IN_USE: (
            Refused,
            _("{path} is open in another process (a console, wallboard or script); close it and try again"),
        ),
        R.WRITE_FAILED: (Unavailable, _("cannot write {path}")),
    }
    kind, text = messages.get(exc.reason, (Unavailable, "{path}"))
    return kind(text.format(path=exc.path) + detail)


def cmd_restore(args: argparse.Namespace) -> int:
    from console.cli import emit_json, emit_line
    from db import restore

    target = _target(args)
    try:
        staged = restore.stage(Path(args.src), target)
    except restore.RestoreError as exc:
        raise _explain(exc) from exc
    try:
        _authorise(_actor(args), target, staged)
        done = restore.install(staged, target)
    except restore.RestoreError as exc:
        raise _explain(exc) from exc
    finally:
        restore.discard(staged)  # a no-op once the copy has been renamed into place
    if args.json:
        emit_json(
            {
                "restored": str(done.target),
                "source": str(staged.source),
                "previous": str(done.previous) if done.previous else None,
                "schema_version": staged.version,
                "tickets": staged.tickets,
                "events": staged.events,
            }
        )
        return 0
    emit_line(
        _("Restored {target} from {src} (tickets: {tickets}, events: {events}).").format(
            target=done.target, src=staged.source, tickets=staged.tickets, events=staged.events
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
