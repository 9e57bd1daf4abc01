"""Replies that follow the standards: lint-reply, macros in force, and the composer's macros and notices."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input, TextArea

from console.rules.macros import macros_toml_sample
from console.service.helpdesk import HelpdeskService
from console.service.replies import macros, placeholder_values, reply_language
from console.tui.app import HelpdeskApp
from console.tui.screens.macro import MacroDialog
from console.tui.screens.ticket import TicketScreen
from tests.conftest import FrozenClock, Result
from tests.test_console import open_first, seed, settle

Cli = Callable[..., Result]
Team = Callable[[str], HelpdeskService]


def test_lint_reply_exit_codes_and_shape(cli: Cli) -> None:
    hit = cli("lint-reply", stdin="这个问题不归我管，你找别人吧。", actor=None)
    assert hit.code == 1
    data = hit.json()
    assert set(data) == {"hits"} and data["hits"]
    first = data["hits"][0]
    assert set(first) == {"phrase", "start", "end", "suggestion"}
    assert "这个问题不归我管，你找别人吧。"[first["start"] : first["end"]] == first["phrase"]
    clean = cli("lint-reply", "--lang", "en", stdin="We will update you as soon as possible.", actor=None)
    assert clean.code == 0 and clean.json() == {"hits": []}
    only_zh = cli("lint-reply", "--lang", "zh", stdin="I'm not sure.", actor=None)
    assert only_zh.code == 0


def test_macro_list_and_load(cli: Cli, tmp_path: Path) -> None:
    assert cli("init", "--admin", "boss", actor=None).code == 0
    assert cli("agent", "add", "li.wei").code == 0
    listed = cli("macro", "list", "--json")
    ids = [m["id"] for m in listed.json()]
    assert {"greeting", "wait_apology", "progress_update", "handover", "pending_notice", "closing_summary"} <= set(ids)
    good = tmp_path / "m.toml"
    good.write_text(macros_toml_sample().replace("Hello", "Good day", 1), encoding="utf-8")
    assert cli("macro", "load", str(good), actor="li.wei").code == 3  # admins only
    r = cli("macro", "load", str(good), "--json")
    assert r.code == 0, r.err
    bad = tmp_path / "bad.toml"
    bad.write_text('[[macros]]\nid = "x"\ntitle_en = "x"\ntitle_zh = "x"\nbody_en = "{custmer}"\nbody_zh = "x"\n')
    r = cli("macro", "load", str(bad))
    assert r.code == 2 and "custmer" in r.err


def test_phrase_rules_configurable(cli: Cli, tmp_path: Path) -> None:
    assert cli("init", "--admin", "boss", actor=None).code == 0
    rules = tmp_path / "p.toml"
    rules.write_text(
        '[[rules]]\nid = "no_kidding"\nlang = "en"\nphrases = ["no kidding"]\nsuggestion = "Indeed."\n',
        encoding="utf-8",
    )
    assert cli("phrases", "load", str(rules)).code == 0
    r = cli("lint-reply", stdin="No kidding, it works.")
    assert r.code == 1 and r.json()["hits"][0]["phrase"] == "No kidding"
    assert json.loads(cli("phrases", "list", "--json").out)["rules"][0]["id"] == "no_kidding"


def test_placeholders_render(team: Team) -> None:
    li = team("li.wei")
    ids = seed(li)
    detail = li.detail(ids[1])
    values = placeholder_values(detail, "li.wei", "kai")
    assert values["customer"] == "张伟" and values["ticket"] == f"#{ids[1]}" and values["new_owner"] == "kai"
    assert values["next_update_due"]
    assert reply_language(detail) == "zh"
    from console.service.replies import fill

    text = fill(macros(li).get("handover"), values, "zh")  # type: ignore[arg-type]
    assert "张伟" in text and "kai" in text and "{" not in text


async def test_macro_by_key_goes_into_composer(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    ids = seed(li)
    app = HelpdeskApp(li, clock=lambda: clock().timestamp(), live_interval=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_first(pilot, app)
        await settle(pilot)
        await pilot.press("ctrl+t")
        await pilot.pause(0.2)
        assert isinstance(app.screen, MacroDialog)
        await pilot.press("g")  # greeting
        await pilot.pause(0.2)
        assert isinstance(app.screen, TicketScreen)
        text = screen.query_one("#composer-text", TextArea).text
        assert "Acme Ops" in text and "li.wei" in text
        await pilot.press("ctrl+s")
        await settle(pilot)
        event = li.store.events(ids[0])[-1]
        assert event.kind == "reply" and event.detail.get("macro") == "greeting"


async def test_pending_and_escalation_offer_notices(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    seed(li)
    app = HelpdeskApp(li, clock=lambda: clock().timestamp(), live_interval=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_first(pilot, app)
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        composer = screen.query_one("#composer")
        assert composer.display and screen.query_one("#composer-text", TextArea).text.strip()
        await pilot.press("escape")  # skip the notice: nothing sent
        await settle(pilot)
        assert not composer.display
        await pilot.press("p")  # resume: no notice offered
        await settle(pilot)
        assert not composer.display
        await pilot.press("E")
        await pilot.pause(0.2)
        notice = app.screen.query_one("#notice", TextArea).text  # the handover notice is part of the escalation
        assert "our second-line specialists" in notice and "L2" not in notice
        await pilot.press(*"network team")
        app.screen.query_one("#tried", TextArea).text = "restarted the switch"
        app.screen.query_one("#impact", Input).value = "floor offline"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not composer.display and screen.detail is not None
        assert screen.detail.messages[-2].kind == "reply" and screen.detail.messages[-2].body == notice.strip()
