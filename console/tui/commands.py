"""The command palette's entries drawn as plain text.

Textual's own system-commands provider reads every title and help line as content markup, and the console's
entries carry configuration text (macro titles): ``Greeting [/unclosed`` would crash the palette, and
``[@click=app.quit]x[/]`` would become a live link. This provider shows the same entries
(``App.get_system_commands``) through ``plain``, highlighting fuzzy matches on the plain text itself.
"""

from __future__ import annotations

from typing import cast

from textual.app import SystemCommand
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from widgets.safe_text import clean, fit, plain

TITLE_CELLS = 80
"""Titles are cut to one palette line: longer ones would wrap, and the fuzzy matcher's cost grows steeply with
the candidate's length (a 10,000-character macro title would freeze the palette while typing)."""


def _title(text: str) -> str:
    return fit(clean(text), TITLE_CELLS).rstrip()


def _help(text: str) -> str:
    # The palette reads help through `Content.from_markup`, which hands a `Content` back unchanged: plain text.
    return cast("str", Content.from_rich_text(plain(text)))


class PlainSystemCommands(Provider):
    """`App.get_system_commands` in the palette, every title and help line drawn literally."""

    def _commands(self) -> list[SystemCommand]:
        return [c._replace(title=_title(c.title)) for c in self.app.get_system_commands(self.screen)]

    async def discover(self) -> Hits:
        for command in sorted(self._commands(), key=lambda command: command.title):
            if command.discover:
                yield DiscoveryHit(plain(command.title), command.callback, command.title, _help(command.help))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            title = command.title
            score, offsets = matcher.fuzzy_search.match(matcher.query, title)
            if score > 0:
                shown = Content.from_rich_text(plain(title))
                for offset in offsets:
                    if not title[offset].isspace():
                        shown = shown.stylize(matcher.match_style, offset, offset + 1)
                yield Hit(score, shown, command.callback, title, _help(command.help))
