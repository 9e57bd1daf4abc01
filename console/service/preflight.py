"""Checks made before the console takes over the screen, with the standard library alone: the service itself (its
libraries cost about as much again as Textual) opens in a worker after the first frame."""

from __future__ import annotations

from pathlib import Path

from console.rules.errors import Unavailable
from db.connection import connect
from db.errors import DatabaseUnavailable


def check_database(path: Path, *, readonly: bool = False) -> None:
    """A missing, unreadable or damaged file raises Unavailable (one line, exit 5). ``readonly``: the wallboard,
    which needs to read the file only."""
    try:
        connect(path, readonly=readonly, create=False).close()
    except DatabaseUnavailable as exc:
        raise Unavailable(str(exc)) from exc


def check_server(url: str, *, readonly: bool = False) -> None:
    """A PostgreSQL server that cannot be reached, refuses the login or holds no helpdesk raises Unavailable: a
    connection opened and closed (psycopg loads here, before the screen: it is needed anyway)."""
    from console.service.core import open_store

    open_store(url, readonly=readonly).close()
