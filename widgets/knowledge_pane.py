"""The knowledge pane: a search box, ranked results with highlighted snippets, and a preview of one article.

It is handed results and articles; it asks for them with messages (search text, open, insert, link, publish).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from console.i18n import N_, _
from widgets.bindings import translate_bindings
from widgets.safe_text import clean, plain

DEBOUNCE_S = 0.12


def search_help() -> str:
    return _("Type to search · Enter or ↓ the results · Esc close")


def results_help() -> str:
    return _("Enter open · i insert reference · I insert text · l link · P publish · / search · Esc close")


@dataclass(frozen=True)
class KbResult:
    id: int
    title: str
    status: str
    spans: tuple[tuple[str, bool], ...]  # snippet as (text, is_match) spans


@dataclass(frozen=True)
class KbArticleView:
    id: int
    title: str
    body: str
    status: str
    tags: str


class KnowledgePane(Widget):
    """Search as you type; Enter or ↓ goes to the results, where Enter opens an article, `i`/`I` insert a reference
    or the text into the reply, `l` links the article to the ticket and `P` publishes a draft (supervisors). In the
    search box every letter is part of the search: the result keys apply on the results only, and the help line
    says which keys work where. Esc closes the pane (the screen holding it decides)."""

    DEFAULT_CSS = """
    KnowledgePane {
        width: 45%;
        min-width: 36;
        height: 1fr;
        border-left: vkey $primary;
        padding: 0 1;
    }
    KnowledgePane #kb-query { margin: 0; }
    KnowledgePane #kb-heading { color: $text-muted; height: 1; }
    KnowledgePane #kb-results { height: 1fr; min-height: 5; border: none; }
    KnowledgePane #kb-preview { height: 1fr; display: none; }
    KnowledgePane.-preview #kb-preview { display: block; }
    KnowledgePane.-preview #kb-results { height: 8; }
    KnowledgePane #kb-help { color: $text-muted; height: auto; }
    """

    BINDINGS: ClassVar = [
        Binding("i", "insert('reference')", N_("Insert reference"), id="kb.insert_ref"),
        Binding("I", "insert('text')", N_("Insert text"), id="kb.insert_text"),
        Binding("l", "link", N_("Link to ticket"), id="kb.link"),
        Binding("P", "publish", N_("Publish"), id="kb.publish"),
        Binding("slash", "focus_search", N_("Search"), id="kb.search", show=False),
        Binding("down", "focus_results", N_("Results"), id="kb.results", show=False),
    ]
    RESULT_ACTIONS: ClassVar[frozenset[str]] = frozenset({"insert", "link", "publish"})

    class SearchChanged(Message):
        def __init__(self, pane: KnowledgePane, query: str) -> None:
            super().__init__()
            self.pane = pane
            self.query = query

        @property
        def control(self) -> KnowledgePane:
            return self.pane

    class ArticleRequested(Message):
        """Open (`action` "open"), insert ("reference"/"text"), link ("link") or publish ("publish")."""

        def __init__(self, pane: KnowledgePane, article_id: int, action: str) -> None:
            super().__init__()
            self.pane = pane
            self.article_id = article_id
            self.action = action

        @property
        def control(self) -> KnowledgePane:
            return self.pane

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        translate_bindings(self)
        self._results: list[KbResult] = []
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Input(placeholder=_("Search the knowledge base (English or 中文)"), id="kb-query")
            yield Label("", id="kb-heading")
            yield OptionList(id="kb-results")
            yield VerticalScroll(Static(id="kb-article"), id="kb-preview")
            yield Label(search_help(), id="kb-help")

    # -- data handed down ---------------------------------------------------------------------------------

    @property
    def query_text(self) -> str:
        return self.query_one("#kb-query", Input).value

    def show_results(self, heading: str, results: list[KbResult]) -> None:
        self._results = results
        self.query_one("#kb-heading", Label).update(plain(heading))  # it quotes the search text
        options = self.query_one("#kb-results", OptionList)
        options.clear_options()
        for result in results:
            prompt = Text()
            prompt.append(f"#{result.id} ", style="dim")
            prompt.append(clean(result.title), style="bold")
            if result.status == "draft":
                prompt.append("  " + _("draft"), style="italic yellow")
            prompt.append("\n")
            for text, match in result.spans:
                prompt.append(clean(text.replace("\n", " ")), style="reverse" if match else "dim")
            options.add_option(Option(prompt, id=str(result.id)))
        if results:
            options.highlighted = 0

    def show_article(self, article: KbArticleView) -> None:
        text = Text()
        text.append(clean(article.title) + "\n", style="bold")
        if article.status == "draft":
            text.append(_("Draft: a supervisor publishes it with P") + "\n", style="italic yellow")
        if article.tags:
            text.append(clean(article.tags) + "\n", style="dim")
        text.append("\n")
        text.append(clean(article.body, multiline=True))
        self.query_one("#kb-article", Static).update(text)
        self.add_class("-preview")

    # -- input --------------------------------------------------------------------------------------------

    def focus_search(self) -> None:
        self.query_one("#kb-query", Input).focus()

    def action_focus_search(self) -> None:
        self.focus_search()

    def action_focus_results(self) -> None:
        self.query_one("#kb-results", OptionList).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The result keys are letters: in the search box they are typed, so they are not offered there."""
        if action in self.RESULT_ACTIONS or action == "focus_results":
            searching = self.query_one("#kb-query", Input).has_focus
            return searching if action == "focus_results" else not searching
        return True

    @on(events.DescendantFocus)
    @on(events.DescendantBlur)
    def _focus_moved(self) -> None:
        searching = self.query_one("#kb-query", Input).has_focus
        self.query_one("#kb-help", Label).update(search_help() if searching else results_help())
        self.screen.refresh_bindings()

    @on(Input.Changed, "#kb-query")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE_S, lambda: self.post_message(self.SearchChanged(self, event.value)))

    @on(Input.Submitted, "#kb-query")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#kb-results", OptionList).focus()

    @on(OptionList.OptionSelected, "#kb-results")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.ArticleRequested(self, int(event.option.id), "open"))

    def _current(self) -> int | None:
        options = self.query_one("#kb-results", OptionList)
        if options.highlighted is None or not self._results:
            return None
        option = options.get_option_at_index(options.highlighted)
        return int(option.id) if option.id is not None else None

    def _request(self, action: str) -> None:
        article_id = self._current()
        if article_id is not None:
            self.post_message(self.ArticleRequested(self, article_id, action))

    def action_insert(self, mode: str) -> None:
        self._request(mode)

    def action_link(self) -> None:
        self._request("link")

    def action_publish(self) -> None:
        self._request("publish")
