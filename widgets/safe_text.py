"""Untrusted text made safe to draw in a fixed-width cell.

Customer subjects and names reach the terminal through widgets that build Rich ``Text``/``Segment``
objects directly (never markup), so ``[bold]`` is shown as typed. What markup parsing cannot catch is the
text itself carrying terminal controls: an ESC starts an escape sequence, BEL ends an OSC hyperlink or a
window-title change, CR/LF/TAB move the cursor and wreck column alignment, bidi overrides reorder what
follows (the "Trojan Source" trick), and a lone surrogate cannot be encoded at all and would crash the
write. ``clean`` swaps every one of them for a visible stand-in, so an agent can see that something odd
was there.
"""

from __future__ import annotations

from typing import Literal

from rich.cells import cell_len, get_character_cell_size

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


def clean(text: str) -> str:
    """Replace control, bidi and zero-width characters with visible substitutes (one cell each)."""
    if text.isascii() and text.isprintable():
        return text  # the common case costs one scan
    return text.translate(_TABLE)


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
