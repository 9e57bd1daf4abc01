"""Catalog maintenance: extract msgids from the sources, merge them into each .po, compile the .mo.

Needs Babel (a test dependency); never imported at run time::

    python -m console.i18n.catalog update    # extract from console/ and widgets/, merge into every .po, compile
    python -m console.i18n.catalog check     # list msgids still untranslated (exit 1 if any)
    python -m console.i18n.catalog compile   # .po -> .mo only
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from console.i18n import DOMAIN, LOCALE_DIR, TRANSLATED, catalog_path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("console", "widgets")
KEYWORDS: dict[str, tuple[int, ...] | None] = {"_": None, "N_": None, "ngettext": (1, 2), "nN_": (1, 2)}
"""Babel extractor keywords: the functions whose literal arguments are msgids."""

MessageId = str | tuple[str, str]


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
    print("usage: python -m console.i18n.catalog update|check|compile", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    sys.exit(_main(sys.argv[1:]))
