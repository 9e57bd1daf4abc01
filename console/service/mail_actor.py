"""Who the mail commands are: the system actor ``mail``, allowed to the database's owner account (the MTA alias, the
fetcher's service unit; in a single-user install, the user) and to admins."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from console.i18n import _
from console.rules.errors import PermissionDenied
from console.rules.whoami import invoking_login, os_login
from console.service.core import ServiceCore
from db.models import Agent
from db.store_api import StoreAPI
from db.vocabulary import MAIL_ACTOR


class SystemCore(ServiceCore):
    """The core the mail commands act through: the actor is ``mail``, not an agent (it is given no agent's
    rights beyond what filing mail needs: the actions the mail service calls itself)."""

    write_attempts = 2  # busy twice: the MTA is told to try again (exit 75), it does not wait here

    def me(self) -> Agent:
        return Agent(name=MAIL_ACTOR, role="supervisor", tier="L3", created_at=datetime(2000, 1, 1, tzinfo=UTC))


def authorise(store: StoreAPI, roles: tuple[str, ...] = ("admin",)) -> None:
    """The mail commands belong to the database's owner account (the MTA alias, the fetcher's service unit; in a
    single-user install, the user) and to admins (supervisors too for ``roles`` that say so)."""
    path = store.path if isinstance(store.path, Path) else None  # a PostgreSQL server has no file to own
    login = store.session_login() or invoking_login(path)
    try:
        owner = path.stat().st_uid if path is not None else -1
    except OSError:
        owner = -1
    if login == os_login() and os.getuid() == owner:
        return
    agent = store.agent_by_login(login)
    if agent is not None and agent.active and not agent.board_only and agent.role in roles:
        return
    raise PermissionDenied(
        _("the mail commands run as the database's owner account or as {roles}; {login} is neither").format(
            roles=" / ".join(_(r) for r in roles), login=login
        )
    )
