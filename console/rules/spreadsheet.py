"""Cells a spreadsheet would run as formulas: the one rule for every CSV file the program writes (report, export).

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to Excel, LibreOffice and
Google Sheets (``=HYPERLINK(…)``, ``@SUM(…)``); such a cell gets a leading apostrophe, which spreadsheets read as
"this is text". A cell that already starts with an apostrophe gets another, so reading the file back is exact.
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def formula_safe(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet shows rather than runs."""
    return "'" + text if text.startswith(FORMULA_START) else text


def formula_unguarded(text: str) -> str:
    """The inverse of :func:`formula_safe` on the cells it wrote. An apostrophe before anything else is kept: a
    file written by hand may start a cell with one ("'Twas")."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text
