"""Drafts of the composer, kept on disk so that a reply being written survives Esc, a crash or a dropped SSH session.

One small JSON file per database, agent, ticket and kind (reply or note) under the user's state directory
(``HELPDESK_STATE_DIR`` overrides it), readable by its owner alone: a draft may quote the customer. Losing a draft
is never worth stopping the console for, so failures to read or write are reported as False/None, never raised.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

STATE_ENV = "HELPDESK_STATE_DIR"


def state_dir() -> Path:
    """Where the console keeps its state: ``$HELPDESK_STATE_DIR``, else the platform's user state directory."""
    override = os.environ.get(STATE_ENV, "").strip()
    if override:
        return Path(override)
    from platformdirs import user_state_dir

    return Path(user_state_dir("helpdesk", appauthor=False))


@dataclass(frozen=True)
class DraftKey:
    """Whose draft of what: the database (its resolved path), the agent, the ticket and the kind."""

    db: str
    agent: str
    ticket: int
    kind: str

    def file_name(self) -> str:
        identity = json.dumps([self.db, self.agent, self.ticket, self.kind], ensure_ascii=False)
        return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32] + ".json"


@dataclass(frozen=True)
class Draft:
    text: str
    macro: str | None
    saved_at: float


class DraftStore:
    """The drafts directory. Nothing is touched until the first draft is saved or looked up."""

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory

    @property
    def directory(self) -> Path:
        if self._directory is None:
            self._directory = state_dir() / "drafts"
        return self._directory

    def _path(self, key: DraftKey) -> Path:
        return self.directory / key.file_name()

    def load(self, key: DraftKey) -> Draft | None:
        """The saved draft, or None (none saved, or unreadable: a damaged draft is left alone, not trusted)."""
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            if [data["db"], data["agent"], data["ticket"], data["kind"]] != [key.db, key.agent, key.ticket, key.kind]:
                return None
            text, macro = data["text"], data.get("macro")
            if not isinstance(text, str) or not text.strip() or not (macro is None or isinstance(macro, str)):
                return None
            return Draft(text, macro, float(data.get("saved_at", 0)))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, key: DraftKey, text: str, macro: str | None = None) -> bool:
        """Keep ``text`` (an empty one removes the draft); False when it could not be written. The file is replaced
        whole (write a temporary file, then rename), so a crash leaves the old draft or the new one."""
        if not text.strip():
            return self.discard(key)
        record = {
            "db": key.db,
            "agent": key.agent,
            "ticket": key.ticket,
            "kind": key.kind,
            "text": text,
            "macro": macro,
            "saved_at": time.time(),
        }
        path = self._path(key)
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                os.fchmod(out.fileno(), 0o600)  # whatever the umask, and over a stale temporary file
                out.write(json.dumps(record, ensure_ascii=False))
            os.replace(temp, path)
            return True
        except OSError:
            with contextlib.suppress(OSError):
                temp.unlink()
            return False

    def discard(self, key: DraftKey, *, only_if: str | None = None) -> bool:
        """Remove the draft (when ``only_if`` is given, only if the saved text is that: a sent reply must not take
        a newer draft with it). False when it could not be removed."""
        if only_if is not None:
            saved = self.load(key)
            if saved is None or saved.text != only_if:
                return True
        try:
            self._path(key).unlink(missing_ok=True)
            return True
        except OSError:
            return False
