"""`helpdesk lint-reply`, `helpdesk macro list|load`, `helpdesk phrases list|load`: reply standards from the CLI."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from console.i18n import _


def cmd_lint_reply(args: argparse.Namespace) -> int:
    from console.cli.common import text_stdin
    from console.rules.phrases import lint_reply

    text = text_stdin().read()
    rules = None
    from console.cli.common import default_db_path, server_url

    db = Path(args.db) if getattr(args, "db", None) else default_db_path()
    if server_url(args) or db.exists():  # the rules an admin loaded; the standards' defaults where there is none
        from console.cli.common import open_service
        from console.service.replies import phrase_rules

        service = open_service(args)
        try:
            rules = phrase_rules(service)
        finally:
            service.shutdown()
    result = lint_reply(text, rules, getattr(args, "lang", None))
    from console.cli.common import terminal_safe

    sys.stdout.write(terminal_safe(json.dumps(result, ensure_ascii=False)) + "\n")  # hits quote the reply
    return 1 if result["hits"] else 0


def _read(path: str) -> str:
    from console.cli.common import read_document

    return read_document(path)


def cmd_macro_list(args: argparse.Namespace) -> int:
    from console.cli.common import emit_json, emit_table, open_service
    from console.i18n import language
    from console.service.replies import macros

    service = open_service(args)
    try:
        found = macros(service)
    finally:
        service.shutdown()
    if args.json:
        emit_json([m.model_dump() for m in found.macros])
    else:
        lang = language()
        emit_table(
            [_("ID"), _("Key"), _("Title"), _("Text")],
            [[m.id, m.key or "", m.title(lang), m.body(lang).replace("\n", " ")[:60]] for m in found.macros],
        )
    return 0


def cmd_macro_load(args: argparse.Namespace) -> int:
    from console.cli.common import emit_json, emit_line, open_service
    from console.service.replies import load_macros

    service = open_service(args)
    try:
        loaded = load_macros(service, _read(args.file))
    finally:
        service.shutdown()
    if args.json:
        emit_json({"macros": loaded.ids()})
    else:
        emit_line(_("Loaded {n} macros from {file}.").format(n=len(loaded.macros), file=args.file))
    return 0


def cmd_phrases_list(args: argparse.Namespace) -> int:
    from console.cli.common import emit_json, emit_table, open_service
    from console.service.replies import phrase_rules

    service = open_service(args)
    try:
        rules = phrase_rules(service)
    finally:
        service.shutdown()
    if args.json:
        emit_json(json.loads(rules.to_json()))
    else:
        emit_table(
            [_("Rule"), _("Language"), _("Phrases"), _("Suggestion")],
            [[r.id, r.lang, " / ".join(r.phrases), r.suggestion] for r in rules.rules],
        )
    return 0


def cmd_phrases_load(args: argparse.Namespace) -> int:
    from console.cli.common import emit_json, emit_line, open_service
    from console.service.replies import load_phrase_rules

    service = open_service(args)
    try:
        loaded = load_phrase_rules(service, _read(args.file))
    finally:
        service.shutdown()
    if args.json:
        emit_json({"rules": len(loaded.rules)})
    else:
        emit_line(_("Loaded {n} phrase rules from {file}.").format(n=len(loaded.rules), file=args.file))
    return 0


def register(sub: Any, common: Any, command: Callable[..., Any]) -> None:
    # `--lang zh|en` (the global option) also narrows the check to that language's phrases: the output is JSON,
    # the same in every interface language.
    command("lint-reply", _("check a reply on standard input against the forbidden phrases"), cmd_lint_reply)

    group = sub.add_parser("macro", help=_("reply macros"), parents=[common])
    msub = group.add_subparsers(dest="macro_command", required=True, parser_class=type(group))
    command("list", _("list the reply macros in force"), cmd_macro_list, msub)
    p = command("load", _("load reply macros from TOML (admins only)"), cmd_macro_load, msub)
    p.add_argument("file")

    group = sub.add_parser("phrases", help=_("forbidden-phrase rules"), parents=[common])
    psub = group.add_subparsers(dest="phrases_command", required=True, parser_class=type(group))
    command("list", _("list the forbidden-phrase rules in force"), cmd_phrases_list, psub)
    p = command("load", _("load forbidden-phrase rules from TOML (admins only)"), cmd_phrases_load, psub)
    p.add_argument("file")
