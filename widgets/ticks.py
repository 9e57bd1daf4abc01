"""A checkbox and a radio button whose state reads as text: ``[x]``/``[ ]`` and ``(•)``/``( )``.

Textual draws both as ``▐X▌``/``▐●▌`` whatever their value and shows the value by colour alone, so on a
monochrome terminal, in a screen reader or in a copied screen an unticked box looks ticked.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox, RadioButton

TICKED, UNTICKED = "[x]", "[ ]"
CHOSEN, UNCHOSEN = "(•)", "( )"


class TickBox(Checkbox):
    """A checkbox drawn ``[x] label`` when ticked and ``[ ] label`` when not."""

    @property
    def _button(self) -> Content:
        return Content.styled(TICKED if self.value else UNTICKED, "bold" if self.value else "")


class Choice(RadioButton):
    """A radio button drawn ``(•) label`` when chosen and ``( ) label`` when not."""

    @property
    def _button(self) -> Content:
        return Content.styled(CHOSEN if self.value else UNCHOSEN, "bold" if self.value else "")
