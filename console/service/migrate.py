"""`helpdesk migrate --from SQLITE --to postgresql://…`: a whole SQLite helpdesk copied into a new, empty PostgreSQL
database, in one transaction (admins only). Not the other way: PostgreSQL to SQLite is `export` and `import`.

Who may: the login running it must be an admin's in the SQLite database (with --as, the agent named must be an admin
too), and it must connect to PostgreSQL as the database's owner, the only role the database lets copy stamped events
in (db/pg/schema.py, helpdesk_copies: the server verifies the chain and records the copy). That admin's login becomes
the owner's role there, as `init` binds the first admin; every other agent keeps their login, made a role of the
database. The mechanics are the stores' (db/copy.py, db/store.py, db/pg/store.py); this module decides who may and
words every outcome as one line of its kind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from console.i18n import _
from console.rules.errors import BadInput, HelpdeskError, PermissionDenied, Refused, Unavailable
from console.rules.whoami import invoking_login
from db.connection import SQLITE_HEADER, quick_check
from db.copy import CopyRefused
from db.errors import DatabaseUnavailable, StoreError
from db.store import Store

if TYPE_CHECKING:
    from db.pg.store import PgStore

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class Migrated:
    source: Path
    target: str  # the URL without its password
    admin: str  # the admin who ran it, bound to ``login`` on PostgreSQL
    login: str
    tables: dict[str, int]
    seconds: float


def migrate_database(
    source: Path, url: str, requested: str | None = None, *, progress: Progress | None = None
) -> Migrated:
    """Copy ``source`` into the PostgreSQL database ``url`` (see the module's docstring); nothing is written to it
    unless all is."""
    if str(source).startswith(("postgresql:", "postgres:")):
        raise BadInput(
            _(
                "--from must be a SQLite database file: PostgreSQL is not migrated back into SQLite"
                " (use 'helpdesk export' and 'helpdesk import')"
            )
        )
    if not url.startswith(("postgresql://", "postgres://")):
        raise BadInput(_("--to must be a postgresql:// URL: migrate copies SQLite into PostgreSQL only"))
    started = time.monotonic()
    src = _open_source(source)
    try:
        admin = _authorise(src, invoking_login(source), requested)
        target = _open_target(url)
        try:
            login = str(target.session_login())
            taken = src.agent_by_login(login)
            if taken is not None and taken.name != admin:
                raise Refused(
                    _("login {login} is agent {name}'s in {source}, but {admin} runs the migration").format(
                        login=login, name=taken.name, source=source, admin=admin
                    )
                )
            try:
                tables = target.copy_from(src, bind=admin, progress=progress)
            except CopyRefused as exc:
                raise _explain(exc, source, target.path) from exc
            except StoreError as exc:
                raise Unavailable(str(exc)) from exc
        finally:
            target.close()
    finally:
        src.close()
    return Migrated(source, str(target.path), admin, login, tables, time.monotonic() - started)


def _open_source(path: Path) -> Store:
    """The SQLite file read-only, after the checks that name what is wrong with it in one line."""
    if not path.exists():
        raise BadInput(_("{path} does not exist").format(path=path))
    try:
        with path.open("rb") as fh:
            header = fh.read(16)
    except OSError as exc:
        raise BadInput(_("cannot read {file}: {error}").format(file=path, error=exc.strerror or exc)) from exc
    if header != SQLITE_HEADER:
        raise BadInput(_("{path} is not a SQLite database").format(path=path))
    try:
        store = Store(path, readonly=True, create=False)
    except DatabaseUnavailable as exc:
        raise BadInput(str(exc)) from exc
    problems = quick_check(store.conn)
    if problems:
        store.close()
        raise BadInput(
            _("{path} fails the integrity check ({problem}); nothing was copied").format(path=path, problem=problems[0])
        )
    return store


def _authorise(src: Store, login: str, requested: str | None) -> str:
    """The admin running the migration: the agent of ``login`` in the source, or the one named by --as (which an
    admin alone may name, and which must be an admin too)."""
    agent = src.agent_by_login(login)
    if agent is None or not agent.active:
        raise PermissionDenied(
            _(
                "login {login} is not an agent here: an admin can add it with 'helpdesk agent add NAME --login {login}'"
            ).format(login=login)
        )
    if requested is not None and requested != agent.name:
        if agent.role != "admin":
            raise PermissionDenied(
                _("only admins may act as another agent (--as {name}); {me} is {role}").format(
                    name=requested, me=agent.name, role=_(agent.role)
                )
            )
        named = src.get_agent(requested)
        if named is None or not named.active:
            raise PermissionDenied(
                _("unknown agent {name}: ask an admin to run 'helpdesk agent add {name}'").format(name=requested)
            )
        agent = named
    if agent.role != "admin":
        raise PermissionDenied(
            _("{name} is {role}; this needs {roles}").format(name=agent.name, role=_(agent.role), roles=_("admin"))
        )
    return agent.name


def _open_target(url: str) -> PgStore:
    """The PostgreSQL database, its schema created if it has none yet, opened only by its owner (checked before the
    schema is made, so another role's attempt leaves nothing behind)."""
    from db.pg.store import PgStore

    try:
        probe = PgStore(url, migrate=False)
        try:
            owner, login = probe.owns_database(), probe.session_login()
        finally:
            probe.close()
        if not owner:
            raise PermissionDenied(
                _(
                    "{login} does not own {target}: migrate as the database's owner (the role a DBA made for the"
                    " helpdesk), as for init; nothing was copied"
                ).format(login=login, target=probe.path)
            )
        return PgStore(url, create=True)
    except DatabaseUnavailable as exc:
        raise Unavailable(str(exc)) from exc


def _explain(exc: CopyRefused, source: Path, target: Path | str) -> HelpdeskError:
    detail = exc.detail
    messages: dict[str, tuple[type[HelpdeskError], str]] = {
        CopyRefused.NOT_OWNER: (
            PermissionDenied,
            _("{detail} does not own {target}: migrate as the database's owner; nothing was copied"),
        ),
        CopyRefused.NOT_EMPTY: (
            Refused,
            _("{target} already holds data ({detail}): migrate only into a new, empty database; nothing was copied"),
        ),
        CopyRefused.TABLES_DIFFER: (
            Unavailable,
            _("table {detail} differs between {source} and {target}: both must be at this version's schema"),
        ),
        CopyRefused.BROKEN_CHAIN: (
            BadInput,
            _(
                "{source}: the events' hash chain does not hold ({detail}); run 'helpdesk check' on it;"
                " nothing was copied"
            ),
        ),
        CopyRefused.ROLES: (
            PermissionDenied,
            _("{target}: the agents' roles cannot be made ({detail}); the owner needs CREATEROLE; nothing was copied"),
        ),
        CopyRefused.ROWS: (BadInput, _("{source}: rows could not be copied ({detail}); nothing was copied")),
    }
    kind, text = messages.get(exc.reason, (Unavailable, "{detail}"))
    return kind(text.format(detail=detail, source=source, target=target))
