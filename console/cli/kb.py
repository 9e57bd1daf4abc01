"""`helpdesk kb import|search|show|publish|drafts`: the knowledge base from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.i18n import _

if TYPE_CHECKING:
    from console.service.helpdesk import HelpdeskService


def _with(fn: Callable[[HelpdeskService, argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from console.cli.common import open_service

        service = open_service(args)
        try:
            return fn(service, args)
        finally:
            service.shutdown()

    return run


def cmd_import(service: HelpdeskService, args: argparse.Namespace) -> int:
    from console.cli.common import emit_json, emit_line
    from console.cli.progress import progress_bar, show_progress

    with progress_bar(_("Importing {file}").format(file=args.path), enabled=show_progress(args)) as step:
        ids = service.import_articles(Path(args.path), progress=step)
    if args.json:
        emit_json({"imported": len(ids), "ids": ids})
    else:
        emit_line(_("Imported {n} articles from {path}.").format(n=len(ids), path=args.path))
    return 0


def cmd_search(service: HelpdeskService, args: argparse.Namespace) -> int:
    from console.cli.common import emit_json, emit_table

    hits = service.search_kb(args.query, limit=args.limit, include_drafts=args.drafts)
    if args.json:
        emit_json(
            [
                {"id": h.id, "ref": h.ref, "title": h.title, "score": round(h.score, 4), "snippet": h.snippet}
                for h in hits
            ]
        )
    else:
        emit_table(
            [_("ID"), _("Title"), _("Snippet")],
            [[h.id, h.title + ("" if h.status == "published" else f" ({_('draft')})"), h.snippet] for h in hits],
        )
    return 0


def cmd_show(service: HelpdeskService, args: argparse.Namespace) -> int:
    from console.cli.common import emit_json, emit_line

    article = service.article(args.id)
    if args.json:
        emit_json(article.model_dump(mode="json"))
    else:
        emit_line(f"#{article.id}  {article.title}  [{_(article.status)}]")
        if article.tags:
            emit_line(article.tags)
        sys.stdout.write("\n")
        for line in article.body.splitlines():
            emit_line(line)
    return 0


def cmd_publish(service: HelpdeskService, args: argparse.Namespace) -> int:
    from console.cli.common import emit_json, emit_line

    article = service.publish_article(args.id)
    if args.json:
        emit_json(article.model_dump(mode="json"))
    else:
        emit_line(_("Article #{id} published.").format(id=article.id))
    return 0


def cmd_drafts(service: HelpdeskService, args: argparse.Namespace) -> int:
    from console.cli.common import emit_json, emit_table

    drafts = service.drafts()
    if args.json:
        emit_json([d.model_dump(mode="json") for d in drafts])
    else:
        emit_table(
            [_("ID"), _("Title"), _("From ticket"), _("By")],
            [[d.id, d.title, d.source_ticket_id or "—", d.created_by or "—"] for d in drafts],
        )
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(_("not a whole number: {text}").format(text=text)) from exc
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(_("must be between 1 and 1000"))
    return value


def register(sub: Any, common: Any, command: Callable[..., Any]) -> None:
    from console.cli.common import article_id_arg

    group = sub.add_parser("kb", help=_("knowledge base"), parents=[common])
    ksub = group.add_subparsers(dest="kb_command", required=True, parser_class=type(group))
    p = command("import", _("import Markdown files, a directory of them, or JSON Lines"), _with(cmd_import), ksub)
    p.add_argument("path")
    p = command("search", _("full-text search, best first"), _with(cmd_search), ksub)
    p.add_argument("query")
    p.add_argument(
        "--limit", type=_positive, default=10, metavar="N", help=_("show the N best matches (1 to 1000, default: 10)")
    )
    p.add_argument("--drafts", action="store_true", help=_("include drafts"))
    p = command("show", _("show an article"), _with(cmd_show), ksub)
    p.add_argument("id", type=article_id_arg)
    p = command("publish", _("publish a draft (supervisors and admins)"), _with(cmd_publish), ksub)
    p.add_argument("id", type=article_id_arg)
    command("drafts", _("list drafts awaiting publication"), _with(cmd_drafts), ksub)
