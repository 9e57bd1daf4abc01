"""A whole helpdesk database as rows, table by table: what `helpdesk migrate` copies from a SQLite file into a
PostgreSQL database (db/store.py reads, db/pg/store.py writes), and what `helpdesk check --json` counts on either.

Every table is copied, derived ones included (stored figures, report rollups, the change feed with its position), so
the copy needs no rebuild and reads the same from its first open. The knowledge search's index is not a table here:
SQLite's FTS5 tables are built from kb_articles, as PostgreSQL's search is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from db.errors import StoreError

# Parents before the rows that refer to them (PostgreSQL checks each foreign key as its table is copied).
TABLES: tuple[str, ...] = (
    "agents",
    "customers",
    "tickets",
    "messages",
    "events",
    "sla_marks",
    "kb_articles",
    "ticket_kb",
    "settings",
    "csat",
    "presence",
    "changes",
    "ticket_figures",
    "leases",
    "upkeep",
    "report_tickets",
    "report_days",
    "report_hist",
    "report_state",
    "mail_messages",
    "mail_outbox",
    "mail_attachments",
    "mail_state",
)
# Tables whose rows the schema itself writes (their starting values): a new database holds these and is still
# empty; the copy replaces them with the source's.
SEEDED = frozenset({"upkeep", "report_state"})
BATCH = 2000  # rows read at a time, and between progress reports


class CopySource(Protocol):
    """The database copied from (db/store.py's Store, opened read-only)."""

    @property
    def path(self) -> Path | str: ...

    def snapshot(self) -> AbstractContextManager[None]: ...

    def table_counts(self) -> dict[str, int]: ...

    def copy_columns(self, table: str) -> list[str]: ...

    def copy_rows(self, table: str) -> Iterator[tuple[Any, ...]]: ...

    def feed_cursor(self) -> int: ...

    def chain_head(self) -> tuple[int, str | None]: ...


class CopyRefused(StoreError):
    """Why a copy was not made (nothing was written): ``reason`` one of the constants, ``detail`` what was found."""

    NOT_OWNER = "not_owner"
    NOT_EMPTY = "not_empty"
    TABLES_DIFFER = "tables_differ"
    BROKEN_CHAIN = "broken_chain"
    ROLES = "roles"
    ROWS = "rows"

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
