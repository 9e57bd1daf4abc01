"""Putting a backup back in place of the database (admins only).

The mechanics (validation, the in-use probe, the atomic swap) live in ``db.restore``; this module decides who may
restore and words every outcome as a one-line error of its kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from console.i18n import _
from console.rules.errors import BadInput, HelpdeskError, PermissionDenied, Refused, Unavailable
from console.rules.whoami import invoking_login
from db import restore
from db.restore import RestoreError, Staged


@dataclass(frozen=True)
class Restored:
    target: Path
    source: Path
    previous: Path | None
    schema_version: int
    tickets: int
    events: int


def restore_database(source: Path, target: Path, requested: str | None = None) -> Restored:
    """Replace ``target`` with the checked copy of ``source``, if the login running this is an admin's (see
    `_authorise`); acting as another agent (``requested``, --as), that agent must be an admin too."""
    try:
        staged = restore.stage(source, target)
    except RestoreError as exc:
        raise _explain(exc) from exc
    try:
        _authorise(invoking_login(target), requested, target, staged)
        done = restore.install(staged, target)
    except RestoreError as exc:
        raise _explain(exc) from exc
    finally:
        restore.discard(staged)  # a no-op once the copy has been renamed into place
    return Restored(done.target, staged.source, done.previous, staged.version, staged.tickets, staged.events)


def _authorise(login: str, requested: str | None, target: Path, staged: Staged) -> None:
    """The login must be an admin's in the database being replaced; when that one cannot be read (missing or
    damaged, the reason to restore), in the backup being restored."""
    where = target if restore.target_state(target) == "helpdesk" else staged.path
    found = restore.agent_for_login(where, login)
    if found is None:
        raise PermissionDenied(
            _(
                "login {login} is not an agent here: an admin can add it with 'helpdesk agent add NAME --login {login}'"
            ).format(login=login)
        )
    name, role = found
    if requested is not None and requested != name:
        if role != "admin":
            raise PermissionDenied(
                _("only admins may act as another agent (--as {name}); {me} is {role}").format(
                    name=requested, me=name, role=_(role)
                )
            )
        acting = restore.agent_role(where, requested)
        if acting is None:
            raise PermissionDenied(
                _("unknown agent {name}: ask an admin to run 'helpdesk agent add {name}'").format(name=requested)
            )
        name, role = requested, acting
    if role != "admin":
        raise PermissionDenied(
            _("{name} is {role}; this needs {roles}").format(name=name, role=_(role), roles=_("admin"))
        )


def _explain(exc: RestoreError) -> HelpdeskError:
    """Each reason as one line, with the exit code of its kind: bad source 2, refused 1, unusable target 5."""
    R = RestoreError
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
