"""Untrusted text made safe to draw in a fixed-width cell.

Customer subjects and names reach the terminal through widgets that build Rich ``Text``/``Segment``
objects directly (never markup), so ``[bold]`` is shown as typed. What markup parsing cannot catch is the
text itself carrying terminal controls: an ESC starts an escape sequence, BEL ends an OSC hyperlink or a
window-title change, CR/LF/TAB move the cursor and wreck column alignment, bidi overrides reorder what
follows (the "Trojan Source" trick), and a lone surrogate cannot be encoded at all and would crash the
write. ``clean`` swaps every one of them for a visible stand-in, so an agent can see that something odd
was there.

``plain`` is the one way untrusted text (customers', agents', and configuration's: macro titles, article titles,
names, tiers, phrase rules) is handed to a Textual or Rich renderer that would otherwise read a ``str`` as markup:
``Static``/``Label``, ``OptionList`` options, ``Select`` choices, ``DataTable`` cells, the command palette. Code
that styles parts of a line appends ``clean`` text to a ``Text`` (``Text.append`` never parses markup) or draws
``Segment``s of it; a widget that only takes a ``str`` (``TextArea``, ``notify``) is given ``clean`` text with
markup off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from rich.cells import cell_len, get_character_cell_size

if TYPE_CHECKING:
    from rich.text import Text

ELLIPSIS = "…"

_SUBSTITUTES: dict[int, str] = {code: chr(0x2400 + code) for code in range(0x20)}  # ␀ … ␟, ␛ for ESC
_SUBSTITUTES[0x7F] = "␡"
_SUBSTITUTES.update({code: "\ufffd" for code in range(0x80, 0xA0)})  # C1, including CSI (0x9B) and OSC (0x9D)
_SUBSTITUTES.update({code: "\ufffd" for code in range(0xD800, 0xE000)})  # lone surrogates
_INVISIBLE_FORMAT = (
    0x061C,  # Arabic letter mark
    0x180E,  # Mongolian vowel separator
    0x2028,  # line separator
    0x2029,  # paragraph separator
    0xFEFF,  # zero-width no-break space
    *range(0x200B, 0x2010),  # zero-width space/joiners, LRM, RLM
    *range(0x202A, 0x202F),  # bidi embeddings and overrides
    *range(0x2060, 0x2065),  # word joiner, invisible operators
    *range(0x2066, 0x206A),  # bidi isolates
)
_SUBSTITUTES.update(dict.fromkeys(_INVISIBLE_FORMAT, "\ufffd"))
_TABLE = str.maketrans(_SUBSTITUTES)
# Multi-line text keeps its line breaks and tabs (Textual expands tabs; nothing else moves the cursor).
_BLOCK_TABLE = str.maketrans({code: sub for code, sub in _SUBSTITUTES.items() if code not in (0x09, 0x0A)})


def clean(text: str, *, multiline: bool = False) -> str:
    """Replace control, bidi and zero-width characters with visible substitutes (one cell, one character each,
    so offsets into ``text`` still hold). ``multiline`` keeps newlines and tabs."""
    if text.isascii() and text.isprintable():
        return text  # the common case costs one scan
    return text.translate(_BLOCK_TABLE if multiline else _TABLE)


def plain(text: str, style: str = "", *, multiline: bool = False) -> Text:
    """Untrusted ``text`` as a renderable drawn literally: never read as markup, controls made visible.

    A Rich ``Text`` (not Textual ``Content``) because every sink the console uses takes it: ``DataTable`` measures
    it and ``Select`` searches it, where ``Content`` is measured as one cell and skipped."""
    from rich.text import Text  # imported here: the CLI uses this module and stays free of rendering imports

    return Text(clean(text, multiline=multiline), style=style)


def fit(text: str, width: int, align: Literal["left", "right"] = "left") -> str:
    """Pad or truncate already-clean ``text`` to exactly ``width`` terminal cells.

    Truncation ends in an ellipsis and never splits a double-width character (a cell left over goes
    after the ellipsis), so columns stay aligned with Chinese text.
    """
    if width <= 0:
        return ""
    length = cell_len(text)
    if length > width:
        kept = _cut(text, width - 1)
        return kept + ELLIPSIS + " " * (width - 1 - cell_len(kept))
    padding = " " * (width - length)
    return text + padding if align == "left" else padding + text


def _cut(text: str, cells: int) -> str:
    """The longest prefix of ``text`` that fits in ``cells``."""
    used = 0
    for index, character in enumerate(text):
        used += get_character_cell_size(character)
        if used > cells:
            return text[:index]
    return text
