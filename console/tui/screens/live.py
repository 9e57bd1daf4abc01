"""A screen that follows the database: it polls PRAGMA data_version in a worker and reloads when another
process committed (agents in other terminals, imports)."""

from __future__ import annotations

from typing import cast

from textual import work
from textual.screen import Screen

from console.tui.ui import CommitWatch, Host


class LiveScreen(Screen[None]):
    def __init__(self) -> None:
        super().__init__()
        self._commits: CommitWatch | None = None

    @property
    def helpdesk(self) -> Host:
        return cast("Host", self.app)

    def on_foreign_commit(self) -> None:
        """Called on the UI thread when another process has committed since the last look."""

    def _watch(self) -> CommitWatch:
        if self._commits is None:
            self._commits = CommitWatch(self.helpdesk.service.data_version)
        return self._commits

    def _poll(self) -> None:
        self._check_version()

    @work(thread=True, exclusive=True, group="poll")
    def _check_version(self) -> None:
        if self.helpdesk.wait_for_service() is None:
            return
        if self._watch().changed():
            self.app.call_from_thread(self.on_foreign_commit)
