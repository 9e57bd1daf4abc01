"""Reply standards in force: the macros and forbidden-phrase rules stored in the database (defaults until an admin
loads a file), and the values their placeholders are filled with."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from console.i18n import language
from console.rules.clock import local_text, zone_label
from console.rules.errors import BadInput
from console.rules.macros import Macro, MacroError, MacroSet, default_macros, render
from console.rules.phrases import PhraseError, PhraseRules, default_rules

if TYPE_CHECKING:
    from console.service.helpdesk import HelpdeskService
    from console.service.ticket_view import TicketDetail
    from db.models import Agent

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


# Who takes a ticket over, in the customer's words: never a login or a tier code ("L2"). Customer-facing text is in
# the reply's language (the customer's), whatever the interface speaks, so these are data, not translations.
OWNER_WORDING: dict[str, dict[str, str]] = {
    "en": {
        "L1": "our support engineer {name}",
        "L2": "our second-line specialist {name}",
        "L3": "our third-line specialist {name}",
        "supervisor": "our service desk supervisor {name}",
    },
    "zh": {
        "L1": "一线工程师{name}",
        "L2": "二线工程师{name}",
        "L3": "三线专家{name}",
        "supervisor": "服务台主管{name}",
    },
}
TEAM_WORDING: dict[str, dict[str, str]] = {
    "en": {
        "L1": "our support team",
        "L2": "our second-line specialists",
        "L3": "our third-line specialists",
    },
    "zh": {
        "L1": "一线支持团队",
        "L2": "二线工程师团队",
        "L3": "三线专家团队",
    },
}


def owner_wording(owner: str, agents: Sequence[Agent], lang: str) -> str:
    """How the customer is told who takes over: "our second-line specialist Wang Fang" / "二线工程师王芳" for an
    agent (by their display name), "our second-line specialists" / "二线工程师团队" for a tier."""
    language_key = "zh" if lang.lower().startswith("zh") else "en"
    if owner in TEAM_WORDING[language_key]:
        return TEAM_WORDING[language_key][owner]
    agent = next((a for a in agents if a.name == owner), None)
    if agent is None:
        return owner
    role = "supervisor" if agent.role in ("supervisor", "admin") else agent.tier
    return OWNER_WORDING[language_key][role].format(name=shown_name(agent))


def shown_name(agent: Agent) -> str:
    """The name customers see: the agent's display name (the login only if none was ever given)."""
    return agent.display_name.strip() or agent.name


def placeholder_values(
    detail: TicketDetail,
    agent: str,
    new_owner: str | None = None,
    *,
    agents: Sequence[Agent] = (),
    lang: str = "en",
) -> dict[str, str]:
    """What `{customer}`, `{agent}`, `{ticket}`, `{next_update_due}`, `{new_owner}` stand for on this ticket, in
    the reply's language ``lang``. ``agents`` (the team) gives the display names and tiers customers are told."""
    due = detail.clocks.get("next_update")
    due_at: datetime | None = due.due_at if due is not None else None
    if due_at is None:
        first = detail.clocks.get("first_response")
        due_at = first.due_at if first is not None else None
    me = next((a for a in agents if a.name == agent), None)
    owner = new_owner or detail.ticket.assignee or detail.ticket.tier
    return {
        "customer": detail.customer.name if detail.customer else "",
        "agent": shown_name(me) if me is not None else agent,
        "ticket": f"#{detail.ticket.id}",
        # promised to the customer: in their zone, named, so "by 15:50" means the same to both sides
        "next_update_due": f"{local_text(due_at, detail.customer_zone)} ({zone_label(detail.customer_zone)})"
        if due_at
        else "",
        "new_owner": owner_wording(owner, agents, lang),
    }


def fill(macro: Macro, values: dict[str, str], lang: str | None = None) -> str:
    """A macro in the reply's language (the interface language unless the customer's text says otherwise)."""
    return render(macro, lang or language(), values)


def reply_language(detail: TicketDetail) -> str:
    """Answer in the customer's language: Chinese when their words are mostly Chinese."""
    sample = detail.ticket.subject + detail.ticket.body
    cjk = sum(1 for ch in sample if "\u4e00" <= ch <= "\u9fff")
    return "zh" if cjk * 3 >= max(1, len(sample.strip())) else "en"
