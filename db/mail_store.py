"""The e-mail channel's tables (db/schema.py `_mail_tables`): messages by Message-ID, the outbox, attachments and the
fetcher's and sender's state. Every writer here runs inside the caller's `Store.write` transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from db.store import ts
from db.store_api import StoreAPI

OUTBOX_STATUSES = ("waiting", "sent", "failed")


class MailStore:
    """Queries and commands on the mail tables, over one store (its connection, lock and transactions)."""

    def __init__(self, store: StoreAPI) -> None:
        self.store = store

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.store._execute(sql, list(params))

    # -- messages by Message-ID ----------------------------------------------------------------------------

    def find(self, message_id: str) -> dict[str, Any] | None:
        return self.store._one("SELECT * FROM mail_messages WHERE message_id = ?", [message_id])

    def tickets_of(self, message_ids: Iterable[str]) -> list[int]:
        """The tickets the given Message-IDs were sent or received on, most recent message first."""
        ids = [m for m in dict.fromkeys(message_ids) if m]
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        rows = self.store._tuples(
            f"SELECT ticket_id FROM mail_messages WHERE message_id IN ({marks}) AND ticket_id IS NOT NULL"
            " ORDER BY id DESC",
            ids,
        )
        return list(dict.fromkeys(int(r[0]) for r in rows))

    def record(self, fields: Mapping[str, Any], at: datetime) -> int:
        return self.store._insert("mail_messages", {**fields, "at": ts(at)})

    def add_attachment(self, fields: Mapping[str, Any]) -> int:
        return self.store._insert("mail_attachments", dict(fields))

    def attachments(self, ticket_id: int) -> list[dict[str, Any]]:
        return self.store._rows(
            "SELECT a.*, m.message_id FROM mail_attachments a JOIN mail_messages m ON m.id = a.mail_id"
            " WHERE a.ticket_id = ? ORDER BY a.id",
            [ticket_id],
        )

    def automatic_rows(self, ticket_id: int) -> dict[int, str]:
        """The ticket's messages that came as automatic mail (message row -> why it counts as automatic)."""
        rows = self.store._tuples(
            "SELECT message_row, auto FROM mail_messages WHERE ticket_id = ? AND direction = 'in' AND auto IS NOT NULL"
            " AND message_row IS NOT NULL",
            [ticket_id],
        )
        return {int(r[0]): str(r[1]) for r in rows}

    def tickets_opened_by(self, sender: str, since: datetime) -> int:
        row = self.store._tuples(
            "SELECT count(*) FROM mail_messages WHERE opened_ticket = 1 AND sender = ? AND at >= ?",
            [sender, ts(since)],
        )
        return int(row[0][0])

    def thread(self, ticket_id: int) -> list[dict[str, Any]]:
        """Every message of the ticket's thread, in order (the References of a reply)."""
        return self.store._rows(
            "SELECT message_id, direction, sender, auto, outcome FROM mail_messages WHERE ticket_id = ? ORDER BY id",
            [ticket_id],
        )

    def last_message_row(self, ticket_id: int, kind: str) -> int | None:
        rows = self.store._tuples("SELECT max(id) FROM messages WHERE ticket_id = ? AND kind = ?", [ticket_id, kind])
        return None if rows[0][0] is None else int(rows[0][0])

    def has_thread(self, ticket_id: int) -> bool:
        rows = self.store._tuples(
            "SELECT 1 FROM mail_messages WHERE ticket_id = ? AND direction = 'in' LIMIT 1",
            [ticket_id],
        )
        return bool(rows)

    def count_messages(self) -> dict[str, int]:
        rows = self.store._tuples("SELECT outcome, count(*) FROM mail_messages WHERE direction = 'in' GROUP BY 1")
        return {str(k): int(v) for k, v in rows}

    # -- the outbox ----------------------------------------------------------------------------------------

    def enqueue(self, fields: Mapping[str, Any], at: datetime) -> int:
        """An outgoing message, and its Message-ID among the thread's (a reply to it is threaded by it)."""
        outbox_id = self.store._insert("mail_outbox", {**fields, "created_at": ts(at), "status": "waiting"})
        self.record(
            {
                "message_id": fields["message_id"],
                "direction": "out",
                "ticket_id": fields["ticket_id"],
                "message_row": fields.get("message_row"),
                "sender": "",
                "subject": fields["subject"],
                "auto": "auto-replied" if fields.get("auto") else None,
                "outcome": "queued",
            },
            at,
        )
        return outbox_id

    def outbox_row(self, outbox_id: int) -> dict[str, Any] | None:
        return self.store._one("SELECT * FROM mail_outbox WHERE id = ?", [outbox_id])

    def outbox_by_message_id(self, message_id: str) -> dict[str, Any] | None:
        return self.store._one("SELECT * FROM mail_outbox WHERE message_id = ?", [message_id])

    def due(self, now: float, limit: int = 50) -> list[dict[str, Any]]:
        return self.store._rows(
            "SELECT * FROM mail_outbox WHERE status = 'waiting' AND next_at <= ? ORDER BY next_at, id LIMIT ?",
            [now, limit],
        )

    def next_due(self) -> float | None:
        rows = self.store._tuples("SELECT min(next_at) FROM mail_outbox WHERE status = 'waiting'")
        return None if rows[0][0] is None else float(rows[0][0])

    def mark_sent(self, outbox_id: int, at: datetime) -> bool:
        return (
            self._exec(
                "UPDATE mail_outbox SET status = 'sent', sent_at = ?, last_error = NULL, attempts = attempts + 1"
                " WHERE id = ? AND status = 'waiting'",
                [ts(at), outbox_id],
            )
            > 0
        )

    def mark_retry(self, outbox_id: int, error: str, next_at: float) -> None:
        self._exec(
            "UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?, next_at = ? WHERE id = ?"
            " AND status = 'waiting'",
            [error, next_at, outbox_id],
        )

    def mark_failed(self, outbox_id: int, error: str) -> bool:
        """A permanent failure (refused by the server, or bounced after it was sent)."""
        return (
            self._exec(
                "UPDATE mail_outbox SET status = 'failed', last_error = ? WHERE id = ? AND status <> 'failed'",
                [error, outbox_id],
            )
            > 0
        )

    def retry_failed(self, outbox_id: int) -> bool:
        return (
            self._exec(
                "UPDATE mail_outbox SET status = 'waiting', next_at = 0, last_error = NULL WHERE id = ?"
                " AND status = 'failed'",
                [outbox_id],
            )
            > 0
        )

    def outbox_for(self, ticket_id: int) -> list[dict[str, Any]]:
        return self.store._rows(
            "SELECT id, message_row, kind, message_id, to_addr, subject, status, attempts, last_error, created_at,"
            " sent_at FROM mail_outbox WHERE ticket_id = ? ORDER BY id",
            [ticket_id],
        )

    def outbox(self, statuses: Sequence[str] = OUTBOX_STATUSES, limit: int = 200) -> list[dict[str, Any]]:
        marks = ", ".join("?" * len(statuses))
        return self.store._rows(
            f"SELECT id, ticket_id, kind, message_id, to_addr, status, attempts, last_error, created_at, sent_at"
            f" FROM mail_outbox WHERE status IN ({marks}) ORDER BY id DESC LIMIT ?",
            [*statuses, limit],
        )

    def outbox_counts(self) -> dict[str, int]:
        rows = self.store._tuples("SELECT status, count(*) FROM mail_outbox GROUP BY status")
        counts = dict.fromkeys(OUTBOX_STATUSES, 0)
        counts.update({str(k): int(v) for k, v in rows})
        return counts

    def failed_tickets(self, ticket_ids: Sequence[int]) -> set[int]:
        """Which of ``ticket_ids`` hold an outgoing message that failed for good (the queue's mark)."""
        if not ticket_ids:
            return set()
        marks = ", ".join("?" * len(ticket_ids))
        rows = self.store._tuples(
            f"SELECT DISTINCT ticket_id FROM mail_outbox WHERE status = 'failed' AND ticket_id IN ({marks})",
            list(ticket_ids),
        )
        return {int(r[0]) for r in rows}

    # -- the fetcher's and sender's state ---------------------------------------------------------------------

    def set_ok(self, part: str, at: datetime) -> None:
        self._exec(
            "INSERT INTO mail_state (part, ok_at, failures) VALUES (?, ?, 0) ON CONFLICT(part) DO UPDATE SET"
            " ok_at = excluded.ok_at, failures = 0, error = NULL",
            [part, ts(at)],
        )

    def set_error(self, part: str, error: str, at: datetime) -> None:
        self._exec(
            "INSERT INTO mail_state (part, error, error_at, failures) VALUES (?, ?, ?, 1) ON CONFLICT(part) DO"
            " UPDATE SET error = excluded.error, error_at = excluded.error_at, failures = failures + 1",
            [part, error, ts(at)],
        )

    def state(self) -> dict[str, dict[str, Any]]:
        return {str(r["part"]): r for r in self.store._rows("SELECT * FROM mail_state ORDER BY part")}
