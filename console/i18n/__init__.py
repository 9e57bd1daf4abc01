"""One translation function for every user-facing string.

Catalogs are GNU gettext: ``locale/<lang>/LC_MESSAGES/helpdesk.po`` is the source, the ``.mo`` beside it is
compiled from it (a test fails when they drift apart, or when a string in the sources is missing from a catalog).
Strings defined at import time (binding descriptions, class constants) are marked with ``N_`` (plural pairs with
``nN_``) and translated where they are shown, so the language can be chosen after import.

Maintenance of the catalogs (Babel, a test dependency) is in ``console.i18n.catalog``.
"""

from __future__ import annotations

import gettext
import locale
import os
from collections.abc import Callable
from pathlib import Path

DOMAIN = "helpdesk"
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("en", "zh")
TRANSLATED = ("zh",)
"""Languages with a catalog (English is the msgids themselves)."""

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def _normalise(value: str | None) -> str | None:
    if not value:
        return None
    code = value.replace("-", "_").split(".")[0].split("@")[0].lower()
    if code.startswith("zh"):
        return "zh"
    if code.startswith("en") or code in ("c", "posix"):
        return "en"
    return None


def detect_language(explicit: str | None = None) -> str:
    """``--lang``, then ``HELPDESK_LANG``, then the locale; anything unknown is English."""
    for candidate in (
        explicit,
        os.environ.get("HELPDESK_LANG"),
        os.environ.get("LC_ALL"),
        os.environ.get("LC_MESSAGES"),
        os.environ.get("LANG"),
    ):
        if candidate:
            found = _normalise(candidate)
            return found or "en"
    try:
        loc = locale.getlocale()[0]
    except ValueError:
        loc = None
    return _normalise(loc) or "en"


def set_language(lang: str | None) -> str:
    """Activate a language for this process; returns the one in force."""
    global _translation, _language
    chosen = _normalise(lang) or "en"
    if chosen == "en":
        _translation = gettext.NullTranslations()
    else:
        _translation = gettext.translation(DOMAIN, LOCALE_DIR, languages=[chosen], fallback=True)
    _language = chosen
    _route_argparse()
    return chosen


def language() -> str:
    return _language


def _(message: str) -> str:
    """Translate a user-facing string into the active language."""
    # gettext("") is the catalog's header, never what a caller showing an empty label wants.
    return _translation.gettext(message) if message else message


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet (translated where it is shown)."""
    return message


def nN_(singular: str, plural: str) -> tuple[str, str]:
    """Mark a plural pair for extraction without translating it yet (``ngettext(*pair, n)`` where shown)."""
    return singular, plural


# -- words that come from other packages -------------------------------------------------------------------

# Codes other modules translate by value (`_(ticket.channel)`, `_(agent.role)`, `_(not_found.kind)`); marked here
# so they are extracted.
CODE_MESSAGES = (
    N_("ticket"),
    N_("article"),
    N_("phone"),
    N_("email"),
    N_("chat"),
    N_("web"),
    N_("onsite"),
    N_("agent"),
    N_("supervisor"),
    N_("admin"),
)

# Textual's own key descriptions (app, screen and the stock widgets we use), shown in the footer, the key help
# and the command palette once translated like ours (console/tui/ui.py: translate_bindings).
TEXTUAL_MESSAGES = (
    N_("palette"),
    N_("Open the command palette"),
    N_("Search for commands…"),
    N_("Focus Next"),
    N_("Focus Previous"),
    N_("Copy selected text"),
    N_("Cut selected text"),
    N_("Paste text from the clipboard"),
    N_("Next tab"),
    N_("Previous tab"),
    N_("Move cursor left"),
    N_("Move cursor left and select"),
    N_("Move cursor left a word"),
    N_("Move cursor left a word and select"),
    N_("Move cursor right or accept the completion suggestion"),
    N_("Move cursor right and select"),
    N_("Move cursor right a word"),
    N_("Move cursor right a word and select"),
    N_("Delete character left"),
    N_("Delete character right"),
    N_("Delete left to start of word"),
    N_("Delete right to start of word"),
    N_("Delete all to the left"),
    N_("Delete all to the right"),
    N_("Select all"),
    N_("Go to start"),
    N_("Go to end"),
    N_("Select line start"),
    N_("Select line end"),
    N_("Scroll Up"),
    N_("Scroll Down"),
    N_("Scroll Left"),
    N_("Scroll Right"),
    N_("Scroll Home"),
    N_("Scroll End"),
    N_("Page Up"),
    N_("Page Down"),
    N_("Page Left"),
    N_("Page Right"),
    N_("Cursor up"),
    N_("Cursor down"),
    N_("Cursor left"),
    N_("Cursor right"),
    N_("Cursor word left"),
    N_("Cursor word right"),
    N_("Cursor line start"),
    N_("Cursor line end"),
    N_("Cursor page up"),
    N_("Cursor page down"),
    N_("Cursor left word select"),
    N_("Cursor right word select"),
    N_("Cursor line start select"),
    N_("Cursor line end select"),
    N_("Cursor up select"),
    N_("Cursor down select"),
    N_("Cursor left select"),
    N_("Cursor right select"),
    N_("Select line"),
    N_("Cut"),
    N_("Copy"),
    N_("Paste"),
    N_("Delete to line start"),
    N_("Delete to line end"),
    N_("Delete line"),
    N_("Undo"),
    N_("Redo"),
    N_("Show menu"),
    N_("Select"),
    N_("Toggle"),
    N_("Next option"),
    N_("Previous option"),
    N_("Press button"),
    N_("Top"),
    N_("Bottom"),
    N_("Home"),
    N_("End"),
)

# argparse's words live in Python's gettext domain `argparse`, which ships no Chinese. argparse looks its module
# globals `_` and `ngettext` up at call time, so pointing them at our catalog translates help and errors too.
ARGPARSE_MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"),
    N_("ignored explicit argument %r"),
    N_("can't open '%(filename)s': %(error)s"),
)
ARGPARSE_PLURALS = (nN_("expected %s argument", "expected %s arguments"),)

_argparse_originals: tuple[Callable[[str], str], Callable[[str, str, int], str]] | None = None


def _argparse_gettext(message: str) -> str:
    translated = _translation.gettext(message)
    if translated != message or _argparse_originals is None:
        return translated
    return _argparse_originals[0](message)  # not ours: argparse's own domain, as before


def _argparse_ngettext(singular: str, plural: str, n: int) -> str:
    translated = _translation.ngettext(singular, plural, n)
    if translated not in (singular, plural) or _argparse_originals is None:
        return translated
    return _argparse_originals[1](singular, plural, n)


def _route_argparse() -> None:
    global _argparse_originals
    if _argparse_originals is not None:
        return
    import argparse

    namespace = vars(argparse)
    _argparse_originals = (namespace["_"], namespace["ngettext"])
    namespace["_"] = _argparse_gettext
    namespace["ngettext"] = _argparse_ngettext


def catalog_path(lang: str, suffix: str = ".po") -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}{suffix}"
