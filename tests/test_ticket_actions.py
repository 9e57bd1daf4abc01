"""The promise clocks from the console (issue 16): log a call (L), record an on-site visit's next stage (V), change
the priority with a reason (P), record what the customer said (M), and the queue's follow-up calls due (F). Each is
a footer key where the status allows it, a palette entry, and a dialog writing on the version it opened on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

from textual.widgets import OptionList, TextArea

from console.service.helpdesk import HelpdeskService
from console.tui.screens.action_dialogs import CallDialog, FollowupsDialog, PriorityDialog, VisitDialog
from console.tui.screens.modals import TextDialog
from console.tui.screens.queue import QueueScreen
from console.tui.screens.ticket import TicketScreen
from tests.conftest import FrozenClock, settle
from tests.test_ticket_screen import LARGE, SMALL, make_app, open_ticket, shown_keys, text_of, worked
from widgets.ticks import Choice

Team = Callable[[str], HelpdeskService]
NEW_KEYS = {"L": "Call", "V": "Visit", "P": "Priority", "M": "Customer said"}


async def test_the_new_keys_follow_the_status_and_are_in_the_palette(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    open_id = worked(li, resolved=False)
    closed = worked(li)
    li.close(closed, summary="roller", confirmed=True, confirmed_by="phone", asked_anything_else=True)
    app = make_app(li, clock)
    async with app.run_test(size=LARGE) as pilot:
        screen = await open_ticket(pilot, app, open_id)
        keys = shown_keys(screen)
        assert {key: keys.get(key) for key in NEW_KEYS} == NEW_KEYS
        titles = {str(c.title) for c in app.get_system_commands(app.screen)}
        assert set(NEW_KEYS.values()) <= titles
        app.pop_screen()
        screen = await open_ticket(pilot, app, closed)
        keys = shown_keys(screen)
        # a closed ticket: no call, visit or priority change; the customer's words are still recorded
        assert not {"L", "V", "P"} & set(keys) and keys.get("M") == "Customer said"
        await pilot.press("P")
        await settle(pilot)
        assert app.screen is screen  # not offered, and does nothing
    narrow = make_app(li, clock)
    async with narrow.run_test(size=SMALL) as pilot:
        screen = await open_ticket(pilot, narrow, open_id)
        keys = shown_keys(screen)
        # at 80 columns they would push `?` off the footer: kept to the key list and the palette (the keys work)
        assert not set(NEW_KEYS) & set(keys) and keys.get("r") == "Reply"
        assert set(NEW_KEYS.values()) <= {str(c.title) for c in narrow.get_system_commands(narrow.screen)}


async def test_log_a_call_needs_its_direction_and_notes(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    ticket_id = worked(li, resolved=False)
    app = make_app(li, clock)
    async with app.run_test(size=SMALL) as pilot:
        await open_ticket(pilot, app, ticket_id)
        await pilot.press("L")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, CallDialog)
        assert not any(c.value for c in dialog.query(Choice))  # no default direction
        events = len(li.store.events(ticket_id))
        dialog.query_one("#notes", TextArea).text = "Customer confirms tray 2 works."
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog and "Choose who called" in text_of(app)
        dialog.query_one("#direction-out", Choice).value = True
        dialog.query_one("#notes", TextArea).text = "   "
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog and len(li.store.events(ticket_id)) == events
        dialog.query_one("#notes", TextArea).text = "Called back: tray 2 works again."
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        call = [e for e in li.store.events(ticket_id) if e.kind == "call"]
        said = "Called back: tray 2 works again."
        assert [(e.detail["direction"], e.detail["notes"]) for e in call] == [("out", said)]
        assert "Called back: tray 2 works again." in li.store.messages(ticket_id)[-1].body


async def test_visit_offers_the_next_stage_and_writes_on_the_version_seen(team: Team, clock: FrozenClock) -> None:
    li, ann = team("li.wei"), team("ann")
    ticket_id = worked(li, resolved=False)
    app = make_app(li, clock)
    async with app.run_test(size=SMALL) as pilot:
        await open_ticket(pilot, app, ticket_id)
        await pilot.press("V")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, VisitDialog) and dialog.stage == "dispatched"
        assert "Engineer dispatched" in text_of(app)
        await pilot.press("ctrl+s")  # notes are optional
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen) and li.visit_stage(ticket_id) == "dispatched"
        await pilot.press("V")
        await settle(pilot)
        second = app.screen
        assert isinstance(second, VisitDialog) and second.stage == "arrived"
        second.query_one("#notes", TextArea).text = "Engineer at reception"
        ann.note(ticket_id, "Customer says the site door code is 4411")  # meanwhile
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is second and second.has_class("-stale") and li.visit_stage(ticket_id) == "dispatched"
        assert "door code is 4411" in text_of(app)
        await pilot.press("ctrl+s")  # seen: written on the ticket as it is now
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen) and li.visit_stage(ticket_id) == "arrived"
        assert "Engineer at reception" in li.store.messages(ticket_id)[-1].body


async def test_priority_change_by_the_owner_and_refused_to_another_agent(team: Team, clock: FrozenClock) -> None:
    li, ann = team("li.wei"), team("ann")
    ticket_id = worked(li, resolved=False)  # P3, li.wei's
    app = make_app(li, clock)
    async with app.run_test(size=SMALL) as pilot:
        await open_ticket(pilot, app, ticket_id)
        await pilot.press("P")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, PriorityDialog)
        dialog.query_one("#priority-P1", Choice).value = True
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog and li.ticket(ticket_id).priority == "P3"  # the reason is required
        dialog.query_one("#reason", TextArea).text = "The whole site cannot print"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen) and li.ticket(ticket_id).priority == "P1"
        changed = [e for e in li.store.events(ticket_id) if e.kind == "priority_changed"]
        assert [(e.detail["from"], e.detail["to"]) for e in changed] == [("P3", "P1")]
    other = make_app(ann, clock)
    async with other.run_test(size=SMALL, notifications=True) as pilot:
        await open_ticket(pilot, other, ticket_id)
        await pilot.press("P")  # offered: the service decides who may
        await settle(pilot)
        dialog = other.screen
        assert isinstance(dialog, PriorityDialog)
        dialog.query_one("#priority-P2", Choice).value = True
        dialog.query_one("#reason", TextArea).text = "Looks less urgent"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert ann.ticket(ticket_id).priority == "P1"
        assert any("only the ticket's owner" in str(n.message) for n in other._notifications)


async def test_the_customers_message_is_recorded_and_reopens_a_pending_ticket(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    ticket_id = worked(li, resolved=False)
    li.pending(ticket_id)
    app = make_app(li, clock)
    async with app.run_test(size=SMALL) as pilot:
        await open_ticket(pilot, app, ticket_id)
        await pilot.press("M")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, TextDialog)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog and "cannot be empty" in text_of(app)
        await pilot.press(*"Tray 1 jams too")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        last = li.store.messages(ticket_id)[-1]
        assert (last.kind, last.body) == ("customer", "Tray 1 jams too")
        assert li.ticket(ticket_id).status == "open"  # the wait for the customer is over


async def test_the_queue_lists_followups_due_and_opens_one(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    ticket_id = li.create_ticket(
        "Server room down", "no power", customer="Acme Ops", phone="13812345678", priority="P1"
    ).id
    li.assign(ticket_id)
    li.reply(ticket_id, "An engineer is on the way.")
    li.restore(ticket_id, "Generator on")
    due = clock.now.astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=2)
    li.close(ticket_id, summary="Generator on", unconfirmed_reason="no answer", followup=due)
    clock.advance(days=2)
    app = make_app(li, clock)
    async with app.run_test(size=LARGE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert "F" in {k for k, b in app.screen.active_bindings.items() if b.binding.show}
        await pilot.press("F")
        await settle(pilot)
        assert isinstance(app.screen, FollowupsDialog)
        shown = text_of(app)
        assert f"#{ticket_id}" in shown and "Server room down" in shown and "13812345678" in shown
        assert due.isoformat() in shown and "Acme Ops" in shown
        assert app.screen.query_one(OptionList).option_count == 1
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen) and app.screen.ticket_id == ticket_id
