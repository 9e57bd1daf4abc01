"""Who is at the keyboard when no `--as` is given: the operating-system user."""

from __future__ import annotations

import getpass
import os


def default_agent_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry inside some containers
        return os.environ.get("USER", "agent")
