"""The service's knowledge-base actions: articles added, imported, searched, published and linked to tickets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from console.i18n import _
from console.rules.errors import BadInput, Refused
from console.service.core import ServiceCore
from db.errors import NotFound
from db.models import KbArticle, Ticket


class KnowledgeActions:
    """The knowledge base, as HelpdeskService offers it."""

    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    def link_article(self, ticket_id: int, article_id: int, *, at: datetime | None = None) -> bool:
        self.core.me()
        self.core.ticket(ticket_id)

        def work() -> bool:
            self.core.store.get_article(article_id)
            when = self.core.when(at)
            linked = self.core.store.link_article(ticket_id, article_id, self.core.actor_name, when)
            if linked:
                self.core.record(
                    ticket_id,
                    when,
                    "kb_linked",
                    None,
                    str(article_id),
                    {"article": article_id},
                )
            return linked

        return self.core.write(work)

    def add_article(
        self,
        title: str,
        body: str,
        *,
        tags: str = "",
        ref: str | None = None,
        product: str = "",
        lang: str = "",
        status: str = "published",
        at: datetime | None = None,
    ) -> KbArticle:
        me = self.core.me()
        if status == "published" and me.role == "agent":
            status = "draft"  # agents propose; supervisors publish
        record = {
            "title": title,
            "body": body,
            "tags": tags,
            "ref": ref,
            "product": product,
            "lang": lang,
            "status": status,
            "created_by": me.name,
        }
        return self.core.write(lambda: self.core.store.insert_article(record, self.core.when(at)))

    def import_articles(self, path: Path, *, progress: Callable[[int, int | None], None] | None = None) -> list[int]:
        """All the articles of ``path`` or none. ``progress(done, total)``: the articles read so far (total None),
        then those written of ``total``."""
        from console.service.kb_files import read_articles

        articles = read_articles(path, progress)
        me = self.core.me()
        status = "draft" if me.role == "agent" else "published"
        now = self.core.at(None)
        total = len(articles)

        def work() -> list[int]:
            ids = []
            for a in articles:
                record = {**a.model_dump(), "status": status, "created_by": me.name}
                ids.append(self.core.store.insert_article(record, now).id)
                if progress is not None:
                    progress(len(ids), total)
            return ids

        return self.core.write(work)

    def article(self, article_id: int) -> KbArticle:
        try:
            return self.core.store.get_article(article_id)
        except NotFound as exc:
            raise BadInput(_("article {id} not found").format(id=article_id)) from exc

    def search_kb(self, query: str, limit: int = 10, include_drafts: bool = False) -> list[Any]:
        return self.core.store.search_articles(query, limit=limit, include_drafts=include_drafts)

    def suggest_kb(self, ticket: Ticket, limit: int = 5) -> list[Any]:
        return self.core.store.suggest_articles(f"{ticket.subject}\n{ticket.body}", limit=limit)

    def drafts(self) -> list[KbArticle]:
        return self.core.store.list_articles("draft")

    def publish_article(self, article_id: int) -> KbArticle:
        self.core.require_role("supervisor", "admin")
        article = self.article(article_id)
        if article.status == "published":
            raise Refused(_("article {id} is already published").format(id=article_id))

        def work() -> KbArticle:
            now = self.core.at(None)
            updated = self.core.store.update_article(article_id, {"status": "published"}, now)
            self.core.record(
                article.source_ticket_id,
                max(now, self.core.store.last_event_at(article.source_ticket_id) or now)
                if article.source_ticket_id
                else now,
                "kb_published",
                "draft",
                "published",
                {"article": article_id},
            )
            return updated

        return self.core.write(work)

    def draft_article(self, ticket: Ticket, summary: str, at: datetime) -> None:
        """The draft a closing agent asks for (close --kb-needed), inside the closing transaction."""
        self.core.store.insert_article(
            {
                "title": ticket.subject,
                "body": _draft_body(ticket, summary),
                "status": "draft",
                "source_ticket_id": ticket.id,
                "created_by": self.core.actor_name,
            },
            at,
        )


def _draft_body(ticket: Ticket, summary: str) -> str:
    return "\n".join(
        [
            f"## {_('Problem')}",
            ticket.body.strip() or ticket.subject,
            "",
            f"## {_('Solution')}",
            summary,
            "",
            _("Drafted from ticket #{id}.").format(id=ticket.id),
        ]
    )
