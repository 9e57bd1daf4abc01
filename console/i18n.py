"""One translation function for every user-facing string.

Catalogs are GNU gettext: ``locale/<lang>/LC_MESSAGES/helpdesk.po`` is the source, the ``.mo`` beside it is
compiled from it (``python -m console.i18n compile``; a test fails when they drift apart).
Strings defined at import time (binding descriptions, class constants) are marked with ``N_`` and
translated where they are shown, so the language can be chosen after import.
"""

from __future__ import annotations

import gettext
import locale
import os
import sys
from pathlib import Path

DOMAIN = "helpdesk"
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("en", "zh")

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
    return chosen


def language() -> str:
    return _language


def _(message: str) -> str:
    """Translate a user-facing string into the active language."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet (translated where it is shown)."""
    return message


def compile_catalogs() -> None:
    """Compile every .po into its .mo (needs Babel, a test dependency)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
        with po_path.open("rb") as fh:
            catalog = read_po(fh)
        with po_path.with_suffix(".mo").open("wb") as out:
            write_mo(out, catalog)


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    if sys.argv[1:] == ["compile"]:
        compile_catalogs()
    else:
        print("usage: python -m console.i18n compile", file=sys.stderr)
        sys.exit(2)
