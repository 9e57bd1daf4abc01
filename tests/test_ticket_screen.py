"""The ticket screen held to the service standards on the floor (issue 16): dialogs and the composer write on the
version they opened on and show what changed when it moved; the footer offers what the status allows; closure and
handover ask for what the standards ask; customer-facing words never show a login or a tier code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from rich.console import Console
from textual.widgets import Button, Input, OptionList, RadioSet, Static, TextArea
from textual.widgets._toast import Toast

from console.rules.macros import MISSING
from console.service.helpdesk import HelpdeskService
from console.service.replies import fill, macros, owner_wording, placeholder_values
from console.tui.app import HelpdeskApp
from console.tui.screens.modals import AgentDialog, CloseDialog, EscalateDialog
from console.tui.screens.queue import QueueScreen
from console.tui.screens.ticket import TicketScreen
from console.tui.screens.ticket_panes import conversation
from tests.conftest import FrozenClock, settle
from tests.test_hostile_text import screen_output
from widgets.knowledge_pane import KnowledgePane
from widgets.ticks import Choice, TickBox

Team = Callable[[str], HelpdeskService]
SMALL, LARGE = (80, 24), (160, 48)


def make_app(svc: HelpdeskService, clock: FrozenClock) -> HelpdeskApp:
    # No live polling: what another service writes shows only when this console reads the ticket again.
    return HelpdeskApp(svc, clock=lambda: clock().timestamp(), live_interval=3600)


async def open_ticket(pilot, app: HelpdeskApp, ticket_id: int) -> TicketScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    await app.push_screen(TicketScreen(ticket_id))
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, TicketScreen) and screen.detail is not None
    return screen


def text_of(app: HelpdeskApp) -> str:
    return screen_output(app)[0]


def worked(li: HelpdeskService, *, priority: str = "P3", resolved: bool = True) -> int:
    """A ticket li.wei owns, has answered, and (by default) resolved: ready to close."""
    ticket_id = li.create_ticket(
        "Printer jams on tray 2", "Paper jams every 3rd page", customer="Acme Ops", priority=priority
    ).id
    li.assign(ticket_id)
    li.reply(ticket_id, "Hello, we are looking at the printer now.")
    if resolved:
        li.resolve(ticket_id, "Replaced the tray 2 pickup roller")
    return ticket_id


# -- stale dialogs and composer ---------------------------------------------------------------------------------


async def test_close_dialog_on_a_changed_ticket_writes_nothing_then_closes_on_a_second_ctrl_s(
    team: Team, clock: FrozenClock
) -> None:
    li, ann = team("li.wei"), team("ann")
    ticket_id = worked(li)
    app = make_app(li, clock)
    async with app.run_test(size=SMALL) as pilot:
        await open_ticket(pilot, app, ticket_id)
        await pilot.press("c")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, CloseDialog)
        dialog.query_one("#confirm-phone", Choice).value = True
        dialog.query_one("#asked", TickBox).value = True
        ann.note(ticket_id, "Customer rang: the jam is back on tray 1")  # another agent, meanwhile
        events = len(li.store.events(ticket_id))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert li.ticket(ticket_id).status == "resolved" and len(li.store.events(ticket_id)) == events
        assert app.screen is dialog and dialog.has_class("-stale")
        assert dialog.query_one("#summary", TextArea).text == "Replaced the tray 2 pickup roller"
        assert dialog.query_one("#confirm-phone", Choice).value and dialog.query_one("#asked", TickBox).value
        shown = text_of(app)
        assert "changed: added a note by ann" in shown
        assert "the jam is back on tray 1" in shown  # what changed, not only that something did
        assert "Ctrl+S again" in shown and "Close ticket [Ctrl+S]" in shown  # the buttons stay on screen
        await pilot.press("ctrl+s")  # the agent has seen it: closes on the ticket as it is now
        await settle(pilot)
        t = li.ticket(ticket_id)
        assert t.status == "closed" and t.confirmed and t.confirmed_by == "phone"
        assert isinstance(app.screen, TicketScreen)


async def test_a_reply_on_a_changed_ticket_is_held_until_ctrl_s_again(team: Team, clock: FrozenClock) -> None:
    li, ann = team("li.wei"), team("ann")
    ticket_id = worked(li, resolved=False)
    app = make_app(li, clock)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_ticket(pilot, app, ticket_id)
        await pilot.press("r", *"The engineer arrives at 14:00.")
        ann.note(ticket_id, "Customer asks us not to send anyone today")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert [m.kind for m in li.store.messages(ticket_id)] == ["reply", "note"]  # no second reply
        assert screen.query_one("#composer").display and screen.query_one("#composer").has_class("-stale")
        assert screen.query_one("#composer-text", TextArea).text == "The engineer arrives at 14:00."
        assert screen.detail is not None and screen.detail.messages[-1].body.startswith("Customer asks")
        shown = text_of(app)
        assert "added a note by ann" in shown and "not to send anyone today" in shown
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert [m.kind for m in li.store.messages(ticket_id)] == ["reply", "note", "reply"]
        assert not screen.query_one("#composer").display


async def test_a_reassignment_under_the_composer_stops_the_reply(team: Team, clock: FrozenClock) -> None:
    """'li please stand down': the supervisor hands the ticket to ann while li.wei is writing to the customer."""
    li, sue = team("li.wei"), team("sue")
    ticket_id = worked(li, resolved=False)
    app = make_app(li, clock)
    async with app.run_test(size=LARGE, notifications=True) as pilot:
        screen = await open_ticket(pilot, app, ticket_id)
        await pilot.press("r", *"I will call you back in ten minutes.")
        sue.note(ticket_id, "li please stand down, ann takes this one")
        sue.assign(ticket_id, "ann")
        await pilot.press("ctrl+s")
        await settle(pilot)
        shown = text_of(app)
        assert "assigned to ann" in shown and "please stand down" in shown
        assert [m.kind for m in li.store.messages(ticket_id)] == ["reply", "note"]
        await pilot.press("ctrl+s")  # on the new version: ann's ticket now, so the service refuses li.wei
        await settle(pilot)
        assert [m.kind for m in li.store.messages(ticket_id)] == ["reply", "note"]
        assert any("assigned to ann" in str(n.message) for n in app._notifications)
        assert screen.query_one("#composer-text", TextArea).text == "I will call you back in ten minutes."


async def test_the_assign_dialog_shows_who_took_the_ticket_meanwhile(team: Team, clock: FrozenClock) -> None:
    sue, ann = team("sue"), team("ann")
    ticket_id = sue.create_ticket("VPN drops hourly", "since Monday", customer="Acme Ops", priority="P2").id
    app = make_app(sue, clock)
    async with app.run_test(size=SMALL) as pilot:
        await open_ticket(pilot, app, ticket_id)
        await pilot.press("A")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, AgentDialog)
        options = dialog.query_one(OptionList)
        options.highlighted = next(i for i in range(options.option_count) if options.get_option_at_index(i).id == "kai")
        ann.assign(ticket_id)  # ann takes it first
        await pilot.press("enter")
        await settle(pilot)
        assert sue.ticket(ticket_id).assignee == "ann" and app.screen is dialog
        assert "assigned to ann by ann" in text_of(app)
        await pilot.press("enter")
        await settle(pilot)
        assert sue.ticket(ticket_id).assignee == "kai"


async def test_own_actions_do_not_make_the_composer_stale(team: Team, clock: FrozenClock) -> None:
    """Pending offers its notice in the composer: sending it right away is no stale write."""
    li = team("li.wei")
    ticket_id = worked(li, resolved=False)
    app = make_app(li, clock)
    async with app.run_test(size=LARGE) as pilot:
        screen = await open_ticket(pilot, app, ticket_id)
        await pilot.press("p")
        await settle(pilot)
        assert li.ticket(ticket_id).status == "pending" and screen.query_one("#composer").display
        await pilot.press(*"the printer's serial number")  # replaces the selected blank
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not screen.query_one("#composer").has_class("-stale")
        assert li.store.messages(ticket_id)[-1].kind == "reply"


# -- smaller items --------------------------------------------------------------------------------------------


async def test_a_pending_notice_with_its_list_empty_is_not_sent(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    ticket_id = worked(li, resolved=False)
    app = make_app(li, clock)
    async with app.run_test(size=LARGE, notifications=True) as pilot:
        screen = await open_ticket(pilot, app, ticket_id)
        await pilot.press("p")
        await settle(pilot)
        area = screen.query_one("#composer-text", TextArea)
        assert area.selected_text == MISSING  # the blank to fill in, selected
        area.move_cursor(area.document.end)  # the agent does not fill it in
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert [m.kind for m in li.store.messages(ticket_id)] == ["reply"]
        assert any("Fill in the blank" in str(n.message) for n in app._notifications)
        assert area.selected_text == MISSING
        await pilot.press(*"a photo of the error on the printer's panel", "ctrl+s")
        await settle(pilot)
        sent = li.store.messages(ticket_id)[-1]
        assert sent.kind == "reply" and "a photo of the error" in sent.body and f"\n{MISSING}\n" not in sent.body


def shown_keys(screen: TicketScreen) -> dict[str, str]:
    return {key: b.binding.description for key, b in screen.active_bindings.items() if b.binding.show}


async def test_the_footer_offers_what_the_status_allows(team: Team, clock: FrozenClock) -> None:
    li, sue = team("li.wei"), team("sue")
    new_p1 = li.create_ticket("Site down", "all of it", customer="Acme Ops", priority="P1").id
    closed = worked(li)
    li.close(closed, summary="roller", confirmed=True, confirmed_by="phone", asked_anything_else=True)
    pending = worked(li, resolved=False)
    li.pending(pending)
    app = make_app(li, clock)
    async with app.run_test(size=LARGE) as pilot:
        screen = await open_ticket(pilot, app, closed)
        keys = shown_keys(screen)
        assert keys.get("u") == "Reopen"
        assert not {"r", "E", "c", "x", "p", "a"} & set(keys)
        await pilot.press("r")  # not offered, and does nothing
        await settle(pilot)
        assert not screen.query_one("#composer").display
        app.pop_screen()
        screen = await open_ticket(pilot, app, pending)
        assert shown_keys(screen).get("p") == "Resume" and "u" not in shown_keys(screen)
        app.pop_screen()
        screen = await open_ticket(pilot, app, new_p1)
        keys = shown_keys(screen)
        assert keys.get("a") == "Take" and keys.get("s") == "Restored" and "c" not in keys  # not yet restored
        app.pop_screen()
        li.assign(new_p1)
        li.reply(new_p1, "An engineer is on the way.")
        li.restore(new_p1, "Backup link up")
        screen = await open_ticket(pilot, app, new_p1)
        keys = shown_keys(screen)
        assert "s" not in keys and "a" not in keys and keys.get("c") == "Close"  # restored: its deadline met
    p3 = sue.create_ticket("Mouse", "left button", customer="Acme Ops", priority="P3").id
    again = make_app(li, clock)
    async with again.run_test(size=LARGE) as pilot:
        screen = await open_ticket(pilot, again, p3)
        assert "s" not in shown_keys(screen)  # P3 has no restore deadline: no workaround key offered


async def test_notifications_never_cover_the_composer_at_80x24(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    ticket_id = worked(li, resolved=False)
    app = make_app(li, clock)
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        screen = await open_ticket(pilot, app, ticket_id)
        await pilot.press("r", *"Line one of the reply")
        for n in range(4):
            screen.notify(f"Information number {n} that is rather long and wraps onto a second line")
        screen.notify("A warning that stays", severity="warning")
        await settle(pilot)
        area = screen.query_one("#composer-text", TextArea).region
        toasts = list(screen.query(Toast))
        assert 1 <= len(toasts) <= 2  # the newest information and the warning: no pile
        assert all(not toast.region.overlaps(area) for toast in toasts)
        assert "Line one of the reply" in text_of(app)


async def test_a_499_character_subject_keeps_the_status_line(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    ticket_id = li.create_ticket("Outage " + "x" * 492, "body", customer="Acme Ops", priority="P2").id
    assert len(li.ticket(ticket_id).subject) == 499
    app = make_app(li, clock)
    async with app.run_test(size=SMALL) as pilot:
        await open_ticket(pilot, app, ticket_id)
        rows = text_of(app).splitlines()
        assert rows[0].rstrip().endswith("…")
        assert "P2 high" in rows[1] and "unassigned" in rows[1]


async def test_knowledge_pane_keys_and_escape(team: Team, clock: FrozenClock) -> None:
    boss = team("boss")
    boss.add_article("VPN disconnects every hour", "Renew the certificate.", tags="vpn")
    li = team("li.wei")
    ticket_id = worked(li, resolved=False)
    app = make_app(li, clock)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_ticket(pilot, app, ticket_id)
        await pilot.press("ctrl+f")
        await settle(pilot)
        pane = screen.query_one(KnowledgePane)
        assert "l" not in shown_keys(screen)  # in the search box letters are the search
        await pilot.press(*"vpn")
        await pilot.pause(0.3)
        await settle(pilot)
        assert pane.query_text == "vpn" and pane._results
        await pilot.press("down")  # to the results
        assert "l link" in str(pane.query_one("#kb-help").render())
        await pilot.press("l")
        await settle(pilot)
        assert pane.query_text == "vpn"  # not typed into the search box
        assert [a.title for a in li.store.linked_articles(ticket_id)] == ["VPN disconnects every hour"]
        await pilot.press("escape")  # closes the pane, not the ticket
        await settle(pilot)
        assert not pane.display and app.screen is screen
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)


async def test_checkboxes_read_ticked_or_not_in_plain_text(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    ticket_id = worked(li)
    app = make_app(li, clock)
    async with app.run_test(size=LARGE) as pilot:
        await open_ticket(pilot, app, ticket_id)
        await pilot.press("c")
        await settle(pilot)
        shown = text_of(app)
        assert "[ ] Asked whether anything else is needed" in shown and "[x]" not in shown
        assert "( ) Confirmed by phone" in shown and "(•)" not in shown  # no confirmation chosen for the agent
        assert "Cancel [Esc]" in shown  # the button's key, not read as markup
        app.screen.query_one("#asked", TickBox).value = True
        await pilot.pause(0.05)
        assert "[x] Asked whether anything else is needed" in text_of(app)


def test_a_reply_sent_past_the_guard_is_marked_in_the_conversation(team: Team) -> None:
    li = team("li.wei")
    ticket_id = worked(li, resolved=False)
    li.reply(ticket_id, "I am not sure, sorry.", guard_override="quoting the customer's words")
    console = Console(width=120, record=True, file=None, color_system=None)
    console.print(conversation(li.detail(ticket_id), 0.0))
    lines = console.export_text().splitlines()
    marks = [n for n, line in enumerate(lines) if "sent past the phrase guard: quoting the customer's words" in line]
    assert len(marks) == 1
    assert "I am not sure, sorry." in lines[marks[0] + 1]  # under the reply it belongs to, not the first one


# -- closure and handover -------------------------------------------------------------------------------------


async def test_closure_needs_an_explicit_confirmation_and_its_channel(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    ticket_id = worked(li, priority="P2")
    app = make_app(li, clock)
    async with app.run_test(size=LARGE) as pilot:
        await open_ticket(pilot, app, ticket_id)
        await pilot.press("c")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, CloseDialog)
        assert dialog.query_one("#confirm", RadioSet).pressed_button is None
        dialog.query_one("#asked", TickBox).value = True
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Choose how the customer confirmed" in text_of(app) and li.ticket(ticket_id).status == "resolved"
        dialog.query_one("#followup", Input).value = clock().date().isoformat()  # today: not a follow-up
        dialog.query_one("#confirm-onsite", Choice).value = True
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "must be after today" in text_of(app) and li.ticket(ticket_id).status == "resolved"
        dialog.query_one("#followup", Input).value = (clock() + timedelta(days=2)).date().isoformat()
        await pilot.press("ctrl+s")
        await settle(pilot)
        t = li.ticket(ticket_id)
        assert (t.status, t.confirmed, t.confirmed_by) == ("closed", True, "onsite")
        assert li.store.events(ticket_id)[-1].detail["confirmed_by"] == "onsite"


async def test_escalation_refuses_an_empty_part_and_sends_the_handover_notice(team: Team, clock: FrozenClock) -> None:
    team("boss").add_agent("lin.tao", "agent", "L1", "Lin Tao")
    li = team("lin.tao")
    ticket_id = worked(li, resolved=False)
    app = make_app(li, clock)
    async with app.run_test(size=SMALL) as pilot:
        await open_ticket(pilot, app, ticket_id)
        await pilot.press("E")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, EscalateDialog)
        notice = dialog.query_one("#notice", TextArea).text
        assert "our second-line specialists" in notice and "L2" not in notice
        assert "Lin Tao" in notice and "lin.tao" not in notice
        await pilot.press(*"needs the network team")
        await pilot.press("ctrl+s")
        await settle(pilot)
        shown = text_of(app)
        assert "steps already tried, business impact" in shown
        assert dialog.query_one("#tried").has_class("-missing") and dialog.query_one("#impact").has_class("-missing")
        assert not dialog.query_one("#told").has_class("-missing")  # the notice tells the customer
        assert li.ticket(ticket_id).tier == "L1"
        dialog.query_one("#tried", TextArea).text = "Rebooted the printer, swapped the toner"
        dialog.query_one("#impact", Input).value = "Invoices cannot be printed"
        dialog.query_one("#send-notice", TickBox).value = False  # not sent: then say how they were told
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "what the customer was told" in text_of(app) and dialog.query_one("#told").has_class("-missing")
        dialog.query_one("#send-notice", TickBox).value = True
        await pilot.press("ctrl+s")
        await settle(pilot)
        t = li.ticket(ticket_id)
        assert (t.tier, t.assignee) == ("L2", None)
        event = li.store.events(ticket_id)[-1]
        assert event.kind == "escalated" and event.detail["tried"] == "Rebooted the printer, swapped the toner"
        assert event.detail["impact"] == "Invoices cannot be printed" and event.detail.get("notice")
        replies = [m for m in li.store.messages(ticket_id) if m.kind == "reply"]
        assert replies[-1].body == notice.strip()


async def test_the_notice_follows_the_target_unless_edited(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    ticket_id = worked(li, resolved=False)
    app = make_app(li, clock)
    async with app.run_test(size=LARGE) as pilot:
        await open_ticket(pilot, app, ticket_id)
        await pilot.press("E")
        await settle(pilot)
        dialog = app.screen
        from textual.widgets import Select

        dialog.query_one("#to", Select).value = "kai"
        await settle(pilot)
        notice = dialog.query_one("#notice", TextArea).text
        assert "our second-line specialist kai" in notice


# -- what customers read ----------------------------------------------------------------------------------------


def test_canned_replies_name_people_as_customers_know_them(team: Team) -> None:
    boss = team("boss")
    boss.add_agent("wang.fang", "agent", "L2", "Wang Fang")
    boss.add_agent("chen.l", "agent", "L1", "陈磊")
    chen = team("chen.l")
    ticket_id = chen.create_ticket("打印机脱机", "三楼打印机", customer="张伟", priority="P2").id
    detail = chen.detail(ticket_id)
    agents = chen.agents()
    for lang, expected in (("en", "our second-line specialist Wang Fang"), ("zh", "二线工程师Wang Fang")):
        values = placeholder_values(detail, "chen.l", "wang.fang", agents=agents, lang=lang)
        assert values["new_owner"] == expected and values["agent"] == "陈磊"
        for macro in macros(chen).macros:
            text = fill(macro, values, lang)
            assert "chen.l" not in text and "wang.fang" not in text and "L2" not in text and "L1" not in text
    assert owner_wording("L2", agents, "zh") == "二线工程师团队"
    assert owner_wording("L3", agents, "en") == "our third-line specialists"
    assert owner_wording("sue", agents, "en") == "our service desk supervisor sue"


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_dialog_buttons_show_their_keys(team: Team, clock: FrozenClock, lang: str) -> None:
    from console.i18n import set_language

    set_language(lang)
    li = team("li.wei")
    ticket_id = worked(li)
    app = make_app(li, clock)
    async with app.run_test(size=SMALL) as pilot:
        await open_ticket(pilot, app, ticket_id)
        await pilot.press("c")
        await settle(pilot)
        labels = [str(b.label) for b in app.screen.query(Button)]
        assert any(label.endswith("[Esc]") for label in labels) and any("[Ctrl+S]" in label for label in labels)
        for button in app.screen.query(Button):
            assert button.region.width > 0
        assert isinstance(app.screen.query_one("#dialog-stale", Static), Static)


async def test_a_notice_with_a_forbidden_phrase_is_not_sent(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    ticket_id = worked(li, resolved=False)
    app = make_app(li, clock)
    async with app.run_test(size=LARGE) as pilot:
        await open_ticket(pilot, app, ticket_id)
        await pilot.press("E")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, EscalateDialog)
        dialog.query_one("#reason", Input).value = "network team"
        dialog.query_one("#tried", TextArea).text = "rebooted"
        dialog.query_one("#impact", Input).value = "no printing"
        dialog.query_one("#notice", TextArea).text = "This is not our problem, but L2 will look at it."
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "forbid" in text_of(app) and li.ticket(ticket_id).tier == "L1"


async def test_a_reply_sent_past_the_guard_and_then_held_keeps_its_reason(team: Team, clock: FrozenClock) -> None:
    from console.tui.screens.guard import GuardDialog

    li, ann = team("li.wei"), team("ann")
    ticket_id = worked(li, resolved=False)
    app = make_app(li, clock)
    async with app.run_test(size=LARGE) as pilot:
        await open_ticket(pilot, app, ticket_id)
        await pilot.press("r", *"I am not sure, the vendor says it is the driver.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, GuardDialog)
        app.screen.query_one("#guard-reason", Input).value = "quoting the vendor"
        ann.note(ticket_id, "vendor called back")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen) and li.store.messages(ticket_id)[-1].kind == "note"
        await pilot.press("ctrl+s")  # re-checked: no second question from the guard for the same text
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        event = li.store.events(ticket_id)[-1]
        assert event.kind == "reply" and event.detail["guard_override"] == "quoting the vendor"
