"""A ticket's mail as the console shows it (a record of its own, so the ticket view can hold it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class MailDetail:
    """A ticket's mail for the console: each outgoing message (sent, waiting or failed) and the attachments."""

    outbox: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    automatic: dict[int, str] = field(default_factory=dict)  # message row -> why it is automatic mail

    def status_of(self, message_row: int) -> dict[str, Any] | None:
        """The outgoing message that carries the reply ``message_row``, if it was mailed."""
        return next((m for m in self.outbox if m["message_row"] == message_row), None)
