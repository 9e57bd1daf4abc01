"""Writes made on the ticket as the agent saw it.

A dialog or the composer remembers the ticket version it opened on (`Seen`). Its write goes to the service with
that version; when the ticket changed meanwhile (another agent's note, a supervisor's reassignment) the service
refuses it (`Stale`) and nothing is written. The agent is then shown what changed, the ticket is read again
underneath, and the next submit goes out on the new version: a second, informed Ctrl+S.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from console.rules.errors import HelpdeskError, Stale

if TYPE_CHECKING:
    from rich.text import Text

    from console.rules.macros import MacroSet
    from console.rules.phrases import PhraseRules
    from console.service.ticket_view import TicketDetail
    from db.models import Agent


@dataclass(frozen=True)
class Seen:
    """What the agent looked at: the ticket's version and the newest event and message on screen."""

    version: int
    event_id: int
    message_id: int


def seen_in(detail: TicketDetail) -> Seen:
    return Seen(
        detail.ticket.version,
        max((e.id for e in detail.events), default=0),
        max((m.id for m in detail.messages), default=0),
    )


@dataclass(frozen=True)
class Loaded:
    """A ticket read for the screen, with what its dialogs and composer need (read off the UI thread)."""

    detail: TicketDetail
    calendar: Any
    agents: list[Agent]
    macros: MacroSet
    rules: PhraseRules


@dataclass(frozen=True)
class Outcome:
    """How a write of ``answer`` went: ``done`` (``loaded`` is the ticket after it, None if it could not be read;
    ``after`` what the agent has seen once it is shown: the write's own change on top of ``before``), ``stale``
    (nothing written; ``message`` is the service's reason, ``changes`` what changed since ``before``, ``loaded``
    the ticket now) or ``refused`` (nothing written; ``message`` says why)."""

    kind: Literal["done", "stale", "refused"]
    answer: object
    before: Seen
    message: str = ""
    loaded: Loaded | None = None
    changes: Text | None = None
    after: Seen | None = None


@dataclass
class VersionedWrite:
    """One write on one ticket, made on the version in ``seen``; `send` runs in a worker thread.

    ``call(answer, version)`` writes (raising `Stale` when the ticket is no longer at ``version``); ``load`` reads
    the ticket again; ``describe(detail, seen)`` says what changed since ``seen``. After a stale refusal ``seen``
    moves to the ticket as it is now, so the next `send` (the agent's second submit) writes on it."""

    seen: Seen
    call: Callable[[Any, int], object]
    load: Callable[[], Loaded]
    describe: Callable[[TicketDetail, Seen], Text]
    label: Callable[[Any], str] = field(default=lambda _answer: "")
    then: Callable[[Any], None] | None = None
    after: Callable[[Outcome], None] = field(default=lambda _outcome: None)

    def send(self, answer: object) -> Outcome:
        before = self.seen
        try:
            written = self.call(answer, before.version)
        except Stale as exc:
            try:
                loaded = self.load()
            except HelpdeskError as again:
                return Outcome("refused", answer, before, str(again))
            changes = self.describe(loaded.detail, before)
            self.seen = seen_in(loaded.detail)
            return Outcome("stale", answer, before, str(exc), loaded, changes)
        except HelpdeskError as exc:
            return Outcome("refused", answer, before, str(exc))
        version = getattr(written, "version", None)
        try:
            loaded_after: Loaded | None = self.load()
        except HelpdeskError:
            loaded_after = None  # written; the screen's next refresh shows it
        if loaded_after is not None and loaded_after.detail.ticket.version == version:
            after: Seen | None = seen_in(loaded_after.detail)
        else:  # another change came right after this one: the agent has not seen it
            after = Seen(version, before.event_id, before.message_id) if isinstance(version, int) else None
        return Outcome("done", answer, before, loaded=loaded_after, after=after)
