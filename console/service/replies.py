"""Reply standards in force: the macros and forbidden-phrase rules stored in the database (defaults until an admin
loads a file), and the values their placeholders are filled with."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from console.i18n import _, language
from console.rules.errors import BadInput
from console.rules.macros import Macro, MacroError, MacroSet, default_macros, render
from console.rules.phrases import PhraseError, PhraseRules, default_rules

if TYPE_CHECKING:
    from console.service.helpdesk import HelpdeskService
    from console.service.ticket_view import TicketDetail

MACROS_KEY = "macros"
PHRASES_KEY = "phrase_rules"


def macros(service: HelpdeskService) -> MacroSet:
    raw = service.store.get_setting(MACROS_KEY)
    return default_macros() if raw is None else MacroSet.from_json(raw).with_defaults()


def phrase_rules(service: HelpdeskService) -> PhraseRules:
    raw = service.store.get_setting(PHRASES_KEY)
    return default_rules() if raw is None else PhraseRules.from_json(raw)


def _load(service: HelpdeskService, key: str, document: str, kind: str) -> None:
    service.core.require_role("admin")

    def work() -> None:
        now = service.core.at(None)
        service.store.set_setting(key, document, service.actor_name, now)
        service.core.record(None, now, f"{kind}_loaded")

    service.core.write(work)


def load_macros(service: HelpdeskService, text: str) -> MacroSet:
    try:
        loaded = MacroSet.from_toml(text)
    except MacroError as exc:
        raise BadInput(str(exc)) from exc
    _load(service, MACROS_KEY, loaded.to_json(), "macros")
    return loaded.with_defaults()


def load_phrase_rules(service: HelpdeskService, text: str) -> PhraseRules:
    try:
        loaded = PhraseRules.from_toml(text)
    except PhraseError as exc:
        raise BadInput(str(exc)) from exc
    _load(service, PHRASES_KEY, loaded.to_json(), "phrase_rules")
    return loaded


def placeholder_values(detail: TicketDetail, agent: str, new_owner: str | None = None) -> dict[str, str]:
    """What `{customer}`, `{agent}`, `{ticket}`, `{next_update_due}`, `{new_owner}` stand for on this ticket."""
    due = detail.clocks.get("next_update")
    due_at: datetime | None = due.due_at if due is not None else None
    if due_at is None:
        first = detail.clocks.get("first_response")
        due_at = first.due_at if first is not None else None
    return {
        "customer": detail.customer.name if detail.customer else "",
        "agent": agent,
        "ticket": f"#{detail.ticket.id}",
        "next_update_due": due_at.astimezone().strftime("%Y-%m-%d %H:%M") if due_at else "",
        "new_owner": new_owner or detail.ticket.assignee or _("tier {tier}").format(tier=detail.ticket.tier),
    }


def fill(macro: Macro, values: dict[str, str], lang: str | None = None) -> str:
    """A macro in the reply's language (the interface language unless the customer's text says otherwise)."""
    return render(macro, lang or language(), values)


def reply_language(detail: TicketDetail) -> str:
    """Answer in the customer's language: Chinese when their words are mostly Chinese."""
    sample = detail.ticket.subject + detail.ticket.body
    cjk = sum(1 for ch in sample if "\u4e00" <= ch <= "\u9fff")
    return "zh" if cjk * 3 >= max(1, len(sample.strip())) else "en"
