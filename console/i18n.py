"""One translation function for every user-facing string.

Catalogs are GNU gettext: ``locale/<lang>/LC_MESSAGES/helpdesk.po`` is the source, the ``.mo`` beside it is
compiled from it (a test fails when they drift apart, or when a string in the sources is missing from a catalog).
Strings defined at import time (binding descriptions, class constants) are marked with ``N_`` (plural pairs with
``nN_``) and translated where they are shown, so the language can be chosen after import.

Maintenance (needs Babel, a test dependency)::

    python -m console.i18n update    # extract from console/ and widgets/, merge into every .po, compile
    python -m console.i18n check     # list msgids still untranslated (exit 1 if any)
    python -m console.i18n compile   # .po -> .mo only
"""

from __future__ import annotations

import gettext
import locale
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

DOMAIN = "helpdesk"
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("en", "zh")
TRANSLATED = ("zh",)
"""Languages with a catalog (English is the msgids themselves)."""
ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("console", "widgets")
KEYWORDS: dict[str, tuple[int, ...] | None] = {"_": None, "N_": None, "ngettext": (1, 2), "nN_": (1, 2)}
"""Babel extractor keywords: the functions whose literal arguments are msgids."""

MessageId = str | tuple[str, str]

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
# and the command palette once translated like ours (console/ui.py: translate_bindings).
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


# -- catalog maintenance (Babel: a test dependency, never imported at run time) -------------------------------


def catalog_path(lang: str, suffix: str = ".po") -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


def extract_messages(root: Path = ROOT) -> dict[MessageId, list[str]]:
    """Every msgid in the sources, with the files it occurs in (in file order).

    Babel's Python extractor finds the calls; on Python < 3.12 it cannot see inside f-strings, so an AST pass adds
    the calls written there (``f"{_('Status')}: …"``).
    """
    from babel.messages.extract import extract_from_dir

    found: dict[MessageId, list[str]] = {}

    def add(message: MessageId, where: str) -> None:
        places = found.setdefault(message, [])
        if where not in places:
            places.append(where)

    for folder in SOURCE_DIRS:
        base = root / folder
        for filename, _line, message, _comments, _context in extract_from_dir(
            base, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            key = _message_key(message)
            if key is not None:
                add(key, f"{folder}/{filename}")
        for path in sorted(base.rglob("*.py")):
            for key in calls_in_fstrings(path.read_text(encoding="utf-8")):
                add(key, path.relative_to(root).as_posix())
    return found


def _message_key(message: Any) -> MessageId | None:
    if isinstance(message, str):
        return message or None
    if isinstance(message, tuple) and len(message) >= 2 and all(isinstance(m, str) and m for m in message[:2]):
        return (message[0], message[1])
    return None


def calls_in_fstrings(source: str) -> Iterator[MessageId]:
    """Translation calls with literal arguments inside f-strings."""
    import ast  # maintenance and tests only: kept off the start-up path

    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.JoinedStr):
            continue
        for call in ast.walk(node):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in KEYWORDS):
                continue
            literals = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if KEYWORDS[call.func.id] is None and literals:
                yield literals[0]
            elif len(literals) >= 2:
                yield (literals[0], literals[1])


def update_catalogs(root: Path = ROOT) -> dict[str, list[MessageId]]:
    """Merge the sources' msgids into every translated catalog and compile; returns what is still untranslated.

    New msgids arrive untranslated (no fuzzy guesses: a wrong guess would ship); msgids gone from the sources are
    dropped (git keeps their history).
    """
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    template = Catalog(domain=DOMAIN, project="helpdesk", version="", fuzzy=False)
    for message, places in extract_messages(root).items():
        template.add(message, locations=[(place, 0) for place in places])  # files only: lines churn
    missing: dict[str, list[MessageId]] = {}
    for lang in TRANSLATED:
        path = catalog_path(lang)
        if path.exists():
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=lang, domain=DOMAIN, project="helpdesk", version="", fuzzy=False)
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        # Babel writes placeholders ("FULL NAME <EMAIL@ADDRESS>") for these when unset.
        catalog.project, catalog.version = "helpdesk", "0.1"
        catalog.msgid_bugs_address = "the project's issue tracker"
        catalog.last_translator = catalog.language_team = "helpdesk maintainers"
        with path.open("wb") as out:
            write_po(out, catalog, ignore_obsolete=True, include_lineno=False, width=120)
        missing[lang] = untranslated(lang)
    compile_catalogs()
    return missing


def untranslated(lang: str) -> list[MessageId]:
    from babel.messages.pofile import read_po

    with catalog_path(lang).open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    gaps: list[MessageId] = []
    for message in catalog:
        if not message.id:
            continue  # the header
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            gaps.append(message.id if isinstance(message.id, str) else (message.id[0], message.id[1]))
    return gaps


def compile_mo(po_path: Path) -> bytes:
    """The .mo bytes for a .po (what `compile` writes; the test compares them with the committed file)."""
    import io

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path.open("rb") as fh:
        catalog = read_po(fh)
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def compile_catalogs() -> None:
    """Compile every .po into its .mo."""
    for po_path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
        po_path.with_suffix(".mo").write_bytes(compile_mo(po_path))


def _main(argv: list[str]) -> int:
    if argv == ["compile"]:
        compile_catalogs()
        return 0
    if argv in (["update"], ["check"]):
        gaps = update_catalogs() if argv == ["update"] else {lang: untranslated(lang) for lang in TRANSLATED}
        for lang, messages in gaps.items():
            for message in messages:
                print(f"{lang}: untranslated: {message!r}")
        return 1 if any(gaps.values()) else 0
    print("usage: python -m console.i18n update|check|compile", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    sys.exit(_main(sys.argv[1:]))
