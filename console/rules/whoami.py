"""Who is at the keyboard: the operating system's word for it, never a name the user typed or set.

The login comes from the password database by the process's real user id ($USER and $LOGNAME are the user's to
set). On a shared host the agents run `sudo -u helpdesk helpdesk …`: the process then runs as the service account
that owns the database, and the person is the one sudo recorded (SUDO_UID). That record is believed only when this
process runs as the database's owner: sudo sets it and resets the rest of the environment, and an agent who could
set it by hand while running as the owner could edit the file directly anyway.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path


def login_of(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid with no passwd entry (some containers): still a stable, unforgeable name
        return f"uid-{uid}"


def os_login() -> str:
    """The login of the process's real user."""
    return login_of(os.getuid())


def _owner(path: Path) -> int | None:
    for candidate in (path, path.parent):
        try:
            return candidate.stat().st_uid
        except OSError:
            continue
    return None


def invoking_login(database: Path | None = None) -> str:
    """The person running this command: sudo's invoking user when this process runs, through sudo, as the account
    that owns ``database`` (or its directory, before the file exists); otherwise the process's own login."""
    sudo_uid = os.environ.get("SUDO_UID", "")
    uid = os.getuid()
    if database is not None and sudo_uid.isdigit() and int(sudo_uid) != uid and _owner(database) == uid:
        return login_of(int(sudo_uid))
    return os_login()


def default_agent_name() -> str:
    """The name shown before the database says who the login belongs to (the console's first frame)."""
    return os_login()


def process_name() -> str:
    """This process among all that open the database, as a lease names its holder: host and pid."""
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"
